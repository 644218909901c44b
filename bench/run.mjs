#!/usr/bin/env node
// One command for the benchmarks:
//   npm run bench                quick: 3 runs each, frame scan at 100k windows, frames (8 and 32
//                                uniform frames; MP4, MKV, WebM with audio) against PyAV, and the
//                                frames exactness harness (every selection against a full decode)
//   npm run bench -- --full      5 runs each, frame scan at 1M windows, a long clip, a 4-file corpus,
//                                frames at 1 fps against the ffmpeg CLI
//                                against the Python reference, and the HTTP service under bursts of
//                                50 and 200 concurrent checks (bench/service-load.mjs)
//   npm run bench -- --only scanCost,sampling   only these steps (fingerprint, python, decoder,
//                                frameScan, hnsw, frames, exactness, sampling, scanCost, archives,
//                                service);
//                                the other rows stay in the summary from the run that measured them
// Runs each benchmark script in turn (never two at once: they would slow each other down), keeps
// their JSON in bench/out/results.json with the command and date of each step, regenerates the
// summary table between the markers in bench/README.md (each row with the command that reproduces
// it and the date of its run) and draws bench/chart.png. Figures are ratios measured side by side
// in one run, medians of several runs: absolute times on a shared 2-core machine mean little.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', 'out');
const full = process.argv.includes('--full');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set(process.argv[onlyAt + 1].split(',')) : undefined;
/** Whether this run measures a step group. */
const want = (group) => only === undefined || only.has(group);
const runs = full ? 5 : 3;
/** The scan-cost corpora (bench/corpora/build.sh) and the goal of each: H.264 decoded in part, VP9 whole. */
const SCAN_CORPORA = ['x264-720p', 'x264-bpyr-1080p', 'vp9-720p'];
const SCAN_COST_GOALS = { 'x264-720p': 0.8, 'x264-bpyr-1080p': 0.8, 'vp9-720p': 1.15 };
mkdirSync(out, { recursive: true });

/** The command and date of each step that ran, by its key in results.json: the table cites them. */
const stepRuns = {};

/**
 * Run one benchmark script; its stdout ends with one JSON document (unless `json` is false).
 * `key` names the step in `stepRuns` (and, by convention, its figures in results.json).
 */
