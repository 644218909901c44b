import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../../src/media/binaries.js';

const execFileAsync = promisify(execFile);

/** Run ffmpeg with an argument vector (tests build transformed copies with it). */
export async function ffmpeg(args: string[]): Promise<void> {
  await execFileAsync(ffmpegBinary().path, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], {
    timeout: 120_000,
  });
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
