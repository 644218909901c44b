import type { Command } from 'commander';
import { QUEUE_NAMES, type QueueName } from '../jobs/contract.js';
import { loadConfig, type ServiceConfig } from '../config/service.js';
import { reportFailure, UsageError } from './output.js';

function parseQueues(text: string | undefined): QueueName[] {
  if (text === undefined) return [...QUEUE_NAMES];
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!(QUEUE_NAMES as readonly string[]).includes(n)) throw new UsageError(`unknown queue "${n}" (queues: ${QUEUE_NAMES.join(', ')})`);
  }
  return names as QueueName[];
}

function configWith(o: { concurrency?: string; port?: string }): ServiceConfig {
  const env = { ...process.env };
  if (o.concurrency !== undefined) env.VDEDUP_WORKER_CONCURRENCY = o.concurrency;
  if (o.port !== undefined) env.PORT = o.port;
  return loadConfig(env);
}

/** Both long-running processes stop on SIGINT/SIGTERM: stop taking work, finish what runs, exit. */
async function untilSignal(stop: (signal: string) => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) process.exit(1); // a second Ctrl-C: do not wait any longer
      stopping = true;
      void stop(signal).finally(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function registerService(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the HTTP API (REDIS_URL, PORT, VDEDUP_ROOTS, VDEDUP_API_KEY, VDEDUP_DATA_DIR; see README)')
    .option('--port <port>', 'port to listen on (default PORT or 3000)')
    .option('--worker', 'also run a worker in this process (one-machine setups)')
    .option('--concurrency <n>', 'with --worker: jobs at once (default VDEDUP_WORKER_CONCURRENCY or one per core)')
    .action(async (o: { port?: string; worker?: boolean; concurrency?: string }) => {
      try {
        const config = configWith(o);
        const { buildApp } = await import('../http/app.js');
        const app = await buildApp(config);
        const workers = o.worker === true ? await (await import('../worker/worker.js')).startWorkers(config, app.log as never) : undefined;
        await app.listen({ host: config.host, port: config.port });
        await untilSignal(async (signal) => {
          app.log.info({ signal }, 'shutting down: no new requests; finishing the ones in flight');
          await app.close();
          await workers?.close();
        });
        setExit(0);
      } catch (err) {
        setExit(reportFailure(err));
      }
    });

  program
    .command('worker')
    .description('run BullMQ workers: fingerprint, check, scan and frames jobs (REDIS_URL, VDEDUP_DATA_DIR shared with the API)')
    .option('--concurrency <n>', 'jobs at once per queue (default VDEDUP_WORKER_CONCURRENCY or one per core)')
    .option('--queues <names>', `comma-separated subset of: ${QUEUE_NAMES.join(', ')}`)
    .option('--grace <seconds>', 'on SIGTERM, let running jobs finish this long before handing them back', '30')
    .action(async (o: { concurrency?: string; queues?: string; grace: string }) => {
      try {
        const config = configWith(o);
        const { pino } = await import('pino');
        const logger = pino({ level: config.logLevel, base: { pid: process.pid, role: 'worker' } });
        const { startWorkers } = await import('../worker/worker.js');
        const workers = await startWorkers(config, logger, parseQueues(o.queues));
        await untilSignal(async (signal) => {
          logger.info({ signal }, 'shutting down: no new jobs; finishing the running ones');
          await workers.close(Number(o.grace) * 1000);
        });
        setExit(0);
      } catch (err) {
        setExit(reportFailure(err));
      }
    });
}
