import { isVdedupError } from '../errors.js';

/** The command line itself is wrong (a flag's value, a missing choice): exit code 2, as for commander's own checks. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Read flags through `parse`: a value it refuses (INVALID_ARGUMENT) is a usage error. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isVdedupError(err) && err.code === 'INVALID_ARGUMENT') throw new UsageError(err.message);
    throw err;
  }
}

/** One line on stderr for any failure; exit code 1 (2 for a usage error). Internal bugs keep their stack for reports. */
export function reportFailure(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`vdedup: ${err.message} (run vdedup --help for usage)\n`);
    return 2;
  }
  if (isVdedupError(err)) {
    process.stderr.write(`vdedup: ${err.oneLine()}\n`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`vdedup: ${message}\n`);
  if (process.env.VDEDUP_DEBUG === '1' && err instanceof Error && err.stack !== undefined) {
    process.stderr.write(`${err.stack}\n`);
  }
  return 1;
}

/** Progress on stderr only when a person is watching: a TTY, and not in CI logs. */
export function progressLine(): ((text: string) => void) & { done(): void } {
  const enabled = process.stderr.isTTY === true;
  let last = 0;
  const write = ((text: string) => {
    if (!enabled) return;
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    process.stderr.write(`\r\x1b[2K${text}`);
  }) as ((text: string) => void) & { done(): void };
  write.done = () => {
    if (enabled) process.stderr.write('\r\x1b[2K');
  };
  return write;
}

/** Abort on Ctrl-C so child ffmpeg processes are killed, not orphaned. */
export function abortOnSigint(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

/**
 * The shape every long-running command shares: Ctrl-C aborts (killing ffmpeg), progress on a TTY,
 * exit 0 on success, one line and exit 1 on failure.
 */
export async function runCommand(
  setExit: (code: number) => void,
  body: (ctx: { signal: AbortSignal; progress: ReturnType<typeof progressLine> }) => Promise<void>,
): Promise<void> {
  const abort = abortOnSigint();
  const progress = progressLine();
  try {
    await body({ signal: abort.signal, progress });
    progress.done();
    setExit(0);
  } catch (err) {
    progress.done();
    setExit(reportFailure(err));
  } finally {
    abort.dispose();
  }
}
