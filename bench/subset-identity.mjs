#!/usr/bin/env node
// Decoding less must not change a single bit: every video under the given directories is
// fingerprinted twice, as the scan does (H.264/HEVC MP4/MOV without the frames no sample shows) and with
// the whole stream decoded (decodeAll), at 1 fps (training side) and 4 fps (benchmark side), and
// every column of the two fingerprints is compared. Prints per file whether a subset was decoded
// and which share of the samples it kept; exits 1 on any difference.
//   node bench/subset-identity.mjs [dir ...]   (default: the scan-cost corpora, bench/corpora/build.sh,
//                                              and the evaluation set, bench/eval/build.sh)
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { fingerprintVideo } = await import(path.join(root, 'dist', 'fingerprint', 'fingerprint.js'));
const { samplingSubset } = await import(path.join(root, 'dist', 'media', 'sample.js'));
const { readSampleTable } = await import(path.join(root, 'dist', 'media', 'mp4', 'sample-table.js'));

const cache = path.join(os.homedir(), '.cache', 'vdedup');
const dirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [path.join(cache, 'corpora'), path.join(cache, 'eval')].filter((d) => existsSync(d));
const VIDEO = /\.(mp4|mov|m4v|mkv|webm|avi|mpg|mpeg|ts|ogv)$/i;
const walk = (d) => readdirSync(d).sort().flatMap((n) => {
  const p = path.join(d, n);
  return statSync(p).isDirectory() ? walk(p) : VIDEO.test(n) ? [p] : [];
});
const files = dirs.flatMap(walk);
const COLUMNS = ['hashes', 'flips', 'rawHashes', 'centerHashes', 'innerHashes', 'innerQuality', 'quality', 'stripHashes', 'regionHashes', 'regionQuality', 'content'];

let compared = 0;
let subsets = 0;
const differ = [];
for (const file of files) {
  for (const fps of [1, 4]) {
    const subset = await samplingSubset(file, fps).catch(() => undefined);
    if (subset === undefined) continue; // the whole stream is decoded anyway: nothing to compare
    const table = await readSampleTable(file);
    let kept = 0;
    for await (const chunk of subset.stream()) kept += chunk.length;
    const total = table.sampleSizes.reduce((a, b) => a + b, 0);
    const fast = await fingerprintVideo(file, { fps });
    const whole = await fingerprintVideo(file, { fps, decodeAll: true });
    const bad = COLUMNS.filter((c) => fast[c].length !== whole[c].length || fast[c].some((v, i) => v !== whole[c][i]));
    if (fast.frameCount !== whole.frameCount || fast.duration !== whole.duration) bad.push('frameCount/duration');
    if (JSON.stringify(fast.regions) !== JSON.stringify(whole.regions)) bad.push('regions');
    compared++;
    subsets++;
    if (bad.length > 0) differ.push(`${file} at ${fps} fps: ${bad.join(', ')}`);
    console.error(`${bad.length === 0 ? 'same' : 'DIFF'}  ${fps} fps  ${(kept / total * 100).toFixed(0).padStart(3)}% of the bytes  ${path.relative(cache, file)}`);
  }
}
console.log(JSON.stringify({ files: files.length, decodedAsSubset: subsets, identical: compared - differ.length, differ }, null, 2));
process.exit(differ.length === 0 ? 0 : 1);
