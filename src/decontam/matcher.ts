import { WindowIndex } from '../index/window-index.js';
import { native, type BenchFrameScan, type BenchSequences, type MatchSegment, type TrainSequence } from '../native/binding.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { Preset } from './presets.js';

/** The columns of a fingerprint the matcher reads (a stored Fingerprint has them all). */
export type MatchableFingerprint = Pick<Fingerprint, 'hashes' | 'rawHashes' | 'flips' | 'centerHashes' | 'quality'>;

/** What the matcher sees of a fingerprint under a preset: which hashes, which frames count. */
export function sequenceOf(fp: MatchableFingerprint, preset: Preset): TrainSequence {
  const informative = preset.minQuality > 0 ? Uint8Array.from(fp.quality, (q) => (q >= preset.minQuality ? 1 : 0)) : new Uint8Array(0);
  const hashes = preset.trimBorders ? fp.hashes : fp.rawHashes;
  // napi reads an absent field as "no flips"; null is not accepted for a typed array.
  return preset.matchFlips ? { hashes, flips: fp.flips, informative } : { hashes, informative };
}

function concatBench(bench: MatchableFingerprint[], seqs: TrainSequence[], preset: Preset): BenchSequences {
  const total = seqs.reduce((n, s) => n + s.hashes.length, 0);
  const hashes = new BigUint64Array(total);
  const center = preset.matchCrops ? new BigUint64Array(total) : undefined;
  const informative = preset.minQuality > 0 ? new Uint8Array(total) : new Uint8Array(0);
  let at = 0;
  seqs.forEach((s, i) => {
    hashes.set(s.hashes, at);
    center?.set(bench[i]!.centerHashes, at);
    if (informative.length > 0) informative.set(s.informative, at);
    at += s.hashes.length;
  });
  const lengths = Uint32Array.from(seqs, (s) => s.hashes.length);
  // napi reads an absent field as "none"; undefined must not be passed explicitly.
  return center === undefined ? { hashes, informative, lengths } : { hashes, centerHashes: center, informative, lengths };
}

/**
 * Candidate alignments for one training video. Every window (and its mirror) queries the index;
 * with `preset.verifyWholeVideos`, each benchmark video hit anywhere is then verified at every
 * alignment (cheap in Rust next to decoding), else only at the hit offsets (+- slack), as in the
 * paper. Benchmark videos shorter than a window are always checked at every offset.
 */
function candidatesFor(
  train: TrainSequence,
  index: WindowIndex,
  benchLengths: Uint32Array,
  shortBench: Array<{ video: number; length: number }>,
  preset: Preset,
): { benchVideos: Uint32Array; offsets: Int32Array } {
  const byVideo = new Map<number, Set<number>>();
  const whole = new Set<number>();
  const add = (video: number, offset: number) => {
    let set = byVideo.get(video);
    if (set === undefined) byVideo.set(video, (set = new Set()));
    set.add(offset);
  };
  const binding = native();
  for (const hashes of train.flips == null ? [train.hashes] : [train.hashes, train.flips]) {
    const q = binding.windowVectors(hashes, train.informative, preset.rule, 1);
    for (let i = 0; i < q.starts.length; i++) {
      const hits = index.search(q.vectors.subarray(i * q.dim, (i + 1) * q.dim), preset.topK, preset.candidateRadius);
      for (const h of hits) {
        if (preset.verifyWholeVideos) {
          whole.add(h.video);
          continue;
        }
        const offset = q.starts[i]! - h.start;
        for (let d = -preset.offsetSlack; d <= preset.offsetSlack; d++) add(h.video, offset + d);
      }
    }
  }
  const t = train.hashes.length;
  // Every alignment where a window fits: the window is the rule's, or the shorter video's length.
  const everyOffset = (video: number, length: number) => {
    const w = Math.min(preset.rule.window, t, length);
    for (let offset = -(length - w); offset <= t - w; offset++) add(video, offset);
  };
  for (const video of whole) everyOffset(video, benchLengths[video]!);
  for (const { video, length } of shortBench) everyOffset(video, length);
  const benchVideos: number[] = [];
  const offsets: number[] = [];
  for (const [video, set] of byVideo) {
    for (const o of set) {
      benchVideos.push(video);
      offsets.push(o);
    }
  }
  return { benchVideos: Uint32Array.from(benchVideos), offsets: Int32Array.from(offsets) };
}

