import { HnswWindowIndex } from '../hnsw/hnsw-window-index.js';
import { native, type BenchFrameScan, type BenchSequences, type MatchSegment, type TrainSequence } from '../native/binding.js';
import { atOneFps, everyNth, type Fingerprint } from '../fingerprint/fingerprint.js';
import type { HnswRetrieval, Preset } from './presets.js';
import type { Retrieval } from './report.js';
import { checkPrefilter, type MatchSettings } from './settings.js';

/** The columns of a fingerprint the matcher reads (a stored Fingerprint has them all). */
export type MatchableFingerprint = Pick<
  Fingerprint,
  'hashes' | 'rawHashes' | 'flips' | 'centerHashes' | 'innerHashes' | 'innerQuality' | 'quality' | 'stripHashes' | 'regions' | 'regionHashes' | 'regionQuality'
> & {
  /** Samples per second (absent: 1). A benchmark fingerprint at P fps is matched as P phases. */
  fps?: number;
};

/**
 * A matched segment, `benchVideo` indexing the benchmark fingerprints given to the matcher.
 * Training frame numbers count seconds. Benchmark positions (`benchStart`, `benchEnd`,
 * `windowBench`) are at `x / benchPerSecond + benchPhase` seconds: a straight segment counts 1 fps
 * frames of one phase (`benchPhase`, below 1, is where its samples start); a slanted one (`speed`
 * other than 1) counts samples of the video, all phases (`benchPerSecond` of them a second).
 */
export type BenchSegment = MatchSegment & { benchPhase: number };

/** Phases a benchmark fingerprint is matched at: its own samples per second, at most the preset's. */
function phasesOf(fp: MatchableFingerprint, preset: Preset): number {
  const fps = fp.fps ?? 1;
  // A fingerprint taken at more samples per second than the preset asks for is matched at the
  // preset's phases when its rate is a multiple of them, else at 1 fps (phase 0 is the 1 fps sample).
  return fps % preset.benchPhases === 0 ? preset.benchPhases : 1;
}

/**
 * Phase `j` of `phases` of a fingerprint taken at `fp.fps` samples per second, as a 1 fps sequence
 * of the columns matching reads (hnswlib's window vectors are made from these; the frame scan's
 * columns are written straight from the fingerprints, `concatBench`).
 */
function phase(fp: MatchableFingerprint, j: number, phases: number, preset: Preset): MatchableFingerprint {
  const fps = fp.fps ?? 1;
  if (fps === 1) return fp;
  const first = j * (fps / phases);
  const pick = <T extends BigUint64Array | Float32Array>(col: T) => everyNth(col, first, fps);
  const none = new BigUint64Array(0);
  return {
    hashes: preset.trimBorders ? pick(fp.hashes) : none,
    rawHashes: preset.trimBorders ? none : pick(fp.rawHashes),
    flips: none,
    centerHashes: preset.matchCrops ? pick(fp.centerHashes) : none,
    innerHashes: preset.matchInner && hasInner(fp) ? pick(fp.innerHashes) : none,
    // Read only when the preset gates on quality (sequenceOf); otherwise nothing to copy.
    quality: preset.minQuality > 0 ? pick(fp.quality) : new Float32Array(0),
    innerQuality: preset.matchInner && hasInner(fp) && preset.minQuality > 0 ? pick(fp.innerQuality) : new Float32Array(0),
    // hnswlib's windows are made of whole-frame and center-crop hashes only.
    stripHashes: none,
    regions: [],
    regionHashes: none,
    regionQuality: new Float32Array(0),
  };
}

/**
 * Whether a fingerprint holds inner-half hashes: every one made now does; a service collection
 * may hold members stored by a version before them (read back with empty inner columns).
 */
export function hasInner(fp: MatchableFingerprint): boolean {
  // (A phase of a fingerprint keeps only the hash column its preset reads: trimmed or raw.)
  return fp.innerHashes.length === Math.max(fp.hashes.length, fp.rawHashes.length);
}

