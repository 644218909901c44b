import { createHash } from 'node:crypto';
import type { Fingerprint } from '../../src/fingerprint/fingerprint.js';

/**
 * A fingerprint as a version before inner-half hashes stored a service collection member (format
 * 3: no content rectangles, no inner columns), to test that such members are still read.
 */
export function encodeBeforeInner(key: string, fp: Fingerprint): Buffer {
  return encodeOld(key, fp, 3, [fp.hashes, fp.flips, fp.rawHashes, fp.centerHashes, fp.quality]);
}

/**
 * A fingerprint as a version before strip and region hashes stored a service collection member
 * (format 5: no content rectangles, no strip or region columns).
 */
export function encodeBeforeLayouts(key: string, fp: Fingerprint): Buffer {
  return encodeOld(key, fp, 5, [fp.hashes, fp.flips, fp.rawHashes, fp.centerHashes, fp.innerHashes, fp.innerQuality, fp.quality]);
}

function encodeOld(key: string, fp: Fingerprint, format: number, columns: ArrayBufferView[]): Buffer {
  const meta = Buffer.from(JSON.stringify({ key, file: fp.file, duration: fp.duration, fps: fp.fps, frameCount: fp.frameCount, video: fp.video, warnings: [], createdAt: 'then' }));
  const header = Buffer.alloc(12);
  header.write('VDFP', 0);
  header.writeUInt32LE(format, 4);
  header.writeUInt32LE(meta.length, 8);
  const col = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const body = Buffer.concat([header, meta, ...columns.map(col)]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}
