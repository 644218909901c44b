import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VdedupError } from '../errors.js';

export interface HashFramesOptions {
  trimBorders?: boolean;
  blackLevel?: number;
  minContent?: number;
}

export interface HashedFrames {
  hashes: BigUint64Array;
  flips: BigUint64Array;
  quality: Float32Array;
  /** x, y, width, height of the kept content region, 4 values per frame. */
  content: Uint32Array;
}

/** The surface of crates/node (its generated index.d.ts says the same). */
export interface NativeBinding {
  hashFrames(frames: Buffer, width: number, height: number, options?: HashFramesOptions | null): Promise<HashedFrames>;
  nativeVersion(): string;
}

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
