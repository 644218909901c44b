import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type ServiceConfig } from '../../src/config/service.js';
import { cliPath, repoRoot } from './paths.js';
import { deleteRedisPrefix, freePort } from '../../scripts/service-helpers.mjs';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every test gets its own queue prefix and data dir: tests share one Redis and run in parallel. */
export async function testEnv(extra: NodeJS.ProcessEnv = {}): Promise<{ env: NodeJS.ProcessEnv; config: ServiceConfig; cleanup: () => Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-svc-'));
  const env: NodeJS.ProcessEnv = {
    REDIS_URL,
    VDEDUP_QUEUE_PREFIX: `t${randomBytes(6).toString('hex')}`,
    VDEDUP_DATA_DIR: dataDir,
    VDEDUP_ROOTS: path.join(repoRoot, 'fixtures'),
    LOG_LEVEL: 'warn',
    ...extra,
  };
  const config = loadConfig(env);
  return {
    env,
    config,
    cleanup: async () => {
      await deletePrefix(config.redisUrl, config.prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  // Redis gone (a test stopped it): nothing to clean.
  await deleteRedisPrefix(redisUrl, prefix).catch(() => undefined);
}

export { freePort };

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote (pino JSON lines). */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

/** Start `vdedup worker` or `vdedup serve` as a real process; resolves when its log says it is ready. */
export async function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 30_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vdedup ${args.join(' ')} not ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: string) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`vdedup ${args.join(' ')} exited (${code}) before it was ready:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export const startWorker = (env: NodeJS.ProcessEnv, ...args: string[]) => startProcess(['worker', ...args], env, /workers ready/);

export async function startServer(env: NodeJS.ProcessEnv): Promise<{ proc: ServiceProcess; url: string }> {
  const port = await freePort();
  const proc = await startProcess(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1' }, /Server listening/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** A multipart body with one video file and text fields, as curl -F sends it. */
export async function videoForm(file: string, fields: Record<string, string> = {}, name = path.basename(file)): Promise<FormData> {
  const { readFile } = await import('node:fs/promises');
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([await readFile(file)], { type: 'video/mp4' }), name);
  return form;
}

/**
 * A second redis-server on its own port, for tests that stop and restart Redis. With `dir`, it
 * keeps an append-only file there (fsync on every write), so a restart finds the queues again.
 */
export async function startRedis(port: number, dir?: string): Promise<{ stop: (signal?: NodeJS.Signals) => Promise<void>; url: string }> {
  const persistence = dir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: async (signal: NodeJS.Signals = 'SIGKILL') => {
      child.kill(signal);
      await exited;
    },
  };
}

/** An inject() body of JSON. */
export const jsonBody = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

/** An inject() body of multipart form data, as a client would send it. */
export async function formBody(form: FormData): Promise<{ headers: Record<string, string>; payload: Buffer }> {
  const res = new Response(form);
  return { headers: { 'content-type': res.headers.get('content-type')! }, payload: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Poll GET /v1/scans/:id every 100 ms until the scan completed or failed (answers other than 200,
 * e.g. 503 while Redis restarts, are waited out), or `timeoutMs` passed; returns the last status.
 */
export async function scanWhenDone(app: InjectApp, scanId: string, timeoutMs: number): Promise<{ state: string; [k: string]: unknown }> {
  let status: { state: string; [k: string]: unknown } = { state: '' };
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const res = await app.inject({ method: 'GET', url: `/v1/scans/${scanId}` });
    if (res.statusCode === 200) status = res.json();
    if (status.state === 'completed' || status.state === 'failed') break;
  }
  return status;
}

interface InjectApp {
  inject(opts: { method: 'GET'; url: string }): Promise<{ statusCode: number; json(): any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
