import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefusedUploadSweep } from '../../src/app/uploads.js';
import type { ServiceConfig } from '../../src/config/service.js';
import type { Producer } from '../../src/jobs/producer.js';
import { withTempDir } from '../helpers/ffmpeg.js';

interface FakeJob {
  data: { video?: { path: string; upload: boolean } };
  failedReason: string;
  finishedOn: number;
}

/** Failed jobs per queue, newest first, served a page at a time like Producer.failedJobs; each call recorded. */
function fakeProducer(failed: Record<string, FakeJob[]>, calls: string[]): Pick<Producer, 'failedJobs'> {
  return {
    failedJobs: async (name: string, start: number, end: number) => {
      calls.push(`${name} ${start}-${end}`);
      return (failed[name] ?? []).slice(start, end + 1) as unknown as Awaited<ReturnType<Producer['failedJobs']>>;
    },
  };
}

describe('RefusedUploadSweep', () => {
  it('deletes refused uploads on this volume, reads only the queues with uploads, and then only the failures since its last run', async () => {
    await withTempDir(async (dir) => {
      const config = { dataDir: dir } as ServiceConfig;
      const upload = async (id: string) => {
        const file = path.join(dir, 'uploads', id, 'video.mp4');
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, 'x');
        return file;
      };
      const now = Date.now();
      // 250 failures 10 s apart, newest first; three of them refused uploads on this volume, one
      // refused upload elsewhere (not this API's to delete), one other failure of an upload.
      const check: FakeJob[] = [];
      for (let i = 0; i < 250; i++) check.push({ data: {}, failedReason: 'INVALID_MEDIA: not a video', finishedOn: now - i * 10_000 });
      const refused = [await upload('a'), await upload('b'), await upload('c')];
      for (const [i, file] of [[3, refused[0]], [120, refused[1]], [240, refused[2]]] as const) {
        check[i] = { data: { video: { path: file!, upload: true } }, failedReason: 'DATA_DIR_NOT_SHARED: another volume', finishedOn: now - i * 10_000 };
      }
      const kept = await upload('d');
      check[5] = { data: { video: { path: kept, upload: true } }, failedReason: 'INVALID_MEDIA: truncated', finishedOn: now - 50_000 };
      check[6] = { data: { video: { path: '/elsewhere/uploads/e/video.mp4', upload: true } }, failedReason: 'DATA_DIR_NOT_SHARED: x', finishedOn: now - 60_000 };
      const calls: string[] = [];
      const sweep = new RefusedUploadSweep(fakeProducer({ check, scan: check }, calls), config);
      expect(await sweep.run()).toBe(3);
      expect(refused.map((f) => existsSync(f))).toEqual([false, false, false]);
      expect(existsSync(kept)).toBe(true);
      expect(calls).toEqual(['fingerprint 0-99', 'check 0-99', 'check 100-199', 'check 200-299', 'frames 0-99']);

      // A new refusal: the next run finds it on the first page and stops there (the page reaches
      // back more than the clock margin before the previous run's newest failure).
      check.unshift({ data: { video: { path: await upload('f'), upload: true } }, failedReason: 'DATA_DIR_NOT_SHARED: y', finishedOn: now + 1000 });
      calls.length = 0;
      expect(await sweep.run()).toBe(1);
      expect(calls).toEqual(['fingerprint 0-99', 'check 0-99', 'frames 0-99']);
      // At most `limit` failures a queue.
      calls.length = 0;
      expect(await new RefusedUploadSweep(fakeProducer({ check }, calls), config).run(150)).toBe(0);
      expect(calls).toEqual(['fingerprint 0-99', 'check 0-99', 'check 100-149', 'frames 0-99']);
    });
  });
});
