#!/usr/bin/env node
// What layouts (active regions and the central strip) cost in memory, on the evaluation set
// (bench/eval/build.sh; the fingerprints run.mjs stored in its cache):
//   - the fingerprint store: bytes per sample of the training side's entries, against the same
//     entries without strip and region columns (the format before them);
//   - the benchmark side held for matching (BenchMatcher, Rust): bytes per benchmark second with
//     and without layouts, the default preset (4 phases).
//   node bench/eval/layout-memory.mjs     (after node bench/eval/run.mjs)
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { fingerprintCached } = await import(path.join(root, 'dist/fingerprint/cached.js'));
const { FingerprintStore, encodeFingerprint } = await import(path.join(root, 'dist/fingerprint/store.js'));
const { BenchMatcher } = await import(path.join(root, 'dist/scan/matcher.js'));
const { PRESETS } = await import(path.join(root, 'dist/scan/presets.js'));

const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
let samples = 0;
let withLayouts = 0;
let without = 0;
let videosWithRegions = 0;
let regions = 0;
const train = readdirSync(path.join(evalDir, 'train')).filter((f) => !f.includes('.part'));
for (const f of train) {
  const { fingerprint: fp } = await fingerprintCached(path.join(evalDir, 'train', f), store);
  samples += fp.frameCount;
  withLayouts += encodeFingerprint('0'.repeat(32), fp).length;
  const none = { ...fp, stripHashes: new BigUint64Array(fp.frameCount), regions: [], regionHashes: new BigUint64Array(0), regionQuality: new Float32Array(0) };
  without += encodeFingerprint('0'.repeat(32), none).length - 8 * fp.frameCount;
  regions += fp.regions.length;
  videosWithRegions += fp.regions.length > 0 ? 1 : 0;
}
console.log(`store, ${train.length} training videos (${samples} samples; ${videosWithRegions} with active regions, ${regions} regions):`);
console.log(`  ${(without / samples).toFixed(1)} B a sample before layouts, ${(withLayouts / samples).toFixed(1)} B with them: x${(withLayouts / without).toFixed(3)}`);

const bench = [];
let benchSeconds = 0;
for (const f of readdirSync(path.join(evalDir, 'bench'))) {
  const { fingerprint: fp } = await fingerprintCached(path.join(evalDir, 'bench', f), store, { fps: 4 });
  bench.push(fp);
  benchSeconds += fp.frameCount / fp.fps;
}
const bytes = (matchLayouts) => new BenchMatcher(bench, { preset: { ...PRESETS.default, matchLayouts }, exact: false, prefilter: 'off' }).heapBytes;
const [a, b] = [bytes(false), bytes(true)];
console.log(`benchmark side, ${bench.length} videos (${benchSeconds.toFixed(0)} s at 4 phases):`);
console.log(`  ${(a / benchSeconds).toFixed(1)} B a benchmark second without layouts, ${(b / benchSeconds).toFixed(1)} B with them: x${(b / a).toFixed(3)}`);
