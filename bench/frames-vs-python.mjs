#!/usr/bin/env node
// Frame extraction side by side with what VLM pipelines use instead: PyAV (seek to the keyframe,
// decode forward, Pillow JPEG), decord (get_batch) and the ffmpeg CLI, on real footage re-encoded
// with x264 defaults at 25 fps (the evaluation originals, upscaled and looped; made once into
// bench/out/frames/). JPEG quality 90 everywhere. Tools run in turn within each run (never two at
// once); medians of --runs runs; exactness checked (vdedup's frame indices against
// np.linspace(0, frames - 1, N, dtype=int) and against PyAV's).
//   node bench/frames-vs-python.mjs [--runs 3] [--tasks count8,count32,fps1]
// Needs the evaluation originals (bash bench/eval/build.sh) and a virtual environment with PyAV,
// decord, Pillow and numpy (made at ~/.cache/vdedup/venv-frames when missing).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argText = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const runs = Number(argText('runs', '3'));
const taskNames = argText('tasks', 'count8,count32,fps1').split(',');
const media = path.join(root, 'bench', 'out', 'frames');
const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const venv = path.join(os.homedir(), '.cache', 'vdedup', 'venv-frames');
const python = path.join(venv, 'bin', 'python');
const reference = path.join(root, 'bench', 'python', 'frames_reference.py');
const vdedup = path.join(root, 'bin', 'vdedup.js');
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';

if (!existsSync(python)) {
  console.error(`making ${venv} (PyAV, decord, Pillow, numpy from PyPI)`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(path.join(venv, 'bin', 'pip'), ['install', '-q', 'av==18.1.0', 'decord==0.6.0', 'pillow', 'numpy'], { stdio: 'inherit' });
}

/** Real footage at 25 fps, x264 defaults (keyint 250 with scene cuts), made once. */
function footage(name, size, seconds) {
  const file = path.join(media, name);
  if (existsSync(file)) return file;
  mkdirSync(media, { recursive: true });
  const originals = readdirSync(path.join(evalDir, 'bench')).filter((f) => f.endsWith('.mp4')).sort();
  if (originals.length === 0) throw new Error(`no evaluation originals in ${evalDir}/bench: run bash bench/eval/build.sh`);
  const list = path.join(media, 'list.txt');
  writeFileSync(list, originals.map((f) => `file '${path.join(evalDir, 'bench', f)}'\n`).join(''));
  console.error(`making ${file} (${size}, ${seconds} s)`);
  execFileSync(ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-stream_loop', '-1', '-i', list, '-t', String(seconds),
    '-vf', `scale=${size}:flags=bicubic,setsar=1,fps=25`, '-an', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', `${file}.tmp.mp4`]);
  execFileSync('mv', [`${file}.tmp.mp4`, file]);
  return file;
}

/** Wall seconds and peak RSS (MB) of a command. */
function timed(cmd, args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const [secs, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { secs, mb: Math.round(kb / 1024), stdout: r.stdout };
}

const linspace = (frames, n) => Array.from({ length: n }, (_, i) => Math.floor((i * (frames - 1)) / (n - 1)));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function probeFrames(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(out.trim());
}

const tasks = {
  count8: { video: () => footage('real-720p-10min.mp4', '1280:720', 600), n: 8 },
  count32: { video: () => footage('real-1080p-5min.mp4', '1920:1080', 300), n: 32 },
  fps1: { video: () => footage('real-720p-10min.mp4', '1280:720', 600), fps: 1 },
};

const results = {};
for (const name of taskNames) {
  const task = tasks[name];
  const video = task.video();
  const frames = probeFrames(video);
  const tools = {
    vdedup: (dir) => timed(process.execPath, [vdedup, 'frames', video, '--out', dir, '--quality', '90', ...(task.n ? ['--count', String(task.n)] : ['--fps', String(task.fps)])]),
    pyav: (dir) => timed(python, [reference, 'pyav', video, dir, ...(task.n ? ['--count', String(task.n)] : ['--fps', String(task.fps)])]),
    ...(task.n ? { decord: (dir) => timed(python, [reference, 'decord', video, dir, '--count', String(task.n)]) } : {}),
    ffmpeg: task.n
      ? // One process per frame (input seek), as a shell loop would: the CLI has no linspace sampler.
        (dir) => {
          const started = process.hrtime.bigint();
          let mb = 0;
          for (const [k, idx] of linspace(frames, task.n).entries()) {
            const r = timed(ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-ss', (idx / 25).toFixed(6), '-i', video, '-frames:v', '1', '-q:v', '2', path.join(dir, `frame_${k}.jpg`)]);
            mb = Math.max(mb, r.mb);
          }
          return { secs: Number(process.hrtime.bigint() - started) / 1e9, mb };
        }
      : (dir) => timed(ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-i', video, '-vf', `fps=${task.fps}:round=up`, '-q:v', '2', path.join(dir, '%05d.jpg')]),
  };
  const times = Object.fromEntries(Object.keys(tools).map((t) => [t, []]));
  const memory = {};
  let exact;
  for (let r = 0; r < runs; r++) {
    for (const [tool, run] of Object.entries(tools)) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `frames-${tool}-`));
      try {
        const m = run(dir);
        times[tool].push(m.secs);
        memory[tool] = Math.max(memory[tool] ?? 0, m.mb);
        if (tool === 'vdedup' && task.n && exact === undefined) {
          const manifest = JSON.parse(readFileSync(path.join(dir, 'frames.json'), 'utf8'));
          const indices = manifest.frames.map((f) => Math.round(f.timestamp * manifest.frameRate));
          exact = { strategy: manifest.strategy, linspace: JSON.stringify(indices) === JSON.stringify(linspace(frames, task.n)) };
        }
        if (tool === 'pyav' && task.n) {
          const pyIndices = JSON.parse(m.stdout.trim().split('\n').pop()).frames;
          if (exact !== undefined) exact.pyav = JSON.stringify(pyIndices) === JSON.stringify(linspace(frames, task.n));
        }
        console.error(`${name} run ${r + 1} ${tool}: ${m.secs.toFixed(2)} s, ${m.mb} MB`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const med = Object.fromEntries(Object.entries(times).map(([t, xs]) => [t, median(xs)]));
  const fastest = Math.min(...Object.entries(med).filter(([t]) => t !== 'vdedup').map(([, v]) => v));
  results[name] = { video: path.basename(video), frames, runs, medianSeconds: med, peakMb: memory, vdedupVsFastestOther: med.vdedup / fastest, vdedupVsPyav: med.vdedup / med.pyav, vdedupVsFfmpeg: med.vdedup / med.ffmpeg, exact, times };
}
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
// Tasks run separately (--tasks) add to the results of the others instead of replacing them.
const out = path.join(root, 'bench', 'out', 'frames-vs-python.json');
const earlier = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
writeFileSync(out, JSON.stringify({ ...earlier, ...results }, null, 2));
console.log(JSON.stringify(results, null, 2));
