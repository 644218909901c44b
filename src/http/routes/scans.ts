import { readFile } from 'node:fs/promises';
import type { Job } from 'bullmq';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { requireCollection, resolveUnderRoots } from '../inputs.js';
import { findJob, withState } from '../../app/job-view.js';
import { errorResponse, errorResponses, PresetName, ServerPath } from '../schemas.js';
import { presetByName } from '../../scan/presets.js';
import { reportToCsv, reportToHtml, scansToHtml, type ScanListItem } from '../../scan/report-format.js';
import { COLLECTION_PREFIX, errorOfJob, type ScanJob, type ScanResult } from '../../jobs/contract.js';
import { stripFile } from '../../config/paths.js';

const ScanBody = Type.Object({
  train: ServerPath('training corpus: directory or JSONL manifest under VDEDUP_ROOTS, or collection:<name> (fingerprinted already)'),
  bench: ServerPath('benchmark side: directory or manifest under VDEDUP_ROOTS, lmms-eval:<task>[,<task>|all], or collection:<name> (fingerprinted already)'),
  preset: Type.Optional(PresetName),
  exact: Type.Optional(Type.Boolean({ description: 'compare every alignment directly (the reference: the default preset frame scan gives the same result faster; with the paper preset it finds what hnswlib misses)' })),
}, { additionalProperties: false });

const ScanStatus = Type.Object(
  {
    scanId: Type.String(),
    state: Type.String(),
    train: Type.String(),
    bench: Type.String(),
    preset: Type.String(),
    videos: Type.Integer({ description: 'distinct video files the flow fingerprints' }),
    batches: Type.Object({ total: Type.Integer(), done: Type.Integer(), failed: Type.Integer(), pending: Type.Integer() }),
    progress: Type.Unknown({ description: 'matching step progress, once the batches are done' }),
    createdAt: Type.String(),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    stats: Type.Optional(Type.Unknown({ description: 'the report stats, once completed' })),
    removed: Type.Optional(Type.Integer({ description: 'training videos to remove, once completed' })),
    reportUrl: Type.Optional(Type.String()),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  },
  { $id: 'ScanStatus' },
);

/** A server-side scan side: a path under the roots, an LMMs-Eval benchmark spec, or a collection. */
async function scanSide(ctx: AppContext, spec: string): Promise<string> {
  if (spec.startsWith('lmms-eval:')) return spec;
  if (spec.startsWith(COLLECTION_PREFIX)) {
    return `${COLLECTION_PREFIX}${await requireCollection(ctx.producer, spec.slice(COLLECTION_PREFIX.length))}`;
  }
  return (await resolveUnderRoots(ctx.config, spec)).absolute;
}

/** What GET /v1/scans/:id says about a scan job (and each row of GET /v1/scans). */
async function scanStatus(ctx: AppContext, listed: Job): Promise<ScanListItem & { progress: unknown; stats?: unknown; reportUrl?: string }> {
  const { job, state } = await withState(ctx.producer, listed);
  const data = job.data as ScanJob;
  const deps = await ctx.producer.guard(() => job.getDependenciesCount());
  const done = deps.processed ?? 0;
  const failed = (deps.failed ?? 0) + (deps.ignored ?? 0);
  const pending = deps.unprocessed ?? 0;
  const body: ScanListItem & { progress: unknown; stats?: unknown; reportUrl?: string } = {
    scanId: job.id!,
    state,
    train: data.train,
    bench: data.bench,
    preset: data.preset,
    videos: data.videos,
    batches: { total: done + failed + pending, done, failed, pending },
    progress: job.progress ?? null,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
  };
  if (state === 'completed') {
    const report = job.returnvalue as ScanResult;
    body.stats = report.stats;
    body.removed = report.removed.length;
    body.reportUrl = `/v1/scans/${job.id}/report`;
  }
  if (state === 'failed') body.error = errorOfJob(job.failedReason);
  return body;
}

/** The evidence strips the scan worker rendered (a strip missing from disk is just left out). */
async function readStrips(ctx: AppContext, scanId: string, report: ScanResult): Promise<Map<number, Buffer>> {
  const strips = new Map<number, Buffer>();
  await Promise.all(
    report.matches.map(async (m, i) => {
      if (m.reason !== 'near-duplicate') return;
      const strip = await readFile(stripFile(ctx.config, scanId, i)).catch(() => undefined);
      if (strip !== undefined) strips.set(i, strip);
    }),
  );
  return strips;
}