/**
 * Whether a fingerprint holds strip hashes: every one made now does; a service collection may
 * hold members stored by a version before them (read back with an empty strip column).
 */
export function hasStrip(fp: MatchableFingerprint): boolean {
  return fp.stripHashes.length === Math.max(fp.hashes.length, fp.rawHashes.length);
}

const informativeOf = (quality: Float32Array, preset: Preset) =>
  preset.minQuality > 0 ? Uint8Array.from(quality, (q) => (q >= preset.minQuality ? 1 : 0)) : new Uint8Array(0);

/** What the matcher sees of a fingerprint under a preset: which hashes, which frames count. */
export function sequenceOf(fp: MatchableFingerprint, preset: Preset): TrainSequence {
  const informative = informativeOf(fp.quality, preset);
  const hashes = preset.trimBorders ? fp.hashes : fp.rawHashes;
  // napi reads an absent field as "none"; null is not accepted for a typed array.
  const seq: TrainSequence = preset.matchFlips ? { hashes, flips: fp.flips, informative } : { hashes, informative };
  if (preset.matchInner && hasInner(fp) && hashes.length > 0) {
    seq.innerHashes = fp.innerHashes;
    seq.innerInformative = informativeOf(fp.innerQuality, preset);
  }
  if (preset.matchLayouts && fp.regions.length > 0 && hashes.length > 0 && fp.regionHashes.length === fp.regions.length * hashes.length) {
    seq.regionHashes = fp.regionHashes;
    seq.regionInformative = informativeOf(fp.regionQuality, preset);
  }
  return seq;
}

/** One benchmark sequence: phase `phase` of video `video`, samples `first`, `first + step`, ... of its fingerprint. */
interface PhaseSequence {
  video: number;
  phase: number;
  phases: number;
  first: number;
  step: number;
  length: number;
}

/** Each benchmark fingerprint as one 1 fps sequence per phase, in order (grouped by video). */
function phaseSequences(fingerprints: MatchableFingerprint[], preset: Preset): PhaseSequence[] {
  return fingerprints.flatMap((fp, video) => {
    const fps = fp.fps ?? 1;
    const phases = phasesOf(fp, preset);
    const samples = (preset.trimBorders ? fp.hashes : fp.rawHashes).length;
    return Array.from({ length: phases }, (_, j) => {
      const first = j * (fps / phases);
      return { video, phase: j, phases, first, step: fps, length: Math.max(0, Math.ceil((samples - first) / fps)) };
    });
  });
}

/**
 * The benchmark sequences' columns back to back, as the native side takes them (and then owns a
 * copy of), written straight from the fingerprints: no per-sequence copies (a benchmark side can
 * be millions of samples, and small copies left the freed memory to the process, not the system).
 */
