import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { readVideoSource, type VideoItem, type VideoSource } from './inputs.js';
import { mapLimit } from './pool.js';
import type { Preset } from './presets.js';
import { fingerprintCached } from '../fingerprint/cached.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import type { MatchSegment } from '../native/binding.js';
import { BenchMatcher } from './matcher.js';
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
  /** Absolute paths (for evidence rendering; absent for ID-only benchmark entries). */
  trainPath?: string;
  benchPath?: string;
  /** The best window's aligned frame pairs: times in seconds and Hamming distance of each pair. */
  evidence?: { trainTimes: number[]; benchTimes: number[]; distances: number[]; maxDistance: number };
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
  /** Incomplete inputs worth knowing about (partial benchmark caches, unextracted archives). */
  warnings: string[];
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
  /**
   * `--fast`: decode the training videos with fewer decoder steps (see SampleOptions.fastDecode);
   * 'all' also the benchmark side. Default: exact decoding everywhere.
   */
  fastDecode?: 'train' | 'all';
  /**
   * Sides already known (service collections): their items, and the fingerprints of those that
   * have no file here, by item id. `train` / `bench` are then only the names shown in the report.
   */
  prepared?: { train?: PreparedSide; bench?: PreparedSide };
  store: FingerprintStore;
  /** Videos decoded at once (one single-threaded ffmpeg each); default: one per core. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
  /**
   * Videos (absolute path -> error) whose fingerprinting already failed elsewhere with a bad-input
   * error (a scan flow's child jobs): reported as such without decoding them again.
   */
  failedFingerprints?: Map<string, { code: string; message: string }>;
}

/** A scan side whose videos were fingerprinted before the scan (a service collection). */
export interface PreparedSide {
  source: VideoSource;
  fingerprints: Map<string, Fingerprint>;
}

interface Fingerprinted {
  item: VideoItem;
  fp: Fingerprint;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function popcount(x: bigint): number {
  let n = 0;
  for (; x !== 0n; x &= x - 1n) n++;
  return n;
}

/** Aligned pairs of the best window, compared through the same hashes as the matcher used. */
export function evidenceOf(train: Fingerprint, bench: Fingerprint, s: MatchSegment, preset: Preset): NonNullable<Match['evidence']> {
  const th = s.flipped ? train.flips : preset.trimBorders ? train.hashes : train.rawHashes;
  const bh = s.cropped ? bench.centerHashes : preset.trimBorders ? bench.hashes : bench.rawHashes;
  const e: NonNullable<Match['evidence']> = { trainTimes: [], benchTimes: [], distances: [], maxDistance: preset.rule.maxDistance };
  for (let k = 0; k < s.windowFrames; k++) {
    const ti = s.bestTrainStart + k;
    const bi = ti - s.offset;
    if (ti >= th.length || bi < 0 || bi >= bh.length) continue;
    e.trainTimes.push(ti / train.fps);
    e.benchTimes.push(bi / bench.fps);
    e.distances.push(popcount(th[ti]! ^ bh[bi]!));
  }
  return e;
}

export function toMatch(train: Pick<VideoItem, 'id' | 'path'>, bench: Pick<VideoItem, 'id' | 'path'>, s: MatchSegment, fps: number): Match {
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
    ...(train.path === undefined ? {} : { trainPath: train.path }),
    ...(bench.path === undefined ? {} : { benchPath: bench.path }),
  };
}

function errorOf(side: 'train' | 'bench', item: VideoItem, err: unknown): ScanError {
  if (isVdedupError(err)) return { side, video: item.id, code: err.code, message: err.message };
  return { side, video: item.id, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Decontamination scan (embedded, no Redis): YouTube-ID stage first (no decoding), then
 * fingerprints (through the store), the bench candidate index, and per training video: candidate
 * retrieval and frame-by-frame verification. Per-video failures go to `errors`; the scan goes on.
 */
export async function runScan(opts: ScanOptions): Promise<ScanReport> {
  const started = performance.now();
  const preset = opts.preset;
  const concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
  const threads = concurrency > 1 ? 1 : 0;
  const [trainSrc, benchSrc] = await Promise.all([
    opts.prepared?.train?.source ?? readVideoSource(opts.train),
    opts.prepared?.bench?.source ?? readVideoSource(opts.bench),
  ]);
  const preparedFps = {
    train: opts.prepared?.train?.fingerprints ?? new Map<string, Fingerprint>(),
    bench: opts.prepared?.bench?.fingerprints ?? new Map<string, Fingerprint>(),
  };
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
    const prepared = preparedFps[side].get(item.id);
    if (prepared !== undefined) {
      storedVideos++;
      onDone();
      return prepared;
    }
    const failed = opts.failedFingerprints?.get(item.path!);
    if (failed !== undefined) {
      errors.push({ side, video: item.id, code: failed.code, message: failed.message });
      onDone();
      return undefined;
    }
    try {
      const fastDecode = opts.fastDecode === 'all' || (opts.fastDecode === 'train' && side === 'train');
      const r = await fingerprintCached(item.path!, opts.store, { signal: opts.signal, threads, fastDecode });
      if (r.fromStore) storedVideos++;
      else {
        decodedVideos++;
        framesDecoded += r.fingerprint.frameCount;
      }
      return r.fingerprint;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // A store that cannot be written fails every video alike: stop with its reason.
      if (isVdedupError(err) && err.code === 'STORE_WRITE_FAILED') throw err;
      errors.push(errorOf(side, item, err));
      return undefined;
    } finally {
      onDone();
    }
  };

  // 2. Benchmark fingerprints.
  const benchItems = benchSrc.items.filter((b) => b.path !== undefined || preparedFps.bench.has(b.id));
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

  // 3. Candidate index over the benchmark (videos shorter than the window are checked exhaustively).
  report('index', 0, bench.length);
  const matcher = new BenchMatcher(bench.map((b) => b.fp), preset, { buildIndex: opts.exact !== true });
  report('index', bench.length, bench.length);

  // 4. Training videos: fingerprint, retrieve, verify.
  const trainItems = trainSrc.items.filter((t) => (t.path !== undefined || preparedFps.train.has(t.id)) && !idRemoved.has(t.id));
  let trainDone = 0;
  report('train', 0, trainItems.length);
  await mapLimit(trainItems, concurrency, async (item) => {
    const fp = await fingerprint('train', item, () => undefined);
    try {
      if (fp === undefined || bench.length === 0) return;
      const segments = await matcher.match(fp, { exact: opts.exact === true });
      for (const s of segments) {
        const b = bench[s.benchVideo]!;
        matches.push({ ...toMatch(item, b.item, s, fp.fps), evidence: evidenceOf(fp, b.fp, s, preset) });
      }
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
    warnings: [...trainSrc.warnings, ...benchSrc.warnings],
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
      benchWindowsIndexed: matcher.indexedWindows,
    },
    train: opts.train,
    bench: opts.bench,
    rule: preset,
  };
}
