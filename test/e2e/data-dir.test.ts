import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataDirState, publishDataDirMarker } from '../../src/config/data-dir.js';
import { testEnv } from '../helpers/service.js';

describe('data dir marker (real Redis)', () => {
  let t: Awaited<ReturnType<typeof testEnv>>;
  let redis: Redis;
  let other: string;

  beforeAll(async () => {
    t = await testEnv();
    redis = new Redis(t.config.redisUrl);
    other = await mkdtemp(path.join(os.tmpdir(), 'vdedup-other-'));
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.cleanup();
    await rm(other, { recursive: true, force: true });
  });

  it('tells a process on the API volume from one on another, and survives Redis losing the marker', async () => {
    const api = t.config;
    const elsewhere = { ...t.config, dataDir: other };
    expect(await dataDirState(redis, api)).toMatchObject({ shared: null });
    expect(await publishDataDirMarker(redis, api)).toMatchObject({ shared: true });
    // Publishing again keeps the marker (one file, one id).
    expect(await publishDataDirMarker(redis, api)).toMatchObject({ shared: true });
    expect((await readdir(api.dataDir)).filter((f) => f.startsWith('.vdedup-data-dir-'))).toHaveLength(1);
    const worker = await dataDirState(redis, elsewhere);
    expect(worker).toMatchObject({ shared: false });
    expect(worker.detail).toContain(other);
    // A second API on another volume does not take the marker over: it learns it is not shared.
    expect(await publishDataDirMarker(redis, elsewhere)).toMatchObject({ shared: false });
    expect(await dataDirState(redis, api)).toMatchObject({ shared: true });
    expect((await readdir(other)).filter((f) => f.startsWith('.vdedup-data-dir-'))).toHaveLength(0);
    // Redis restarted without persistence: the next publication puts a marker back.
    await redis.del(`${api.prefix}:data-dir:marker`);
    expect(await dataDirState(redis, api)).toMatchObject({ shared: null });
    expect(await publishDataDirMarker(redis, api)).toMatchObject({ shared: true });
    expect(await dataDirState(redis, elsewhere)).toMatchObject({ shared: false });
    // Another deployment (its own Redis) sharing the directory: each sees its own marker.
    const otherDeployment = { ...api, prefix: `${api.prefix}b` };
    expect(await publishDataDirMarker(redis, otherDeployment)).toMatchObject({ shared: true });
    expect(await dataDirState(redis, api)).toMatchObject({ shared: true });
    await redis.del(`${otherDeployment.prefix}:data-dir:marker`);
  });
});
