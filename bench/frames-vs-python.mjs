#!/usr/bin/env node
// `vdedup frames` against what VLM pipelines use instead, on real footage WITH its audio track, per
// container: PyAV (the usual sparse recipe: seek to the keyframe before each target and decode
// forward; thread_type AUTO; Pillow JPEG) for --count 8 / --count 32, PyAV decoding once for
// --fps 1, and the ffmpeg CLI decoding only (`-map 0:v:0 -vf fps=1 -f null -`) for --fps 1.
// Optional: LMMs-Eval's own read_video_pyav (no seek), decord get_batch, and vdedup with a forced
// --strategy. JPEG quality 90 everywhere. Tools alternate within each run (never two at once; the
// order flips every run), after one untimed warm-up per file; medians of --runs runs of wall time
// and of CPU time (user + sys of the process and its children), and ratios of medians. Every
// measured request is checked: vdedup's frames (frames.json) against np.linspace over the frames
// PyAV decodes, and against what PyAV returned (indices, times, pixels).
//
//   node bench/frames-vs-python.mjs [--runs 5] [--out bench/out/frames-vs-python.json]
//        [--tasks count8,count32,fps1] [--files mp4,mkv,webm,mp4-phone,webm-vp8]
//        [--with lmms,decord,vdedup-seek,vdedup-pass] [--python /path/to/python]
//
// Files (nothing committed; made once into ${VDEDUP_FRAMES_BENCH_DIR:-~/.cache/vdedup/frames-bench}):
//   mp4       real-wannaworktogether.mp4: H.264 (Constrained Baseline) + AAC, 180 s, 480x352,
//             29.97 fps (openboard-common; bash bench/frames-exactness/build.sh or
//             fixtures/fetch-real.sh fetches it)
//   mkv       the same streams remuxed: ffmpeg -i src -map 0:v:0 -map 0:a:0 -c copy wanna.mkv
//   webm      the same footage as VP9 + Opus at 480x352, realtime settings:
//             ffmpeg -i src -map 0:v:0 -map 0:a:0 -c:v libvpx-vp9 -deadline realtime -cpu-used 8
//               -row-mt 1 -b:v 500k -g 200 -c:a libopus -b:a 96k wanna-vp9.webm
//   mp4-phone real-movie-hello.mp4: phone H.264 + AAC MP4, 720p, 8 s, two edits (short clip)
//   webm-vp8  real-oa4-launch.webm: VP8 + Vorbis WebM, 640x360, 8 s (short clip)
// Python: --python, else $VDEDUP_BENCH_PYTHON, else ~/.cache/vdedup/venv-frames (made when missing:
// PyAV 18.1.0, decord, Pillow, numpy from PyPI).
// Output: a table on stderr (wall-time ratios, CPU-time ratios in brackets); the results as JSON on
// stdout and in --out (results of earlier invocations for other files or tasks are kept there).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argText = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const list = (text) => (text === '' ? [] : text.split(','));
const runs = Number(argText('runs', '5'));
const taskNames = list(argText('tasks', 'count8,count32,fps1'));
const fileNames = list(argText('files', 'mp4,mkv,webm,mp4-phone,webm-vp8'));
const extras = list(argText('with', ''));
const outFile = path.resolve(argText('out', path.join(root, 'bench', 'out', 'frames-vs-python.json')));
const cache = process.env.VDEDUP_FRAMES_BENCH_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'frames-bench');
const exactDir = path.join(process.env.VDEDUP_EXACT_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'exactness'), 'files');
const realDir = path.join(process.env.VDEDUP_REAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'real'), 'clips');
const venv = path.join(os.homedir(), '.cache', 'vdedup', 'venv-frames');
const python = argText('python', process.env.VDEDUP_BENCH_PYTHON ?? path.join(venv, 'bin', 'python'));
const reference = path.join(root, 'bench', 'python', 'frames_reference.py');
const vdedup = path.join(root, 'bin', 'vdedup.js');
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
const ffprobe = process.env.FFPROBE_PATH ?? 'ffprobe';

