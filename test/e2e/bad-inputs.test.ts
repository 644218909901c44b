import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { clip } from '../helpers/paths.js';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';

// The part of issue 8's bad-input catalogue that concerns the CLI: every case either works or
// fails with one line naming the file and the cause, never a crash or a hang.
let dir = '';
const src = 'testsrc2=size=320x240:rate=25';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-bad-'));
  await writeFile(path.join(dir, 'random.mp4'), randomBytes(200_000));
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1', path.join(dir, 'image.png')]);
  await ffmpeg(['-i', path.join(dir, 'image.png'), '-c', 'copy', '-f', 'image2', path.join(dir, 'image-named.mp4')]);
  await ffmpeg(['-f', 'lavfi', '-i', `${src},trim=duration=4`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p10le', path.join(dir, '10bit.mp4')]);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25,scale=321:241,trim=duration=4', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', path.join(dir, 'odd-size.mkv')]);
  await ffmpeg(['-i', clip('testsrc2.mp4'), '-t', '4', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', path.join(dir, 'rotated.mp4')]);
  // Variable frame rate: timestamps jitter between 1/50 and 1/10 s.
  await ffmpeg(['-f', 'lavfi', '-i', `${src},trim=duration=6,setpts='N/25/TB+0.03*sin(N)/TB'`, '-fps_mode', 'vfr', '-c:v', 'libx264', path.join(dir, 'vfr.mp4')]);
  const long = `${'ünïcødé-名前-'.repeat(12)}.mp4`;
  await ffmpeg(['-i', clip('testsrc2.mp4'), '-t', '3', '-c', 'copy', path.join(dir, long)]);
  await ffmpeg(['-f', 'lavfi', '-i', `${src},trim=duration=2`, '-c:v', 'libx264', '-t', '0', path.join(dir, 'no-frames.mp4')]).catch(() => undefined);
  // Absurd headers: every JPEG frame claims 60000x60000 pixels; an MP4 claims ~50 days (3 s inside).
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-t', '3', '-c:v', 'mjpeg', path.join(dir, 'small.avi')]);
  const avi = await readFile(path.join(dir, 'small.avi'));
  for (let i = avi.indexOf(SOF0); i >= 0; i = avi.indexOf(SOF0, i + 2)) {
    avi.writeUInt16BE(60000, i + 5); // height
    avi.writeUInt16BE(60000, i + 7); // width
  }
  await writeFile(path.join(dir, 'huge-dims.avi'), avi);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', path.join(dir, 'short.mp4')]);
  const mp4 = await readFile(path.join(dir, 'short.mp4'));
  // Version-0 boxes: the duration field sits 20 bytes after the type in mvhd/mdhd, 24 in tkhd.
  for (const [box, at] of [['mvhd', 20], ['mdhd', 20], ['tkhd', 24]] as const) mp4.writeUInt32BE(0xfffffff0, mp4.indexOf(box) + at);
  await writeFile(path.join(dir, 'huge-duration.mp4'), mp4);
});

const SOF0 = Buffer.from([0xff, 0xc0]);

async function fingerprint(name: string) {
  const file = path.join(dir, name);
  const r = await runCli(['fingerprint', file, '--json']);
  return { file, r, doc: r.code === 0 ? (JSON.parse(r.stdout) as { frameCount: number; video: { rotation: number; width: number } }) : undefined };
}

describe('bad and unusual inputs (CLI)', () => {
  it.each([
    ['random.mp4', /not a readable video|refused/],
    ['image.png', /refused|still image/],
    ['image-named.mp4', /refused|still image|not a readable video/],
  ])('%s: one line naming the file, exit 1', async (name, cause) => {
    const { file, r } = await fingerprint(name);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(cause);
  });

  it('10-bit video works, for fingerprints and frames (8-bit images out)', async () => {
    expect((await fingerprint('10bit.mp4')).doc?.frameCount).toBe(4);
    const r = await runCli(['frames', path.join(dir, '10bit.mp4'), '--count', '2', '--out', path.join(dir, '10bit-frames')]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(path.join(dir, '10bit-frames'))).filter((n) => n.endsWith('.jpg'))).toHaveLength(2);
  });

  it('odd frame size works', async () => {
    expect((await fingerprint('odd-size.mkv')).doc).toMatchObject({ frameCount: 4, video: { width: 321 } });
  });

  it('rotated video works and reports its rotation', async () => {
    const { doc } = await fingerprint('rotated.mp4');
    // A stream copy cut at -t 4 ends on a packet boundary: 4 or 5 whole seconds.
    expect([4, 5]).toContain(doc?.frameCount);
    expect([90, 270]).toContain(doc?.video.rotation);
  });

  it('variable frame rate: one frame per second of its duration', async () => {
    const { doc } = await fingerprint('vfr.mp4');
    expect(doc?.frameCount).toBeGreaterThanOrEqual(5);
    expect(doc?.frameCount).toBeLessThanOrEqual(7);
  });

  it('a very long unicode file name works', async () => {
    const { doc } = await fingerprint(`${'ünïcødé-名前-'.repeat(12)}.mp4`);
    expect([3, 4]).toContain(doc?.frameCount);
  });

  it('absurd dimensions in the header: one line, exit 1, at once and without a huge allocation', async () => {
    const { file, r } = await fingerprint('huge-dims.avi');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(file);
    expect(r.ms).toBeLessThan(20_000);
  });

  it('an absurd duration in the header: fingerprint and frames both use the frames really there', async () => {
    const { doc } = await fingerprint('huge-duration.mp4');
    expect(doc?.frameCount).toBe(3);
    // frames reads the sample table (15 frames at 5 fps), not the headers' ~50 days.
    const out = path.join(dir, 'huge-duration-frames');
    const r = await runCli(['frames', path.join(dir, 'huge-duration.mp4'), '--count', '4', '--out', out]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(out, 'frames.json'), 'utf8')) as { duration: number; frames: Array<{ timestamp: number }> };
    expect(manifest.duration).toBeCloseTo(3, 6);
    expect(manifest.frames.map((f) => f.timestamp)).toEqual([0, 0.8, 1.8, 2.8]);
    // Asking for more frames than there are is refused in one line, writing nothing.
    const more = path.join(dir, 'huge-duration-more');
    const refused = await runCli(['frames', path.join(dir, 'huge-duration.mp4'), '--count', '16', '--out', more]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/more than the video's 15 frames/);
    expect((await readdir(more).catch(() => [] as string[])).filter((n) => n.startsWith('frame_'))).toEqual([]);
  });

  it('a decode that needs more memory than VDEDUP_FFMPEG_MEMORY_MB allows: one line naming the limit, exit 1', async () => {
    const hd = path.join(dir, 'hd.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', hd]);
    const r = await runCli(['fingerprint', hd], { VDEDUP_FFMPEG_MEMORY_MB: '200' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/memory limit of 200 MiB \(VDEDUP_FFMPEG_MEMORY_MB\)/);
    // The same file within a sane limit is fine.
    expect((await runCli(['fingerprint', hd], { VDEDUP_FFMPEG_MEMORY_MB: '2048' })).code).toBe(0);
    // A limit that is not a number is a usage error naming the variable, before any work.
    const bad = await runCli(['fingerprint', hd], { VDEDUP_FFMPEG_MEMORY_MB: 'lots' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^vdedup: VDEDUP_FFMPEG_MEMORY_MB must be a whole number of MiB \(0: no limit\), got "lots"\n$/);
  });

  it('a video without frames fails with one line', async () => {
    const { r } = await fingerprint('no-frames.mp4');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
