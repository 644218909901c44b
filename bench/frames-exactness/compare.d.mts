// Types of compare.mjs, for test/e2e/frames-exactness.test.ts.

export declare const STRATEGIES: readonly ['default', 'seek', 'single-pass'];
export type Strategy = (typeof STRATEGIES)[number];
export declare const TIME_TOLERANCE: number;

export declare function ffmpegPath(): string;
export declare function ffprobePath(): string;

export interface ReferenceFrame {
  pts: bigint;
  duration: bigint;
  md5: string;
}

export interface Reference {
  tb: { num: bigint; den: bigint };
  width: number;
  height: number;
  frames: ReferenceFrame[];
  count: number;
  rel: bigint[];
  seconds: number[];
  monotonic: boolean;
  byMd5: Map<string, number[]>;
  endTicks: bigint;
  endSeconds: number;
  lastDuration: bigint;
  alt: Map<string, number[]> | undefined;
  literalSameFrames: boolean | undefined;
  rotation: number;
  /** Frames whose pts framemd5 showed moved by its muxer (the decoder's, from showinfo, is used). */
  muxerMoved: number;
}

export interface ReferenceText {
  text: string;
  decodedPts: string[] | undefined;
  literalSameFrames: boolean | undefined;
  rotation: number;
  altMd5s: string[] | undefined;
  /** MP4/MOV: where the container ends the video's presentation (seconds, 6 decimals). */
  streamEnd: string | undefined;
}

export declare function parseFramemd5(text: string): { tb: { num: bigint; den: bigint }; width: number; height: number; frames: ReferenceFrame[] };
export declare function rotationOf(file: string): Promise<number>;
export declare function buildReference(
  text: string,
  o?: { alt?: Map<string, number[]>; literalSameFrames?: boolean; rotation?: number; decodedPts?: string[]; streamEnd?: string },
): Reference;
export declare function referenceText(file: string, o?: { checkLiteral?: boolean }): Promise<ReferenceText>;
export declare function loadReference(file: string, o?: { checkLiteral?: boolean }): Promise<Reference>;
export declare function referenceFromText(r: ReferenceText): Reference;

export declare function linspaceIndices(total: number, n: number): number[];
export declare function decimalToRational(text: string): { num: bigint; den: bigint };
export declare function onScreen(ref: Reference, t: { num: bigint; den: bigint }): number;
export declare function frameTimeText(ref: Reference, i: number): string;
export declare function midpointText(ref: Reference, i: number): string;
export declare function atTimes(ref: Reference): string[];
export declare function tailTimeText(ref: Reference): string;
export declare function fpsExpected(ref: Reference, fpsText: string): Array<{ requested: number; frame: number }>;

export type Expectation = { kind: 'list'; frames: number[]; fps?: boolean; times?: string[] } | { kind: 'random'; count: number };

export interface PlannedRequest {
  name: string;
  args: string[];
  expect: Expectation;
}

export declare function planRequests(
  ref: Reference,
  o?: { counts?: number[]; fps?: string[]; random?: Array<{ n: number; seed: number }>; at?: boolean; tail?: boolean },
): PlannedRequest[];

export interface RunResult {
  code: number | null;
  timedOut: boolean;
  error: string | undefined;
  stdout: string;
  stderr: string;
  ms: number;
  argv: string[];
}

export declare function runFrames(o: {
  cli: string;
  video: string;
  args: string[];
  strategy: Strategy;
  outDir: string;
  timeoutMs?: number;
  onSpawn?: (pid: number) => void;
  onExit?: (pid: number) => void;
}): Promise<RunResult>;

export declare function imageRgbMd5(file: string): Promise<{ md5: string; width: number; height: number; channels: number }>;

export interface FrameProblem {
  position: number;
  expectedFrame: number;
  frameField: number | undefined;
  timestamp: number | undefined;
  requested: number | undefined;
  file: string;
  notes: string[];
}

export interface CheckResult {
  name: string;
  args: string[];
  ms: number;
  verdict: 'exact' | 'wrong' | 'refused';
  error?: string;
  expected: number;
  returned: number;
  frameField?: 'present' | 'missing' | 'partial';
  frames: { exact: number; wrong: number };
  problems: string[];
  details: FrameProblem[];
}

export declare function checkRequest(ref: Reference, req: PlannedRequest, outDir: string, run: RunResult): Promise<CheckResult>;
export declare function summarize(result: CheckResult, max?: number): string[];
