import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Fingerprint } from './fingerprint.js';
import type { VideoStreamInfo } from '../media/probe.js';
import { VdedupError } from '../errors.js';

/**
 * Durable fingerprint store: one file per content key, written atomically (temp file, fsync,
 * rename in the same directory), so a crash mid-write leaves either the old state or the complete
 * new entry, never a torn one. Several processes may write at once: the same key always holds the
 * same content, and rename() makes the last complete write win. Every entry ends with a SHA-256 of
 * its bytes, checked on every read and by `verify()`.
 *
 * Layout: <root>/fingerprints/v1/<key[0..2]>/<key>.vfp
 * File:   "VDFP" | u32 format | u32 metaLen | meta JSON | columns | sha256(all before)
 * Columns (little-endian, n = frameCount, k = the regions in the meta): hashes u64[n], flips u64[n],
 *         rawHashes u64[n], centerHashes u64[n], innerHashes u64[n], innerQuality f32[n],
 *         quality f32[n], stripHashes u64[n], regionHashes u64[k n], regionQuality f32[k n],
 *         content u32[4n].
 * Format 7 is the same without the content column: what matching reads, and all a service
 * collection keeps of its members in Redis (56 bytes a sample, and 12 more per region, instead
 * of 72).
 * Formats 4 and 5 (before strip and region hashes) are read back with those columns empty, and
 * formats 2 and 3 (before inner-half hashes) with the inner columns empty too: a service
 * collection may hold members added by an older version (matching says so; see BenchMatcher).
 */
const MAGIC = Buffer.from('VDFP');
const FORMAT = 6;
const FORMAT_WITHOUT_CONTENT = 7;
/** Before strip and region hashes. */
const FORMAT_4 = 4;
const FORMAT_4_WITHOUT_CONTENT = 5;
/** Before inner-half hashes. */
const OLD_FORMAT = 2;
const OLD_FORMAT_WITHOUT_CONTENT = 3;
const SUFFIX = '.vfp';
/** Temp files older than this are leftovers of a crashed writer. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface StoredMeta {
  key: string;
  /** Path the video had when it was fingerprinted (informational: the key is content-based). */
  file: string;
  duration: number;
  fps: number;
  frameCount: number;
  video: VideoStreamInfo;
  warnings: string[];
  createdAt: string;
  /** Active regions (formats 6 and 7; absent before). */
  regions?: Fingerprint['regions'];
}

export function defaultCacheDir(): string {
  if (process.env.VDEDUP_CACHE_DIR) return process.env.VDEDUP_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg !== undefined && xdg !== '' ? xdg : path.join(os.homedir(), '.cache'), 'vdedup');
}

export class StoreCorruptError extends Error {
  constructor(readonly entry: string, reason: string) {
    super(`corrupt fingerprint store entry ${entry}: ${reason}`);
    this.name = 'StoreCorruptError';
  }
}

/**
 * A fingerprint as bytes, checksummed; `withContent: false` leaves out the content rectangles
 * (nothing after hashing reads them), as collections in Redis keep their members.
 */
