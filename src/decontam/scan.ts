import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { readVideoSource, type VideoItem } from './inputs.js';
import { mapLimit } from './pool.js';
import type { Preset } from './presets.js';
import { fingerprintCached } from '../fingerprint/cached.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { WindowIndex } from '../index/window-index.js';
import { native, type BenchSequences, type MatchSegment, type TrainSequence } from '../native/binding.js';
import { isVdedupError } from '../errors.js';

export interface Match {
  train: string;
  bench: string;
  reason: 'youtube-id' | 'near-duplicate';
  /** Seconds; null for a YouTube-ID match (decided without decoding). */
  trainStart: number | null;
  trainEnd: number | null;
  benchStart: number | null;
  benchEnd: number | null;
  /** Matching frames in the best window, and that window's length in frames. */
  matchedFrames: number | null;
  windowFrames: number | null;
  /** Mean Hamming distance over the matching frames of the best window. */
  meanDistance: number | null;
  /** The training video is a mirrored copy. */
  flipped?: boolean;
  /** The training video is a copy cropped at the edges. */
  cropped?: boolean;
  youtubeId?: string;
  youtubeIdSource?: string;
}

export interface ScanError {
  side: 'train' | 'bench';
  video: string;
  code: string;
  message: string;
}

export interface ScanStats {
  trainVideos: number;
  benchVideos: number;
  /** Frames decoded and hashed in this run (0 when every fingerprint came from the store). */
  framesHashed: number;
  seconds: number;
  preset: string;
  exact: boolean;
  decodedVideos: number;
  storedVideos: number;
  youtubeIdMatches: number;
  nearDuplicateMatches: number;
  errors: number;
  benchWindowsIndexed: number;
}

export interface ScanReport {
  matches: Match[];
  removed: string[];
  errors: ScanError[];
  stats: ScanStats;
  train: string;
  bench: string;
  rule: Preset;
}

export interface ScanProgress {
  phase: 'bench' | 'index' | 'train';
  done: number;
  total: number;
  framesDecoded: number;
  elapsedSeconds: number;
}

export interface ScanOptions {
  train: string;
  bench: string;
  preset: Preset;
  /** Compare every window pair (no index): exact, O(train frames x bench frames). */
  exact?: boolean;
  store: FingerprintStore;
  /** Videos decoded at once (one single-threaded ffmpeg each); default: one per core. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
}

interface Fingerprinted {
  item: VideoItem;
  fp: Fingerprint;
}

/** What the matcher sees of a fingerprint under a preset: which hashes, which frames count. */
function sequenceOf(fp: Fingerprint, preset: Preset): TrainSequence {
  const informative = preset.minQuality > 0 ? Uint8Array.from(fp.quality, (q) => (q >= preset.minQuality ? 1 : 0)) : new Uint8Array(0);
  const hashes = preset.trimBorders ? fp.hashes : fp.rawHashes;
  // napi reads an absent field as "no flips"; null is not accepted for a typed array.
  return preset.matchFlips ? { hashes, flips: fp.flips, informative } : { hashes, informative };
}

function concatBench(bench: Fingerprinted[], preset: Preset): BenchSequences {
  const seqs = bench.map((b) => sequenceOf(b.fp, preset));
  const total = seqs.reduce((n, s) => n + s.hashes.length, 0);
  const hashes = new BigUint64Array(total);
  const center = preset.matchCrops ? new BigUint64Array(total) : undefined;
  const informative = preset.minQuality > 0 ? new Uint8Array(total) : new Uint8Array(0);
  let at = 0;
  seqs.forEach((s, i) => {
    hashes.set(s.hashes, at);
    center?.set(bench[i]!.fp.centerHashes, at);
    if (informative.length > 0) informative.set(s.informative, at);
    at += s.hashes.length;
  });
  const lengths = Uint32Array.from(seqs, (s) => s.hashes.length);
  // napi reads an absent field as "none"; undefined must not be passed explicitly.
  return center === undefined ? { hashes, informative, lengths } : { hashes, centerHashes: center, informative, lengths };
}

/** Candidate alignments for one training video: index hits, plus every offset of short bench videos. */
function candidatesFor(
  train: TrainSequence,
  index: WindowIndex,
  shortBench: Array<{ video: number; length: number }>,
  preset: Preset,
): { benchVideos: Uint32Array; offsets: Int32Array } {
  const byVideo = new Map<number, Set<number>>();
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
        const offset = q.starts[i]! - h.start;
        for (let d = -preset.offsetSlack; d <= preset.offsetSlack; d++) add(h.video, offset + d);
      }
    }
  }
  const t = train.hashes.length;
  for (const { video, length } of shortBench) {
    const w = Math.min(t, length);
    for (let offset = -(length - w); offset <= t - w; offset++) add(video, offset);
  }
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

