import { readFile } from 'node:fs/promises';
import type { RequestDeps } from './deps.js';
import { RequestRefused } from './errors.js';
import type { ScanListItem } from '../scan/report-format.js';
import { stripFile } from '../config/paths.js';
import { errorOfJob, queueOfJobId, settingsOf, type ScanJob, type ScanResult } from '../jobs/contract.js';
import type { ScanRecord } from '../jobs/producer.js';

/** What GET /v1/scans/:id answers (and each row of GET /v1/scans). */
export type ScanStatus = ScanListItem & { progress: unknown; stats?: unknown; reportUrl?: string };

function scanStatus(job: ScanRecord): ScanStatus {
  const done = job.children.processed ?? 0;
  const failed = (job.children.failed ?? 0) + (job.children.ignored ?? 0);
  const pending = job.children.unprocessed ?? 0;
  const status: ScanStatus = {
    scanId: job.id,
    state: job.state,
    train: job.data.train,
    bench: job.data.bench,
    preset: settingsOf(job.data).preset,
    videos: job.data.videos,
    batches: { total: done + failed + pending, done, failed, pending },
    progress: job.progress ?? null,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
  };
  if (job.state === 'completed') {
    status.stats = job.returnvalue.stats;
    status.removed = job.returnvalue.removed.length;
    status.reportUrl = `/v1/scans/${job.id}/report`;
  }
  if (job.state === 'failed') status.error = errorOfJob(job.failedReason);
  return status;
}

/** The scan of this id as `read` reads it (404 when there is none). */
async function findScan<Scan>(id: string, read: (id: string) => Promise<Scan | undefined>): Promise<Scan> {
  if (queueOfJobId(id) !== 'scan') throw new RequestRefused('not-found', 'SCAN_NOT_FOUND', `no scan "${id}"`);
  const scan = await read(id);
  if (scan === undefined) throw new RequestRefused('not-found', 'SCAN_NOT_FOUND', `no scan "${id}" (unknown, or removed after the retention time)`);
  return scan;
}

/** A scan's progress: batches fingerprinted, matching step, counts when done (404 when there is none). */
export async function viewScan(deps: RequestDeps, id: string): Promise<ScanStatus> {
  return scanStatus(await findScan(id, (i) => deps.producer.readScan(i)));
}

/** The newest `limit` scans, newest first, with their progress. */
export async function listScans(deps: RequestDeps, limit: number): Promise<ScanStatus[]> {
  return (await deps.producer.listScans(limit)).map(scanStatus);
}

/** The evidence strips the scan worker rendered (a strip missing from disk is just left out). */
async function readStrips(deps: RequestDeps, scanId: string, report: ScanResult): Promise<Map<number, Buffer>> {
  const strips = new Map<number, Buffer>();
  await Promise.all(
    report.matches.map(async (m, i) => {
      if (m.reason !== 'near-duplicate') return;
      const strip = await readFile(stripFile(deps.config, scanId, i)).catch(() => undefined);
      if (strip !== undefined) strips.set(i, strip);
    }),
  );
  return strips;
}

/**
 * A finished scan's report (404 when there is no such scan, 409 while it runs or when it failed),
 * with its evidence strips when asked for (the HTML report shows them; else none are read).
 */
export async function finishedScan(deps: RequestDeps, id: string, options: { strips: boolean }): Promise<{ report: ScanResult; strips: Map<number, Buffer> }> {
  const scan = await findScan(id, (i) => deps.producer.readJob<ScanJob, ScanResult>(i));
  if (scan.state === 'failed') {
    const e = errorOfJob(scan.failedReason);
    throw new RequestRefused('conflict', 'SCAN_FAILED', `scan failed: ${e.code}: ${e.message}`);
  }
  if (scan.state !== 'completed') throw new RequestRefused('conflict', 'SCAN_NOT_FINISHED', `scan is ${scan.state}; poll /v1/scans/${scan.id}`);
  const report = scan.returnvalue;
  return { report, strips: options.strips ? await readStrips(deps, scan.id, report) : new Map() };
}
