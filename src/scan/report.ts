import type { VideoItem, VideoSource } from './inputs.js';
import type { Preset } from './presets.js';
import { regionColumn, type Fingerprint, type SampleRect } from '../fingerprint/fingerprint.js';
import { SAMPLE_SIZE } from '../media/sample.js';
import type { MatchSegment } from '../native/binding.js';
import { isVdedupError } from '../errors.js';

/** Stage 3 of a scan (and the types every stage shares): matches and errors become the report. */

export type Side = 'train' | 'bench';

/** How a benchmark side is searched: exhaustive and exact ('frame-scan', 'exact'), or approximate ('prefilter', 'hnsw'). */
export type Retrieval = 'frame-scan' | 'prefilter' | 'exact' | 'hnsw';

/** Whether results of this retrieval can miss what the exact path finds (the report says so). */
export const approximate = (r: Retrieval) => r === 'prefilter' || r === 'hnsw';

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
  /**
   * Benchmark seconds per training second along the matched alignment: 1, or for a copy played
   * faster or slower its speed (1.04: 4% faster); null for a YouTube-ID match.
   */
  speed: number | null;
  /** The training video is a mirrored copy. */
  flipped?: boolean;
  /** The training video is a copy cropped at the edges. */
  cropped?: boolean;
  /** Matched on the inner half of both frames: a copy with a logo, a caption or boxes over its edges. */
  inner?: boolean;
  /**
   * Matched on part of a picture. `side: 'train'`: one of the training video's active regions
   * (`main`, its main picture, or `inset`, a second one), where the benchmark footage sits when
   * it fills only part of the frame (over a canvas or a blurred copy of itself, beside a
   * face-cam, in a meme, a player or an inset); x, y, width and height are fractions of the
   * training frame. `side: 'bench'`: the training frames matched the central 9:16 strip of the
   * benchmark frames (a portrait crop).
   */
  region?: TrainRegion | { side: 'bench'; name: 'center-9:16' };
  youtubeId?: string;
  youtubeIdSource?: string;
  /** The training video is an archive member (`train` is `<archive>#<member>`): the archive as named, and the member's WebDataset sample key. */
  trainArchive?: string;
  trainKey?: string;
  /** Absolute paths (for evidence rendering; absent for ID-only benchmark entries). */
  trainPath?: string;
  benchPath?: string;
  /** The best window's aligned frame pairs: times in seconds and Hamming distance of each pair. */
  evidence?: { trainTimes: number[]; benchTimes: number[]; distances: number[]; maxDistance: number };
}

