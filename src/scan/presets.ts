import type { MatchRule } from '../native/binding.js';
import { VdedupError } from '../errors.js';

export type PresetName = 'default' | 'paper';

/**
 * Everything that decides what counts as an overlap. Each refinement of the default preset is a
 * separate field, so a user can switch any of them off.
 */
export interface Preset {
  name: PresetName;
  /** Window rule: length, short-video floor, per-frame distance, fraction of matching frames. */
  rule: MatchRule;
  /** Hash frames after trimming black borders (default) or as decoded (the paper). */
  trimBorders: boolean;
  /** Also compare the training video's mirror image (flip hashes). */
  matchFlips: boolean;
  /** Also compare against the central part of benchmark frames (copies cropped at the edges). */
  matchCrops: boolean;
  /**
   * Also compare the inner half of both frames (copies with a logo, a caption or boxes over the
   * edges of the picture, which the inner half leaves out; fingerprint.ts INNER_CROP).
   */
  matchInner: boolean;
  /**
   * Also compare (1) the training video's active regions, where its moving picture is when the
   * benchmark footage fills only part of the frame (a clip over a canvas or a blurred copy of
   * itself, beside a face-cam, in a meme, a player or an inset), with benchmark frames, and (2)
   * training frames with the central 9:16 strip of benchmark frames (a portrait crop).
   */
  matchLayouts: boolean;
  /** Frames whose quality is below this never count as matching evidence (0: every frame counts). */
  minQuality: number;
  /**
   * Slanted alignments (in `rule`: speedRange, speedStep, speedIntercepts): copies played faster
   * or slower, at speeds 1 +- k * speedStep up to speedRange, are matched along lines of that
   * slope under the same window rule (crates/core/src/matching.rs, `LineGrid`). Off when absent.
   *
   * Samples per second of the benchmark side (training videos stay at 1 fps): P phases, so every
   * training frame meets a benchmark frame at most 1/(2P) s away whatever the copy's sub-second
   * start. 1: the paper's 1 fps on both sides.
   */
  benchPhases: number;
  /**
   * How candidate alignments are found before verification: 'scan', every second training frame
   * against every benchmark frame hash, verifying each alignment with enough close frames that a
   * window on it could match (crates/core/src/frame_scan.rs: exactly the exact path's results), or
   * 'hnsw', window embeddings in hnswlib with the top-K windows per query window (the paper's
   * literal retrieval, approximate; its settings in `hnsw`).
   */
  retrieval: 'scan' | 'hnsw';
  /** Settings of 'hnsw' retrieval (absent for 'scan'). */
  hnsw?: HnswRetrieval;
}

/** The paper's approximate retrieval: window embeddings in hnswlib, top-K windows per query window. */
export interface HnswRetrieval {
  /** Candidate windows retrieved per query window. */
  topK: number;
  /**
   * Keep retrieving beyond topK while the k-th neighbour is still within this squared L2 distance
   * in embedding space (0: a fixed top-K, as in the paper).
   */
  candidateRadius: number;
  /** Also verify alignments this many frames either side of each candidate (timing jitter). */
  offsetSlack: number;
  /**
   * Verify every alignment of each benchmark video the index returns for any window, not only the
   * returned offsets (retrieval then only has to find the right video once per training video).
   */
  verifyWholeVideos: boolean;
}

/** Appendix A.5 literally: 1 fps, 20-frame windows, top-10 candidates, >= 14 of 20 frames within 30 bits. */
export const PAPER: Preset = {
  name: 'paper',
  rule: { window: 20, minWindow: 0, maxDistance: 30, minFraction: 0.7, minInformative: 0 },
  trimBorders: false,
  matchFlips: false,
  matchCrops: false,
  matchInner: false,
  matchLayouts: false,
  minQuality: 0,
  benchPhases: 1,
  retrieval: 'hnsw',
  hnsw: { topK: 10, candidateRadius: 0, offsetSlack: 0, verifyWholeVideos: false },
};

/**
 * What users get: the paper's recall with (near) zero false positives. Thresholds are calibrated
 * on measured distance distributions (bench/README.md, "Calibration").
 */
export const DEFAULT: Preset = {
  name: 'default',
  rule: {
    window: 20,
    minWindow: 6,
    maxDistance: 20,
    minFraction: 0.7,
    minInformative: 0.5,
    minDistinct: 3,
    distinctBits: 10,
    staticMaxMean: 6,
    // Copies played up to 10% faster or slower (PAL 25/24 is 4%), speeds 0.01 apart, intercepts
    // half a benchmark sample apart: along the best line every frame meets a benchmark sample at
    // most 0.235 s from what it shows (bench/README.md, "Speed changes").
    speedRange: 0.1,
    speedStep: 0.01,
    speedIntercepts: 2,
    // Slanted alignments far outnumber straight ones, so chance windows find one far more often:
    // their windows also need a low mean distance over the matching frames, set between what
    // chance windows along them and the tuning half's speed-changed copies show (bench/README.md,
    // "Speed changes").
    speedMaxMean: 12,
    // Excerpts shorter than the window (a 12-s clip of a long benchmark video cannot fill 14 of 20
    // frames): 10-frame windows with 9 frames within maxDistance at a low mean distance also match
    // (the mean set on the tuning half, between its short excerpts and chance windows of unrelated
    // footage; bench/README.md, "Short excerpts").
    shortWindow: 10,
    shortFraction: 0.9,
    shortMaxMean: 12,
  },
  trimBorders: true,
  matchFlips: true,
  matchCrops: true,
  // Chosen on the evaluation's tuning half: 3 of its 7 missed overlay copies found, no hard
  // negative flagged (bench/README.md, "Overlays: the inner half").
  matchInner: true,
  matchLayouts: true,
  minQuality: 1.5,
  benchPhases: 4,
  retrieval: 'scan',
};

export const PRESETS: Record<PresetName, Preset> = { default: DEFAULT, paper: PAPER };

/** A preset by name; an unknown name is bad input (INVALID_ARGUMENT), never retried. */
export function presetByName(name: string): Preset {
  if (name === 'default' || name === 'paper') return PRESETS[name];
  throw new VdedupError('INVALID_ARGUMENT', `unknown preset "${name}" (expected default or paper)`);
}