if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
for (const t of taskNames) if (!/^(count\d+|fps[\d.]+)$/.test(t)) throw new Error(`unknown task ${t} (countN or fpsF)`);
for (const t of extras) if (!['lmms', 'decord', 'vdedup-seek', 'vdedup-pass'].includes(t)) throw new Error(`unknown --with ${t}`);
if (!existsSync(python)) {
  if (python !== path.join(venv, 'bin', 'python')) throw new Error(`no python at ${python}`);
  console.error(`making ${venv} (PyAV, decord, Pillow, numpy from PyPI)`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(path.join(venv, 'bin', 'pip'), ['install', '-q', 'av==18.1.0', 'decord==0.6.0', 'pillow', 'numpy'], { stdio: 'inherit' });
}

/** The first existing path, or an error saying how to get the file. */
function source(candidates, how) {
  const found = candidates.find((f) => existsSync(f));
  if (found === undefined) throw new Error(`none of ${candidates.join(', ')}: ${how}`);
  return found;
}

const wanna = () =>
  source(
    [path.join(exactDir, 'real-wannaworktogether.mp4'), path.join(realDir, 'wanna-work-together.mp4')],
    'run bash bench/frames-exactness/build.sh (or fixtures/fetch-real.sh)',
  );

/** A file made once from the real clip by ffmpeg (`args` between input and output). */
function derived(name, args) {
  const file = path.join(cache, name);
  if (existsSync(file)) return file;
  mkdirSync(cache, { recursive: true });
  const tmp = `${file}.tmp${path.extname(name)}`;
  console.error(`making ${file}`);
  execFileSync(ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-i', wanna(), '-map', '0:v:0', '-map', '0:a:0', ...args, tmp]);
  renameSync(tmp, file);
  return file;
}

const files = {
  mp4: { what: 'H.264 + AAC MP4 (original)', path: wanna },
  mkv: { what: 'H.264 + AAC Matroska (remux of mp4)', path: () => derived('wanna.mkv', ['-c', 'copy']) },
  webm: {
    what: 'VP9 + Opus WebM (re-encode of mp4)',
    path: () => derived('wanna-vp9.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-b:v', '500k', '-g', '200', '-c:a', 'libopus', '-b:a', '96k']),
  },
  'mp4-phone': { what: 'phone H.264 + AAC MP4, 720p, two edits (8 s)', path: () => source([path.join(exactDir, 'real-movie-hello.mp4'), path.join(realDir, 'phone-hello.mp4')], 'run bash bench/frames-exactness/build.sh') },
  'webm-vp8': { what: 'VP8 + Vorbis WebM, 360p (8 s)', path: () => source([path.join(exactDir, 'real-oa4-launch.webm'), path.join(realDir, 'rocket-launch.webm')], 'run bash bench/frames-exactness/build.sh') },
};
for (const f of fileNames) if (!(f in files)) throw new Error(`unknown file ${f} (${Object.keys(files).join(', ')})`);

/** Wall seconds (hrtime around the whole process), CPU seconds (user + sys, children included) and peak RSS (MB). */
function timed(cmd, args) {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const [user, sys, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, mb: Math.round(kb / 1024), stdout: r.stdout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 3) => (x === undefined || x === null ? x : Number(x.toFixed(d)));
// np.linspace(0, total - 1, n, dtype=int): the float it computes, truncated (exact for these sizes).
const linspace = (total, n) => Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Math.trunc(i * ((total - 1) / (n - 1)))));