/**
 * A set of benchmark (or collection) fingerprints prepared for matching: concatenated columns for
 * the native verifier and a way to find candidates: the exhaustive frame scan over the frame hashes
 * (`retrieval: 'scan'`, in Rust memory, exact) or window embeddings in hnswlib (`'hnsw'`). One instance
 * serves any number of training videos; the CLI scan, the service and the benchmarks all match
 * through it.
 */
export class BenchMatcher {
  readonly preset: Preset;
  private readonly bench: BenchSequences;
  private readonly frameScan: BenchFrameScan | undefined;
  private readonly index: WindowIndex | undefined;
  /** hnsw retrieval verifies these (bench videos shorter than a window) at every alignment. */
  private readonly shortBench: Array<{ video: number; length: number }> = [];
  private readonly windows: number;

  /**
   * `scanKernel` ('avx2' | 'portable'; default $VDEDUP_SCAN_KERNEL, else the CPU's fastest) forces a
   * fallback loop of the frame scan: benchmarks, or a CPU suspected of miscomputing.
   */
  constructor(fingerprints: MatchableFingerprint[], preset: Preset, options: { buildIndex?: boolean; scanKernel?: string } = {}) {
    this.preset = preset;
    const seqs = fingerprints.map((fp) => sequenceOf(fp, preset));
    this.bench = concatBench(fingerprints, seqs, preset);
    const w = preset.rule.window;
    // Windows the index can retrieve (with their center-crop twins), for reports and benchmarks.
    this.windows = seqs.reduce((n, s) => n + Math.max(0, s.hashes.length - w + 1), 0) * (preset.matchCrops ? 2 : 1);
    seqs.forEach((seq, video) => {
      const n = seq.hashes.length;
      if (n < w && preset.rule.minWindow > 0 && n >= preset.rule.minWindow) this.shortBench.push({ video, length: n });
    });
    if (options.buildIndex === false) return;
    const binding = native();
    if (preset.retrieval === 'scan') {
      const kernel = options.scanKernel ?? process.env.VDEDUP_SCAN_KERNEL;
      this.frameScan = kernel ? new binding.BenchFrameScan(this.bench, kernel) : new binding.BenchFrameScan(this.bench);
      return;
    }
    const index = new WindowIndex(128, undefined, Math.max(1024, this.windows));
    fingerprints.forEach((fp, video) => {
      const seq = seqs[video]!;
      if (seq.hashes.length < w) return;
      // Cropped copies are retrieved through windows of the bench frames' central part.
      for (const hashes of preset.matchCrops ? [seq.hashes, fp.centerHashes] : [seq.hashes]) {
        const wv = binding.windowVectors(hashes, seq.informative, preset.rule, 1);
        index.addWindows(video, wv.vectors, wv.starts);
      }
    });
    this.index = index;
  }

  get indexedWindows(): number {
    return this.frameScan !== undefined || this.index !== undefined ? this.windows : 0;
  }

  /** Memory the candidate index holds outside the JS heap (scan retrieval only; 0 for hnsw). */
  get indexBytes(): number {
    return this.frameScan?.heapBytes ?? 0;
  }

  /** The frame scan's comparison loop on this CPU ('avx512', 'avx2', 'portable'), or undefined for hnsw. */
  get scanKernel(): string | undefined {
    return this.frameScan?.kernel;
  }

  /** Segments of `train` that match benchmark videos (`benchVideo` indexes the constructor's list). */
  async match(train: MatchableFingerprint, options: { exact?: boolean } = {}): Promise<MatchSegment[]> {
    const binding = native();
    const seq = sequenceOf(train, this.preset);
    if (this.bench.lengths.length === 0 || seq.hashes.length === 0) return [];
    if (options.exact !== true && this.frameScan !== undefined) {
      // Same segments as the exact path (any training length), found with a fraction of its work.
      return this.frameScan.matchVideo(seq, this.bench, this.preset.rule);
    }
    if (options.exact === true || seq.hashes.length < this.preset.rule.window || this.index === undefined) {
      // Exact for --exact, for training videos shorter than a window (no indexed window fits
      // them), and when the matcher was built without an index.
      return binding.exactScanVideo(seq, this.bench, this.preset.rule);
    }
    const c = candidatesFor(seq, this.index, this.bench.lengths, this.shortBench, this.preset);
    return c.benchVideos.length === 0 ? [] : binding.verifyVideoCandidates(seq, this.bench, c.benchVideos, c.offsets, this.preset.rule);
  }
}