const round1 = (x: number) => Math.round(x * 10) / 10;

function toMatch(train: VideoItem, bench: VideoItem, s: MatchSegment, fps: number): Match {
  return {
    train: train.id,
    bench: bench.id,
    reason: 'near-duplicate',
    trainStart: s.trainStart / fps,
    trainEnd: s.trainEnd / fps,
    benchStart: s.benchStart / fps,
    benchEnd: s.benchEnd / fps,
    matchedFrames: s.matchedFrames,
    windowFrames: s.windowFrames,
    meanDistance: round1(s.meanDistance),
    ...(s.flipped ? { flipped: true } : {}),
    ...(s.cropped ? { cropped: true } : {}),
  };
}

function errorOf(side: 'train' | 'bench', item: VideoItem, err: unknown): ScanError {
  if (isVdedupError(err)) return { side, video: item.id, code: err.code, message: err.message };
  return { side, video: item.id, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Decontamination scan (embedded, no Redis): YouTube-ID stage first (no decoding), then
 * fingerprints (through the store), the bench window index, and per training video: candidate
 * retrieval and frame-by-frame verification. Per-video failures go to `errors`; the scan goes on.
 */
export async function runScan(opts: ScanOptions): Promise<ScanReport> {
  const started = performance.now();
  const preset = opts.preset;
  const concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
  const threads = concurrency > 1 ? 1 : 0;
  const [trainSrc, benchSrc] = await Promise.all([readVideoSource(opts.train), readVideoSource(opts.bench)]);
  const matches: Match[] = [];
  const errors: ScanError[] = [];
  let framesDecoded = 0;
  let decodedVideos = 0;
  let storedVideos = 0;
  const elapsed = () => (performance.now() - started) / 1000;

  // 1. YouTube IDs: exact re-uploads are removed without decoding anything.
  const benchById = new Map<string, VideoItem[]>();
  for (const b of benchSrc.items) {
    if (b.youtubeId === undefined) continue;
    const list = benchById.get(b.youtubeId) ?? [];
    list.push(b);
    benchById.set(b.youtubeId, list);
  }
  const idRemoved = new Set<string>();
  for (const t of trainSrc.items) {
    const hits = t.youtubeId === undefined ? undefined : benchById.get(t.youtubeId);
    if (hits === undefined) continue;
    idRemoved.add(t.id);
    for (const b of hits) {
      matches.push({
        train: t.id,
        bench: b.id,
        reason: 'youtube-id',
        trainStart: null,
        trainEnd: null,
        benchStart: null,
        benchEnd: null,
        matchedFrames: null,
        windowFrames: null,
        meanDistance: null,
        youtubeId: t.youtubeId,
        youtubeIdSource: t.youtubeIdSource === b.youtubeIdSource ? t.youtubeIdSource : `${t.youtubeIdSource} / ${b.youtubeIdSource}`,
      });
    }
  }

  const fingerprint = async (side: 'train' | 'bench', item: VideoItem, onDone: () => void): Promise<Fingerprint | undefined> => {
    try {
      const r = await fingerprintCached(item.path!, opts.store, { signal: opts.signal, threads });
      if (r.fromStore) storedVideos++;
      else {
        decodedVideos++;
        framesDecoded += r.fingerprint.frameCount;
      }
      return r.fingerprint;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      errors.push(errorOf(side, item, err));
      return undefined;
    } finally {
      onDone();
    }
  };

  // 2. Benchmark fingerprints.
  const benchItems = benchSrc.items.filter((b) => b.path !== undefined);
  let benchDone = 0;
  const report = (phase: ScanProgress['phase'], done: number, total: number) =>
    opts.onProgress?.({ phase, done, total, framesDecoded, elapsedSeconds: elapsed() });
  report('bench', 0, benchItems.length);
  const benchFps = await mapLimit(benchItems, concurrency, (item) =>
    fingerprint('bench', item, () => report('bench', ++benchDone, benchItems.length)),
  );
  const bench: Fingerprinted[] = [];
  benchItems.forEach((item, i) => {
    const fp = benchFps[i];
    if (fp !== undefined) bench.push({ item, fp });
  });
  const benchSeqs = concatBench(bench, preset);

  // 3. Window index over the benchmark (videos shorter than the window are checked exhaustively).
  const binding = native();
  const index = new WindowIndex(128, undefined, Math.max(1024, benchSeqs.hashes.length));
  const shortBench: Array<{ video: number; length: number }> = [];
  if (opts.exact !== true) {
    report('index', 0, bench.length);
    bench.forEach((b, video) => {
      const seq = sequenceOf(b.fp, preset);
      if (seq.hashes.length < preset.rule.window) {
        if (preset.rule.minWindow > 0 && seq.hashes.length >= preset.rule.minWindow) shortBench.push({ video, length: seq.hashes.length });
        return;
      }
      // Cropped copies are retrieved through windows of the bench frames' central part.
      for (const hashes of preset.matchCrops ? [seq.hashes, b.fp.centerHashes] : [seq.hashes]) {
        const wv = binding.windowVectors(hashes, seq.informative, preset.rule, 1);
        index.addWindows(video, wv.vectors, wv.starts);
      }
    });
    report('index', bench.length, bench.length);
  }

  // 4. Training videos: fingerprint, retrieve, verify.
  const trainItems = trainSrc.items.filter((t) => t.path !== undefined && !idRemoved.has(t.id));
  let trainDone = 0;
  report('train', 0, trainItems.length);
  await mapLimit(trainItems, concurrency, async (item) => {
    const fp = await fingerprint('train', item, () => undefined);
    try {
      if (fp === undefined || bench.length === 0) return;
      const seq = sequenceOf(fp, preset);
      const train = seq;
      let segments: MatchSegment[];
      if (opts.exact === true || seq.hashes.length < preset.rule.window) {
        // Exact for --exact, and for training videos shorter than a window (no indexed window fits them).
        segments = await binding.exactScanVideo(train, benchSeqs, preset.rule);
      } else {
        const c = candidatesFor(seq, index, shortBench, preset);
        segments = c.benchVideos.length === 0 ? [] : await binding.verifyVideoCandidates(train, benchSeqs, c.benchVideos, c.offsets, preset.rule);
      }
      for (const s of segments) matches.push(toMatch(item, bench[s.benchVideo]!.item, s, fp.fps));
    } catch (err) {
      errors.push(errorOf('train', item, err));
    } finally {
      report('train', ++trainDone, trainItems.length);
    }
  });

  matches.sort(
    (a, b) =>
      (a.train < b.train ? -1 : a.train > b.train ? 1 : 0) ||
      (a.bench < b.bench ? -1 : a.bench > b.bench ? 1 : 0) ||
      (a.trainStart ?? -1) - (b.trainStart ?? -1),
  );
  errors.sort((a, b) => (a.side + a.video < b.side + b.video ? -1 : 1));
  const removed = [...new Set(matches.map((m) => m.train))].sort();
  return {
    matches,
    removed,
    errors,
    stats: {
      trainVideos: trainSrc.items.length,
      benchVideos: benchSrc.items.length,
      framesHashed: framesDecoded,
      seconds: Math.round(elapsed() * 100) / 100,
      preset: preset.name,
      exact: opts.exact === true,
      decodedVideos,
      storedVideos,
      youtubeIdMatches: matches.filter((m) => m.reason === 'youtube-id').length,
      nearDuplicateMatches: matches.filter((m) => m.reason === 'near-duplicate').length,
      errors: errors.length,
      benchWindowsIndexed: index.size,
    },
    train: opts.train,
    bench: opts.bench,
    rule: preset,
  };
}
