import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { clip } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';

describe('vdedup frames (real CLI)', () => {
  it('writes decodable images, frames.json and a contact sheet', async () => {
    await withTempDir(async (dir) => {
      const r = await runCli(['frames', clip('testsrc2.mp4'), '--count', '4', '--out', dir, '--format', 'webp', '--width', '160', '--contact-sheet']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^4 of 600 frames \((seek|single-pass)\) -> /);
      const manifest = JSON.parse(await readFile(path.join(dir, 'frames.json'), 'utf8')) as { frames: Array<{ file: string; frame: number; timestamp: number }>; frameCount: number };
      expect(manifest.frames.map((f) => f.timestamp)).toEqual([0, 7.96, 15.96, 23.96]);
      // np.linspace(0, 599, 4, dtype=int)
      expect(manifest.frames.map((f) => f.frame)).toEqual([0, 199, 399, 599]);
      expect(manifest.frameCount).toBe(600);
      for (const f of manifest.frames) expect(await sharp(path.join(dir, f.file)).metadata()).toMatchObject({ format: 'webp', width: 160 });
      expect((await sharp(path.join(dir, 'contact-sheet.jpg')).metadata()).format).toBe('jpeg');
    });
  });

  it.each([
    // The video is too short for the time asked: the job could not be done (exit 1).
    [['--at', '30'], 1, /at or after the end of the video/],
    // The command line itself is wrong: usage errors (exit 2).
    [['--at', 'soon'], 2, /"soon" is not a timestamp/],
    [['--count', '0'], 2, /count must be a positive integer/],
    [['--count', '5', '--fps', '1'], 2, /exactly one of --fps, --count, --at, --random/],
    [['--fps', 'fast'], 2, /fps must be a positive number/],
    [['--count', '2', '--width', '5'], 2, /width must be an integer from 16 to 8192/],
  ])('%j: exit %i, with a one-line error', async (args, code, msg) => {
    const r = await runCli(['frames', clip('testsrc2.mp4'), ...args, '--out', '/tmp/vdedup-never-written']);
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });

  it('an unknown format is a usage error (exit 2)', async () => {
    const r = await runCli(['frames', clip('testsrc2.mp4'), '--count', '1', '--format', 'gif', '--out', '/tmp/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are jpg, png, webp/);
  });
});
