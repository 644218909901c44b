import { describe, expect, it } from 'vitest';
import { BenchMatcher, type MatchableFingerprint } from '../../src/scan/matcher.js';
import { DEFAULT, PAPER, type Preset } from '../../src/scan/presets.js';
import { SCAN_KERNEL_CHOICES, type MatchSettings } from '../../src/scan/settings.js';
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
/** Match settings as a front door fills them: the preset's own retrieval unless told otherwise. */
const use = (preset: Preset, o: Partial<MatchSettings> = {}): MatchSettings => ({ preset, exact: false, prefilter: 'auto', ...o });
/** A fingerprint without inner-half hashes (as an older collection member): no inner comparisons. */
function fp(hashes: BigUint64Array): MatchableFingerprint {
  const none = { innerHashes: new BigUint64Array(0), innerQuality: new Float32Array(0) };
  const layouts = { stripHashes: walk(hashes.length), regions: [], regionHashes: new BigUint64Array(0), regionQuality: new Float32Array(0) };
  return { hashes, rawHashes: hashes, flips: walk(hashes.length), centerHashes: walk(hashes.length), quality: new Float32Array(hashes.length).fill(20), ...none, ...layouts };
}

describe('BenchMatcher', () => {
  const bench = Array.from({ length: 40 }, (_, i) => fp(walk(40 + i * 3)));
  // Training video: 30 s of bench video 17 (from its second 8) with 3 bits of noise per frame, at second 25.
  const train = walk(90);
  for (let k = 0; k < 30; k++) train[25 + k] = flip(bench[17]!.hashes[8 + k]!, 3);

  it.each([
    ['default', DEFAULT],
    ['paper', PAPER],
  ])('%s: the preset\'s retrieval finds the planted copy exactly where the exact path does', async (_, preset) => {
    const viaIndex = await new BenchMatcher(bench, use(preset)).match(fp(train));
    const exact = await new BenchMatcher(bench, use(preset, { exact: true })).match(fp(train));
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
    const m = new BenchMatcher(bench, use(DEFAULT));
    const short = new BigUint64Array(12);
    for (let k = 0; k < 12; k++) short[k] = bench[3]!.hashes[10 + k]!;
    const segs = await m.match(fp(short));
    expect(segs.find((s) => s.benchVideo === 3)).toMatchObject({ trainStart: 0, trainEnd: 12, benchStart: 10, windowFrames: 12 });
  });
});