function concatBench(fingerprints: MatchableFingerprint[], seqs: PhaseSequence[], preset: Preset): BenchSequences {
  const total = seqs.reduce((n, s) => n + s.length, 0);
  const hashes = new BigUint64Array(total);
  const center = preset.matchCrops ? new BigUint64Array(total) : undefined;
  const gated = preset.minQuality > 0;
  const informative = gated ? new Uint8Array(total) : new Uint8Array(0);
  // Inner-half hashes: a video without them (an older collection member) keeps zeros flagged
  // uninformative (it never matches on the inner half; BenchMatcher.withoutInner counts it).
  const inner = preset.matchInner ? { hashes: new BigUint64Array(total), informative: new Uint8Array(total) } : undefined;
  // Strip hashes: a video without them (an older collection member) repeats its whole-frame
  // hashes, which find nothing the whole-frame column does not (BenchMatcher.withoutStrip counts it).
  const strip = preset.matchLayouts ? new BigUint64Array(total) : undefined;
  let at = 0;
  for (const s of seqs) {
    const fp = fingerprints[s.video]!;
    const source = preset.trimBorders ? fp.hashes : fp.rawHashes;
    const withInner = hasInner(fp);
    const stripSource = hasStrip(fp) ? fp.stripHashes : source;
    for (let i = 0, k = s.first; i < s.length; i++, k += s.step) {
      hashes[at + i] = source[k]!;
      if (strip !== undefined) strip[at + i] = stripSource[k]!;
      if (center !== undefined) center[at + i] = fp.centerHashes[k]!;
      if (gated) informative[at + i] = fp.quality[k]! >= preset.minQuality ? 1 : 0;
      if (inner !== undefined && withInner) {
        inner.hashes[at + i] = fp.innerHashes[k]!;
        inner.informative[at + i] = !gated || fp.innerQuality[k]! >= preset.minQuality ? 1 : 0;
      }
    }
    at += s.length;
  }
  const lengths = Uint32Array.from(seqs, (s) => s.length);
  // napi reads an absent field as "none"; undefined must not be passed explicitly.
  const out: BenchSequences = { hashes, informative, lengths, groups: Uint32Array.from(seqs, (s) => s.video) };
  if (center !== undefined) out.centerHashes = center;
  if (inner !== undefined) Object.assign(out, { innerHashes: inner.hashes, innerInformative: inner.informative });
  if (strip !== undefined) out.stripHashes = strip;
  return out;
}

/**
 * The paper preset's retrieval: window embeddings of the benchmark videos in hnswlib (with the
 * center-crop windows when the preset matches crops), queried with every window of a training
 * video (and of its mirror). Returns the alignments to verify: the hit offsets (+- slack), or with
 * `verifyWholeVideos` every alignment of each benchmark video hit; benchmark videos shorter than a
 * window are always verified at every alignment (no window of theirs is in the index).
 */
class HnswCandidates {
  private readonly index: HnswWindowIndex;
  private readonly shortBench: Array<{ video: number; length: number }> = [];

  constructor(
    fingerprints: MatchableFingerprint[],
    seqs: TrainSequence[],
    /** Windows the index will hold (its initial capacity). */
    windows: number,
    private readonly lengths: Uint32Array,
    private readonly preset: Preset,
    private readonly settings: HnswRetrieval,
  ) {
    const w = preset.rule.window;
    this.index = new HnswWindowIndex(128, undefined, Math.max(1024, windows));
    const binding = native();
    seqs.forEach((seq, video) => {
      const n = seq.hashes.length;
      if (n < w) {
        if (preset.rule.minWindow > 0 && n >= preset.rule.minWindow) this.shortBench.push({ video, length: n });
        return;
      }
      for (const hashes of preset.matchCrops ? [seq.hashes, fingerprints[video]!.centerHashes] : [seq.hashes]) {
        const wv = binding.windowVectors(hashes, seq.informative, preset.rule, 1);
        this.index.addWindows(video, wv.vectors, wv.starts);
      }
    });
  }

