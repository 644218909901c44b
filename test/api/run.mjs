#!/usr/bin/env node
// npm run test:api: API fuzzing with schemathesis against the OpenAPI document the service serves.
//
// Starts the real stack on this machine (Redis-backed `vdedup serve` on a free loopback port and
// one `vdedup worker`, a queue prefix, data dir, VDEDUP_ROOTS and HF_HOME of their own, an API key),
// runs schemathesis with all its checks twice, with the key and without it, stops everything and
// exits non-zero when either run found anything: a 5xx, a response the document does not describe
// (status, content type, body), a request the document allows that is refused or one it forbids
// that is accepted. Needs `npm run build:ts` (dist/), Redis (REDIS_URL, default 127.0.0.1:6379),
// ffmpeg and python3 with venv. schemathesis comes from PyPI into a virtual environment of its own
// (VDEDUP_API_VENV, default ~/.cache/vdedup/venv-api-<version>), made on first use.
//
//   npm run test:api                          both runs, API_EXAMPLES (default 50) cases per operation and phase
//   npm run test:api -- --examples 100        more cases
//   npm run test:api -- --keep                keep the temp dir (logs, schemathesis reports) and say where
//   npm run test:api -- --only with-key       one of the two runs (with-key | without-key)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteRedisPrefix, freePort } from '../../scripts/service-helpers.mjs';

/** The version this suite was written and tested against; a new one is a deliberate change here. */
const SCHEMATHESIS_VERSION = '4.32.5';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const examples = Number(arg('--examples', process.env.API_EXAMPLES ?? '50'));
const keep = argv.includes('--keep');
const only = arg('--only', undefined);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = (line) => process.stderr.write(`test:api: ${line}\n`);
/** Seconds one schemathesis run may take before it is stopped and counted as failed. */
const RUN_LIMIT_S = 900;

/** schemathesis in its own venv, installed from PyPI once per version. */
function schemathesis() {
  const venv = process.env.VDEDUP_API_VENV ?? path.join(os.homedir(), '.cache', 'vdedup', `venv-api-${SCHEMATHESIS_VERSION}`);
  const bin = path.join(venv, 'bin', 'schemathesis');
  const installed = existsSync(bin) && spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.includes(SCHEMATHESIS_VERSION);
  if (!installed) {
    log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
    const run = (cmd, args) => {
      const r = spawnSync(cmd, args, { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    };
    rmSync(venv, { recursive: true, force: true });
    mkdirSync(path.dirname(venv), { recursive: true });
    run('python3', ['-m', 'venv', venv]);
    run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`]);
  }
  return bin;
}

/** `vdedup <args>` as a child process, resolved once its log says it is ready (or `ready()` says so). */
function startVdedup(args, env, ready, logFile) {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'vdedup.js'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vdedup ${args[0]} not ready in 30 s:\n${out}`)), 30_000);
    const onData = (d) => {
      out += d;
      if (ready instanceof RegExp && ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`vdedup ${args[0]} exited (${code}) before it was ready:\n${out}`));
    });
    if (typeof ready === 'function') {
      const poll = async () => {
        while (child.exitCode === null) {
          if (await ready().catch(() => false)) {
            clearTimeout(timer);
            return resolve();
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      void poll();
    }
  });
  return {
    started,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
      writeFileSync(logFile, out);
      return code;
    },
  };
}