export function scanRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addSchema(ScanStatus);
  app.post<{ Body: { train: string; bench: string; preset?: 'default' | 'paper'; exact?: boolean } }>(
    '/v1/scans',
    {
      links: {
        202: {
          GetScan: { operationId: 'getScan', parameters: { id: '$response.body#/scanId' } },
          GetScanReport: { operationId: 'getScanReport', parameters: { id: '$response.body#/scanId' } },
        },
      },
      schema: {
        operationId: 'startScan',
        tags: ['scans'],
        summary: 'Scan a training corpus against benchmark videos (a BullMQ flow any number of workers share)',
        body: ScanBody,
        response: {
          202: Type.Object({ scanId: Type.String(), videos: Type.Integer(), statusUrl: Type.String() }),
          ...errorResponses(403, 404, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const preset = presetByName(request.body.preset ?? 'default').name;
      const [train, bench] = await Promise.all([scanSide(ctx, request.body.train), scanSide(ctx, request.body.bench)]);
      const { scanId, videos } = await ctx.producer.addScan({ train, bench, preset, exact: request.body.exact === true });
      return reply.status(202).send({ scanId, videos, statusUrl: `/v1/scans/${scanId}` });
    },
  );

  const findScan = async (id: string) => {
    if (!id.startsWith('scan.')) throw new ApiError(404, 'SCAN_NOT_FOUND', `no scan "${id}"`);
    return findJob(ctx.producer, id).catch((err) => {
      throw err instanceof ApiError && err.statusCode === 404 ? new ApiError(404, 'SCAN_NOT_FOUND', `no scan "${id}" (unknown, or removed after the retention time)`) : err;
    });
  };

  app.get<{ Params: { id: string } }>(
    '/v1/scans/:id',
    {
      schema: {
        operationId: 'getScan',
        tags: ['scans'],
        summary: 'Scan progress: batches fingerprinted, matching step, counts when done',
        params: Type.Object({ id: Type.String({ minLength: 1 }) }),
        response: { 200: Type.Ref('ScanStatus'), ...errorResponses(404) },
      },
    },
    async (request) => scanStatus(ctx, await findScan(request.params.id)),
  );

  app.get<{ Querystring: { format?: 'json' | 'html'; limit?: number } }>(
    '/v1/scans',
    {
      schema: {
        operationId: 'listScans',
        tags: ['scans'],
        summary: 'Scans, newest first, with their progress (?format=html: a page that refreshes while one runs)',
        querystring: Type.Object({
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        }),
        response: {
          200: {
            description: 'JSON; with ?format=html, a page (text/html)',
            content: {
              'application/json': { schema: Type.Object({ scans: Type.Array(Type.Ref('ScanStatus')) }) },
              'text/html': { schema: Type.String({ description: 'the scans page' }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const limit = request.query.limit ?? 100;
      const jobs = await ctx.producer.guard(() =>
        ctx.producer.queue('scan').getJobs(['active', 'waiting', 'waiting-children', 'delayed', 'prioritized', 'completed', 'failed'], 0, limit - 1),
      );
      const newest = jobs.filter((j) => j?.id !== undefined).sort((a, b) => b.timestamp - a.timestamp).slice(0, limit);
      const scans = await Promise.all(newest.map((j) => scanStatus(ctx, j)));
      if (request.query.format === 'html') return reply.type('text/html; charset=utf-8').send(scansToHtml(scans));
      return { scans };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'csv' | 'html' } }>(
    '/v1/scans/:id/report',
    {
      schema: {
        operationId: 'getScanReport',
        tags: ['scans'],
        summary: 'The scan report: JSON (as `vdedup scan --out`), CSV or a self-contained HTML page',
        params: Type.Object({ id: Type.String({ minLength: 1 }) }),
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('html')])) }),
        response: {
          200: {
            description: 'The report: JSON (as `vdedup scan --out` writes it, the default), CSV (?format=csv) or a self-contained page (?format=html)',
            content: {
              'application/json': { schema: Type.Object({}, { additionalProperties: true, description: 'the report' }) },
              'text/csv': { schema: Type.String() },
              'text/html': { schema: Type.String() },
            },
          },
          ...errorResponses(404),
          409: errorResponse(409, 'SCAN_NOT_FINISHED or SCAN_FAILED'),
        },
      },
    },
    async (request, reply) => {
      const { job, state } = await withState(ctx.producer, await findScan(request.params.id));
      if (state === 'failed') {
        const e = errorOfJob(job.failedReason);
        throw new ApiError(409, 'SCAN_FAILED', `scan failed: ${e.code}: ${e.message}`);
      }
      if (state !== 'completed') throw new ApiError(409, 'SCAN_NOT_FINISHED', `scan is ${state}; poll /v1/scans/${job.id}`);
      const report = job.returnvalue as ScanResult;
      const format = request.query.format ?? 'json';
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportToCsv(report));
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(reportToHtml(report, await readStrips(ctx, job.id!, report)));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(report));
    },
  );
}
