#!/usr/bin/env node
// Scanning a corpus as shipped (WebDataset tar shards, a .tar.gz, a stored zip) against the same
// videos as loose files, side by side in each run, on the corpus of bench/archive-corpus.sh (the
// x264-720p scan-cost corpus with two planted copies; built if missing). Each run, in alternating
// order, with an empty fingerprint store per scan and the same --bench and --concurrency:
//   loose    vdedup scan --train loose/
//   tar      vdedup scan --train 'shards/{00000..00002}.tar'   (members decoded in place)
//   gunzip   gzip -dc corpus.tar.gz > /dev/null
//   tgz      vdedup scan --train corpus.tar.gz                  (one pass, members via temp files)
//   zip      vdedup scan --train corpus.zip                     (stored members, in place)
//   m1k      vdedup scan --train members-1k.tar                 (1,015 members, 5 of them videos)
//   m100k    vdedup scan --train members-100k.tar               (100,015 members, the same 5 videos)
// Every scan runs with --tmp-dir (and TMPDIR) an empty directory whose bytes are polled every 50 ms
// (peak reported: 0 for in-place layouts; for the .tar.gz under (concurrency + 1) x the largest
// member), under /usr/bin/time -f %M (peak RSS of the node process). The four layouts' reports
// must name the same near-duplicate copies (bench, train and bench times, matched frames; the
// training video by its name in loose/) and the same YouTube-ID removals.
// Prints the medians over --runs runs as one JSON document on stdout; progress on stderr.
//   node bench/archive-scan.mjs [--runs 3] [--concurrency <cores>] [--corpus <dir>]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const option = (n) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : undefined);
const runs = Number(option('runs') ?? 3);
const concurrency = Number(option('concurrency') ?? os.availableParallelism());
const corporaDir = process.env.VDEDUP_CORPORA_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'corpora');
const corpus = option('corpus') !== undefined ? path.resolve(option('corpus')) : path.join(corporaDir, 'archives-x264-720p');

if (option('corpus') === undefined) {
  const built = spawnSync('bash', [path.join(root, 'bench', 'archive-corpus.sh')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) throw new Error('bench/archive-corpus.sh failed');
}
for (const f of ['loose', 'shards', 'corpus.tar.gz', 'corpus.zip', 'bench.jsonl', 'keys.tsv', 'members-1k.tar', 'members-100k.tar']) {
  if (!existsSync(path.join(corpus, f))) throw new Error(`${corpus}: no ${f} (bash bench/archive-corpus.sh builds it)`);
}

const bench = path.join(corpus, 'bench.jsonl');
const shardNames = readdirSync(path.join(corpus, 'shards')).filter((f) => /^\d{5}\.tar$/.test(f)).sort();
const shardPattern = path.join(corpus, 'shards', `{${shardNames[0].slice(0, 5)}..${shardNames.at(-1).slice(0, 5)}}.tar`);
const looseFiles = readdirSync(path.join(corpus, 'loose')).filter((f) => f.endsWith('.mp4'));
const largestMember = Math.max(...looseFiles.map((f) => statSync(path.join(corpus, 'loose', f)).size));
const tgzBound = largestMember * (concurrency + 1);
/** Sample key -> the name of its video in loose/ (keys.tsv of the corpus build). */
const nameOfKey = new Map(readFileSync(path.join(corpus, 'keys.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t')));

const layouts = {
  loose: path.join(corpus, 'loose'),
  tar: shardPattern,
  tgz: path.join(corpus, 'corpus.tar.gz'),
  zip: path.join(corpus, 'corpus.zip'),
  m1k: path.join(corpus, 'members-1k.tar'),
  m100k: path.join(corpus, 'members-100k.tar'),
};

/** Bytes of the files under `dir` now (files come and go while it is read). */
function bytesUnder(dir) {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(p);
    else {
      try {
        total += lstatSync(p).size;
      } catch {
        // deleted between the listing and the stat
      }
    }
  }
  return total;
}

/** Resolves when `child` exits, with its exit code; rejects if it cannot start. */
const exited = (child) =>
  new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });

/**
 * One cold scan of `train`: wall time, the peak bytes of its (empty at the start) temporary
 * directory polled every 50 ms, the node process's peak RSS and the report.
 */
