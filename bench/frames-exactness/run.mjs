#!/usr/bin/env node
// Exactness of `vdedup frames` against a full ffmpeg decode (definition: compare.mjs), on the
// files bench/frames-exactness/build.sh makes. For each file and strategy (default, seek,
// single-pass): --count 8,16,32,50,64 (N <= frames), --fps 0.5,1,2, --at (0, frame times,
// midpoints), --at inside the last frame's display, --random 8 --seed 1.
//
//   node bench/frames-exactness/run.mjs [--only <substring>] [--jobs N] [--out summary.json]
//        [--cli path/to/bin/vdedup.js] [--strategies default,seek,single-pass] [--timeout s]
//        [--keep] [--allow-fail] [--references-only]
//
// Exit 1 when any request returned a wrong frame, was refused or lacks the `frame` field
// (--allow-fail: exit 0).
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkRequest, planRequests, referenceFromText, referenceText, runFrames, STRATEGIES, summarize } from './compare.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const { values: opts } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    jobs: { type: 'string', default: '1' },
    out: { type: 'string' },
    cli: { type: 'string', default: process.env.VDEDUP_CLI ?? path.join(repo, 'bin', 'vdedup.js') },
    strategies: { type: 'string', default: STRATEGIES.join(',') },
    timeout: { type: 'string', default: '180' },
    keep: { type: 'boolean', default: false },
    'allow-fail': { type: 'boolean', default: false },
    'references-only': { type: 'boolean', default: false },
    dir: { type: 'string', default: process.env.VDEDUP_EXACT_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'exactness') },
  },
});
const jobs = Math.max(1, Number(opts.jobs) || 1);
const strategies = opts.strategies.split(',').map((s) => s.trim()).filter((s) => s !== '');
for (const s of strategies) if (!STRATEGIES.includes(s)) throw new Error(`unknown strategy ${s} (${STRATEGIES.join(', ')})`);
const timeoutMs = Number(opts.timeout) * 1000;
const cli = path.resolve(opts.cli);
const filesDir = path.join(opts.dir, 'files');
const refDir = path.join(opts.dir, 'ref');

