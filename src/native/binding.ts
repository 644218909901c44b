import { existsSync } from 'node:fs';
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

/** Where the .node file is looked for: VDEDUP_NATIVE_PATH, else crates/node/vdedup.node (built by `npm run setup`). */
export function nativeModulePath(): string {
  return process.env.VDEDUP_NATIVE_PATH ?? path.join(packageRoot, 'crates', 'node', 'vdedup.node');
}

let loaded: NativeBinding | undefined;

export function native(): NativeBinding {
  if (loaded !== undefined) return loaded;
  const file = nativeModulePath();
  if (!existsSync(file)) {
    throw new VdedupError('NATIVE_MODULE_MISSING', `native module not built (${file} missing): run \`npm run setup\``);
  }
  const require = createRequire(import.meta.url);
  loaded = require(file) as NativeBinding;
  return loaded;
}