function describe(file) {
  const out = execFileSync(ffprobe, ['-v', 'error', '-show_entries', 'format=format_name,duration:stream=codec_type,codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(out);
  const keys = execFileSync(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const v = j.streams.find((s) => s.codec_type === 'video');
  return {
    format: j.format.format_name,
    seconds: Number(j.format.duration),
    streams: j.streams.map((s) => s.codec_name).join('+'),
    size: `${v.width}x${v.height}`,
    keyframes: keys.split('\n').filter((l) => l.startsWith('K')).length,
    hasAudio: j.streams.some((s) => s.codec_type === 'audio'),
  };
}

const request = (task) => (task.startsWith('count') ? ['--count', task.slice(5)] : ['--fps', task.slice(3)]);

/** The tools of one task: each writes into `dir` and returns timed() plus what it returned. */
function toolsFor(task, video) {
  const req = request(task);
  const ours = (extra) => (dir) => {
    const m = timed(process.execPath, [vdedup, 'frames', video, '--out', dir, '--quality', '90', ...req, ...extra]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'frames.json'), 'utf8'));
    return { ...m, manifest };
  };
  const py = (kind) => (dir) => {
    const m = timed(python, [reference, kind, video, dir, ...req]);
    return { ...m, py: JSON.parse(m.stdout.trim().split('\n').pop()) };
  };
  const tools = { vdedup: ours([]), pyav: py('pyav') };
  if (task.startsWith('fps')) {
    tools.ffmpeg = () => timed(ffmpeg, ['-nostdin', '-loglevel', 'error', '-i', video, '-map', '0:v:0', '-vf', `fps=${task.slice(3)}`, '-f', 'null', '-']);
  } else {
    if (extras.includes('lmms')) tools.lmms = py('lmms');
    if (extras.includes('decord')) tools.decord = py('decord');
    if (extras.includes('vdedup-seek')) tools['vdedup-seek'] = ours(['--strategy', 'seek']);
    if (extras.includes('vdedup-pass')) tools['vdedup-pass'] = ours(['--strategy', 'single-pass']);
  }
  return tools;
}

/**
 * vdedup's frames against the definition (np.linspace over the frames PyAV decodes, their times)
 * and against what a Python tool returned: where they differ, which frame each returned.
 */
function check(task, manifest, decodedTimes, py, tool) {
  const ours = manifest.frames.map((f) => f.frame);
  const oursTimes = manifest.frames.map((f) => f.timestamp);
  const half = 0.5 / manifest.frameRate;
  const indexOfTime = (t) => {
    let best = 0;
    for (let i = 1; i < decodedTimes.length; i++) if (Math.abs(decodedTimes[i] - t) < Math.abs(decodedTimes[best] - t)) best = i;
    return Math.abs(decodedTimes[best] - t) < half ? best : null;
  };
  const result = { tool, count: [ours.length, py.frames.length], totals: { vdedup: manifest.frameCount, decodedByPyav: decodedTimes.length, usedByTool: py.total } };
  if (task.startsWith('count')) {
    const expect = linspace(decodedTimes.length, Number(task.slice(5)));
    result.vdedupIsLinspace = JSON.stringify(ours) === JSON.stringify(expect) && ours.every((f, i) => Math.abs(decodedTimes[f] - oursTimes[i]) < 1e-3);
  }
  const differ = [];
  for (let i = 0; i < Math.max(ours.length, py.frames.length); i++) {
    const pt = py.times[i];
    const got = pt === undefined ? null : indexOfTime(pt);
    if (ours[i] !== py.frames[i] || got !== ours[i]) differ.push({ at: i, vdedup: ours[i], vdedupTime: round(oursTimes[i], 4), toolTarget: py.frames[i], toolReturned: got, toolTime: round(pt, 4) });
  }
  result.agree = differ.length === 0;
  if (!result.agree) result.differ = differ.slice(0, 12).concat(differ.length > 12 ? [{ more: differ.length - 12 }] : []);
  return result;
}

function pixels(dirA, dirB) {
  const r = JSON.parse(execFileSync(python, [reference, 'compare', dirA, dirB], { encoding: 'utf8' }).trim());
  const diffs = r.meanAbsDiff.filter((d) => d !== null);
  return { pairs: r.pairs, counts: r.counts, maxMeanAbsDiff: round(Math.max(...diffs), 2), medianMeanAbsDiff: round(median(diffs), 2) };
}

const pyVersion = execFileSync(python, ['-c', 'import av, numpy, PIL, sys; print(sys.version.split()[0], av.__version__, av.ffmpeg_version_info, numpy.__version__, PIL.__version__)'], { encoding: 'utf8' }).trim().split(' ');
const meta = {
  schema: 'frames-vs-python/2',
  date: new Date().toISOString(),
  machine: { cpus: os.availableParallelism(), model: os.cpus()[0]?.model, loadAtStart: os.loadavg().map((x) => round(x, 2)) },
  versions: { node: process.version, ffmpeg: execFileSync(ffmpeg, ['-version'], { encoding: 'utf8' }).split('\n')[0], python: pyVersion[0], pyav: pyVersion[1], pyavFfmpeg: pyVersion[2], numpy: pyVersion[3], pillow: pyVersion[4] },
  runs,
  command: `node bench/frames-vs-python.mjs ${process.argv.slice(2).join(' ')}`.trim(),
};

const results = {};
const filesInfo = {};
for (const fname of fileNames) {
  const video = files[fname].path();
  const decoded = JSON.parse(execFileSync(python, [reference, 'timeline', video], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).trim());
  filesInfo[fname] = { what: files[fname].what, path: video, ...describe(video), decodedFrames: decoded.decoded, pyavStreamFrames: decoded.streamFrames };
  console.error(`${fname}: ${video} ${JSON.stringify(filesInfo[fname])}`);
  // Warm-up (not timed): page cache, Python imports, Node's compile cache.
  for (const run of Object.values(toolsFor('count8', video))) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'frames-warm-'));
    try {
      run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const task of taskNames) {
    const measured = { date: new Date().toISOString(), load: os.loadavg().map((x) => round(x, 2)), command: meta.command };
    const tools = toolsFor(task, video);
    const names = Object.keys(tools);
    const wall = Object.fromEntries(names.map((t) => [t, []]));
    const cpu = Object.fromEntries(names.map((t) => [t, []]));
    const peak = {};
    const checks = {};
    let ours;
    let pixelCheck;
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? names : [...names].reverse();
      const dirs = {};
      const outs = {};
      for (const tool of order) {
        const dir = mkdtempSync(path.join(os.tmpdir(), `frames-${tool}-`));
        dirs[tool] = dir;
        const m = tools[tool](dir);
        outs[tool] = m;
        wall[tool].push(m.wall);
        cpu[tool].push(m.cpu);
        peak[tool] = Math.max(peak[tool] ?? 0, m.mb);
        console.error(`${fname} ${task} run ${r + 1} ${tool}: ${m.wall.toFixed(2)} s wall, ${m.cpu.toFixed(2)} s CPU, ${m.mb} MB`);
      }
      // Every run is checked (the tools are deterministic; a difference in any run is reported).
      const manifest = outs.vdedup.manifest;
      ours ??= { timeline: manifest.timeline, strategy: manifest.strategy, frameCount: manifest.frameCount, frames: manifest.frames.length };
      for (const [tool, m] of Object.entries(outs)) {
        if (m.manifest !== undefined && tool !== 'vdedup') {
          const same = JSON.stringify(m.manifest.frames.map((f) => f.frame)) === JSON.stringify(manifest.frames.map((f) => f.frame));
          checks[tool] ??= { tool, strategy: m.manifest.strategy, sameFramesAsDefault: true };
          checks[tool].sameFramesAsDefault &&= same;
        }
        if (m.py === undefined) continue;
        const c = check(task, manifest, decoded.times, m.py, tool);
        if (checks[tool] === undefined || (checks[tool].agree && !c.agree)) checks[tool] = c;
      }
      if (r === 0) pixelCheck = pixels(dirs.vdedup, dirs.pyav);
      for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
    }
    const medWall = Object.fromEntries(names.map((t) => [t, round(median(wall[t]))]));
    const medCpu = Object.fromEntries(names.map((t) => [t, round(median(cpu[t]))]));
    const ratios = {};
    for (const t of names.filter((n) => n !== 'vdedup')) ratios[`vdedup/${t}`] = { wall: round(median(wall.vdedup) / median(wall[t])), cpu: round(median(cpu.vdedup) / median(cpu[t])) };
    results[`${fname}/${task}`] = { file: fname, task, measured, vdedup: ours, medianWallSeconds: medWall, medianCpuSeconds: medCpu, ratios, peakMb: peak, checks, pixels: pixelCheck, wall, cpu };
    console.error(`${fname} ${task}: ${JSON.stringify({ medWall, ratios })}`);
  }
}
meta.machine.loadAtEnd = os.loadavg().map((x) => round(x, 2));

