import { describe, expect, it } from 'vitest';
import { BenchMatcher, type MatchableFingerprint } from '../../src/decontam/matcher.js';
import { DEFAULT, PAPER } from '../../src/decontam/presets.js';
import { native } from '../../src/native/binding.js';

let seed = 7;
function next32(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
}
const randomHash = () => (BigInt(next32()) << 32n) | BigInt(next32());
const flip = (h: bigint, k: number) => {
  for (let i = 0; i < k; i++) h ^= 1n << BigInt(next32() % 64);
  return h;
};
/** Scenes of 5 s whose hash drifts by a bit per second: real-looking 1 fps sequences. */
function walk(n: number): BigUint64Array {
  const out = new BigUint64Array(n);
  let h = randomHash();
  for (let i = 0; i < n; i++) out[i] = h = i % 5 === 0 ? randomHash() : flip(h, 1);
  return out;
}
function fp(hashes: BigUint64Array): MatchableFingerprint {
  return { hashes, rawHashes: hashes, flips: walk(hashes.length), centerHashes: walk(hashes.length), quality: new Float32Array(hashes.length).fill(20) };
}

describe('BenchMatcher', () => {
  const bench = Array.from({ length: 40 }, (_, i) => fp(walk(40 + i * 3)));
  // Training video: 30 s of bench video 17 (from its second 8) with 3 bits of noise per frame, at second 25.
  const train = walk(90);
  for (let k = 0; k < 30; k++) train[25 + k] = flip(bench[17]!.hashes[8 + k]!, 3);

  it.each([
    ['default', DEFAULT],
    ['paper', PAPER],
  ])('%s: the index path finds the planted copy exactly where the exhaustive path does', async (_, preset) => {
    const m = new BenchMatcher(bench, preset);
    const viaIndex = await m.match(fp(train));
    const exact = await m.match(fp(train), { exact: true });
    // (The paper's 30-bit rule also matches random frames a third of the time, so its other
    // segments with this video are chance; the planted alignment is offset 17.)
    const planted = (segs: typeof exact) => segs.filter((s) => s.benchVideo === 17 && s.offset === 17);
    expect(planted(exact)).toHaveLength(1);
    expect(planted(viaIndex)).toEqual(planted(exact));
    if (preset === DEFAULT) {
      expect(exact.filter((s) => s.benchVideo === 17)).toHaveLength(1);
      expect(planted(exact)[0]).toMatchObject({ trainStart: 25, trainEnd: 55, benchStart: 8, benchEnd: 38 });
    }
  });

  it('a training video shorter than the window is compared exhaustively', async () => {
    const m = new BenchMatcher(bench, DEFAULT);
    const short = new BigUint64Array(12);
    for (let k = 0; k < 12; k++) short[k] = bench[3]!.hashes[10 + k]!;
    const segs = await m.match(fp(short));
    expect(segs.find((s) => s.benchVideo === 3)).toMatchObject({ trainStart: 0, trainEnd: 12, benchStart: 10, windowFrames: 12 });
  });
});

describe('BenchFrameScan binding', () => {
  const bench = Array.from({ length: 5 }, (_, i) => fp(walk(30 + i)));
  const seqs = (list: MatchableFingerprint[]) => {
    const lengths = Uint32Array.from(list, (f) => f.hashes.length);
    const hashes = new BigUint64Array(lengths.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const f of list) {
      hashes.set(f.hashes, at);
      at += f.hashes.length;
    }
    return { hashes, informative: new Uint8Array(0), lengths };
  };
  const rule = DEFAULT.rule;
  const train = { hashes: bench[2]!.hashes, informative: new Uint8Array(0) };

  it('finds a whole-video copy, like the exact path, and says how big it is and which loop it runs', async () => {
    const b = seqs(bench);
    const scan = new (native().BenchFrameScan)(b);
    expect(scan.entries).toBe(b.hashes.length);
    // One hash and one frame number per frame.
    expect(scan.heapBytes).toBeGreaterThanOrEqual(12 * b.hashes.length);
    expect(['avx512', 'avx2', 'portable']).toContain(scan.kernel);
    const segs = await scan.matchVideo(train, b, rule);
    expect(segs).toEqual([expect.objectContaining({ benchVideo: 2, offset: 0, trainStart: 0, trainEnd: 32 })]);
    expect(segs).toEqual(await native().exactScanVideo(train, b, rule));
  });

  it('refuses bench sequences other than the ones it was built from', () => {
    const scan = new (native().BenchFrameScan)(seqs(bench));
    expect(() => scan.matchVideo(train, seqs(bench.slice(1)), rule)).toThrow(/differ from the ones the scan was built from/);
    const withCenter = { ...seqs(bench), centerHashes: seqs(bench).hashes };
    expect(() => scan.matchVideo(train, withCenter, rule)).toThrow(/center hashes/);
    expect(() => new (native().BenchFrameScan)({ ...seqs(bench), lengths: Uint32Array.of(1) })).toThrow(/lengths add up/);
  });
});
