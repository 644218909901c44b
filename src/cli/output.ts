import { isVdedupError } from '../errors.js';

/** One line on stderr for any failure; exit code 1. Internal bugs keep their stack for reports. */
export function reportFailure(err: unknown): number {
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
