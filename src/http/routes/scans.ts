import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { errorResponse, errorResponses, PresetName, ServerPath } from '../schemas.js';
import { planScan, type ScanRequest } from '../../app/scan-plan.js';
import { finishedScan, listScans, viewScan } from '../../app/scan-view.js';
import { reportToCsv, reportToHtml, scansToHtml } from '../../scan/report-format.js';
import { PREFILTER_CHOICES } from '../../scan/settings.js';

const ScanBody = Type.Object({
  train: ServerPath('training corpus: directory or JSONL manifest under VDEDUP_ROOTS, or collection:<name> (fingerprinted already)'),
  bench: ServerPath('benchmark side: directory or manifest under VDEDUP_ROOTS, lmms-eval:<task>[,<task>|all], or collection:<name> (fingerprinted already)'),
  preset: Type.Optional(PresetName),
  exact: Type.Optional(Type.Boolean({ description: 'compare every alignment directly (the reference: the default preset frame scan gives the same result faster; with the paper preset it finds what hnswlib misses)' })),
  prefilter: Type.Optional(
    Type.Union(PREFILTER_CHOICES.map((c) => Type.Literal(c)), {
      default: 'auto',
      description: "the frame scan's approximate prefilter for very large benchmark sides; 'auto' uses it from 1M benchmark seconds; the report says when it was used",
    }),
  ),
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

export function scanRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addSchema(ScanStatus);
  app.post<{ Body: ScanRequest }>(
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
      const { scanId, videos } = await planScan(ctx, request.body);
      return reply.status(202).send({ scanId, videos, statusUrl: `/v1/scans/${scanId}` });
    },
  );

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
    async (request) => viewScan(ctx, request.params.id),
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
      const scans = await listScans(ctx, request.query.limit ?? 100);
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
      const format = request.query.format ?? 'json';
      const { report, strips } = await finishedScan(ctx, request.params.id, { strips: format === 'html' });
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportToCsv(report));
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(reportToHtml(report, strips));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(report));
    },
  );
}