let manifest;
try {
  manifest = (await readFile(path.join(opts.dir, 'files.tsv'), 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => {
    const [name, kind, shape] = l.split('\t');
    return { name, kind, shape };
  });
} catch {
  console.error(`no ${path.join(opts.dir, 'files.tsv')}: run bash bench/frames-exactness/build.sh first`);
  process.exit(2);
}
if (opts.only !== undefined) manifest = manifest.filter((f) => opts.only.some((s) => f.name.includes(s)));
if (manifest.length === 0) {
  console.error('no file selected');
  process.exit(2);
}

/** The reference of a file, cached beside the files (keyed by size and mtime). */
async function reference(file) {
  await mkdir(refDir, { recursive: true });
  const st = await stat(path.join(filesDir, file.name));
  const cache = path.join(refDir, `${file.name}.json`);
  try {
    const c = JSON.parse(await readFile(cache, 'utf8'));
    if (c.size === st.size && c.mtimeMs === st.mtimeMs) return c;
  } catch {
    // not cached yet
  }
  const r = { size: st.size, mtimeMs: st.mtimeMs, ...(await referenceText(path.join(filesDir, file.name))) };
  await writeFile(cache, JSON.stringify(r));
  return r;
}

const started = Date.now();
const children = new Set();
process.on('SIGINT', () => {
  for (const pid of children) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  process.exit(130);
});

console.log(`cli: ${cli}`);
console.log(`files: ${filesDir} (${manifest.length}), strategies: ${strategies.join(', ')}, jobs: ${jobs}`);
const work = [];
const perFile = [];
const refStarted = Date.now();
for (const file of manifest) {
  const t0 = Date.now();
  const cached = await reference(file);
  const ref = referenceFromText(cached);
  const requests = planRequests(ref);
  const entry = {
    name: file.name,
    kind: file.kind,
    shape: file.shape,
    frames: ref.count,
    timeBase: `${ref.tb.num}/${ref.tb.den}`,
    size: `${ref.width}x${ref.height}`,
    endSeconds: ref.endSeconds,
    monotonic: ref.monotonic,
    rotation: ref.rotation,
    literalSameFrames: cached.literalSameFrames,
    muxerMoved: ref.muxerMoved,
    sameTimeFrames: ref.rel.filter((r, i) => i > 0 && r === ref.rel[i - 1]).length,
    referenceMs: Date.now() - t0,
    results: [],
  };
  perFile.push(entry);
  for (const strategy of strategies) for (const req of requests) work.push({ file, ref, entry, strategy, req });
}
const refMs = Date.now() - refStarted;
console.log(`references: ${(refMs / 1000).toFixed(1)} s; ${work.length} requests`);
if (opts['references-only']) {
  console.log(`${'file'.padEnd(28)} ${'frames'.padStart(6)} ${'time base'.padEnd(11)} ${'size'.padEnd(10)} ${'end (s)'.padStart(9)}  notes`);
  for (const e of perFile) {
    const notes = [
      e.rotation !== 0 ? `rotation ${e.rotation}` : '',
      e.monotonic ? '' : 'times not ascending',
      e.sameTimeFrames > 0 ? `${e.sameTimeFrames} frames at the time of the frame before` : '',
      e.muxerMoved > 0 ? `${e.muxerMoved} pts moved by framemd5's muxer (showinfo's used)` : '',
      e.literalSameFrames === false ? 'literal command gives other frames' : '',
    ].filter((n) => n !== '');
    console.log(`${e.name.padEnd(28)} ${String(e.frames).padStart(6)} ${e.timeBase.padEnd(11)} ${e.size.padEnd(10)} ${e.endSeconds.toFixed(4).padStart(9)}  ${notes.join('; ')}`);
  }
  process.exit(0);
}

let done = 0;
async function worker() {
  for (;;) {
    const item = work.shift();
    if (item === undefined) return;
    const { file, ref, entry, strategy, req } = item;
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-exact-'));
    const run = await runFrames({ cli, video: path.join(filesDir, file.name), args: req.args, strategy, outDir, timeoutMs, onSpawn: (pid) => children.add(pid), onExit: (pid) => children.delete(pid) });
    const result = { strategy, ...(await checkRequest(ref, req, outDir, run)) };
    if (opts.keep && result.verdict !== 'exact') result.kept = outDir;
    else await rm(outDir, { recursive: true, force: true });
    entry.results.push(result);
    done++;
    if (process.stderr.isTTY) process.stderr.write(`\r${done} requests done`);
  }
}
await Promise.all(Array.from({ length: jobs }, worker));
if (process.stderr.isTTY) process.stderr.write('\n');
const totalMs = Date.now() - started;

// ------------------------------------------------------------------------------------------------
const tally = (results) => ({
  exact: results.filter((r) => r.verdict === 'exact').length,
  wrong: results.filter((r) => r.verdict === 'wrong').length,
  refused: results.filter((r) => r.verdict === 'refused').length,
  noFrameField: results.filter((r) => r.verdict !== 'refused' && r.frameField !== 'present').length,
  framesExact: results.reduce((a, r) => a + r.frames.exact, 0),
  framesWrong: results.reduce((a, r) => a + r.frames.wrong, 0),
  ms: results.reduce((a, r) => a + r.ms, 0),
});
const cell = (t) => `${t.exact}/${t.wrong}/${t.refused}`;
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

console.log('');
console.log('requests exact/wrong/refused per strategy; frames: exact/wrong among the frames returned');
console.log(`${pad('file', 28)} ${lpad('frames', 6)}  ${strategies.map((s) => pad(s, 12)).join(' ')} ${pad('all', 10)} ${lpad('frames ok/bad', 14)} ${lpad('time', 7)}`);
const totals = {};
for (const s of strategies) totals[s] = [];
for (const e of perFile) {
  for (const r of e.results) totals[r.strategy].push(r);
  const byStrategy = strategies.map((s) => tally(e.results.filter((r) => r.strategy === s)));
  const all = tally(e.results);
  e.tally = Object.fromEntries(strategies.map((s, i) => [s, byStrategy[i]]));
  e.tally.all = all;
  console.log(`${pad(e.name, 28)} ${lpad(e.frames, 6)}  ${byStrategy.map((t) => pad(cell(t), 12)).join(' ')} ${pad(cell(all), 10)} ${lpad(`${all.framesExact}/${all.framesWrong}`, 14)} ${lpad(`${(all.ms / 1000).toFixed(0)}s`, 7)}`);
}
const allResults = perFile.flatMap((e) => e.results);
const grand = tally(allResults);
const byS = strategies.map((s) => tally(totals[s]));
console.log(`${pad('TOTAL', 28)} ${lpad('', 6)}  ${byS.map((t) => pad(cell(t), 12)).join(' ')} ${pad(cell(grand), 10)} ${lpad(`${grand.framesExact}/${grand.framesWrong}`, 14)} ${lpad(`${(grand.ms / 1000).toFixed(0)}s`, 7)}`);
if (grand.noFrameField > 0) console.log(`\n\`frame\` field missing from frames.json in ${grand.noFrameField} of ${grand.exact + grand.wrong} answered requests (the index check then used the timestamp)`);
const literalDiffers = perFile.filter((e) => e.literalSameFrames === false).map((e) => e.name);
if (literalDiffers.length > 0) console.log(`note: without -enc_time_base -1, ffmpeg gave other frames for: ${literalDiffers.join(', ')}`);

console.log('\nproblems (per file: strategy, request, first problems)');
for (const e of perFile) {
  const bad = e.results.filter((r) => r.verdict !== 'exact' || r.frameField !== 'present');
  if (bad.length === 0) continue;
  console.log(`${e.name} (${e.shape})`);
  for (const r of bad.sort((a, b) => strategies.indexOf(a.strategy) - strategies.indexOf(b.strategy))) {
    const lines = summarize(r, 3).filter((l) => !l.startsWith('frames.json has no'));
    if (lines.length === 0) continue;
    console.log(`  ${pad(r.strategy, 11)} ${pad(r.name, 24)} ${r.verdict.padEnd(7)} ${lines.join(' | ')}`);
  }
}
console.log(`\nreferences ${(refMs / 1000).toFixed(1)} s, requests ${(grand.ms / 1000).toFixed(1)} s of CLI time, wall ${(totalMs / 1000).toFixed(1)} s (jobs ${jobs})`);

if (opts.out !== undefined) {
  await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
  const summary = {
    when: new Date().toISOString(),
    cli,
    strategies,
    jobs,
    wallSeconds: totalMs / 1000,
    referenceSeconds: refMs / 1000,
    totals: { ...grand, byStrategy: Object.fromEntries(strategies.map((s, i) => [s, byS[i]])) },
    files: perFile,
  };
  await writeFile(opts.out, `${JSON.stringify(summary, null, 1)}\n`);
  console.log(`summary: ${path.resolve(opts.out)}`);
}
const failed = grand.wrong > 0 || grand.refused > 0 || grand.noFrameField > 0;
process.exit(failed && !opts['allow-fail'] ? 1 : 0);
