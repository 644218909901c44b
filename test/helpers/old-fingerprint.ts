import { createHash } from 'node:crypto';
import type { Fingerprint } from '../../src/fingerprint/fingerprint.js';

/**
 * A fingerprint as a version before inner-half hashes stored a service collection member (format
 * 3: no content rectangles, no inner columns), to test that such members are still read.
 */
export function encodeBeforeInner(key: string, fp: Fingerprint): Buffer {
  const meta = Buffer.from(JSON.stringify({ key, file: fp.file, duration: fp.duration, fps: fp.fps, frameCount: fp.frameCount, video: fp.video, warnings: [], createdAt: 'then' }));
  const header = Buffer.alloc(12);
  header.write('VDFP', 0);
  header.writeUInt32LE(3, 4);
  header.writeUInt32LE(meta.length, 8);
  const col = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const body = Buffer.concat([header, meta, col(fp.hashes), col(fp.flips), col(fp.rawHashes), col(fp.centerHashes), col(fp.quality)]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}