/** One schemathesis run; resolves with its exit code. */
function runSchemathesis(bin, label, docUrl, headers, reportDir) {
  const args = [
    '--config-file',
    path.join(root, 'test', 'api', 'schemathesis.toml'),
    'run',
    docUrl,
    '--checks',
    'all',
    '--max-examples',
    String(examples),
    '--seed',
    process.env.API_SEED ?? '20240917',
    // One worker: hypothesis (3.11) fails now and then when two threads parse lambdas at once
    // ("AST constructor recursion depth mismatch"), and the machine has two cores for API and fuzzer.
    '--workers',
    '1',
    '--request-timeout',
    '30',
    '--max-failures',
    '200',
    '--report',
    'junit,har',
    '--report-dir',
    path.join(reportDir, label),
    ...headers.flatMap((h) => ['--header', h]),
  ];
  log(`${label}: schemathesis ${args.map((a) => (a.startsWith('Authorization:') ? 'Authorization: Bearer ***' : a)).join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } });
    // Bounded whatever happens (a hang in the service or in schemathesis): CI has its own time limit.
    const timer = setTimeout(() => {
      log(`${label}: still running after ${RUN_LIMIT_S} s: stopped`);
      child.kill('SIGKILL');
    }, RUN_LIMIT_S * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

async function main() {
  const bin = schemathesis();
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: npm run build:ts first');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vdedup-api-'));
  const roots = path.join(tmp, 'roots');
  // The video the document's examples name (`videos/clip.mp4`), and a directory to use as a source.
  mkdirSync(path.join(roots, 'videos'), { recursive: true });
  copyFileSync(path.join(root, 'fixtures', 'scan', 'train', 'Ab3dE_fG9hK.mp4'), path.join(roots, 'videos', 'clip.mp4'));
  mkdirSync(path.join(tmp, 'hf'), { recursive: true });
  const prefix = `api${randomBytes(5).toString('hex')}`;
  const apiKey = randomBytes(18).toString('base64url');
  const port = await freePort();
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    VDEDUP_QUEUE_PREFIX: prefix,
    VDEDUP_DATA_DIR: path.join(tmp, 'data'),
    VDEDUP_ROOTS: roots,
    VDEDUP_API_KEY: apiKey,
    // No benchmark downloads, no real HF cache: lmms-eval:<task> sources find nothing here.
    HF_HOME: path.join(tmp, 'hf'),
    HF_HUB_OFFLINE: '1',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    // Bounded: a generated ?wait=1e9 waits at most this long for a job.
    VDEDUP_MAX_WAIT_SECONDS: '3',
    VDEDUP_MAX_UPLOAD_BYTES: String(8 * 1024 * 1024),
    // On, so its hooks run, but far above what the runs send: 429s would hide everything else.
    VDEDUP_RATE_LIMIT: '1000000',
    VDEDUP_WORKER_CONCURRENCY: '1',
    VDEDUP_FFMPEG_MEMORY_MB: '1024',
  };
  const t0 = Date.now();
  // The API logs at warn (failures only: a 5xx is logged at error level); ready once /health answers.
  const server = startVdedup(['serve'], env, async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, path.join(tmp, 'serve.log'));
  const worker = startVdedup(['worker'], { ...env, LOG_LEVEL: 'info' }, /workers ready/, path.join(tmp, 'worker.log'));
  const codes = {};
  try {
    await Promise.all([server.started, worker.started]);
    log(`service on 127.0.0.1:${port} (prefix ${prefix}, temp dir ${tmp})`);
    const docUrl = `http://127.0.0.1:${port}/docs/json`;
    const runs = [
      ['with-key', [`Authorization: Bearer ${apiKey}`]],
      ['without-key', []],
    ].filter(([label]) => only === undefined || only === label);
    for (const [label, headers] of runs) codes[label] = await runSchemathesis(bin, label, docUrl, headers, path.join(tmp, 'reports'));
  } finally {
    const [serveExit, workerExit] = await Promise.all([server.stop(), worker.stop()]);
    await deleteRedisPrefix(redisUrl, prefix).catch((err) => log(`could not delete Redis keys ${prefix}:*: ${err.message}`));
    // Both stop cleanly on SIGTERM (exit 0); the API logs nothing at error level (a 5xx, an unhandled failure).
    for (const [name, code, file] of [['serve', serveExit, 'serve.log'], ['worker', workerExit, 'worker.log']]) {
      if (code !== 0) {
        log(`vdedup ${name} exited ${code}; its log: ${path.join(tmp, file)}`);
        codes[name] = 1;
      }
    }
    const errors = server.output().split('\n').filter((l) => /"level":(50|60)\b/.test(l));
    if (errors.length > 0) {
      log(`vdedup serve logged ${errors.length} error(s), the first: ${errors[0].slice(0, 2000)}`);
      codes['serve log'] = 1;
    }
    if (keep || Object.values(codes).some((c) => c !== 0)) log(`kept ${tmp} (serve.log, worker.log, reports/)`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  const failed = Object.entries(codes).filter(([, c]) => c !== 0);
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${failed.length === 0 ? 'all passed' : `failed: ${failed.map(([l, c]) => `${l} (${c})`).join(', ')}`}`);
  process.stdout.write(`api: ${Object.keys(codes).length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