export interface TrainRegion {
  side: 'train';
  name: 'main' | 'inset';
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ScanError {
  side: Side;
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
  /**
   * How training videos were matched: 'frame-scan' and 'exact' find every match the rule allows;
   * 'prefilter' (the frame scan over the benchmark videos an approximate index names, chosen for
   * very large benchmark sides) and 'hnsw' (the paper preset) can miss some.
   */
  retrieval: Retrieval;
  /** Whether `retrieval` is approximate (its matches are exact; some may be missing). */
  approximate: boolean;
  decodedVideos: number;
  storedVideos: number;
  youtubeIdMatches: number;
  nearDuplicateMatches: number;
  errors: number;
  /** 20-s windows the benchmark side holds (with their center-crop twins when crops are matched). */
  benchWindows: number;
}

/** A training sample to drop from a WebDataset (or any archive): `--keys-out` writes `<archive>\t<key>` per line. */
export interface RemovedMember {
  archive: string;
  key: string;
  member: string;
}

export interface ScanReport {
  matches: Match[];
  removed: string[];
  /** The removed training videos that are archive members, by archive and sample key. */
  removedMembers: RemovedMember[];
  errors: ScanError[];
  /** Incomplete inputs worth knowing about (partial benchmark caches, benchmark videos compared in part). */
  warnings: string[];
  stats: ScanStats;
  train: string;
  bench: string;
  rule: Preset;
}

/** How many videos a stage decoded (and their frames) or read from the store. */
export interface Tally {
  decodedVideos: number;
  storedVideos: number;
  framesHashed: number;
}

export const emptyTally = (): Tally => ({ decodedVideos: 0, storedVideos: 0, framesHashed: 0 });

const round1 = (x: number) => Math.round(x * 10) / 10;

function popcount(x: bigint): number {
  let n = 0;
  for (; x !== 0n; x &= x - 1n) n++;
  return n;
}

/**
 * A matched segment: training frame numbers count seconds; a benchmark position x is at
 * `x / benchPerSecond + benchPhase` seconds (see BenchSegment in matcher.ts; `benchPhase` is 0 at 1 fps).
 */
export type SegmentAt = MatchSegment & { benchPhase?: number };

/** Seconds of a benchmark position of `s`. */
const benchSeconds = (s: SegmentAt, x: number) => x / (s.benchPerSecond || 1) + (s.benchPhase ?? 0);

/** Aligned pairs of the best window, compared through the same hashes as the matcher used. */
export function evidenceOf(train: Fingerprint, bench: Fingerprint, s: SegmentAt, preset: Preset): NonNullable<Match['evidence']> {
  const region = s.region ?? undefined;
  const th =
    region !== undefined
      ? regionColumn(train.regionHashes, train, region)
      : s.inner
        ? train.innerHashes
        : s.flipped
          ? train.flips
          : preset.trimBorders
            ? train.hashes
            : train.rawHashes;
  const bh = s.inner ? bench.innerHashes : s.cropped ? bench.centerHashes : s.strip ? bench.stripHashes : preset.trimBorders ? bench.hashes : bench.rawHashes;
  const e: NonNullable<Match['evidence']> = { trainTimes: [], benchTimes: [], distances: [], maxDistance: preset.rule.maxDistance };
  for (let k = 0; k < s.windowFrames; k++) {
    const t = s.bestTrainStart + k; // seconds: training frames are matched at 1 fps
    // The benchmark frame the matcher compared (older callers without windowBench: the diagonal).
    const b = benchSeconds(s, s.windowBench?.[k] ?? t - s.offset);
    // Sample index in each fingerprint (either may hold several samples per second).
    const ti = Math.round(t * train.fps);
    const bi = Math.round(b * bench.fps);
    if (ti >= th.length || bi < 0 || bi >= bh.length) continue;
    e.trainTimes.push(t);
    e.benchTimes.push(b);
    e.distances.push(popcount(th[ti]! ^ bh[bi]!));
  }
  return e;
}

/** The training side's archive member fields of a match (none for a loose file). */
export function memberFields(train: Pick<VideoItem, 'member'>): Pick<Match, 'trainArchive' | 'trainKey'> {
  return train.member === undefined ? {} : { trainArchive: train.member.archiveName, trainKey: train.member.key };
}

/** Where a segment matched when on part of a picture (`Match.region`); `trainRegions` are the training fingerprint's. */
export function regionOf(s: SegmentAt, trainRegions: SampleRect[]): Match['region'] {
  if (s.strip) return { side: 'bench', name: 'center-9:16' };
  const k = s.region ?? undefined;
  const r = k === undefined ? undefined : trainRegions[k];
  if (r === undefined) return undefined;
  const f = (v: number) => Math.round((v / SAMPLE_SIZE) * 1000) / 1000;
  return { side: 'train', name: k === 0 ? 'main' : 'inset', x: f(r.x), y: f(r.y), width: f(r.width), height: f(r.height) };
}

/**
 * A near-duplicate segment as a report match, times in seconds (the benchmark's to its sub-second
 * phase); `trainRegions` (the training fingerprint's active regions) name a region match.
 */
export function toMatch(train: Pick<VideoItem, 'id' | 'path' | 'member'>, bench: Pick<VideoItem, 'id' | 'path'>, s: SegmentAt, trainRegions: SampleRect[] = []): Match {
  const region = regionOf(s, trainRegions);
  return {
    train: train.id,
    ...memberFields(train),
    bench: bench.id,
    reason: 'near-duplicate',
    trainStart: s.trainStart,
    trainEnd: s.trainEnd,
    benchStart: benchSeconds(s, s.benchStart),
    benchEnd: benchSeconds(s, s.benchEnd),
    matchedFrames: s.matchedFrames,
    windowFrames: s.windowFrames,
    meanDistance: round1(s.meanDistance),
    speed: Math.round((s.speed ?? 1) * 10000) / 10000,
    ...(s.flipped ? { flipped: true } : {}),
    ...(s.cropped ? { cropped: true } : {}),
    ...(s.inner ? { inner: true } : {}),
    ...(region === undefined ? {} : { region }),
    ...(train.path === undefined ? {} : { trainPath: train.path }),
    ...(bench.path === undefined ? {} : { benchPath: bench.path }),
  };
}

/** A failure to read one video, as the report lists it. */
export function scanErrorOf(side: Side, item: VideoItem, err: unknown): ScanError {
  if (isVdedupError(err)) return { side, video: item.id, code: err.code, message: err.message };
  return { side, video: item.id, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export interface ReportInputs {
  train: VideoSource;
  bench: VideoSource;
  preset: Preset;
  exact: boolean;
  retrieval: Retrieval;
  matches: Match[];
  errors: ScanError[];
  /** Decoding done by both sides' stages. */
  tally: Tally;
  benchWindows: number;
  /** What the benchmark side could not compare in full (BenchMatcher.warnings). */
  benchWarnings?: string[];
  seconds: number;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The report: matches in a stable order, the unique training videos to remove, and the counts. */
export function buildReport(r: ReportInputs): ScanReport {
  const matches = [...r.matches].sort(
    (a, b) => compareText(a.train, b.train) || compareText(a.bench, b.bench) || (a.trainStart ?? -1) - (b.trainStart ?? -1),
  );
  const inputErrors = (side: Side, source: VideoSource) => (source.errors ?? []).map((e): ScanError => ({ side, ...e }));
  const errors = [...r.errors, ...inputErrors('train', r.train), ...inputErrors('bench', r.bench)].sort((a, b) => (a.side + a.video < b.side + b.video ? -1 : 1));
  const removedMembers = new Map<string, RemovedMember>();
  for (const m of matches) {
    if (m.trainArchive !== undefined && m.trainKey !== undefined) {
      removedMembers.set(m.train, { archive: m.trainArchive, key: m.trainKey, member: m.train.slice(m.trainArchive.length + 1) });
    }
  }
  return {
    matches,
    removed: [...new Set(matches.map((m) => m.train))].sort(),
    removedMembers: [...removedMembers.values()].sort((a, b) => compareText(a.archive, b.archive) || compareText(a.key, b.key)),
    errors,
    warnings: [
      ...r.train.warnings,
      ...r.bench.warnings,
      ...(r.benchWarnings ?? []),
    ],
    stats: {
      trainVideos: r.train.items.length,
      benchVideos: r.bench.items.length,
      framesHashed: r.tally.framesHashed,
      seconds: Math.round(r.seconds * 100) / 100,
      preset: r.preset.name,
      exact: r.exact,
      retrieval: r.retrieval,
      approximate: approximate(r.retrieval),
      decodedVideos: r.tally.decodedVideos,
      storedVideos: r.tally.storedVideos,
      youtubeIdMatches: matches.filter((m) => m.reason === 'youtube-id').length,
      nearDuplicateMatches: matches.filter((m) => m.reason === 'near-duplicate').length,
      errors: errors.length,
      benchWindows: r.benchWindows,
    },
    train: r.train.spec,
    bench: r.bench.spec,
    rule: r.preset,
  };
}
