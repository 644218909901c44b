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
      expect(r.stdout).toMatch(/^4 frames \((seek|single-pass)\) -> /);
      const manifest = JSON.parse(await readFile(path.join(dir, 'frames.json'), 'utf8')) as { frames: Array<{ file: string; timestamp: number }> };
      expect(manifest.frames.map((f) => f.timestamp)).toEqual([0, 7.96, 15.96, 23.96]);
      for (const f of manifest.frames) expect(await sharp(path.join(dir, f.file)).metadata()).toMatchObject({ format: 'webp', width: 160 });
      expect((await sharp(path.join(dir, 'contact-sheet.jpg')).metadata()).format).toBe('jpeg');
    });
  });

  it.each([
    [['--at', '30'], /at or after the end of the video/],
    [['--at', 'soon'], /"soon" is not a timestamp/],
    [['--count', '0'], /count must be a positive integer/],
    [['--count', '5', '--fps', '1'], /exactly one of --fps, --count, --at, --random/],
    [['--fps', 'fast'], /fps must be a positive number/],
  ])('%j: one-line error, exit 1', async (args, msg) => {
    const r = await runCli(['frames', clip('testsrc2.mp4'), ...args, '--out', '/tmp/vdedup-never-written']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });

  it('an unknown format is a usage error (exit 2)', async () => {
    const r = await runCli(['frames', clip('testsrc2.mp4'), '--count', '1', '--format', 'gif', '--out', '/tmp/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are jpg, png, webp/);
  });
});
