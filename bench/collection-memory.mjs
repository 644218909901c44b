#!/usr/bin/env node
// What a service collection costs in Redis: members added through the registry exactly as a worker
// adds them (member record + fingerprint with the default preset's 4 samples a second, encoded
// without content rectangles), into a private redis-server, then read back as a check's first load
// does. Synthetic fingerprints (random hashes): the size does not depend on the footage.
//   node bench/collection-memory.mjs [--hours 100] [--member-minutes 5] [--port 6390]
// Writes bench/out/collection-memory.json. LMMs-Eval sized: --hours 2778 (10M benchmark seconds).
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { CollectionRegistry, MEMBER_FPS } = await import(path.join(root, 'dist/jobs/collection-registry.js'));
const argNum = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const hours = argNum('hours', 100);
const memberSeconds = argNum('member-minutes', 5) * 60;
const port = argNum('port', 6390);

const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const redis = new Redis(`redis://127.0.0.1:${port}`, { retryStrategy: (n) => (n > 50 ? null : 100) });
redis.on('error', () => undefined); // while redis-server starts
try {
  await redis.ping();
  await redis.flushall();
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const before = await usedMemory();
  const registry = new CollectionRegistry(redis, 'bench');
  const members = Math.round((hours * 3600) / memberSeconds);
  const n = memberSeconds * MEMBER_FPS;
  let seed = 0x9e3779b97f4a7c15n;
  const rand64 = () => {
    seed ^= seed << 13n;
    seed &= 0xffffffffffffffffn;
    seed ^= seed >> 7n;
    seed ^= seed << 17n;
    seed &= 0xffffffffffffffffn;
    return seed;
  };
  const column = () => BigUint64Array.from({ length: n }, rand64);
  // One set of columns reused (random bits: nothing compresses them); each member its own key.
  const fp = {
    file: 'synthetic.mp4',
    duration: memberSeconds,
    fps: MEMBER_FPS,
    frameCount: n,
    hashes: column(),
    flips: column(),
    rawHashes: column(),
    centerHashes: column(),
    innerHashes: column(),
    innerQuality: Float32Array.from({ length: n }, (_, i) => 10 + (i % 40)),
    quality: Float32Array.from({ length: n }, (_, i) => 10 + (i % 40)),
    content: new Uint32Array(4 * n),
    video: { index: 0, videoOrdinal: 0, codec: 'h264', width: 1280, height: 720, fps: 30, rotation: 0, pixelFormat: 'yuv420p' },
    warnings: [],
  };
  const addStart = performance.now();
  for (let i = 0; i < members; i++) {
    const key = i.toString(16).padStart(32, '0');
    await registry.add(
      'lmms-eval',
      { id: `benchmark/video-${i}.mp4`, key, duration: memberSeconds, frames: memberSeconds, fps: MEMBER_FPS, addedAt: new Date().toISOString(), youtubeId: 'Ab3dE_fG9hK', youtubeIdSource: 'manifest' },
      fp,
    );
    if (i % 1000 === 999) process.stderr.write(`added ${i + 1}/${members}\n`);
  }
  const addSeconds = (performance.now() - addStart) / 1000;
  const after = await usedMemory();
  const got = await registry.get('lmms-eval');
  const loadStart = performance.now();
  let samples = 0;
  for (let i = 0; i < got.videos.length; i += 256) {
    for (const f of await registry.fingerprints('lmms-eval', got.videos.slice(i, i + 256))) {
      if ('problem' in f) throw new Error(f.problem);
      samples += f.frameCount;
    }
  }
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const benchSeconds = members * memberSeconds;
  const result = {
    hours: benchSeconds / 3600,
    members,
    memberSeconds,
    samplesPerSecond: MEMBER_FPS,
    redisBytes: after - before,
    bytesPerBenchmarkSecond: (after - before) / benchSeconds,
    megabytesPerBenchmarkHour: ((after - before) / benchSeconds) * 3600 / 1e6,
    addSeconds,
    readBackSeconds: loadSeconds,
    samplesReadBack: samples,
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir(path.join(root, 'bench/out'), { recursive: true });
  await writeFile(path.join(root, 'bench/out/collection-memory.json'), JSON.stringify(result, null, 2));
} finally {
  redis.disconnect();
  server.kill('SIGKILL');
}
