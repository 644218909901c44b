import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { VdedupError } from '../errors.js';

export type BinarySource = 'env' | 'ffmpeg-static' | 'PATH';

export interface ResolvedBinary {
  /** Absolute path (or bare name when found on PATH lookup failed to expand). */
  path: string;
  /** Where it came from, in resolution order: env var, the ffmpeg-static package, PATH. */
  source: BinarySource;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** ffmpeg-static is optional: its install downloads from GitHub, which fails offline. */
function ffmpegStaticPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const p = require('ffmpeg-static') as unknown;
    return typeof p === 'string' && existsSync(p) && isExecutable(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function resolveBinary(name: 'ffmpeg' | 'ffprobe', envVar: string): ResolvedBinary {
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv)) {
      throw new VdedupError('FFMPEG_NOT_FOUND', `${envVar}=${fromEnv} is not an executable file`);
    }
    return { path: fromEnv, source: 'env' };
  }
  const staticFfmpeg = ffmpegStaticPath();
  if (staticFfmpeg !== undefined) {
    // ffmpeg-static ships only ffmpeg; an ffprobe beside it (some installs) is used when present.
    const candidate = name === 'ffmpeg' ? staticFfmpeg : path.join(path.dirname(staticFfmpeg), 'ffprobe');
    if (isExecutable(candidate)) return { path: candidate, source: 'ffmpeg-static' };
  }
  const onPath = findOnPath(name);
  if (onPath !== undefined) return { path: onPath, source: 'PATH' };
  throw new VdedupError(
    'FFMPEG_NOT_FOUND',
    `${name} not found: set ${envVar}, install the ffmpeg-static package, or install ffmpeg (e.g. apt-get install ffmpeg)`,
  );
}

let cachedFfmpeg: ResolvedBinary | undefined;
let cachedFfprobe: ResolvedBinary | undefined;

export function ffmpegBinary(): ResolvedBinary {
  cachedFfmpeg ??= resolveBinary('ffmpeg', 'FFMPEG_PATH');
  return cachedFfmpeg;
}

export function ffprobeBinary(): ResolvedBinary {
  cachedFfprobe ??= resolveBinary('ffprobe', 'FFPROBE_PATH');
  return cachedFfprobe;
}

/** Forget cached resolutions (tests change the environment). */
export function resetBinaryCache(): void {
  cachedFfmpeg = undefined;
  cachedFfprobe = undefined;
}

/** First line of `<binary> -version`, e.g. "ffmpeg version 5.1.9-0+deb12u1"; throws when it does not run. */
export function binaryVersionLine(bin: ResolvedBinary): string {
  const out = execFileSync(bin.path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  return (out.split('\n')[0] ?? '').replace(/\s+Copyright.*$/, '').trim();
}