  for(train: TrainSequence): { benchVideos: Uint32Array; offsets: Int32Array } {
    const { topK, candidateRadius, offsetSlack, verifyWholeVideos } = this.settings;
    const byVideo = new Map<number, Set<number>>();
    const whole = new Set<number>();
    const add = (video: number, offset: number) => {
      let set = byVideo.get(video);
      if (set === undefined) byVideo.set(video, (set = new Set()));
      set.add(offset);
    };
    const binding = native();
    for (const hashes of train.flips == null ? [train.hashes] : [train.hashes, train.flips]) {
      const q = binding.windowVectors(hashes, train.informative, this.preset.rule, 1);
      for (let i = 0; i < q.starts.length; i++) {
        for (const h of this.index.search(q.vectors.subarray(i * q.dim, (i + 1) * q.dim), topK, candidateRadius)) {
          if (verifyWholeVideos) {
            whole.add(h.video);
            continue;
          }
          const offset = q.starts[i]! - h.start;
          for (let d = -offsetSlack; d <= offsetSlack; d++) add(h.video, offset + d);
        }
      }
    }
    const t = train.hashes.length;
    // Every alignment where a window fits: the window is the rule's, or the shorter video's length.
    const everyOffset = (video: number, length: number) => {
      const w = Math.min(this.preset.rule.window, t, length);
      for (let offset = -(length - w); offset <= t - w; offset++) add(video, offset);
    };
    for (const video of whole) everyOffset(video, this.lengths[video]!);
    for (const { video, length } of this.shortBench) everyOffset(video, length);
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
}

/**
 * Benchmark samples (all phases) from which the default retrieval switches from the exhaustive
 * frame scan to its approximate prefilter (`prefilter: 'auto'`): 1M benchmark seconds at 4 phases.
 * From there the exhaustive scan's cost per training video grows past a useful share of decoding
 * it, while the prefilter's fixed tables weigh little per benchmark second; below it the exhaustive
 * scan, exact, is cheaper (bench/README.md, "Matching at 10M benchmark seconds").
 */
export const PREFILTER_MIN_SAMPLES = 4_000_000;

/**
 * A set of benchmark (or collection) fingerprints prepared for matching. Their hash columns live
 * in Rust (`BenchFrameScan`, the single owner), which finds candidates by the exhaustive frame scan
 * (`retrieval: 'scan'`, exact), compares every alignment (`exact`), or verifies the candidates of
 * window embeddings in hnswlib (`retrieval: 'hnsw'`, the paper preset). One instance serves any
 * number of training videos; the CLI scan, the service and the benchmarks all match through it.
 */
export class BenchMatcher {
  readonly preset: Preset;
  readonly exact: boolean;
  /** Benchmark videos held. */
  readonly videos: number;
  /** 20-s windows the benchmark side holds (with their center-crop twins when crops are matched). */
  readonly windows: number;
  /** How training videos are matched; 'prefilter' and 'hnsw' are approximate. */
  readonly retrieval: Retrieval;
  private readonly bench: BenchFrameScan;
  private readonly hnsw: HnswCandidates | undefined;
  /**
   * Benchmark videos compared without their inner half: fingerprints stored before inner-half
   * hashes existed (older service collection members). `warnings()` says so.
   */
  readonly withoutInner: number;
  /**
   * Benchmark videos compared without their central strip: fingerprints stored before strip hashes
   * existed (older service collection members). `warnings()` says so.
   */
  readonly withoutStrip: number;
  /**
   * Benchmark videos compared at fewer phases than the preset's: fingerprints stored at 1 sample a
   * second before phases existed (older service collection members). `warnings()` says so.
   */
  readonly fewerPhases: number;
  /** Per benchmark sequence: its video, and the start of its phase in seconds. */
  private readonly groups: number[];
  private readonly phaseSeconds: number[];

