import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { readVideoSource, type VideoItem, type VideoSource } from './inputs.js';
import { BenchMatcher } from './matcher.js';
import { matchTrainSide } from './match.js';
import { buildReport, type ScanReport, type Tally } from './report.js';
import type { MatchSettings } from './settings.js';
import { fingerprintSide, storeSource, youtubeIdMatches, type FingerprintSource } from './sides.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { Slots } from '../util/pool.js';
import { MemberFiles, streamedMembers } from './member-files.js';

export type { Match, ScanError, ScanReport, ScanStats, Side } from './report.js';
export { evidenceOf, toMatch } from './report.js';

/**
 * The decontamination scan, in three stages with plain data between them:
 *   1. sides: YouTube-ID matches (no decoding), then the benchmark side's fingerprints;
 *   2. match: each training video fingerprinted and matched against the benchmark side;
 *   3. report: matches, removals, errors and counts.
 * `scanSources` runs them over two read sides and a fingerprint source; the CLI (`runScan`) and the
 * service's scan job differ only in those inputs.
 */

export interface ScanProgress {
  phase: 'bench' | 'prepare' | 'train';
  done: number;
  total: number;
  framesDecoded: number;
  elapsedSeconds: number;
}

/** What every scan is given, whatever its sides are read from. */
interface ScanCommon {
  settings: MatchSettings;
  /** Videos fingerprinted at once (one single-threaded ffmpeg each); default: one per core. */
  concurrency?: number;
  onProgress?: (p: ScanProgress) => void;
}

/** A scan over sides already read, fingerprinted through `source` (the store, or a service scan's child jobs). */
export interface SourcesScan extends ScanCommon {
  /** The training side, or its reading still under way (its archives listed while the benchmark side decodes). */
  train: VideoSource | Promise<VideoSource>;
  bench: VideoSource;
  source: FingerprintSource;
}

/** Whether a side's item has anything to fingerprint (a file, an archive member, or a fingerprint already stored). */
const hasVideo = (item: VideoItem) => item.path !== undefined || item.member !== undefined || item.key !== undefined;

export async function scanSources(opts: SourcesScan): Promise<ScanReport> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
  const report = (phase: ScanProgress['phase'], framesBefore: number) => (done: number, total: number, tally?: Tally) =>
    opts.onProgress?.({ phase, done, total, framesDecoded: framesBefore + (tally?.framesHashed ?? 0), elapsedSeconds: elapsed() });

  // 1. YouTube IDs, then the benchmark side. Decoding shares `concurrency` slots: benchmark
  // videos first, and a slot with none left to start decodes a training video meanwhile (no lane
  // idles while the last benchmark video finishes).
  const slots = new Slots(concurrency);
  let benchFrames: number | undefined;
  const ready = fingerprintSide('bench', opts.bench.items.filter(hasVideo), opts.source, {
    fps: opts.settings.preset.benchPhases,
    concurrency,
    slots,
    onProgress: report('bench', 0),
  }).then((bench) => {
    benchFrames = bench.tally.framesHashed;
    report('prepare', benchFrames)(0, bench.videos.length);
    const matcher = new BenchMatcher(
      bench.videos.map((v) => v.fp),
      opts.settings,
    );
    report('prepare', benchFrames)(bench.videos.length, bench.videos.length);
    return { bench, matcher };
  });
  // Awaited below; a failure of the training side first must not leave this one unhandled.
  ready.catch(() => undefined);

  // 2. Training videos (not removed by their YouTube ID): fingerprint and match each. Their
  // progress is said once the benchmark side is done (the decoding before is counted then).
  const trainSource = await opts.train;
  const ids = youtubeIdMatches(trainSource.items, opts.bench.items);
  const trainItems = trainSource.items.filter((t) => hasVideo(t) && !ids.removed.has(t.id));
  const trainReport = (done: number, total: number, tally?: Tally) => {
    if (benchFrames !== undefined) report('train', benchFrames)(done, total, tally);
  };
  const train = await matchTrainSide(ready, trainItems, opts.source, { concurrency, slots, onProgress: trainReport });
  const { bench, matcher } = await ready;

  // 3. The report.
  return buildReport({
    train: trainSource,
    bench: opts.bench,
    preset: opts.settings.preset,
    exact: opts.settings.exact,
    retrieval: matcher.retrieval,
    matches: [...ids.matches, ...train.matches],
    errors: [...bench.errors, ...train.errors],
    tally: {
      decodedVideos: bench.tally.decodedVideos + train.tally.decodedVideos,
      storedVideos: bench.tally.storedVideos + train.tally.storedVideos,
      framesHashed: bench.tally.framesHashed + train.tally.framesHashed,
    },
    benchWindows: matcher.windows,
    benchWarnings: matcher.warnings(),
    seconds: elapsed(),
  });
}

/** `vdedup scan`: sides named by the user, fingerprinted through the store. */
export interface ScanOptions extends ScanCommon {
  /** A directory, JSONL manifest or video file; `bench` also takes `lmms-eval:<families>`. */
  train: string;
  bench: string;
  /**
   * `--fast`: decode the training videos with fewer decoder steps (see SampleOptions.fastDecode);
   * 'all' also the benchmark side. Default: exact decoding everywhere.
   */
  fastDecode?: 'train' | 'all';
  store: FingerprintStore;
  signal?: AbortSignal;
  /** Where archive members that cannot be read in place are copied, one at a time per task (default: the system's). */
  tmpDir?: string;
}

/**
 * `vdedup scan` (embedded, no Redis): both sides read from disk, fingerprinted through the store.
 * Per-video failures go to the report's `errors`; the scan goes on.
 */
export async function runScan(opts: ScanOptions): Promise<ScanReport> {
  const concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
  // The training side is read (a corpus walked, its archives listed: a .tar.gz decompressed once)
  // while the benchmark side decodes. If reading it fails, the decoding stops and its error is
  // the scan's.
  const reading = readVideoSource(opts.train);
  reading.catch(() => undefined);
  const bench = await readVideoSource(opts.bench);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted === true) stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // Archive members not stored in place (.tar.gz, deflated zip) go through temporary files.
  let membersOf = streamedMembers(bench.items);
  const memberFiles = new MemberFiles(opts.tmpDir ?? os.tmpdir(), concurrency + 1, (archive) => membersOf(archive));
  const train = reading.then(
    (t) => {
      membersOf = streamedMembers([...t.items, ...bench.items]);
      return t;
    },
    (err: unknown) => {
      stop.abort();
      throw err;
    },
  );
  // Several single-threaded ffmpegs beat one multi-threaded one (bench/README.md, "Decoder tuning").
  const source = storeSource(opts.store, { threads: concurrency > 1 ? 1 : 0, fastDecode: opts.fastDecode, signal: stop.signal, memberFiles });
  try {
    return await scanSources({ train, bench, settings: opts.settings, source, concurrency, onProgress: opts.onProgress });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await memberFiles.close();
  }
}