function step(key, name, script, args, nodeArgs = [], json = true) {
  const command = `node ${[...nodeArgs, `bench/${script}`, ...args].join(' ')}`;
  process.stderr.write(`\n== ${name}: ${command}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...nodeArgs, path.join(root, 'bench', script), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status})`);
  const text = r.stdout.toString();
  process.stderr.write(`   ${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  stepRuns[key] = { command, date: new Date().toISOString() };
  if (!json) return undefined;
  return JSON.parse(text.slice(text.lastIndexOf('\n{') + 1));
}

// --from-results: redraw the table and chart from bench/out/results.json without measuring again.
let results;
if (process.argv.includes('--from-results')) {
  results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
} else {
  results = {
    date: new Date().toISOString(),
    mode: full ? 'full' : 'quick',
    machine: { cpus: os.availableParallelism(), memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    steps: stepRuns,
  };
  if (want('fingerprint')) results.fingerprint = step('fingerprint', 'fingerprint vs ffmpeg decode-only', 'fingerprint.mjs', ['--runs', String(runs), ...(full ? ['--long'] : [])]);
  if (want('python')) results.python = step('python', 'vs the Python reference', 'python-reference.mjs', ['--runs', String(runs), ...(full ? ['--corpus'] : [])]);
  // decoder-tuning writes its own JSON file (its stdout is a line per measurement).
  if (want('decoder')) {
    step('decoder', 'decoder tuning', 'decoder-tuning.mjs', ['--runs', String(runs)], [], false);
    results.decoder = JSON.parse(readFileSync(path.join(out, 'decoder-tuning.json'), 'utf8'));
  }
  // The default preset's frame scan at scale (and its fallback loops), then hnswlib's window
  // embeddings (the paper preset's retrieval) on the same data at 100k windows for comparison (at
  // 1M it builds for 10 min).
  // The exact path, single-threaded and along every slanted line too, takes ~90 s per query at
  // 100k windows and ~15 min at 1M: it checks the first queries only (the scan equals it on every
  // kernel in the Rust tests).
  const exactQueries = ['--exact-queries', full ? '1' : '2'];
  // The exhaustive scan (`--prefilter off`): from 1M benchmark seconds `auto` would take the
  // prefilter, measured in its own step below.
  if (want('frameScan')) results.frameScan = step('frameScan', 'frame scan at scale', 'frame-scan.mjs', ['--windows', full ? '1000000' : '100000', '--queries', full ? '60' : '30', '--prefilter', 'off', ...exactQueries, '--kernels'], ['--expose-gc']);
  // The approximate prefilter, forced at the same size, against the exhaustive scan;
  // 10M benchmark seconds: `cargo run --release --example index_speed` (bench/README.md,
  // "Matching at 10M benchmark seconds").
  if (full && want('frameScan')) results.frameScanIndex = step('frameScanIndex', 'frame scan prefilter', 'frame-scan.mjs', ['--windows', '1000000', '--queries', '30', '--prefilter', 'on', '--reference', 'scan'], ['--expose-gc']);
  // The prefilter at 10M windows (~11M benchmark seconds), per kernel this CPU runs (the exhaustive
  // scan would take minutes per query there: no reference; one-core figures come from the Rust
  // example). ~4 minutes, ~9 GB resident.
  if (full && want('frameScan')) {
    results.frameScanIndex10M = step('frameScanIndex10M', 'frame scan prefilter at 10M', 'frame-scan.mjs', ['--windows', '10000000', '--queries', '10', '--prefilter', 'on', '--exact', '0', '--kernels'], [
      '--expose-gc',
      '--max-old-space-size=16000',
    ]);
  }
  if (want('hnsw')) results.hnsw = step('hnsw', 'hnswlib window index (paper preset), for comparison', 'frame-scan.mjs', ['--windows', '100000', '--queries', full ? '30' : '20', '--retrieval', 'hnsw', '--whole-videos', '1'], ['--expose-gc']);
  // Frame extraction against PyAV, decord and the ffmpeg CLI on real footage (the 1 fps pass over
  // 10 minutes of 720p takes a few minutes a run: full mode only).
  if (want('frames')) results.frames = step('frames', 'frames vs PyAV and ffmpeg, per container', 'frames-vs-python.mjs', ['--runs', String(runs), '--tasks', full ? 'count8,count32,fps1' : 'count8,count32', '--files', 'mp4,mkv,webm']);
  // Every frame of every selection under every strategy against a full decode, on real files and
  // ffmpeg-made variants (built once into ~/.cache/vdedup/exactness: a minute or two; the run
  // takes ~10-20 min). Its summary JSON goes to bench/out.
  if (want('exactness') || want('sampling')) {
    const built = spawnSync('bash', [path.join(root, 'bench', 'frames-exactness', 'build.sh')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (built.status !== 0) throw new Error('bench/frames-exactness/build.sh failed');
  }
  if (want('exactness')) {
    const exactOut = path.join(out, 'frames-exactness.json');
    step('exactness', 'frames exactness against a full decode', 'frames-exactness/run.mjs', ['--jobs', '2', '--allow-fail', '--out', exactOut], [], false);
    results.exactness = JSON.parse(readFileSync(exactOut, 'utf8')).totals;
    stepRuns.exactness.command = `bash bench/frames-exactness/build.sh && ${stepRuns.exactness.command.replace(exactOut, path.relative(root, exactOut))}`;
  }
  // The same files: does fingerprinting sample the frames `vdedup frames --fps 1` writes?
  if (want('sampling')) {
    results.sampling = step('sampling', 'fingerprint samples against vdedup frames --fps 1', 'sampling-agreement.mjs', []);
    stepRuns.sampling.command = `bash bench/frames-exactness/build.sh && ${stepRuns.sampling.command}`;
  }
  // The cold scan against ffmpeg decode-only (the whole stream, same parallelism) on three
  // real-footage corpora with audio, built once into ~/.cache/vdedup/corpora (bench/corpora/build.sh,
  // ~15 min): x264 defaults at 720p, x264 with 5 B-frames in a pyramid at 1080p (both decoded
  // without the frames no sample shows), VP9 WebM (nothing can be left out: the figure shows what
  // the fallback costs). Then the identity of the subset's fingerprints with the whole stream's on
  // every file of those corpora (and of the evaluation set in full mode).
  if (want('scanCost')) {
    const corporaBuilt = spawnSync('bash', [path.join(root, 'bench', 'corpora', 'build.sh')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (corporaBuilt.status !== 0) throw new Error('bench/corpora/build.sh failed');
    results.scanCost = {};
    for (const corpus of SCAN_CORPORA) {
      // Runs of 8 short videos are noisy on a shared machine: two more than the other steps.
      results.scanCost[corpus] = step(`scanCost:${corpus}`, `cold scan vs ffmpeg decode-only, ${corpus}`, 'scan-cost.mjs', ['--runs', String(runs + 2), '--corpus', corpus]);
      stepRuns[`scanCost:${corpus}`].command = `bash bench/corpora/build.sh && ${stepRuns[`scanCost:${corpus}`].command}`;
    }
    const cache = path.join(os.homedir(), '.cache', 'vdedup');
    results.subsetIdentity = step('subsetIdentity', 'subset decoding against the whole stream, fingerprint identity', 'subset-identity.mjs', [path.join(cache, 'corpora'), ...(full ? [path.join(cache, 'eval')] : [])]);
    stepRuns.subsetIdentity.command = stepRuns.subsetIdentity.command.replaceAll(cache, '~/.cache/vdedup');
  }
  // Corpora as shipped (bench/archive-corpus.sh: the x264-720p corpus with two planted copies as
  // WebDataset tar shards, a .tar.gz and a stored zip, and tars of 1,015 and 100,015 members; built
  // once, ~30 s): cold scans of each layout against the loose files side by side, the bytes the
  // scans write to their temporary directory, the copies each layout names, and peak RSS by member
  // count. ~1 min a run.
  if (want('archives')) {
    const archivesBuilt = spawnSync('bash', [path.join(root, 'bench', 'archive-corpus.sh')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (archivesBuilt.status !== 0) throw new Error('bench/archive-corpus.sh failed');
    results.archives = step('archives', 'corpora as shipped: tar shards, .tar.gz and zip vs loose files', 'archive-scan.mjs', ['--runs', String(runs)]);
    stepRuns.archives.command = `bash bench/archive-corpus.sh && ${stepRuns.archives.command}`;
  }
  // The HTTP service through the real stack (API, two workers, local Redis): bursts of concurrent
  // checks. Full mode only: it needs Redis on 127.0.0.1:6379 and takes a minute or two.
  if (full && want('service')) results.service = step('service', 'HTTP service under concurrent checks', 'service-load.mjs', ['--bursts', '50,200']);
}
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

// The summary table: each target next to its figure, the command that measured it and the date of
// that run. Results written before steps were recorded cite the whole run instead.
const runOf = (key) => results.steps?.[key] ?? { command: `npm run bench${results.mode === 'full' ? ' -- --full' : ''}`, date: results.date };
/** One row: the figure, its goal, what was measured, whether it met the goal, and where it came from. */
const row = (key, label, goal, measured, status) => {
  const { command, date } = runOf(key);
  return [label, goal, measured, status, `\`${command}\``, date.slice(0, 10)];
};
const fpRow = (label) => results.fingerprint.results.find((r) => r.file.includes(label));
const pyRow = (label) => results.python.results.find((r) => r.video.includes(label));
const dtRow = (label) => results.decoder.speed.find((r) => r.file.includes(label));
const pyFast = (label) => {
  const d = dtRow(label);
  return d?.ms.python && d.ms['vdedup --fast'] ? d.ms.python / d.ms['vdedup --fast'] : undefined;
};
const idx = results.frameScan;
const best = idx?.results[0];
const f = (x, digits = 2) => (x === undefined ? 'n/a' : Number(x).toFixed(digits));
const status = (ok) => (ok ? 'met' : '**not met**');
const fingerprintRow = (file, label) => row('fingerprint', label, '<= 1.10', f(fpRow(file)?.ratioMedian, 3), status(fpRow(file)?.ratioMedian <= 1.1));
const rows = [
  ...(results.fingerprint
    ? [
        fingerprintRow('720p', 'fingerprinting wall time / ffmpeg decode-only, 720p'),
        fingerprintRow('1080p', 'fingerprinting wall time / ffmpeg decode-only, 1080p'),
        fingerprintRow('360p-60s', 'fingerprinting wall time / ffmpeg decode-only, 360p 60 s (Node start is a visible part)'),
        ...(fpRow('360p-600s') ? [fingerprintRow('360p-600s', 'fingerprinting wall time / ffmpeg decode-only, 360p 10 min')] : []),
      ]
    : []),
  ...(results.python ? [row('python', 'speed-up vs Python imagehash reference, 720p', '>= 3x', `${f(pyRow('720p')?.speedup)}x`, status(pyRow('720p')?.speedup >= 3))] : []),
  ...(results.decoder ? [row('decoder', 'speed-up vs Python imagehash reference, 720p, with `--fast` decoding', '>= 3x', `${f(pyFast('720p-60s-h264'))}x`, status(pyFast('720p-60s-h264') >= 3))] : []),
  ...(results.python?.corpus
    ? [
        row('python', 'corpus of four 720p files: `vdedup scan --fast` vs the reference looping over them', '>= 3x', `${f(results.python.corpus.speedupVsSequentialFast)}x (exact: ${f(results.python.corpus.speedupVsSequential)}x)`, status(results.python.corpus.speedupVsSequentialFast >= 3)),
        row('python', 'corpus of four 720p files: `vdedup scan --fast` vs the reference with a 2-process pool (equal parallelism)', '>= 3x', `${f(results.python.corpus.speedupVsPoolFast)}x (exact: ${f(results.python.corpus.speedupVsPool)}x)`, status(results.python.corpus.speedupVsPoolFast >= 3)),
      ]
    : []),
  ...(results.frames
    ? [
        row('frames', 'frames: 8 uniform frames of 3-min H.264/VP9 with audio (MP4, MKV, WebM; worst), vs PyAV', '<= 1.0x', `${f(results.frames.count8?.vdedupVsPyav)}x`, status(results.frames.count8?.vdedupVsPyav <= 1)),
        row('frames', 'frames: 32 uniform frames of the same 3-min files, vs PyAV', '<= 1.0x', `${f(results.frames.count32?.vdedupVsPyav)}x`, status(results.frames.count32?.vdedupVsPyav <= 1)),
        ...(results.frames.fps1
          ? [row('frames', 'frames: 1 fps of the same 3-min files, vs ffmpeg decode-only (`-vf fps=1 -f null`)', '<= 1.05x', `${f(results.frames.fps1.vdedupVsFfmpeg)}x`, status(results.frames.fps1.vdedupVsFfmpeg <= 1.05))]
          : []),
      ]
    : []),
  ...(results.exactness
    ? [row('exactness', 'frames exact against a full decode: requests (all strategies), wrong / refused', 'all exact', `${results.exactness.exact} of ${results.exactness.exact + results.exactness.wrong + results.exactness.refused} (${results.exactness.wrong} / ${results.exactness.refused})`, status(results.exactness.wrong === 0 && results.exactness.refused === 0))]
    : []),
  ...(results.sampling
    ? [row('sampling', 'fingerprint samples: files whose every 1 fps sample is the frame `vdedup frames --fps 1` writes', 'all', `${results.sampling.agreeing} of ${results.sampling.files}`, status(results.sampling.agreeing === results.sampling.files))]
    : []),
  ...(results.scanCost
    ? SCAN_CORPORA.filter((c) => results.scanCost[c] !== undefined).map((c) =>
        row(`scanCost:${c}`, `cold scan / ffmpeg decode-only, same parallelism: ${c} corpus (8 videos of 40 s with audio)`, `<= ${SCAN_COST_GOALS[c].toFixed(2)}`, f(results.scanCost[c].ratioMedian, 3), status(results.scanCost[c].ratioMedian <= SCAN_COST_GOALS[c])),
      )
    : []),
  ...(results.subsetIdentity
    ? [row('subsetIdentity', 'fingerprints decoded without the frames no sample shows, identical to the whole stream\'s (file and rate pairs decoded in part)', 'all', `${results.subsetIdentity.identical} of ${results.subsetIdentity.decodedAsSubset}`, status(results.subsetIdentity.differ.length === 0))]
    : []),
  ...(results.archives
    ? (() => {
        const a = results.archives;
        const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
        const corpus = `${a.videos} x264 720p videos with audio, ${a.shards} shards, --concurrency ${a.concurrency}`;
        return [
          row('archives', `cold scan of WebDataset tar shards / the same videos as loose files (${corpus})`, '<= 1.05', f(a.tarVsLooseMedian, 3), status(a.tarVsLooseMedian <= 1.05)),
          row('archives', 'cold scan of a .tar.gz / (`gzip -dc > /dev/null` + the loose scan)', '<= 1.05', f(a.tgzVsGunzipPlusLooseMedian, 3), status(a.tgzVsGunzipPlusLooseMedian <= 1.05)),
          row('archives', 'cold scan of a stored zip / the loose scan (informative)', 'n/a', f(a.zipVsLooseMedian, 3), ''),
          row('archives', 'bytes in the temporary directory during the tar scan (peak, polled every 50 ms)', '0', `${a.peakTmpBytes.tar} B`, status(a.peakTmpBytes.tar === 0)),
          row('archives', 'peak bytes in the temporary directory during the .tar.gz scan, against (concurrency + 1) x the largest member', `<= ${mib(a.tgzBound.bytes)}`, mib(a.peakTmpBytes.tgz), status(a.tgzUnderBound)),
          row(
            'archives',
            'near-duplicate copies and YouTube-ID removals named by the tar, .tar.gz and zip scans, against the loose scan (two planted copies)',
            'identical',
            `${a.recall.copies.length} copies, ${a.recall.removals.length} removal${a.recall.removals.length === 1 ? '' : 's'}: ${a.recall.identical ? 'identical' : 'differ'}${a.recall.plantedFound ? '' : ' (planted copies missed)'}`,
            status(a.recall.identical && a.recall.plantedFound),
          ),
          row('archives', 'peak RSS scanning a tar of 100,015 members / one of 1,015 (the same 5 videos)', '<= 1.25', `${f(a.memory.rss100kVs1kMedian, 3)} (${mib(a.memory.rssKiBMedian.m100k * 1024)} / ${mib(a.memory.rssKiBMedian.m1k * 1024)})`, status(a.memory.rss100kVs1kMedian <= 1.25)),
        ];
      })()
    : []),
  ...(idx
    ? [
        row('frameScan', `frame scan: match p50 per ${idx.querySeconds / 60}-minute query video (${idx.benchWindows.toLocaleString('en')} windows)`, '<= 50 ms', `${best.matchMsP50} ms (p99 ${best.matchMsP99})`, status(best.matchMsP50 <= 50)),
        row('frameScan', `frame scan: recall against the exact path (${best.exactMatchedPairs} matched pairs; ${best.identicalToExact ?? 'n/a'} queries with identical segments)`, '>= 0.99', f(best.recallVsExact, 3), status(best.recallVsExact >= 0.99)),
        row('frameScan', 'frame scan: memory per window (RSS growth of the build)', '<= 300 B', `${idx.bytesPerWindow} B`, status(idx.bytesPerWindow <= 300)),
      ]
    : []),
  ...(results.frameScanIndex
    ? [
        row(
          'frameScanIndex',
          `prefilter (\`--prefilter on\`) at ${results.frameScanIndex.benchWindows.toLocaleString('en')} windows: match p50 per ${results.frameScanIndex.querySeconds / 60}-minute query, ${results.frameScanIndex.results[0].kernel} kernel (planted copies found; recall against the exhaustive scan)`,
          '<= 50 ms',
          `${results.frameScanIndex.results[0].matchMsP50} ms (${f(results.frameScanIndex.results[0].plantedRecall * 100, 0)}%; ${f(results.frameScanIndex.results[0].recallVsExact, 3)})`,
          status(results.frameScanIndex.results[0].matchMsP50 <= 50),
        ),
        row('frameScanIndex', `prefilter at ${results.frameScanIndex.benchWindows.toLocaleString('en')} windows: memory per window (RSS growth of the build)`, '<= 300 B', `${results.frameScanIndex.bytesPerWindow} B`, status(results.frameScanIndex.bytesPerWindow <= 300)),
      ]
    : []),
  ...(results.frameScanIndex10M
    ? [
        ...results.frameScanIndex10M.results.map((r) =>
          row(
            'frameScanIndex10M',
            `prefilter at ${(results.frameScanIndex10M.benchSeconds / 1e6).toFixed(1)}M benchmark seconds: match p50 per 5-minute query, ${r.kernel} kernel, 2 threads (planted copies found)`,
            'n/a',
            `${r.matchMsP50} ms (${f(r.plantedRecall * 100, 0)}%)`,
            '',
          ),
        ),
        row('frameScanIndex10M', 'prefilter at 10M: memory per benchmark second (Rust: hashes, flags, tables)', '<= 200 B', `${results.frameScanIndex10M.rustBytesPerSecond} B`, status(results.frameScanIndex10M.rustBytesPerSecond <= 200)),
      ]
    : []),
];
/** Where a paragraph's figures came from: the command and the date of its run. */
const cite = (key) => {
  const { command, date } = runOf(key);
  return `\`${command}\`, ${date.slice(0, 10)}`;
};
// Figures this run did not measure (a quick run measures fewer than a full one) stay in the
// summary from the run that did, with that run's command and date: read from the table being
// replaced, by their target.
const readmePath = path.join(root, 'bench', 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const begin = '<!-- bench:begin -->';
const end = '<!-- bench:end -->';
const previous = readme.includes(begin) ? readme.slice(readme.indexOf(begin), readme.indexOf(end)) : '';
const measuredNow = new Set(rows.map((r) => r[0]));
const isTableRow = (line) => line.startsWith('| ') && !line.startsWith('| target |');
const carried = [...new Set(previous.split('\n').filter(isTableRow))].filter((line) => !measuredNow.has(line.slice(2, line.indexOf(' | '))));
const carriedService = results.service ? [] : previous.split('\n').filter((line) => line.startsWith('HTTP service ('));
const table = [
  `Each row gives the command that measured it and the date of that run; \`npm run bench -- --full\` measures every row again and rewrites this table from \`bench/out/results.json\` (last written on ${results.machine.cpus} cores, ${results.machine.memGiB} GiB, Node ${results.machine.node}). Chart: \`bench/chart.png\`.`,
  '',
  '| target | goal | measured | | command | date |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
  // Not measured now: the paragraph of the run that did.
  ...(idx === undefined
    ? previous.split('\n').filter((line) => line.startsWith('Frame scan ('))
    : [
      `Frame scan (the default preset's retrieval, ${best.kernel ?? 'n/a'} loop; ${cite('frameScan')}): built in ${idx.buildSeconds} s for ${idx.windowsHeld.toLocaleString('en')} windows (with their center-crop twins), planted copies found ${best.plantedRecall * 100}%; the exact path takes ${idx.exactMatchMsP50} ms p50 per query video.` +
        (best.chancePairs !== undefined
          ? ` Of the exact path's ${best.exactMatchedPairs} matched pairs, ${best.exactMatchedPairs - best.chancePairs} are the planted copies and ${best.chancePairs} chance coincidences of unrelated synthetic sequences whose matching frames are ${best.chanceMeanDistanceP50} bits apart on average (median); the scan finds ${best.chancePairsFound} of those.`
          : '') +
        (idx.results.length > 1
          ? ` Fallback loops on the same queries: ${idx.results.slice(1).map((r) => `${r.kernel} ${r.matchMsP50} ms p50 (${r.identicalToExact} identical)`).join(', ')}.`
          : '') +
        (results.hnsw
          ? ` For comparison, hnswlib window embeddings at ${results.hnsw.benchWindows.toLocaleString('en')} windows: ${results.hnsw.bytesPerWindow} B per window, built in ${results.hnsw.buildSeconds} s, match p50 ${results.hnsw.results[0].matchMsP50} ms, recall ${f(results.hnsw.results[0].recallVsExact, 3)} (${cite('hnsw')}).`
          : ''),
      ]),
  ...(results.service
    ? [
        '',
        `HTTP service (${cite('service')}; API, ${results.service.workers} workers running one job each, local Redis; every request uploads its own 4-second clip): ` +
          results.service.bursts
            .map((b) => `${b.requests} concurrent checks p50 ${b.p50Ms} ms, p99 ${b.p99Ms} ms, ${b.throughputPerS} checks/s, ${b.errors} errors`)
            .join('; ') +
          `; peak RSS API ${results.service.apiPeakRssMiB} MiB, workers ${results.service.workerPeakRssMiB.join(' / ')} MiB.`,
      ]
    : []),
  ...(carried.length > 0 || carriedService.length > 0
    ? [
        '',
        'Not measured by the run above (`npm run bench -- --full`, or the command given, measures them again); each from the run its row names:',
        ...(carried.length > 0 ? ['', '| target | goal | measured | | command | date |', '|---|---|---|---|---|---|', ...carried] : []),
        ...(carriedService.length > 0 ? ['', ...carriedService] : []),
      ]
    : []),
].join('\n');
const block = `${begin}\n${table}\n${end}`;
writeFileSync(
  readmePath,
  readme.includes(begin) ? readme.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), block) : readme.replace(/\n## /, `\n## Summary\n\n${block}\n\n## `),
);