  constructor(fingerprints: MatchableFingerprint[], settings: MatchSettings) {
    const preset = settings.preset;
    this.preset = preset;
    this.exact = settings.exact;
    this.videos = fingerprints.length;
    this.withoutInner = preset.matchInner ? fingerprints.filter((fp) => !hasInner(fp)).length : 0;
    this.withoutStrip = preset.matchLayouts ? fingerprints.filter((fp) => !hasStrip(fp)).length : 0;
    this.fewerPhases = fingerprints.filter((fp) => phasesOf(fp, preset) < preset.benchPhases).length;
    // Each benchmark fingerprint becomes one 1 fps sequence per phase, grouped as its video.
    const seqs = phaseSequences(fingerprints, preset);
    this.groups = seqs.map((s) => s.video);
    this.phaseSeconds = seqs.map((s) => s.phase / s.phases);
    const w = preset.rule.window;
    this.windows = seqs.reduce((n, s) => n + Math.max(0, s.length - w + 1), 0) * (preset.matchCrops ? 2 : 1);
    const columns = concatBench(fingerprints, seqs, preset);
    const prefilter = checkPrefilter(settings.prefilter, 'prefilter');
    this.retrieval = this.exact
      ? 'exact'
      : preset.retrieval === 'hnsw'
        ? 'hnsw'
        : prefilter === 'on' || (prefilter === 'auto' && columns.hashes.length >= PREFILTER_MIN_SAMPLES)
          ? 'prefilter'
          : 'frame-scan';
    const binding = native();
    this.bench = new binding.BenchFrameScan(columns, settings.kernel, this.retrieval === 'hnsw' ? 'frame-scan' : this.retrieval);
    if (!this.exact && preset.retrieval === 'hnsw') {
      if (preset.hnsw === undefined) throw new Error(`preset ${preset.name}: retrieval 'hnsw' needs its hnsw settings`);
      const phased = seqs.map((s) => phase(fingerprints[s.video]!, s.phase, s.phases, preset));
      this.hnsw = new HnswCandidates(phased, phased.map((fp) => sequenceOf(fp, preset)), this.windows, columns.lengths, preset, preset.hnsw);
    }
  }

  /**
   * What this benchmark side cannot compare in full, for a report's or a check's warnings (empty
   * when everything is): never a silent "no match" for the copies it may miss.
   */
  warnings(): string[] {
    const out: string[] = [];
    const again = 'add them to the collection again to compare them fully';
    if (this.fewerPhases > 0) {
      out.push(
        `${this.fewerPhases} benchmark videos were fingerprinted by an older vdedup at 1 sample a second: copies of them that start a fraction of a second off can be missed; ${again}`,
      );
    }
    if (this.withoutInner > 0) {
      out.push(
        `${this.withoutInner} benchmark videos were fingerprinted by an older vdedup, without inner-half hashes: copies of them with overlays at the edges (logos, captions) can be missed; ${again}`,
      );
    }
    if (this.withoutStrip > 0) {
      out.push(
        `${this.withoutStrip} benchmark videos were fingerprinted by an older vdedup, without strip hashes: portrait (9:16) crops of them can be missed; ${again}`,
      );
    }
    return out;
  }

  /** Memory the benchmark side holds outside the JS heap (its hash columns and informative flags, in Rust). */
  get heapBytes(): number {
    return this.bench.heapBytes;
  }

  /** The part of `heapBytes` the prefilter's tables hold (0 without them). */
  get prefilterBytes(): number {
    return this.bench.prefilterBytes;
  }

  /** The frame scan's comparison loop on this CPU: 'avx512', 'avx2' or 'portable'. */
  get scanKernel(): string {
    return this.bench.kernel;
  }

  /**
   * Segments of `train` (matched at 1 fps: a fingerprint taken at more samples per second is
   * reduced to its 1 fps frames) that match benchmark videos.
   */
  async match(train: MatchableFingerprint): Promise<BenchSegment[]> {
    const seq = sequenceOf((train.fps ?? 1) === 1 ? train : atOneFps(train as Fingerprint), this.preset);
    if (this.videos === 0 || seq.hashes.length === 0) return [];
    return (await this.segments(seq)).map((s) => ({ ...s, benchVideo: this.groups[s.benchVideo]!, benchPhase: this.phaseSeconds[s.benchVideo]! }));
  }

  private async segments(seq: TrainSequence): Promise<MatchSegment[]> {
    const rule = this.preset.rule;
    // The frame scan, the prefilter and the exact path were fixed when the side was built.
    if (this.hnsw === undefined) return this.bench.matchVideo(seq, rule);
    // Training videos shorter than a window have no window to query hnswlib with: every alignment.
    if (seq.hashes.length < rule.window) return this.bench.exactMatchVideo(seq, rule);
    const c = this.hnsw.for(seq);
    return c.benchVideos.length === 0 ? [] : this.bench.verifyCandidates(seq, c.benchVideos, c.offsets, rule);
  }
}
