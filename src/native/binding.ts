import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VdedupError } from '../errors.js';
// The types napi-rs generates from crates/node (`npm run build:native` writes index.d.ts): the
// surface TypeScript sees is the one the Rust binding exports, never a hand-written copy.
import type * as Generated from '../../crates/node/index.js';

export type {
  BenchFrameScan,
  BenchSequences,
  HashedFrames,
  HashFramesOptions,
  MatchRule,
  MatchSegment,
  TrainSequence,
  WindowVectors,
} from '../../crates/node/index.js';

/** The loaded module: every export of crates/node. */
export type NativeBinding = typeof Generated;

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/**
 * napi-rs's name for the running platform (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`...),
 * the suffix of the prebuilt package `vdedup-<suffix>` (see `napi.targets` in package.json).
 */
export function platformArchAbi(): string {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function isMusl(): boolean {
  // glibc reports its version in the process report; musl does not.
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}

/** The prebuilt platform package for the running platform (an optional dependency of the published package). */
export function platformPackageName(): string {
  return `vdedup-${platformArchAbi()}`;
}

/** The module built from source in a checkout (`npm run setup`); not part of the published package. */
export function localBuildPath(): string {
  return path.join(packageRoot, 'crates', 'node', 'vdedup.node');
}

/** Where the loaded module came from, for `vdedup --version` and /health. */
export interface NativeOrigin {
  /** `VDEDUP_NATIVE_PATH`, `platform package vdedup-linux-x64-gnu@0.1.0` or `local build`. */
  source: string;
  file: string;
}

let loaded: { binding: NativeBinding; origin: NativeOrigin } | undefined;

function load(): { binding: NativeBinding; origin: NativeOrigin } {
  if (loaded !== undefined) return loaded;
  const override = process.env.VDEDUP_NATIVE_PATH;
  if (override !== undefined) {
    if (!existsSync(override)) {
      throw new VdedupError('NATIVE_MODULE_MISSING', `VDEDUP_NATIVE_PATH names ${override}, which does not exist`);
    }
    loaded = { binding: require(override) as NativeBinding, origin: { source: 'VDEDUP_NATIVE_PATH', file: override } };
    return loaded;
  }
  // The prebuilt package for this platform, else the module built from source in a checkout.
  const failures: string[] = [];
  const pkg = platformPackageName();
  let pkgFile: string | undefined;
  try {
    pkgFile = require.resolve(pkg);
  } catch {
    failures.push(`the platform package ${pkg} is not installed`);
  }
  if (pkgFile !== undefined) {
    try {
      const binding = require(pkgFile) as NativeBinding;
      const manifest = path.join(path.dirname(pkgFile), 'package.json');
      const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? '?';
      loaded = { binding, origin: { source: `platform package ${pkg}@${version}`, file: pkgFile } };
      return loaded;
    } catch (err) {
      failures.push(`the platform package ${pkg} does not load (${(err as Error).message.split('\n')[0] ?? ''})`);
    }
  }
  const local = localBuildPath();
  if (existsSync(local)) {
    loaded = { binding: require(local) as NativeBinding, origin: { source: 'local build', file: local } };
    return loaded;
  }
  failures.push(`${local} is not built`);
  throw new VdedupError(
    'NATIVE_MODULE_MISSING',
    `native module not available for ${platformArchAbi()}: ${failures.join('; ')}. ` +
      'Install vdedup on a platform it ships a prebuilt package for, or run `npm run setup` in a source checkout',
  );
}

export function native(): NativeBinding {
  return load().binding;
}

/** Which module `native()` loaded (loads it first). */
export function nativeOrigin(): NativeOrigin {
  return load().origin;
}