describe('BenchMatcher: copies played faster or slower', () => {
  /** Fast footage at 16 samples per second, 5-6 bits a sample (a quarter second is ~17 bits). */
  function footage(seconds: number): bigint[] {
    const out: bigint[] = [];
    let h = randomHash();
    for (let i = 0; i < seconds * 16; i++) out.push((h = flip(h, 5 + (next32() % 2))));
    return out;
  }
  const sources = Array.from({ length: 6 }, (_, i) => footage(50 + 7 * i));
  // Benchmark fingerprints at 4 samples per second (the default preset's phases).
  const bench = sources.map((f) => ({ ...fp(BigUint64Array.from(f.filter((_, k) => k % 4 === 0))), fps: 4 }));
  const kernels = SCAN_KERNEL_CHOICES.filter((k) => {
    try {
      new BenchMatcher(bench.slice(0, 1), use(DEFAULT, { kernel: k }));
      return true;
    } catch {
      return false; // a loop this CPU cannot run
    }
  });

  it.each([0.9, 0.95, 1.04, 1.05, 1.1])('speed %s: found at its speed and benchmark time, the scan equal to the exact path on every kernel', async (speed) => {
    const v = 3;
    const b0 = 4.3;
    const train = walk(80);
    for (let i = 0; i < 30; i++) train[20 + i] = flip(sources[v]![Math.round(16 * (b0 + speed * i))]!, next32() % 5);
    const exact = await new BenchMatcher(bench, use(DEFAULT, { exact: true })).match(fp(train));
    expect(exact).toHaveLength(1);
    const s = exact[0]!;
    expect(s.benchVideo).toBe(v);
    expect(Math.abs(s.speed - speed)).toBeLessThanOrEqual(0.02);
    const seconds = (x: number) => x / s.benchPerSecond + s.benchPhase;
    expect(Math.abs(seconds(s.benchStart) - (b0 + speed * (s.trainStart - 20)))).toBeLessThanOrEqual(0.26);
    expect(s.trainStart).toBeLessThanOrEqual(22);
    expect(s.trainEnd).toBeGreaterThanOrEqual(48);
    for (const scanKernel of kernels) expect(await new BenchMatcher(bench, use(DEFAULT, { kernel: scanKernel })).match(fp(train))).toEqual(exact);
    // The approximate prefilter names this video (0-4 bits of noise) and then verifies it like the scan.
    for (const scanKernel of kernels) expect(await new BenchMatcher(bench, use(DEFAULT, { kernel: scanKernel, prefilter: 'on' })).match(fp(train))).toEqual(exact);
    // Without slanted alignments, a 10% change is lost.
    const straight = { ...DEFAULT, rule: { ...DEFAULT.rule, speedRange: 0 } };
    if (Math.abs(speed - 1) >= 0.09) expect(await new BenchMatcher(bench, use(straight, { exact: true })).match(fp(train))).toEqual([]);
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
    // One hash per frame, held once (the loop and verification read the same column).
    expect(scan.heapBytes).toBeGreaterThanOrEqual(8 * b.hashes.length);
    expect(scan.heapBytes).toBeLessThan(8 * b.hashes.length + 1024);
    expect(['avx512', 'avx2', 'portable']).toContain(scan.kernel);
    expect(scan.videos).toBe(5);
    const segs = await scan.matchVideo(train, rule);
    expect(segs).toEqual([expect.objectContaining({ benchVideo: 2, offset: 0, trainStart: 0, trainEnd: 32 })]);
    expect(segs).toEqual(await scan.exactMatchVideo(train, rule));
    expect(await scan.verifyCandidates(train, Uint32Array.of(2), Int32Array.of(0), rule)).toEqual(segs);
    // The retrieval is fixed when the side is built: matchVideo then searches that way.
    expect(scan.retrieval).toBe('frame-scan');
    for (const retrieval of ['exact', 'prefilter']) {
      const other = new (native().BenchFrameScan)(b, undefined, retrieval);
      expect(other.retrieval).toBe(retrieval);
      expect(await other.matchVideo(train, rule)).toEqual(segs);
    }
  });

  it('owns the benchmark side: refuses inconsistent columns, training columns, rules and kernels with the reason', () => {
    const b = seqs(bench);
    expect(() => new (native().BenchFrameScan)({ ...b, lengths: Uint32Array.of(1) })).toThrow(/lengths add up/);
    expect(() => new (native().BenchFrameScan)({ ...b, centerHashes: b.hashes.subarray(1) })).toThrow(/one hash per frame/);
    expect(() => new (native().BenchFrameScan)(b, 'sse9')).toThrow(/unknown scan kernel/);
    expect(() => new (native().BenchFrameScan)(b, undefined, 'index')).toThrow(/unknown retrieval "index"/);
    const scan = new (native().BenchFrameScan)(b);
    expect(() => scan.matchVideo({ ...train, flips: train.hashes.subarray(1) }, rule)).toThrow(/flip hashes must be one per frame/);
    expect(() => scan.matchVideo({ ...train, informative: Uint8Array.of(1) }, rule)).toThrow(/informative flags/);
    expect(() => scan.matchVideo(train, { ...rule, maxDistance: 65 })).toThrow(/maxDistance must be 0..64/);
    expect(() => scan.exactMatchVideo(train, { ...rule, window: 0 })).toThrow(/window must be 1..10000/);
    expect(() => scan.verifyCandidates(train, Uint32Array.of(1, 2), Int32Array.of(0), rule)).toThrow(/same length/);
  });
});

