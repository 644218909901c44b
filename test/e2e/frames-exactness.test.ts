// `vdedup frames` against a full ffmpeg decode, on small files of the hardest shapes (made here
// with ffmpeg): every returned image must be the expected decoded frame (md5 of its RGB), its
// `timestamp` the frame's time within 1 us and its `frame` the frame's index. The definition and
// the comparison are bench/frames-exactness/compare.mjs, shared with the full harness
// (bench/frames-exactness/run.mjs, on real files and many more shapes).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRequest,
  ffprobePath,
  loadReference,
  planRequests,
  runFrames,
  STRATEGIES,
  summarize,
  type CheckResult,
  type PlannedRequest,
  type Reference,
} from '../../bench/frames-exactness/compare.mjs';
import { mp4Info, trimVideoEnd } from '../../bench/frames-exactness/mp4edit.mjs';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { cliPath } from '../helpers/paths.js';

const execFileAsync = promisify(execFile);
// VDEDUP_CLI: check another build of the CLI (e.g. a checkout of an older commit).
const cli = process.env.VDEDUP_CLI ?? cliPath;

const video = (seconds: number, rate = 30) => ['-f', 'lavfi', '-i', `testsrc2=s=160x120:r=${rate}:d=${seconds}`];
const audio = (seconds: number) => ['-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`];
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-pix_fmt', 'yuv420p'];
const aac = ['-c:a', 'aac', '-b:a', '64k'];

async function startTime(file: string, stream: string): Promise<number> {
  const { stdout } = await execFileAsync(ffprobePath(), ['-v', 'error', '-select_streams', stream, '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

interface Shape {
  name: string;
  what: string;
  make: (out: string, work: string) => Promise<void>;
  /** What makes the file hard, checked on the file itself. */
  check: (file: string, ref: Reference) => Promise<void>;
}

const shapes: Shape[] = [
  {
    name: 'h264-aac-edit.mp4',
    what: 'H.264+AAC MP4 cut with -c copy from mid-GOP: its edit list skips the pre-roll frames',
    make: async (out, work) => {
      const full = path.join(work, 'full.mp4');
      await ffmpeg([...video(6), ...audio(6), ...x264, ...aac, full]);
      await ffmpeg(['-ss', '1.6', '-i', full, '-t', '3', '-c', 'copy', out]);
    },
    check: async (file, ref) => {
      const v = mp4Info(file).tracks.find((t) => t.handler === 'vide')!;
      expect(v.edits.length).toBeGreaterThan(0);
      expect(ref.count).toBeLessThan(v.samples);
    },
  },
  {
    name: 'h264-bpyramid-late.mkv',
    what: 'H.264 B-pyramid + AAC in Matroska, video starting a few ms after the audio',
    make: async (out) => {
      await ffmpeg(['-itsoffset', '0.007', ...video(4), ...audio(4), '-map', '0:v', '-map', '1:a', ...x264, '-x264-params', 'b-pyramid=normal:bframes=3', ...aac, out]);
    },
    check: async (file) => {
      expect(await startTime(file, 'v:0')).toBeGreaterThan(await startTime(file, 'a:0'));
    },
  },
  {
    name: 'vp9-opus.webm',
    what: 'VP9 (alt-ref: hidden frames) + Opus WebM',
    make: async (out) => {
      await ffmpeg([...video(4), ...audio(4), '-c:v', 'libvpx-vp9', '-deadline', 'good', '-cpu-used', '5', '-b:v', '0', '-crf', '40', '-g', '30', '-c:a', 'libopus', '-b:a', '48k', out]);
    },
    check: async (_file, ref) => {
      expect(ref.count).toBe(120);
    },
  },
  {
    name: 'mpeg4-bframes.avi',
    what: 'MPEG-4 part 2 with B-frames + MP3 in AVI',
    make: async (out) => {
      await ffmpeg([...video(4), ...audio(4), '-c:v', 'mpeg4', '-q:v', '5', '-bf', '2', '-g', '30', '-c:a', 'libmp3lame', '-b:a', '64k', out]);
    },
    check: async (_file, ref) => {
      expect(ref.count).toBe(120);
    },
  },
  {
    name: 'h264-timescale25.mp4',
    what: 'H.264+AAC MP4 at 25 fps with video timescale 25',
    make: async (out) => {
      await ffmpeg([...video(4, 25), ...audio(4), ...x264, ...aac, '-video_track_timescale', '25', out]);
    },
    check: async (file) => {
      expect(mp4Info(file).tracks.find((t) => t.handler === 'vide')!.mediaScale).toBe(25);
    },
  },
  {
    name: 'h264-edit-early-end.mp4',
    what: 'H.264+AAC MP4 whose video edit ends 1 s before its last sample',
    make: async (out, work) => {
      const full = path.join(work, 'early-full.mp4');
      await ffmpeg([...video(4), ...audio(4), ...x264, ...aac, full]);
      trimVideoEnd(full, out, 1);
    },
    check: async (file, ref) => {
      expect(ref.count).toBeLessThan(mp4Info(file).tracks.find((t) => t.handler === 'vide')!.samples);
    },
  },
];

let work = '';
const refs = new Map<string, Reference>();

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'vdedup-exact-test-'));
  await Promise.all(
    shapes.map(async (s) => {
      const file = path.join(work, s.name);
      await s.make(file, work);
      refs.set(s.name, await loadReference(file, { checkLiteral: false }));
    }),
  );
});

afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

/** Run and check requests three at a time (2 cores: a CLI run spends much of its time starting). */
async function runAll(file: string, ref: Reference, strategy: (typeof STRATEGIES)[number], requests: PlannedRequest[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const queue = [...requests];
  await Promise.all(
    [0, 1, 2].map(async () => {
      for (let req = queue.shift(); req !== undefined; req = queue.shift()) {
        const outDir = await mkdtemp(path.join(work, 'out-'));
        const run = await runFrames({ cli, video: file, args: req.args, strategy, outDir, timeoutMs: 30_000 });
        results.push(await checkRequest(ref, req, outDir, run));
        await rm(outDir, { recursive: true, force: true });
      }
    }),
  );
  return results.sort((a, b) => requests.findIndex((r) => r.name === a.name) - requests.findIndex((r) => r.name === b.name));
}

describe('frames exactness fixtures', () => {
  it.each(shapes.map((s) => [s.name, s] as const))('%s has the shape it is named for', async (name, s) => {
    await s.check(path.join(work, name), refs.get(name)!);
  });
});

describe.each(shapes.map((s) => [s.name, s.what] as const))('vdedup frames on %s (%s)', (name) => {
  it.each(STRATEGIES)('strategy %s: every frame is the decoded frame the selection names', async (strategy) => {
    const ref = refs.get(name)!;
    const requests = planRequests(ref, { counts: [8], fps: ['2'], random: [{ n: 5, seed: 1 }], at: true, tail: false });
    const results = await runAll(path.join(work, name), ref, strategy, requests);
    const failures = results.flatMap((r) => {
      const lines = summarize(r, 3);
      const missing = r.verdict !== 'refused' && r.frameField !== 'present';
      return r.verdict === 'exact' && !missing ? [] : [`${r.name}: ${r.verdict}${lines.length > 0 ? ` - ${lines.join(' | ')}` : ''}`];
    });
    expect(failures, `requests not exact on ${name} (${strategy}):\n  ${failures.join('\n  ')}\n`).toEqual([]);
  });
});
