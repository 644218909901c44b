import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VdedupError } from '../errors.js';

export interface HashFramesOptions {
  trimBorders?: boolean;
  blackLevel?: number;
  minContent?: number;
  /** Hash only the central fraction of the content (e.g. 0.8). */
  centerCrop?: number;
}

export interface HashedFrames {
  hashes: BigUint64Array;
  flips: BigUint64Array;
  quality: Float32Array;
  /** x, y, width, height of the kept content region, 4 values per frame. */
  content: Uint32Array;
}

export interface MatchRule {
  /** Window length in frames (seconds at 1 fps). */
  window: number;
  /** Shorter videos are matched with a window as long as they are, down to this many frames (0: never). */
  minWindow: number;
  /** A frame pair matches at Hamming distance <= this. */
  maxDistance: number;
  /** A window matches when at least this fraction of its frames match. */
  minFraction: number;
  /** Fraction of a window's aligned pairs that must be informative on both sides. */
  minInformative: number;
  /** Evidence must come from at least this many distinct bench frames (0 or absent: off). */
  minDistinct?: number;
  /** Bench frames are distinct when more than this many bits apart. */
  distinctBits?: number;
  /** A window short of distinct evidence still matches when its mean matching distance is at most this. */
  staticMaxMean?: number;
}

export interface TrainSequence {
  hashes: BigUint64Array;
  /** Omit (do not pass null) when mirrored copies are not wanted. */
  flips?: BigUint64Array;
  /** 1 = informative frame; empty = all informative. */
  informative: Uint8Array;
}

export interface BenchSequences {
  hashes: BigUint64Array;
  /** Hashes of the frames' central part (omit to skip cropped-copy matching). */
  centerHashes?: BigUint64Array;
  informative: Uint8Array;
  lengths: Uint32Array;
}

export interface MatchSegment {
  benchVideo: number;
  offset: number;
  trainStart: number;
  trainEnd: number;
  benchStart: number;
  benchEnd: number;
  matchedFrames: number;
  windowFrames: number;
  meanDistance: number;
  bestTrainStart: number;
  flipped: boolean;
  cropped: boolean;
}

export interface WindowVectors {
  vectors: Float32Array;
  starts: Uint32Array;
  dim: number;
}

/**
 * The benchmark side's frame hashes for the exhaustive frame scan (crates/core/src/frame_scan.rs):
 * its segments are exactly the exact path's, found with half the comparisons, 8 at a time.
 */
export interface BenchFrameScan {
  readonly entries: number;
  readonly heapBytes: number;
  /** The comparison loop this CPU runs: 'avx512', 'avx2' or 'portable'. */
  readonly kernel: string;
  matchVideo(train: TrainSequence, bench: BenchSequences, rule: MatchRule): Promise<MatchSegment[]>;
}

/** The surface of crates/node (its generated index.d.ts says the same). */
export interface NativeBinding {
  hashFrames(frames: Buffer, width: number, height: number, options?: HashFramesOptions | null): Promise<HashedFrames>;
  exactScanVideo(train: TrainSequence, bench: BenchSequences, rule: MatchRule): Promise<MatchSegment[]>;
  verifyVideoCandidates(
    train: TrainSequence,
    bench: BenchSequences,
    benchVideos: Uint32Array,
    offsets: Int32Array,
    rule: MatchRule,
  ): Promise<MatchSegment[]>;
  BenchFrameScan: new (bench: BenchSequences, kernel?: string) => BenchFrameScan;
  windowVectors(hashes: BigUint64Array, informative: Uint8Array, rule: MatchRule, stride: number): WindowVectors;
  nativeVersion(): string;
  scanKernel(): string;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the .node file is looked for: VDEDUP_NATIVE_PATH, else crates/node/vdedup.node (built by `npm run setup`). */
export function nativeModulePath(): string {
  return process.env.VDEDUP_NATIVE_PATH ?? path.join(packageRoot, 'crates', 'node', 'vdedup.node');
}

let loaded: NativeBinding | undefined;

export function native(): NativeBinding {
  if (loaded !== undefined) return loaded;
  const file = nativeModulePath();
  if (!existsSync(file)) {
    throw new VdedupError('NATIVE_MODULE_MISSING', `native module not built (${file} missing): run \`npm run setup\``);
  }
  const require = createRequire(import.meta.url);
  loaded = require(file) as NativeBinding;
  return loaded;
}