// Last in the file: it draws from the shared PRNG, and the tests above depend on its sequence.
describe('BenchMatcher: the approximate prefilter', () => {
  const bench = Array.from({ length: 40 }, (_, i) => fp(walk(40 + i * 3)));
  const train = walk(90);
  for (let k = 0; k < 30; k++) train[25 + k] = flip(bench[17]!.hashes[8 + k]!, 3);

  it('says how it retrieves: the frame scan below the size threshold, the approximate prefilter when forced or above it', async () => {
    expect(new BenchMatcher(bench, use(DEFAULT)).retrieval).toBe('frame-scan');
    expect(new BenchMatcher(bench, use(DEFAULT, { exact: true })).retrieval).toBe('exact');
    expect(new BenchMatcher(bench, use(PAPER)).retrieval).toBe('hnsw');
    const forced = new BenchMatcher(bench, use(DEFAULT, { prefilter: 'on' }));
    expect(forced.retrieval).toBe('prefilter');
    // Its tables are held in Rust beside the hash columns.
    expect(forced.heapBytes).toBeGreaterThan(new BenchMatcher(bench, use(DEFAULT)).heapBytes);
    // The planted copy (3 bits of noise) is named by the tables, and verified like the scan does.
    const scanned = await new BenchMatcher(bench, use(DEFAULT, { prefilter: 'off' })).match(fp(train));
    expect(scanned.filter((s) => s.benchVideo === 17)).toHaveLength(1);
    const viaPrefilter = await forced.match(fp(train));
    expect(viaPrefilter.filter((s) => s.benchVideo === 17)).toEqual(scanned.filter((s) => s.benchVideo === 17));
    // Whatever it reports, the scan reports too (it can only miss).
    for (const s of viaPrefilter) expect(scanned).toContainEqual(s);
    expect(() => new BenchMatcher(bench, use(DEFAULT, { prefilter: 'sometimes' as 'on' }))).toThrow(/auto, on or off/);
  });
});

// After the prefilter's tests: it draws from the shared PRNG too.
describe('BenchMatcher: the inner half of both frames', () => {
  const withInner = (f: MatchableFingerprint, inner: BigUint64Array, quality = 20): MatchableFingerprint => ({
    ...f,
    innerHashes: inner,
    innerQuality: new Float32Array(inner.length).fill(quality),
  });
  const bench = Array.from({ length: 30 }, (_, i) => withInner(fp(walk(40 + i * 3)), walk(40 + i * 3)));
  // A copy of bench video 9's seconds 5-29 whose whole-frame hashes are another picture's (an
  // overlay moved them) while its inner half is the original's, 4 bits off.
  const train = withInner(fp(walk(60)), walk(60));
  for (let k = 0; k < 25; k++) train.innerHashes[20 + k] = flip(bench[9]!.innerHashes[5 + k]!, 4);

  it('finds a copy by its inner half alone, says so, and exactly as the exact path does', async () => {
    const scanned = await new BenchMatcher(bench, use(DEFAULT)).match(train);
    const exact = await new BenchMatcher(bench, use(DEFAULT, { exact: true })).match(train);
    expect(scanned).toEqual(exact);
    // (Its scenes drift a bit a second, so a line a few percent slower can hold as strong a window.)
    expect(scanned.filter((s) => s.benchVideo === 9)).toMatchObject([{ inner: true, flipped: false, cropped: false, trainStart: 20, trainEnd: 45 }]);
    // The paper preset compares whole frames only.
    expect((await new BenchMatcher(bench, use(PAPER, { exact: true })).match(train)).filter((s) => s.benchVideo === 9 && s.offset === 15)).toEqual([]);
    // A flat inner half is no evidence: with the inner quality under the gate nothing matches.
    const flat = await new BenchMatcher(bench, use(DEFAULT)).match({ ...train, innerQuality: new Float32Array(60) });
    expect(flat.filter((s) => s.benchVideo === 9)).toEqual([]);
  });

  it('counts benchmark videos stored without inner-half hashes (compared on whole frames only)', async () => {
    const mixed = [...bench.slice(0, 20), ...bench.slice(20).map((f) => ({ ...f, innerHashes: new BigUint64Array(0), innerQuality: new Float32Array(0) }))];
    const m = new BenchMatcher(mixed, use(DEFAULT));
    expect(m.withoutInner).toBe(10);
    // (These fingerprints are also at 1 sample a second, below the default preset's 4 phases.)
    expect(m.warnings()).toEqual([
      expect.stringMatching(/^30 benchmark videos were fingerprinted by an older vdedup at 1 sample a second/),
      expect.stringMatching(/^10 benchmark videos were fingerprinted by an older vdedup, without inner-half hashes/),
    ]);
    expect(new BenchMatcher(mixed.map((f) => ({ ...f, fps: 1 })), use(PAPER)).warnings()).toEqual([]);
    expect(new BenchMatcher(bench, use(DEFAULT)).withoutInner).toBe(0);
    expect(new BenchMatcher(mixed, use(PAPER)).withoutInner).toBe(0);
    expect((await m.match(train)).filter((s) => s.benchVideo === 9)).toHaveLength(1);
  });
});
