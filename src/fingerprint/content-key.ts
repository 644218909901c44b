import { createHash } from 'node:crypto';
import { openVideoBytes, type VideoInput } from '../media/input.js';

/** Bytes read at each of the start, middle and end of a file for its content key. */
const SAMPLE_BYTES = 64 * 1024;

/**
 * Identity of a video's content without reading all of it: SHA-256 over the size and three
 * 64 KiB samples (start, middle, end). Re-encodes, renames and copies of the same bytes share a key;
 * any edit that changes the size or the sampled bytes gives a new one. The sampling (not a full
 * hash) keeps a scan of an unchanged 100K-video corpus at three small reads per file.
 * `pipeline` names everything that changes the fingerprint (sampling rate, hash version), so a
 * change of method never reuses stale entries.
 * A member of an archive (`StoredMember`) is keyed as the same bytes in a file of their own (its
 * size, samples at offsets from its start): extracted, or moved to another shard, it keeps its key.
 */
export async function contentKey(input: VideoInput, pipeline: string): Promise<string> {
  const handle = await openVideoBytes(input);
  try {
    const { size } = handle;
    const hash = createHash('sha256');
    hash.update(`${pipeline}\n${size}\n`);
    const offsets = size <= 3 * SAMPLE_BYTES ? [0] : [0, Math.floor(size / 2) - SAMPLE_BYTES / 2, size - SAMPLE_BYTES];
    const buf = Buffer.allocUnsafe(Math.min(size, size <= 3 * SAMPLE_BYTES ? size : SAMPLE_BYTES));
    for (const offset of offsets) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex').slice(0, 32);
  } finally {
    await handle.close();
  }
}