export function encodeFingerprint(key: string, fp: Fingerprint, { withContent = true }: { withContent?: boolean } = {}): Buffer {
  const meta: StoredMeta = {
    key,
    file: fp.file,
    duration: fp.duration,
    fps: fp.fps,
    frameCount: fp.frameCount,
    video: fp.video,
    warnings: fp.warnings,
    createdAt: new Date().toISOString(),
    regions: fp.regions,
  };
  const metaBuf = Buffer.from(JSON.stringify(meta), 'utf8');
  const header = Buffer.alloc(12);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(withContent ? FORMAT : FORMAT_WITHOUT_CONTENT, 4);
  header.writeUInt32LE(metaBuf.length, 8);
  const col = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  // Columns are written host-order; every supported platform (x64, arm64) is little-endian.
  const n = fp.frameCount;
  if (fp.stripHashes.length !== n || fp.regionHashes.length !== fp.regions.length * n || fp.regionQuality.length !== fp.regions.length * n) {
    throw new Error(`fingerprint of ${fp.file}: strip and region columns do not hold one value per frame (and region)`);
  }
  const columns = [
    fp.hashes,
    fp.flips,
    fp.rawHashes,
    fp.centerHashes,
    fp.innerHashes,
    fp.innerQuality,
    fp.quality,
    fp.stripHashes,
    fp.regionHashes,
    fp.regionQuality,
    ...(withContent ? [fp.content] : []),
  ];
  const body = Buffer.concat([header, metaBuf, ...columns.map(col)]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/**
 * The fingerprint in bytes made by `encodeFingerprint`, checked (StoreCorruptError when damaged).
 * One encoded without content rectangles comes back with an empty `content`.
 */
export function decodeFingerprint(entry: string, buf: Buffer): Fingerprint & { key: string; createdAt: string } {
  if (buf.length < 12 + 32 || !buf.subarray(0, 4).equals(MAGIC)) throw new StoreCorruptError(entry, 'bad header');
  const body = buf.subarray(0, buf.length - 32);
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(buf.length - 32))) {
    throw new StoreCorruptError(entry, 'checksum mismatch');
  }
  const format = buf.readUInt32LE(4);
  if (![FORMAT, FORMAT_WITHOUT_CONTENT, FORMAT_4, FORMAT_4_WITHOUT_CONTENT, OLD_FORMAT, OLD_FORMAT_WITHOUT_CONTENT].includes(format)) {
    throw new StoreCorruptError(entry, `unknown format ${format}`);
  }
  const contentBytes = [FORMAT, FORMAT_4, OLD_FORMAT].includes(format) ? 16 : 0;
  // Inner-half hashes (u64) and their quality (f32): absent from the formats before them.
  const withInner = format !== OLD_FORMAT && format !== OLD_FORMAT_WITHOUT_CONTENT;
  // Strip hashes (u64), region hashes (u64) and their quality (f32): likewise.
  const withLayout = format === FORMAT || format === FORMAT_WITHOUT_CONTENT;
  const metaLen = buf.readUInt32LE(8);
  let meta: StoredMeta;
  try {
    meta = JSON.parse(buf.subarray(12, 12 + metaLen).toString('utf8')) as StoredMeta;
  } catch {
    throw new StoreCorruptError(entry, 'unreadable metadata');
  }
  const n = meta.frameCount;
  const regions = withLayout ? (meta.regions ?? []) : [];
  if (!Array.isArray(regions) || regions.length > 2) throw new StoreCorruptError(entry, 'unreadable regions');
  let at = 12 + metaLen;
  const expected = at + n * (8 * 4 + (withInner ? 12 : 0) + 4 + (withLayout ? 8 + 12 * regions.length : 0) + contentBytes);
  if (expected !== body.length) throw new StoreCorruptError(entry, `size ${body.length}, expected ${expected}`);
  // Copy each column into its own aligned ArrayBuffer (a Buffer slice may be unaligned for u64).
  const take = (bytes: number) => {
    const out = new Uint8Array(bytes);
    out.set(body.subarray(at, at + bytes));
    at += bytes;
    return out.buffer;
  };
  return {
    key: meta.key,
    createdAt: meta.createdAt,
    file: meta.file,
    duration: meta.duration,
    fps: meta.fps,
    frameCount: n,
    video: meta.video,
    warnings: meta.warnings,
    hashes: new BigUint64Array(take(8 * n)),
    flips: new BigUint64Array(take(8 * n)),
    rawHashes: new BigUint64Array(take(8 * n)),
    centerHashes: new BigUint64Array(take(8 * n)),
    innerHashes: new BigUint64Array(take(withInner ? 8 * n : 0)),
    innerQuality: new Float32Array(take(withInner ? 4 * n : 0)),
    quality: new Float32Array(take(4 * n)),
    stripHashes: new BigUint64Array(take(withLayout ? 8 * n : 0)),
    regions,
    regionHashes: new BigUint64Array(take(8 * regions.length * n)),
    regionQuality: new Float32Array(take(4 * regions.length * n)),
    content: new Uint32Array(take(contentBytes * n)),
  };
}

export interface StoreEntryInfo {
  key: string;
  path: string;
  bytes: number;
  modified: Date;
}

