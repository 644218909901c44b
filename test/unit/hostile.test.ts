import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintVideo } from '../../src/fingerprint/fingerprint.js';
import { extractFrames } from '../../src/frames/extract.js';
import { probeVideo } from '../../src/media/probe.js';
import { isVdedupError } from '../../src/errors.js';
import { clip } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';

/**
 * Files that try to make ffmpeg read other local files: an HLS playlist and an ffconcat list,
 * named like videos. Without a demuxer whitelist ffmpeg follows them (the file protocol alone is
 * allowed); with it they are refused before anything is opened.
 */
const crafted = {
  'hls-playlist.mp4': `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${clip('testsrc2.mp4')}\n#EXT-X-ENDLIST\n`,
  'concat-list.mp4': `ffconcat version 1.0\nfile '${clip('testsrc2.mp4')}'\n`,
  'hls-secret.mkv': '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n',
};

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isVdedupError(err) ? `${err.code}: ${err.message}` : String(err);
  }
}

describe('hostile inputs that reference other files', () => {
  it.each(Object.entries(crafted))('%s is refused by fingerprint, probe and frames, and no frame is written', async (name, body) => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, name);
      await writeFile(file, body);
      for (const result of [await code(fingerprintVideo(file)), await code(probeVideo(file))]) {
        expect(result).toMatch(/^INVALID_MEDIA: refused: its container format \((hls|concat|unknown)\)/);
      }
      const out = path.join(dir, 'frames');
      expect(await code(extractFrames(file, { selection: { mode: 'count', count: 2 }, outDir: out }))).toMatch(/^INVALID_MEDIA: refused/);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    });
  });
});
