import type { JobsOptions } from 'bullmq';
import type { ServiceConfig } from '../config/service.js';
import type { VideoItem } from '../scan/inputs.js';
import type { CorpusMember, InputError } from '../scan/archive-inputs.js';
import type { Match, ScanReport, Side } from '../scan/engine.js';
import type { FrameSelection } from '../frames/plan.js';
import { presetByName, type PresetName } from '../scan/presets.js';
import type { MatchSettings, Prefilter, ScanKernel } from '../scan/settings.js';
import type { Fit, FramesManifest, ImageFormat } from '../frames/extract.js';

/** The four queues. Producers (the API) and workers agree on these names and payloads. */
export const QUEUE_NAMES = ['fingerprint', 'check', 'scan', 'frames'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** A video a job reads: a server-side path, or an upload the job deletes when it is finished with it. */
export interface VideoRef {
  path: string;
  /** Name to show in results (the upload's file name, or the path under its root). */
  name: string;
  upload: boolean;
}

/** fingerprint queue, job name "collection-add": fingerprint a video and add it to a collection. */
export interface CollectionAddJob {
  collection: string;
  video: VideoRef;
  /** Member id in the collection (unique within it). */
  id: string;
  youtubeId?: string;
  youtubeIdSource?: 'manifest' | 'file name';
}
export interface CollectionAddResult {
  collection: string;
  id: string;
  key: string;
  duration: number;
  frames: number;
  fromStore: boolean;
}

/** A video of a scan side as a scan flow carries it: which side, and the item as read from the input. */
export interface ScanRef {
  side: Side;
  item: VideoItem;
}

/**
 * fingerprint queue, job name "scan-batch": one child of a scan flow; each file once, with the
 * sides it is on. The members of one archive (a WebDataset shard) are one batch of their own.
 */
export interface ScanBatchJob {
  scanId: string;
  /**
   * `fps`: samples per second to fingerprint at (the preset's phases for a benchmark video, else 1).
   * `path`: the file, or for an archive member `<archive>#<member>` (its identity), with `member`
   * saying where its bytes are.
   */
  videos: Array<{ path: string; refs: ScanRef[]; fps?: number; member?: CorpusMember }>;
}
/** Per file: its store key and frames (or why it could not be read), with its refs, for the parent. */
export interface ScanBatchResult {
  videos: Array<{ path: string; refs: ScanRef[]; key?: string; frames?: number; fromStore?: boolean; error?: { code: string; message: string } }>;
}

/**
 * How a check or scan matches (the engine's MatchSettings, with the preset by name): what the
 * request asked for. The frame-scan kernel is each worker's own (VDEDUP_SCAN_KERNEL).
 */
export interface JobMatchSettings {
  preset: PresetName;
  exact: boolean;
  prefilter: Prefilter;
}

/**
 * The settings of a check or scan job. A job queued by an earlier version (kept for the retention
 * time) names only its preset, and its exactness for a scan: it took the default prefilter.
 */
export function settingsOf(data: { settings?: JobMatchSettings; preset?: PresetName; exact?: boolean }): JobMatchSettings {
  return data.settings ?? { preset: data.preset ?? 'default', exact: data.exact === true, prefilter: 'auto' };
}

/** The engine's settings for a check or scan job: its preset resolved, and the kernel the worker forces (if any). */
export function matchSettingsOf(data: Parameters<typeof settingsOf>[0], kernel: ScanKernel | undefined): MatchSettings {
  const s = settingsOf(data);
  return { preset: presetByName(s.preset), exact: s.exact, prefilter: s.prefilter, kernel };
}

export interface CheckJob {
  collection: string;
  video: VideoRef;
  key: string;
  settings: JobMatchSettings;
}
export interface CheckResult {
  collection: string;
  collectionVersion: number;
  video: { name: string; key: string; duration: number; frames: number };
  matched: boolean;
  /** Report-JSON matches: `train` is the checked video, `bench` the collection member. */
  matches: Match[];
  preset: string;
  seconds: number;
  /** What the check could not fully compare (members stored by an older version); absent when nothing. */
  warnings?: string[];
}

export interface ScanJob {
  /** What the request named for each side: a path (made absolute), lmms-eval:..., or collection:<name>. */
  train: string;
  bench: string;
  settings: JobMatchSettings;
  /** Paths the flow's children fingerprint, for progress. */
  videos: number;
  /** Entries without a file (a YouTube ID only): they take part in the YouTube-ID stage. */
  idOnly: ScanRef[];
  /** What reading each path side had to say (partial benchmark caches...). */
  warnings: { train: string[]; bench: string[] };
  /** What reading each path side could not read (missing shards, archives' bad members): error entries of the report. */
  inputErrors?: { train: InputError[]; bench: InputError[] };
}
export type ScanResult = ScanReport;

export interface FramesJob {
  video: VideoRef;
  selection: FrameSelection;
  format: ImageFormat;
  width?: number;
  height?: number;
  fit?: Fit;
  quality?: number;
  fast?: boolean;
}
/** The frames manifest; `video` is the name the request gave, files are served under /v1/jobs/:id/frames/:n. */
export type FramesResult = FramesManifest;

/** A scan's `bench` naming a collection: "collection:<name>". */
export const COLLECTION_PREFIX = 'collection:';

/**
 * Job ids may not contain ":" nor be all digits (BullMQ); ours always start with a word.
 * Content keys in ids make a second request for the same video join the first job.
 */
export const jobIds = {
  collectionAdd: (collection: string, key: string) => `add.${collection}.${key}`,
  check: (collection: string, version: number, preset: string, key: string) => `check.${collection}.v${version}.${preset}.${key}`,
  /** Frames jobs and scans are new work every time: a random id. */
  frames: (uuid: string) => `frames.${uuid}`,
  scan: (uuid: string) => `scan.${uuid}`,
  /** Batch `i` of the scan of that id. */
  scanBatch: (uuid: string, i: number) => `batch.${uuid}.${i}`,
};

/** Which queue a job id belongs to (ids carry their kind; see jobIds). */
export function queueOfJobId(id: string): QueueName | undefined {
  if (id.startsWith('add.') || id.startsWith('batch.')) return 'fingerprint';
  if (id.startsWith('check.')) return 'check';
  if (id.startsWith('scan.')) return 'scan';
  if (id.startsWith('frames.')) return 'frames';
  return undefined;
}

export function defaultJobOptions(config: ServiceConfig): JobsOptions {
  return {
    attempts: config.attempts,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: config.retentionSeconds },
    removeOnFail: { age: config.retentionSeconds },
  };
}

/** A job's failure as BullMQ stores it ("CODE: message", written by the workers), parsed back. */
export function errorOfJob(failedReason: string | undefined): { code: string; message: string } {
  const m = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(failedReason ?? '');
  return m === null ? { code: 'JOB_FAILED', message: failedReason || 'the job failed' } : { code: m[1]!, message: m[2]! };
}
