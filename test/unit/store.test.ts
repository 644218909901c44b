import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintCached } from '../../src/fingerprint/cached.js';
import { atOneFps, type Fingerprint } from '../../src/fingerprint/fingerprint.js';
import { decodeFingerprint, encodeFingerprint, FingerprintStore } from '../../src/fingerprint/store.js';
import { clip } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';
import { encodeBeforeInner, encodeBeforeLayouts } from '../helpers/old-fingerprint.js';

function fakeFingerprint(n: number, seed = 1): Fingerprint {
  return {
    file: 'x.mp4',
    duration: n,
    fps: 1,
    frameCount: n,
    hashes: BigUint64Array.from({ length: n }, (_, i) => BigInt(i * 7919 + seed) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn),
    flips: BigUint64Array.from({ length: n }, (_, i) => BigInt(i + seed)),
    rawHashes: BigUint64Array.from({ length: n }, (_, i) => BigInt(i * 3 + seed)),
    centerHashes: BigUint64Array.from({ length: n }, (_, i) => BigInt(i * 5 + seed)),
    innerHashes: BigUint64Array.from({ length: n }, (_, i) => BigInt(i * 11 + seed)),
    innerQuality: Float32Array.from({ length: n }, (_, i) => i / 3),
    quality: Float32Array.from({ length: n }, (_, i) => i / 2),
    content: Uint32Array.from({ length: 4 * n }, (_, i) => i % 128),
    stripHashes: BigUint64Array.from({ length: n }, (_, i) => BigInt(i * 13 + seed)),
    regions: [
      { x: 0, y: 20, width: 80, height: 88 },
      { x: 84, y: 40, width: 40, height: 40 },
    ],
    regionHashes: BigUint64Array.from({ length: 2 * n }, (_, i) => BigInt(i * 17 + seed)),
    regionQuality: Float32Array.from({ length: 2 * n }, (_, i) => i / 5),
    video: { index: 0, videoOrdinal: 0, codec: 'h264', width: 320, height: 240, fps: 25, rotation: 0, pixelFormat: 'yuv420p' },
    warnings: [],
  };
}

const KEY = '0123456789abcdef0123456789abcdef';

async function entryFiles(store: FingerprintStore): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(store.dir).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(store.dir, shard))) out.push(path.join(store.dir, shard, f));
  }
  return out;
}

