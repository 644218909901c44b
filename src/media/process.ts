import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { VdedupError } from '../errors.js';

/**
 * Keep the start of stderr (ffmpeg's description of its input) and its end (the reason it
 * stopped); ffmpeg can print a line per damaged packet for hours in between.
 */
const STDERR_HEAD_BYTES = 32 * 1024;
const STDERR_KEEP_BYTES = 16 * 1024;

/** Node timers take at most 2^31-1 ms (about 24.8 days); a longer delay would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Address-space cap for every ffmpeg/ffprobe (MiB), applied through util-linux `prlimit`: a
 * hostile or absurd input fails with MEMORY_LIMIT instead of taking the machine's memory. Set by
 * the front doors at start (VDEDUP_FFMPEG_MEMORY_MB; the service has a default of its own).
 */
let memoryLimitMb: number | undefined;
let prlimitPath: string | null | undefined;

/** Set the cap (MiB; undefined or 0: none). */
export function setMediaMemoryLimit(mb: number | undefined): void {
  memoryLimitMb = mb === 0 ? undefined : mb;
}

/** The cap in force and how it is applied, for /health: "4096 MiB (prlimit)", or why there is none. */
export function mediaMemoryLimit(): string {
  if (memoryLimitMb === undefined) return 'none';
  return findPrlimit() === null ? `${memoryLimitMb} MiB requested, but prlimit (util-linux) is missing: not applied` : `${memoryLimitMb} MiB (prlimit)`;
}

function findPrlimit(): string | null {
  if (prlimitPath === undefined) {
    prlimitPath = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p)) ?? null;
  }
  return prlimitPath;
}

export interface RunOptions {
  /** The media file the process works on, named in every error. */
  file: string;
  signal?: AbortSignal | undefined;
  /** Kill the process after this many milliseconds (0 or undefined: no limit). */
  timeoutMs?: number | undefined;
  /** Called with every stderr chunk as it arrives. */
  onStderr?: ((chunk: string) => void) | undefined;
  /** Written to the process's stdin (closed at the end); without it stdin is closed at once. */
  stdin?: AsyncIterable<Buffer> | undefined;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface MediaProcess {
  stdout: Readable;
  /** Resolves when the process has exited; rejects with TIMEOUT/ABORTED when we killed it. */
  exited: Promise<ProcessExit>;
  kill(): void;
}

/**
 * Spawn ffmpeg/ffprobe with an argument vector (never a shell), stdin closed, stderr kept
 * (bounded) for error messages, and a kill on abort or timeout.
 */
export function spawnMedia(binary: string, args: string[], options: RunOptions): MediaProcess {
  if (options.signal?.aborted) {
    throw new VdedupError('ABORTED', 'aborted before start', { file: options.file });
  }
  const prlimit = memoryLimitMb === undefined ? null : findPrlimit();
  const [command, argv] =
    prlimit === null ? [binary, args] : [prlimit, [`--as=${memoryLimitMb! * 1024 * 1024}`, '--', binary, ...args]];
  const child = spawn(command, argv, {
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    windowsHide: true,
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
  if (options.stdin !== undefined && child.stdin !== null) feed(child.stdin, options.stdin);
  let head = '';
  let tail = '';
  let dropped = false;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    options.onStderr?.(chunk);
    if (head.length < STDERR_HEAD_BYTES) {
      const take = chunk.slice(0, STDERR_HEAD_BYTES - head.length);
      head += take;
      chunk = chunk.slice(take.length);
    }
    tail += chunk;
    if (tail.length > STDERR_KEEP_BYTES * 2) {
      tail = tail.slice(-STDERR_KEEP_BYTES);
      dropped = true;
    }
  });
  const stderrText = () => (dropped ? `${head}\n[...]\n${tail}` : head + tail);

  let killedFor: 'TIMEOUT' | 'ABORTED' | undefined;
  const kill = (reason: 'TIMEOUT' | 'ABORTED') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killedFor ??= reason;
    child.kill('SIGKILL');
  };
  const onAbort = () => kill('ABORTED');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeoutMs !== undefined && options.timeoutMs > 0
      ? setTimeout(() => kill('TIMEOUT'), Math.min(options.timeoutMs, MAX_TIMER_MS))
      : undefined;

  const exited = new Promise<ProcessExit>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        new VdedupError('FFMPEG_FAILED', `could not run ${binary}: ${err.message}`, { file: options.file, cause: err }),
      );
    });
    child.on('close', (code, signal) => {
      cleanup();
      if (killedFor === 'TIMEOUT') {
        reject(
          new VdedupError('TIMEOUT', `timed out after ${((options.timeoutMs ?? 0) / 1000).toFixed(1)} s`, {
            file: options.file,
          }),
        );
      } else if (killedFor === 'ABORTED') {
        reject(new VdedupError('ABORTED', 'aborted', { file: options.file }));
      } else if (prlimit !== null && code !== 0 && /Cannot allocate memory|Out of memory|std::bad_alloc|failed to map segment/i.test(stderrText())) {
        reject(
          new VdedupError('MEMORY_LIMIT', `decoding needs more than the memory limit of ${memoryLimitMb} MiB (VDEDUP_FFMPEG_MEMORY_MB)`, {
            file: options.file,
          }),
        );
      } else {
        resolve({ code, signal, stderr: stderrText().trim() });
      }
    });
  });
  // Callers may await `exited` late (after draining stdout); never let it become an unhandled rejection.
  exited.catch(() => undefined);

  function cleanup(): void {
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }

  return { stdout: child.stdout, exited, kill: () => kill('ABORTED') };
}

function drainedOrClosed(stdin: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stdin.off('drain', done);
      stdin.off('close', done);
      resolve();
    };
    stdin.on('drain', done);
    stdin.on('close', done);
  });
}

/**
 * Copy `data` into a child's stdin, waiting while the pipe is full. A child that exits early
 * (an error, or it has read what it needs) closes the pipe: that ends the copy quietly, and the
 * child's exit says what happened.
 */
function feed(stdin: Writable, data: AsyncIterable<Buffer>): void {
  stdin.on('error', () => undefined);
  void (async () => {
    try {
      for await (const chunk of data) {
        if (stdin.destroyed) return;
        if (!stdin.write(chunk)) await drainedOrClosed(stdin);
      }
    } catch {
      // Unreadable input: the child sees its input end early and fails on it.
    } finally {
      stdin.end();
    }
  })();
}

/** Last meaningful stderr lines, for an error message that fits on one line. */
export function stderrSummary(stderr: string, maxLines = 3): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(-maxLines).join(' | ');
}