// Runs of other files or tasks (--files, --tasks) add to the results of the others instead of replacing them.
mkdirSync(path.dirname(outFile), { recursive: true });
const earlier = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')) : {};
const merged = earlier.schema === meta.schema ? { ...meta, files: { ...earlier.files, ...filesInfo }, results: { ...earlier.results, ...results } } : { ...meta, files: filesInfo, results };
writeFileSync(outFile, `${JSON.stringify(merged, null, 2)}\n`);

// The table (stderr): per file and request, medians and ratios (wall; CPU in brackets).
const rows = [['file', 'request', 'vdedup (strategy)', 'PyAV', 'vdedup/PyAV', 'ffmpeg decode', 'vdedup/ffmpeg', 'same frames as PyAV']];
for (const r of Object.values(results)) {
  const pyav = r.checks.pyav;
  const ff = r.medianWallSeconds.ffmpeg;
  rows.push([
    r.file,
    r.task,
    `${r.medianWallSeconds.vdedup} s (${r.vdedup.strategy})`,
    `${r.medianWallSeconds.pyav} s`,
    `${r.ratios['vdedup/pyav'].wall} [${r.ratios['vdedup/pyav'].cpu}]`,
    ff === undefined ? '' : `${ff} s`,
    ff === undefined ? '' : `${r.ratios['vdedup/ffmpeg'].wall} [${r.ratios['vdedup/ffmpeg'].cpu}]`,
    pyav.agree ? 'yes' : `no (${pyav.differ.length} differ)`,
  ]);
}
console.error(`\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n\nwritten: ${outFile}`);

// stdout: one JSON document (bench/run.mjs reads it), with per task the worst ratio over the files
// measured in this invocation (wall medians) and each file's.
const summary = {};
for (const task of taskNames) {
  const rs = Object.values(results).filter((r) => r.task === task);
  const perFile = Object.fromEntries(rs.map((r) => [r.file, { vdedupVsPyav: r.ratios['vdedup/pyav'].wall, vdedupVsFfmpeg: r.ratios['vdedup/ffmpeg']?.wall, agree: r.checks.pyav.agree }]));
  const worst = (key) => (rs.some((r) => r.ratios[key] !== undefined) ? Math.max(...rs.filter((r) => r.ratios[key] !== undefined).map((r) => r.ratios[key].wall)) : undefined);
  summary[task] = { vdedupVsPyav: worst('vdedup/pyav'), vdedupVsFfmpeg: worst('vdedup/ffmpeg'), perFile };
}
console.log(JSON.stringify({ ...meta, files: filesInfo, ...summary, results }, null, 2));