// Chart: wall time of each pipeline relative to ffmpeg decode-only (1.0 = the decoder's limit),
// redrawn when the decoder step ran.
if (results.decoder !== undefined) {
  const groups = results.decoder.speed.map((d) => ({
    label: d.file.replace(/^testsrc2-/, '').replace(/\.(mp4|webm)$/, ''),
    bars: [
      ['ffmpeg decode-only', d.ms.exact],
      ['ffmpeg, fewer decoder steps', d.ms.both],
      ['vdedup', d.ms['vdedup exact']],
      ['vdedup --fast', d.ms['vdedup --fast']],
      ['Python reference', d.ms.python],
    ].filter(([, v]) => v !== undefined).map(([k, v]) => [k, v / d.ms.exact]),
  }));
  const colors = ['#8a8f98', '#c3c7cf', '#2f6fdf', '#7fb0ff', '#e07b39'];
  const W = 900;
  const H = 420;
  const left = 60;
  const bottom = 60;
  const plotH = H - bottom - 40;
  const maxV = Math.max(2, ...groups.flatMap((g) => g.bars.map(([, v]) => v)));
  const gw = (W - left - 20) / groups.length;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#fff"/>`;
  svg += `<text x="${W / 2}" y="22" text-anchor="middle" font-family="DejaVu Sans" font-size="15">Wall time relative to ffmpeg decode-only (lower is faster; medians of ${results.decoder.runs} runs)</text>`;
  for (let v = 0; v <= maxV; v += 0.5) {
    const y = 40 + plotH - (v / maxV) * plotH;
    svg += `<line x1="${left}" x2="${W - 20}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${left - 6}" y="${y + 4}" text-anchor="end" font-family="DejaVu Sans" font-size="11">${v.toFixed(1)}</text>`;
  }
  groups.forEach((g, gi) => {
    const bw = (gw - 20) / 5;
    g.bars.forEach(([name, v], bi) => {
      const h = (v / maxV) * plotH;
      const x = left + gi * gw + 10 + bi * bw;
      const color = colors[['ffmpeg decode-only', 'ffmpeg, fewer decoder steps', 'vdedup', 'vdedup --fast', 'Python reference'].indexOf(name)];
      svg += `<rect x="${x}" y="${40 + plotH - h}" width="${bw - 3}" height="${h}" fill="${color}"/>`;
    });
    svg += `<text x="${left + gi * gw + gw / 2}" y="${40 + plotH + 18}" text-anchor="middle" font-family="DejaVu Sans" font-size="12">${g.label}</text>`;
  });
  const legendX = [0, 150, 350, 440, 570];
  ['ffmpeg decode-only', 'ffmpeg, fewer decoder steps', 'vdedup', 'vdedup --fast', 'Python reference'].forEach((name, i) => {
    const x = left + legendX[i];
    svg += `<rect x="${x}" y="${H - 24}" width="12" height="12" fill="${colors[i]}"/><text x="${x + 16}" y="${H - 14}" font-family="DejaVu Sans" font-size="12">${name}</text>`;
  });
  svg += '</svg>';
  await sharp(Buffer.from(svg)).png().toFile(path.join(root, 'bench', 'chart.png'));
}
process.stderr.write(`\nwrote bench/out/results.json, bench/chart.png and the summary in bench/README.md\n`);
