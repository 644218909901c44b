import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ffmpegBinary, ffprobeBinary, resetBinaryCache } from '../../src/media/binaries.js';
import { withTempDir } from '../helpers/ffmpeg.js';

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
  resetBinaryCache();
});

describe('ffmpeg binary resolution', () => {
  it('prefers FFMPEG_PATH / FFPROBE_PATH over everything else', async () => {
    await withTempDir(async (dir) => {
      const fake = path.join(dir, 'my-ffmpeg');
      await writeFile(fake, '#!/bin/sh\necho fake\n');
      await chmod(fake, 0o755);
      process.env.FFMPEG_PATH = fake;
      process.env.FFPROBE_PATH = fake;
      resetBinaryCache();
      expect(ffmpegBinary()).toEqual({ path: fake, source: 'env' });
      expect(ffprobeBinary()).toEqual({ path: fake, source: 'env' });
    });
  });

  it('rejects an FFMPEG_PATH that is not executable, naming the variable', async () => {
    await withTempDir(async (dir) => {
      const notExec = path.join(dir, 'ffmpeg.txt');
      await writeFile(notExec, 'nope');
      process.env.FFMPEG_PATH = notExec;
      resetBinaryCache();
      expect(() => ffmpegBinary()).toThrow(/FFMPEG_PATH=.*not an executable/);
    });
  });

  it('falls back to PATH (ffmpeg-static cannot download here)', () => {
    delete process.env.FFMPEG_PATH;
    delete process.env.FFPROBE_PATH;
    resetBinaryCache();
    const ff = ffmpegBinary();
    expect(['PATH', 'ffmpeg-static']).toContain(ff.source);
    expect(path.basename(ff.path)).toMatch(/^ffmpeg/);
    expect(path.basename(ffprobeBinary().path)).toMatch(/^ffprobe/);
  });

  it('says how to fix a missing ffmpeg', () => {
    delete process.env.FFMPEG_PATH;
    process.env.PATH = '/nonexistent';
    resetBinaryCache();
    let err: unknown;
    try {
      const b = ffmpegBinary();
      // ffmpeg-static may legitimately be installed on a machine with internet.
      expect(b.source).toBe('ffmpeg-static');
      return;
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/ffmpeg not found: set FFMPEG_PATH/);
  });
});