async function scan(train) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'vdedup-archive-scan-'));
  const cache = path.join(work, 'cache');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vdedup-archive-tmp-'));
  const out = path.join(work, 'r.json');
  const rssFile = path.join(work, 'rss');
  const args = ['-o', rssFile, '-f', '%M', process.execPath, path.join(root, 'bin', 'vdedup.js'), 'scan', '--train', train, '--bench', bench, '--out', out, '--concurrency', String(concurrency), '--tmp-dir', tmp];
  let peak = 0;
  let stderr = '';
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', args, { env: { ...process.env, VDEDUP_CACHE_DIR: cache, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => (stderr += d));
  const poll = setInterval(() => (peak = Math.max(peak, bytesUnder(tmp))), 50);
  const code = await exited(child);
  const ms = performance.now() - t0;
  clearInterval(poll);
  peak = Math.max(peak, bytesUnder(tmp));
  try {
    if (code !== 0) throw new Error(`scan of ${train} failed (exit ${code}): ${stderr}`);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const rssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
    const left = bytesUnder(tmp);
    return { ms, peakTmpBytes: peak, tmpBytesLeft: left, rssKiB, report };
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `gzip -dc corpus.tar.gz > /dev/null`: the decompression any .tar.gz scan has to do. */
async function gunzip() {
  const t0 = performance.now();
  const code = await exited(spawn('gzip', ['-dc', layouts.tgz], { stdio: ['ignore', 'ignore', 'inherit'] }));
  if (code !== 0) throw new Error(`gzip -dc failed (exit ${code})`);
  return performance.now() - t0;
}

/** A training video by its name in loose/, whatever the layout calls it. */
function looseName(train) {
  const member = train.includes('#') ? train.slice(train.lastIndexOf('#') + 1) : train;
  const base = path.basename(member);
  return nameOfKey.get(base.replace(/\.mp4$/, '')) ?? base;
}

/** What a report found: copies and YouTube-ID removals, named the same in every layout. */
function findings(report) {
  const sorted = (xs) => xs.map((x) => JSON.stringify(x)).sort();
  const copies = report.matches
    .filter((m) => m.reason === 'near-duplicate')
    .map((m) => ({ train: looseName(m.train), bench: m.bench, trainStart: m.trainStart, trainEnd: m.trainEnd, benchStart: m.benchStart, benchEnd: m.benchEnd, matchedFrames: m.matchedFrames }));
  const removals = report.matches.filter((m) => m.reason === 'youtube-id').map((m) => ({ train: looseName(m.train), bench: m.bench, youtubeId: m.youtubeId }));
  return { copies: sorted(copies), removals: sorted(removals), errors: report.errors.map((e) => `${e.video}: ${e.code} ${e.message}`) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const MiB = (b) => Math.round((b / 2 ** 20) * 10) / 10;
const order = ['loose', 'tar', 'gunzip', 'tgz', 'zip', 'm1k', 'm100k'];
const perRun = [];
const mismatches = [];
let reference;
for (let i = 0; i < runs; i++) {
  const r = {};
  for (const step of i % 2 === 0 ? order : [...order].reverse()) {
    if (step === 'gunzip') r.gunzip = { ms: await gunzip() };
    else r[step] = await scan(layouts[step]);
  }
  const found = Object.fromEntries(['loose', 'tar', 'tgz', 'zip'].map((k) => [k, findings(r[k].report)]));
  reference ??= found.loose;
  for (const [k, f] of Object.entries(found)) {
    if (JSON.stringify(f) !== JSON.stringify(reference)) mismatches.push({ run: i + 1, layout: k, found: f, loose: reference });
  }
  for (const k of ['m1k', 'm100k']) {
    const { errors, stats } = r[k].report;
    if (errors.length > 0 || stats.decodedVideos < 5) mismatches.push({ run: i + 1, layout: k, errors, decodedVideos: stats.decodedVideos });
  }
  const row = {
    ms: Object.fromEntries(order.map((k) => [k, Math.round(r[k].ms)])),
    tarVsLoose: r.tar.ms / r.loose.ms,
    tgzVsGunzipPlusLoose: r.tgz.ms / (r.gunzip.ms + r.loose.ms),
    zipVsLoose: r.zip.ms / r.loose.ms,
    peakTmpBytes: Object.fromEntries(order.filter((k) => k !== 'gunzip').map((k) => [k, r[k].peakTmpBytes])),
    tmpBytesLeft: Object.fromEntries(order.filter((k) => k !== 'gunzip').map((k) => [k, r[k].tmpBytesLeft])),
    rssKiB: Object.fromEntries(order.filter((k) => k !== 'gunzip').map((k) => [k, r[k].rssKiB])),
    decodedVideos: Object.fromEntries(order.filter((k) => k !== 'gunzip').map((k) => [k, r[k].report.stats.decodedVideos])),
  };
  row.rss100kVs1k = row.rssKiB.m100k / row.rssKiB.m1k;
  perRun.push(row);
  console.error(
    `run ${i + 1}: loose ${row.ms.loose} ms, tar ${row.ms.tar} ms (${row.tarVsLoose.toFixed(3)}), gunzip ${row.ms.gunzip} ms, tgz ${row.ms.tgz} ms (${row.tgzVsGunzipPlusLoose.toFixed(3)} of gunzip+loose), zip ${row.ms.zip} ms (${row.zipVsLoose.toFixed(3)}); ` +
      `temp peak tar ${row.peakTmpBytes.tar} B, tgz ${MiB(row.peakTmpBytes.tgz)} MiB (bound ${MiB(tgzBound)} MiB), zip ${row.peakTmpBytes.zip} B; ` +
      `RSS 1k members ${MiB(row.rssKiB.m1k * 1024)} MiB, 100k ${MiB(row.rssKiB.m100k * 1024)} MiB (${row.rss100kVs1k.toFixed(3)}) in ${row.ms.m1k} / ${row.ms.m100k} ms`,
  );
}

const med = (f, digits = 3) => Number(median(perRun.map(f)).toFixed(digits));
const maxOf = (f) => Math.max(...perRun.map(f));
const result = {
  corpus,
  videos: looseFiles.length,
  shards: shardNames.length,
  concurrency,
  runs,
  msMedian: Object.fromEntries(order.map((k) => [k, med((r) => r.ms[k], 0)])),
  tarVsLooseMedian: med((r) => r.tarVsLoose),
  tgzVsGunzipPlusLooseMedian: med((r) => r.tgzVsGunzipPlusLoose),
  zipVsLooseMedian: med((r) => r.zipVsLoose),
  // Worst over the runs: bytes present in the scan's temporary directory, polled every 50 ms.
  peakTmpBytes: Object.fromEntries(['loose', 'tar', 'tgz', 'zip', 'm1k', 'm100k'].map((k) => [k, maxOf((r) => r.peakTmpBytes[k])])),
  tmpBytesLeftMax: Math.max(...perRun.flatMap((r) => Object.values(r.tmpBytesLeft))),
  tgzBound: { largestMemberBytes: largestMember, members: concurrency + 1, bytes: tgzBound },
  tgzUnderBound: maxOf((r) => r.peakTmpBytes.tgz) <= tgzBound,
  tarWritesNothing: maxOf((r) => r.peakTmpBytes.tar) === 0,
  recall: {
    identical: mismatches.length === 0,
    copies: reference.copies.map((c) => JSON.parse(c)),
    removals: reference.removals.map((c) => JSON.parse(c)),
    plantedFound: ['copy-b1.mp4', 'copy-b2.mp4'].every((n) => reference.copies.some((c) => JSON.parse(c).train === n)),
    mismatches,
  },
  memory: {
    members: { m1k: 1015, m100k: 100015 },
    rssKiBMedian: { loose: med((r) => r.rssKiB.loose, 0), tar: med((r) => r.rssKiB.tar, 0), tgz: med((r) => r.rssKiB.tgz, 0), zip: med((r) => r.rssKiB.zip, 0), m1k: med((r) => r.rssKiB.m1k, 0), m100k: med((r) => r.rssKiB.m100k, 0) },
    rss100kVs1kMedian: med((r) => r.rss100kVs1k),
  },
  perRun: perRun.map((r) => ({ ...r, tarVsLoose: Number(r.tarVsLoose.toFixed(3)), tgzVsGunzipPlusLoose: Number(r.tgzVsGunzipPlusLoose.toFixed(3)), zipVsLoose: Number(r.zipVsLoose.toFixed(3)), rss100kVs1k: Number(r.rss100kVs1k.toFixed(3)) })),
};
console.log(JSON.stringify(result, null, 2));
