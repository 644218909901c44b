import type { VideoItem } from './inputs.js';
import { mapLimit, type Slots } from '../util/pool.js';
import { emptyTally, memberFields, scanErrorOf, type Match, type ScanError, type Side, type Tally } from './report.js';
import { fingerprintCached } from '../fingerprint/cached.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { isVdedupError } from '../errors.js';
import { withItemInput, type MemberFiles } from './member-files.js';

/** Stage 1 of a scan: YouTube-ID matches, then each side's fingerprints. */

/** A video of a scan side with its fingerprint. */
export interface SideVideo {
  item: VideoItem;
  fp: Fingerprint;
}

/** What a fingerprint source answers for one video. */
export type FingerprintOutcome =
  | { fp: Fingerprint; /** Frames decoded for it in this run (0: read from the store). */ framesDecoded: number }
  | { error: { code: string; message: string } };

/**
 * How a scan gets a video's fingerprint, at `fps` samples per second (1 for training videos; the
 * benchmark side takes its preset's phases). The CLI decodes through the fingerprint store
 * (`storeSource`); a service scan reads what its child jobs fingerprinted. A video that cannot be
 * read is an `error` outcome (listed in the report); a throw stops the whole scan (a store that
 * cannot be written, an abort).
 */
export type FingerprintSource = (side: Side, item: VideoItem, fps: number) => Promise<FingerprintOutcome>;

/**
 * Exact re-uploads: every training video whose YouTube ID equals a benchmark video's, matched
 * without decoding anything. Returns the matches and the training ids they remove.
 */
export function youtubeIdMatches(train: VideoItem[], bench: VideoItem[]): { matches: Match[]; removed: Set<string> } {
  const benchById = new Map<string, VideoItem[]>();
  for (const b of bench) {
    if (b.youtubeId === undefined) continue;
    const list = benchById.get(b.youtubeId) ?? [];
    list.push(b);
    benchById.set(b.youtubeId, list);
  }
  const matches: Match[] = [];
  const removed = new Set<string>();
  for (const t of train) {
    const hits = t.youtubeId === undefined ? undefined : benchById.get(t.youtubeId);
    if (hits === undefined) continue;
    removed.add(t.id);
    for (const b of hits) {
      matches.push({
        train: t.id,
        ...memberFields(t),
        bench: b.id,
        reason: 'youtube-id',
        trainStart: null,
        trainEnd: null,
        benchStart: null,
        benchEnd: null,
        matchedFrames: null,
        windowFrames: null,
        meanDistance: null,
        speed: null,
        youtubeId: t.youtubeId,
        youtubeIdSource: t.youtubeIdSource === b.youtubeIdSource ? t.youtubeIdSource : `${t.youtubeIdSource} / ${b.youtubeIdSource}`,
      });
    }
  }
  return { matches, removed };
}

/** One fingerprint through `source`, counted into `tally`; an error outcome goes to `errors`. */
export async function fingerprintOne(
  source: FingerprintSource,
  side: Side,
  item: VideoItem,
  fps: number,
  tally: Tally,
  errors: ScanError[],
): Promise<Fingerprint | undefined> {
  const outcome = await source(side, item, fps);
  if ('error' in outcome) {
    errors.push({ side, video: item.id, ...outcome.error });
    return undefined;
  }
  if (outcome.framesDecoded > 0) {
    tally.decodedVideos++;
    tally.framesHashed += outcome.framesDecoded;
  } else tally.storedVideos++;
  return outcome.fp;
}

export interface FingerprintedSide {
  /** The videos that have a fingerprint, in the order of the items. */
  videos: SideVideo[];
  errors: ScanError[];
  tally: Tally;
}

/** Fingerprint every item of one side (`concurrency` at once), keeping the input order. */
export async function fingerprintSide(
  side: Side,
  items: VideoItem[],
  source: FingerprintSource,
  options: { fps: number; concurrency: number; slots?: Slots; onProgress?: (done: number, total: number, tally: Tally) => void },
): Promise<FingerprintedSide> {
  const tally = emptyTally();
  const errors: ScanError[] = [];
  let done = 0;
  options.onProgress?.(0, items.length, tally);
  const fps = await mapLimit(items, options.concurrency, async (item) => {
    const release = await options.slots?.acquire(true);
    try {
      return await fingerprintOne(source, side, item, options.fps, tally, errors);
    } finally {
      release?.();
      options.onProgress?.(++done, items.length, tally);
    }
  });
  const videos: SideVideo[] = [];
  items.forEach((item, i) => {
    const fp = fps[i];
    if (fp !== undefined) videos.push({ item, fp });
  });
  return { videos, errors, tally };
}

/**
 * The CLI's source: fingerprints through the store (an unchanged video is never decoded twice).
 * `fastDecode` applies to the training side ('train') or both ('all'). A store that cannot be
 * written fails every video alike, and an abort is not a per-video error: both stop the scan.
 */
export function storeSource(
  store: FingerprintStore,
  options: { threads: number; fastDecode?: 'train' | 'all' | undefined; signal?: AbortSignal | undefined; memberFiles?: MemberFiles | undefined },
): FingerprintSource {
  return async (side, item, fps) => {
    const fastDecode = options.fastDecode === 'all' || (options.fastDecode === 'train' && side === 'train');
    try {
      const r = await withItemInput(item, options.memberFiles, (input) => fingerprintCached(input, store, { signal: options.signal, threads: options.threads, fastDecode, fps }));
      return { fp: item.member === undefined ? r.fingerprint : { ...r.fingerprint, file: item.id }, framesDecoded: r.fromStore ? 0 : r.fingerprint.frameCount };
    } catch (err) {
      return errorOutcome(side, item, err, options.signal);
    }
  };
}

/**
 * A fingerprinting failure as an outcome: the video is listed under the report's errors and the
 * scan goes on. An abort, and a store that cannot be written (it fails every video alike), are
 * rethrown: they stop the scan.
 */
export function errorOutcome(side: Side, item: VideoItem, err: unknown, signal?: AbortSignal): FingerprintOutcome {
  if (signal?.aborted) throw err;
  if (isVdedupError(err) && err.code === 'STORE_WRITE_FAILED') throw err;
  const e = scanErrorOf(side, item, err);
  return { error: { code: e.code, message: e.message } };
}
