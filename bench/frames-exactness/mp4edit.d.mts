// Types of mp4edit.mjs, for test/e2e/frames-exactness.test.ts.

export interface Mp4Edit {
  duration: number;
  mediaTime: number;
  rate: number;
  seconds: number;
  mediaSeconds: number;
}

export interface Mp4Track {
  handler: string;
  mediaScale: number;
  edits: Mp4Edit[];
  sampleDescriptions: string[];
  samples: number;
}

export declare function mp4Info(file: string): { movieScale: number; fragmented: boolean; moovFirst: boolean; tracks: Mp4Track[] };
export declare function setVideoEdits(inFile: string, outFile: string, edits: Array<{ seconds: number; mediaSeconds: number }>): void;
export declare function trimVideoEnd(inFile: string, outFile: string, seconds: number): void;
export declare function multiStsd(joined: string, second: string, outFile: string, firstOfSecond: number): void;
