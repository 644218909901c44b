import path from 'node:path';
/**
 * Every failure a user can cause or meet carries a stable code, so the CLI prints one clear
 * line, the HTTP layer maps it to a status, and scans can list it per video without stopping.
 */
export type ErrorCode =
  | 'FILE_NOT_FOUND'
  | 'NOT_A_FILE'
  | 'EMPTY_FILE'
  | 'INVALID_MEDIA'
  | 'NO_VIDEO_STREAM'
  | 'TRUNCATED_MEDIA'
  | 'NO_FRAMES'
  | 'FFMPEG_NOT_FOUND'
  | 'FFMPEG_FAILED'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'NATIVE_MODULE_MISSING'
  | 'STORE_WRITE_FAILED'
  | 'MEMORY_LIMIT'
  | 'COLLECTION_INCOMPLETE'
  | 'DATA_DIR_NOT_SHARED'
  | 'INVALID_ARGUMENT';

export class VdedupError extends Error {
  readonly code: ErrorCode;
  /** The file the error is about, when there is one. */
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VdedupError';
    this.code = code;
    this.file = options.file;
  }

  /**
   * The same error about an uploaded file, named as the client named it: neither the file field
   * nor the message (ffmpeg quotes its input) says where the server keeps uploads.
   */
  asUpload(serverPath: string, clientName: string): VdedupError {
    const message = this.message.replaceAll(serverPath, clientName).replaceAll(path.dirname(serverPath) + path.sep, '');
    return new VdedupError(this.code, message, { file: clientName, cause: this.cause });
  }

  /** One line for a terminal or a report: `<file>: <message>`. */
  oneLine(): string {
    const text = this.message.replace(/\s*\n\s*/g, ' | ');
    return this.file === undefined ? text : `${this.file}: ${text}`;
  }
}

export function isVdedupError(err: unknown): err is VdedupError {
  return err instanceof VdedupError;
}

/**
 * Failures that another attempt cannot fix because the input is bad (HTTP 422, jobs not retried,
 * scans list the video and go on). Everything else (ffmpeg killed for lack of memory, Redis away,
 * a worker shut down mid-job) may succeed when tried again.
 */
const BAD_INPUT: ReadonlySet<string> = new Set<ErrorCode>([
  'FILE_NOT_FOUND',
  'NOT_A_FILE',
  'EMPTY_FILE',
  'INVALID_MEDIA',
  'NO_VIDEO_STREAM',
  'TRUNCATED_MEDIA',
  'NO_FRAMES',
  'INVALID_ARGUMENT',
  'TIMEOUT',
  'MEMORY_LIMIT',
]);

export function isBadInputCode(code: string): boolean {
  return BAD_INPUT.has(code);
}

export function isBadInput(err: unknown): boolean {
  return isVdedupError(err) && BAD_INPUT.has(err.code);
}