describe('FingerprintStore', () => {
  it('round-trips every column exactly', async () => {
    await withTempDir(async (dir) => {
      const store = new FingerprintStore(dir);
      const fp = fakeFingerprint(300);
      await store.put(KEY, fp);
      const back = await store.get(KEY);
      expect(back).toBeDefined();
      for (const col of ['hashes', 'flips', 'rawHashes', 'centerHashes', 'innerHashes', 'innerQuality', 'quality', 'content'] as const) {
        expect(Array.from(back![col] as ArrayLike<number | bigint>)).toEqual(Array.from(fp[col] as ArrayLike<number | bigint>));
      }
      expect(back!.video).toEqual(fp.video);
      expect(await store.get('ffffffffffffffffffffffffffffffff')).toBeUndefined();
    });
  });

  it('encodes without content rectangles for collections (56 bytes a sample, 12 more per region), checked like a store entry', () => {
    const fp = fakeFingerprint(300);
    const full = encodeFingerprint(KEY, fp);
    const compact = encodeFingerprint(KEY, fp, { withContent: false });
    expect(full.length - compact.length).toBe(300 * 16);
    const meta = compact.readUInt32LE(8);
    expect(compact.length - 12 - meta - 32).toBe(300 * (56 + 2 * 12));
    const back = decodeFingerprint('member', compact);
    for (const col of ['hashes', 'flips', 'rawHashes', 'centerHashes', 'innerHashes', 'innerQuality', 'quality', 'stripHashes', 'regionHashes', 'regionQuality'] as const) {
      expect(Array.from(back[col] as ArrayLike<number | bigint>)).toEqual(Array.from(fp[col] as ArrayLike<number | bigint>));
    }
    expect(back.regions).toEqual(fp.regions);
    expect(back.content.length).toBe(0);
    // Its 1 fps view takes every region's column at 1 fps.
    const one = atOneFps({ ...back, fps: 4, frameCount: 300 });
    expect(one.regionHashes.length).toBe(2 * 75);
    expect(one.regionHashes[75]).toBe(fp.regionHashes[300]);
    expect(one.regionHashes[76]).toBe(fp.regionHashes[304]);
    expect(one.stripHashes[1]).toBe(fp.stripHashes[4]);
    expect(back.key).toBe(KEY);
    // Its 1 fps view keeps the empty content (nothing invented).
    expect(atOneFps({ ...back, fps: 4, frameCount: 300 }).content.length).toBe(0);
    const damaged = Buffer.from(compact);
    damaged[100] = damaged[100]! ^ 1;
    expect(() => decodeFingerprint('member', damaged)).toThrow(/checksum mismatch/);
    expect(() => decodeFingerprint('member', compact.subarray(0, 50))).toThrow(/corrupt/);
  });

  it('reads a collection member stored before inner-half hashes (format 3) with empty inner columns', () => {
    const fp = fakeFingerprint(40);
    const back = decodeFingerprint('member', encodeBeforeInner(KEY, fp));
    expect(Array.from(back.hashes)).toEqual(Array.from(fp.hashes));
    expect(Array.from(back.quality)).toEqual(Array.from(fp.quality));
    expect([back.innerHashes.length, back.innerQuality.length, back.content.length]).toEqual([0, 0, 0]);
    expect([back.stripHashes.length, back.regions.length, back.regionHashes.length]).toEqual([0, 0, 0]);
  });

  it('reads a collection member stored before strip and region hashes (format 5) with those columns empty', () => {
    const fp = fakeFingerprint(40);
    const back = decodeFingerprint('member', encodeBeforeLayouts(KEY, fp));
    for (const col of ['hashes', 'innerHashes', 'innerQuality', 'quality'] as const) {
      expect(Array.from(back[col] as ArrayLike<number | bigint>)).toEqual(Array.from(fp[col] as ArrayLike<number | bigint>));
    }
    expect([back.stripHashes.length, back.regions.length, back.regionHashes.length, back.regionQuality.length]).toEqual([0, 0, 0, 0]);
  });

  it('detects a corrupted entry: verify reports it, get drops it instead of serving it', async () => {
    await withTempDir(async (dir) => {
      const store = new FingerprintStore(dir);
      await store.put(KEY, fakeFingerprint(50));
      const [file] = await entryFiles(store);
      const bytes = await readFile(file!);
      bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
      await writeFile(file!, bytes);
      const v = await store.verify();
      expect(v.checked).toBe(1);
      expect(v.corrupt).toHaveLength(1);
      expect(v.corrupt[0]!.reason).toMatch(/checksum/);
      expect(await store.get(KEY)).toBeUndefined();
      expect(await entryFiles(store)).toHaveLength(0);
    });
  });

  it('a truncated entry (torn write by another tool) is never served', async () => {
    await withTempDir(async (dir) => {
      const store = new FingerprintStore(dir);
      await store.put(KEY, fakeFingerprint(50));
      const [file] = await entryFiles(store);
      const bytes = await readFile(file!);
      await writeFile(file!, bytes.subarray(0, bytes.length / 2));
      expect((await store.verify()).corrupt).toHaveLength(1);
      expect(await store.get(KEY)).toBeUndefined();
    });
  });

  it('concurrent writers of the same key leave one complete entry', async () => {
    await withTempDir(async (dir) => {
      const stores = [new FingerprintStore(dir), new FingerprintStore(dir), new FingerprintStore(dir)];
      await Promise.all(stores.map((s) => s.put(KEY, fakeFingerprint(500))));
      const files = await entryFiles(stores[0]!);
      expect(files).toHaveLength(1);
      expect((await stores[0]!.verify()).corrupt).toEqual([]);
    });
  });

  it('prune removes old entries and stale temp files left by a crashed writer', async () => {
    await withTempDir(async (dir) => {
      const store = new FingerprintStore(dir);
      await store.put(KEY, fakeFingerprint(10));
      const [file] = await entryFiles(store);
      const stale = `${file}.tmp-999-abcd`;
      await writeFile(stale, 'partial');
      const old = new Date(Date.now() - 2 * 3600_000);
      await utimes(stale, old, old);
      const kept = await store.prune(24 * 3600_000);
      expect(kept).toEqual({ removed: 0, tempFiles: 1, corrupt: 0 });
      expect(await store.get(KEY)).toBeDefined();
      const all = await store.prune(0);
      expect(all.removed).toBe(1);
      expect(await entryFiles(store)).toHaveLength(0);
    });
  });

  it('fingerprintCached decodes an unchanged video once', async () => {
    await withTempDir(async (dir) => {
      const store = new FingerprintStore(dir);
      const a = await fingerprintCached(clip('testsrc2.mp4'), store);
      const b = await fingerprintCached(clip('testsrc2.mp4'), store);
      expect(a.fromStore).toBe(false);
      expect(b.fromStore).toBe(true);
      expect(b.key).toBe(a.key);
      expect(Array.from(b.fingerprint.hashes)).toEqual(Array.from(a.fingerprint.hashes));
      const other = await fingerprintCached(clip('life.mp4'), store);
      expect(other.key).not.toBe(a.key);
    });
  });
});
