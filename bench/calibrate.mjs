#!/usr/bin/env node
// Calibration of the default preset's thresholds on real footage: per-frame Hamming distance
// distributions of same-content pairs (each planted copy against its original, aligned) and of
// unrelated pairs (hard negatives and unrelated originals against every benchmark frame).
//   bench/eval/build.sh && node bench/calibrate.mjs     -> bench/calibration.png, bench/out/calibration.json
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { fingerprintCached } = await import(path.join(root, 'dist/fingerprint/cached.js'));
const { FingerprintStore } = await import(path.join(root, 'dist/fingerprint/store.js'));
const { DEFAULT } = await import(path.join(root, 'dist/scan/presets.js'));

const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
const minQ = DEFAULT.minQuality;
const popcount = (x) => {
  let n = 0;
  while (x) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
};
const fp = async (p) => (await fingerprintCached(p, store)).fingerprint;

const benchNames = readdirSync(path.join(evalDir, 'bench')).filter((f) => f.endsWith('.mp4'));
const bench = Object.fromEntries(await Promise.all(benchNames.map(async (f) => [f.replace('.mp4', ''), await fp(path.join(evalDir, 'bench', f))])));
// Footage shared between benchmark videos (see build.sh): never counted as "unrelated".
const related = (a, b) => a === b || [['bird-film', 'megamind-short'], ['class-webcam', 'ball-short'], ['class-webcam', 'street']].some(([x, y]) => (a === x && b === y) || (a === y && b === x));

const same = new Map(); // transform -> histogram (65 bins)
const unrelated = new Array(65).fill(0);
const hist = () => new Array(65).fill(0);
let lowInfo = 0;
for (const f of readdirSync(path.join(evalDir, 'train')).sort()) {
  const [kind, a, b] = f.replace(/\.[a-z0-9]+$/, '').split('--');
  const t = await fp(path.join(evalDir, 'train', f));
  if (kind === 'copy') {
    const src = bench[b];
    const shift = a === 'short-12s' ? 3 : 0; // build.sh cuts short copies from second 3
    const h = same.get(a) ?? hist();
    const hashes = a === 'hflip' ? t.flips : t.hashes; // a mirrored copy is compared through its flip hashes
    for (let i = 0; i < t.frameCount && i + shift < src.frameCount; i++) {
      if (t.quality[i] < minQ || src.quality[i + shift] < minQ) {
        lowInfo++;
        continue;
      }
      h[popcount(hashes[i] ^ src.hashes[i + shift])]++;
    }
    same.set(a, h);
  }
  const sources = kind === 'copy' ? Object.keys(bench).filter((n) => !related(n, b)) : Object.keys(bench);
  for (const n of sources) {
    const s = bench[n];
    for (let i = 0; i < t.frameCount; i++) {
      if (t.quality[i] < minQ) continue;
      for (let j = 0; j < s.frameCount; j++) if (s.quality[j] >= minQ) unrelated[popcount(t.hashes[i] ^ s.hashes[j])]++;
    }
  }
}

const total = (h) => h.reduce((a, b) => a + b, 0);
const cdf = (h, t) => h.slice(0, t + 1).reduce((a, b) => a + b, 0) / Math.max(1, total(h));
const allSame = hist();
for (const h of same.values()) h.forEach((v, i) => (allSame[i] += v));
const rows = [];
for (let t = 0; t <= 40; t++) {
  rows.push({ t, same: cdf(allSame, t), unrelated: cdf(unrelated, t), ...Object.fromEntries([...same].map(([k, h]) => [k, cdf(h, t)])) });
}
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log(`same-content frame pairs: ${total(allSame)}, unrelated frame pairs: ${total(unrelated)}, low-information pairs skipped: ${lowInfo}`);
console.log(' t   same  unrelated  ' + [...same.keys()].map((k) => k.slice(0, 9).padStart(9)).join(' '));
for (const r of rows) {
  if (r.t % 2 && r.t !== 21 && r.t !== 23) continue;
  console.log(`${String(r.t).padStart(2)} ${pct(r.same).padStart(6)} ${pct(r.unrelated).padStart(9)}  ` + [...same.keys()].map((k) => pct(r[k]).padStart(9)).join(' '));
}

// Histogram PNG: two normalised distributions, rendered from SVG by sharp.
const W = 900, H = 420, left = 60, bottom = 360, top = 40, bw = (W - left - 20) / 65;
const maxFrac = Math.max(...allSame.map((v) => v / total(allSame)), ...unrelated.map((v) => v / total(unrelated)));
const bars = (h, color, dx) =>
  h.map((v, i) => {
    const frac = v / total(h);
    const hh = ((bottom - top) * frac) / maxFrac;
    return `<rect x="${(left + i * bw + dx).toFixed(1)}" y="${(bottom - hh).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${hh.toFixed(1)}" fill="${color}"/>`;
  }).join('');
const tx = (t) => left + (t + 0.5) * bw;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="24" font-family="sans-serif" font-size="16" text-anchor="middle">Per-frame pHash Hamming distance on real footage (informative frames)</text>
${bars(allSame, '#2b7bb9', 0)}${bars(unrelated, '#d95f02', bw / 2)}
<line x1="${tx(DEFAULT.rule.maxDistance)}" x2="${tx(DEFAULT.rule.maxDistance)}" y1="${top}" y2="${bottom}" stroke="#333" stroke-dasharray="4 3"/>
<text x="${tx(DEFAULT.rule.maxDistance) + 4}" y="${top + 14}" font-family="sans-serif" font-size="12">default: d &lt;= ${DEFAULT.rule.maxDistance}</text>
<line x1="${tx(30)}" x2="${tx(30)}" y1="${top}" y2="${bottom}" stroke="#999" stroke-dasharray="2 4"/>
<text x="${tx(30) + 4}" y="${top + 30}" font-family="sans-serif" font-size="12" fill="#666">paper: d &lt;= 30</text>
<line x1="${left}" x2="${W - 20}" y1="${bottom}" y2="${bottom}" stroke="#333"/>
${[0, 8, 16, 24, 32, 40, 48, 56, 64].map((t) => `<text x="${tx(t)}" y="${bottom + 18}" font-family="sans-serif" font-size="12" text-anchor="middle">${t}</text>`).join('')}
<text x="${W / 2}" y="${bottom + 40}" font-family="sans-serif" font-size="13" text-anchor="middle">Hamming distance (bits of 64)</text>
<rect x="${W - 300}" y="${top + 40}" width="12" height="12" fill="#2b7bb9"/><text x="${W - 282}" y="${top + 50}" font-family="sans-serif" font-size="12">same content (${total(allSame)} pairs, 13 transformations)</text>
<rect x="${W - 300}" y="${top + 60}" width="12" height="12" fill="#d95f02"/><text x="${W - 282}" y="${top + 70}" font-family="sans-serif" font-size="12">unrelated (${total(unrelated)} pairs)</text>
</svg>`;
await sharp(Buffer.from(svg)).png().toFile(path.join(root, 'bench', 'calibration.png'));
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(root, 'bench', 'out', 'calibration.json'), JSON.stringify({ minQuality: minQ, same: Object.fromEntries(same), allSame, unrelated, rows }, null, 1));
console.log('wrote bench/calibration.png and bench/out/calibration.json');
