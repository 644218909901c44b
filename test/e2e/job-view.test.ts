import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConnection } from '../../src/jobs/connection.js';
import { Producer } from '../../src/jobs/producer.js';
import { viewJob } from '../../src/app/job-view.js';
import { testEnv } from '../helpers/service.js';

/**
 * A job's fields and its state live apart in Redis. Read just before the job finished (fields)
 * and just after (state), they once gave `{"state":"completed","result":null}`: the job view
 * must never pair a finished state with an unfinished job.
 */
describe('job view (real Redis)', () => {
  let t: Awaited<ReturnType<typeof testEnv>>;
  let producer: Producer;

  beforeAll(async () => {
    t = await testEnv();
    producer = new Producer(t.config);
    await producer.ping();
  });

  afterAll(async () => {
    await producer?.close();
    await t?.cleanup();
  });

  /** Take the job from the queue by hand and finish it (completed with `result`, or failed). */
  async function finish(result: unknown, fail = false): Promise<void> {
    const connection = redisConnection(t.config, 'blocking');
    const worker = new Worker('frames', null, { connection, prefix: t.config.prefix, autorun: false });
    try {
      const token = 'test-token';
      const job = await worker.getNextJob(token);
      expect(job).toBeDefined();
      if (fail) await job!.moveToFailed(new Error('INVALID_ARGUMENT: broken on purpose'), token, false);
      else await job!.moveToCompleted(result, token, false);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  }

  it('a job read before it completed, its state after: read again, result included', async () => {
    await producer.queue('frames').add('frames', { n: 1 }, { jobId: 'frames.race-completed' });
    const stale = (await producer.queue('frames').getJob('frames.race-completed'))!;
    await finish({ frames: [], format: 'jpg' });
    expect(stale.returnvalue).toBeFalsy(); // the snapshot predates the result
    const job = (await producer.snapshot(stale))!;
    expect(job.state).toBe('completed');
    expect(job.returnvalue).toEqual({ frames: [], format: 'jpg' });
    expect(job.finishedOn).toBeGreaterThan(0);
    const view = await viewJob(producer, 'frames.race-completed');
    expect(view).toMatchObject({ state: 'completed', result: { frames: [] } });
    expect(view.finishedAt).not.toBeNull();
  });

  it('the same for a job that failed: its error is there', async () => {
    await producer.queue('frames').add('frames', { n: 2 }, { jobId: 'frames.race-failed', attempts: 1 });
    const stale = (await producer.queue('frames').getJob('frames.race-failed'))!;
    await finish(undefined, true);
    const job = (await producer.snapshot(stale))!;
    expect(job.state).toBe('failed');
    expect(job.failedReason).toMatch(/broken on purpose/);
  });

  it('a job still running is shown as it is', async () => {
    await producer.queue('frames').add('frames', { n: 3 }, { jobId: 'frames.waiting' });
    const job = (await producer.readJob('frames.waiting'))!;
    expect(job.state).toBe('waiting');
    expect(job.finishedOn).toBeUndefined();
  });
});