/** A store write that failed (disk full, read-only, no permission): one clear line, the cause kept. */
function storeWriteError(dir: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
  };
  if (code === undefined || why[code] === undefined) return err;
  return new VdedupError('STORE_WRITE_FAILED', `cannot write the fingerprint store at ${dir}: ${why[code]} (${code}); free space or point --cache-dir / VDEDUP_CACHE_DIR elsewhere`, { cause: err });
}

export class FingerprintStore {
  readonly dir: string;

  constructor(cacheDir: string = defaultCacheDir()) {
    this.dir = path.join(cacheDir, 'fingerprints', `v${FORMAT}`);
  }

  private entryPath(key: string): string {
    if (!/^[0-9a-f]{16,64}$/.test(key)) throw new Error(`invalid store key ${JSON.stringify(key)}`);
    return path.join(this.dir, key.slice(0, 2), `${key}${SUFFIX}`);
  }

  /** The stored fingerprint, or undefined when absent. A corrupt entry is removed and reported absent. */
  async get(key: string): Promise<Fingerprint | undefined> {
    const file = this.entryPath(key);
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return decodeFingerprint(file, buf);
    } catch (err) {
      if (!(err instanceof StoreCorruptError) && !(err instanceof SyntaxError)) throw err;
      // Never serve a damaged entry: drop it so the video is fingerprinted again.
      await rm(file, { force: true });
      return undefined;
    }
  }

  async put(key: string, fp: Fingerprint): Promise<void> {
    const file = this.entryPath(key);
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(encodeFingerprint(key, fp));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (err) {
      // Nothing half-written stays behind: the entry is either complete or absent.
      await rm(tmp, { force: true }).catch(() => undefined);
      throw storeWriteError(this.dir, err);
    }
  }

  async *entries(): AsyncGenerator<StoreEntryInfo> {
    let shards: string[];
    try {
      shards = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const shard of shards.sort()) {
      const shardDir = path.join(this.dir, shard);
      let names: string[];
      try {
        names = await readdir(shardDir);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (!name.endsWith(SUFFIX)) continue;
        const p = path.join(shardDir, name);
        const s = await stat(p).catch(() => undefined);
        if (s === undefined) continue;
        yield { key: name.slice(0, -SUFFIX.length), path: p, bytes: s.size, modified: s.mtime };
      }
    }
  }

  /** Read and checksum every entry; returns the corrupt ones (left in place for inspection). */
  async verify(): Promise<{ checked: number; corrupt: Array<{ key: string; reason: string }> }> {
    let checked = 0;
    const corrupt: Array<{ key: string; reason: string }> = [];
    for await (const e of this.entries()) {
      checked++;
      try {
        decodeFingerprint(e.path, await readFile(e.path));
      } catch (err) {
        corrupt.push({ key: e.key, reason: (err as Error).message });
      }
    }
    return { checked, corrupt };
  }

  /**
   * Remove entries not modified for `olderThanMs` (all entries when 0), corrupt entries, and temp
   * files crashed writers left behind.
   */
  async prune(olderThanMs: number): Promise<{ removed: number; tempFiles: number; corrupt: number }> {
    const now = Date.now();
    let removed = 0;
    let tempFiles = 0;
    let corrupt = 0;
    for await (const e of this.entries()) {
      const old = now - e.modified.getTime() >= olderThanMs;
      let bad = false;
      if (!old) {
        try {
          decodeFingerprint(e.path, await readFile(e.path));
        } catch {
          bad = true;
        }
      }
      if (old || bad) {
        await rm(e.path, { force: true });
        if (bad) corrupt++;
        else removed++;
      }
    }
    const shards = await readdir(this.dir).catch(() => [] as string[]);
    for (const shard of shards) {
      const shardDir = path.join(this.dir, shard);
      for (const name of await readdir(shardDir).catch(() => [] as string[])) {
        if (!name.includes(`${SUFFIX}.tmp-`)) continue;
        const p = path.join(shardDir, name);
        const s = await stat(p).catch(() => undefined);
        if (s !== undefined && now - s.mtime.getTime() > STALE_TEMP_MS) {
          await rm(p, { force: true });
          tempFiles++;
        }
      }
    }
    return { removed, tempFiles, corrupt };
  }
}
