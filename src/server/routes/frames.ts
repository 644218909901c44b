import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { discardUploads, receiveVideos, screenVideo } from '../inputs.js';
import { answerJob } from '../jobs-view.js';
import { errorResponses, WaitQuery } from '../schemas.js';
import { intOption, selectionFromOptions } from '../../frames/plan.js';
import type { Fit, ImageFormat } from '../../frames/extract.js';
import type { FramesJob } from '../../service/jobs.js';

const num = Type.Union([Type.Number(), Type.String()]);

export const FramesBody = Type.Object(
  {
    path: Type.Optional(Type.String({ description: 'server-side video under VDEDUP_ROOTS (or send multipart `file`)' })),
    fps: Type.Optional(num),
    count: Type.Optional(num),
    timestamps: Type.Optional(Type.Union([Type.String({ description: 'comma-separated: seconds or [hh:]mm:ss[.ms]' }), Type.Array(num)])),
    random: Type.Optional(num),
    seed: Type.Optional(num),
    format: Type.Optional(Type.Union([Type.Literal('jpg'), Type.Literal('png'), Type.Literal('webp')])),
    width: Type.Optional(num),
    height: Type.Optional(num),
    fit: Type.Optional(Type.Union([Type.Literal('inside'), Type.Literal('cover'), Type.Literal('fill')])),
    quality: Type.Optional(num),
    fast: Type.Optional(Type.Union([Type.Boolean(), Type.String()])),
  },
  {
    description: 'Exactly one of fps, count, timestamps, random. JSON, or multipart/form-data with a `file` part and the same fields.',
    additionalProperties: false,
  },
);

const str = (v: unknown) => (v === undefined ? undefined : String(v));

export function framesRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Querystring: { wait?: number } }>(
    '/v1/frames',
    {
      schema: {
        tags: ['frames'],
        summary: 'Extract frames (fps, N uniform, timestamps, random) through the frames queue',
        description: 'Answers 202 { jobId }; the finished job lists frames with exact timestamps and URLs under /v1/jobs/:id/frames/:n.',
        consumes: ['application/json', 'multipart/form-data'],
        querystring: WaitQuery,
        body: FramesBody,
        response: { 200: Type.Ref('JobView'), 202: Type.Ref('Accepted'), ...errorResponses(400, 401, 403, 404, 413, 422, 503) },
      },
    },
    async (request, reply) => {
      const wait = Math.min(request.query.wait ?? 0, ctx.config.maxWaitSeconds);
      const body = (request.isMultipart() ? {} : (request.body ?? {})) as Record<string, unknown>;
      // A full queue (or Redis down) is said before the upload is read.
      await ctx.producer.admit('frames');
      const { fields, videos } = await receiveVideos(request, ctx.config, 1, FramesBody);
      let queued = false;
      try {
        if (videos.length !== 1) throw new ApiError(400, 'INVALID_ARGUMENT', 'give one video: a multipart `file` part, or JSON { "path": ... } under VDEDUP_ROOTS');
        const bad = await screenVideo(videos[0]!);
        if (bad !== undefined) throw bad;
        const timestamps = Array.isArray(body.timestamps) ? body.timestamps.join(',') : fields.timestamps;
        const given = { fps: fields.fps, count: fields.count, at: timestamps, random: fields.random, seed: fields.seed };
        if ([given.fps, given.count, given.at, given.random].filter((v) => v !== undefined).length !== 1) {
          throw new ApiError(400, 'INVALID_ARGUMENT', 'give exactly one of fps, count, timestamps, random');
        }
        const selection = selectionFromOptions(given);
        const format = (fields.format ?? 'jpg') as ImageFormat;
        if (!['jpg', 'png', 'webp'].includes(format)) throw new ApiError(400, 'INVALID_ARGUMENT', 'format must be jpg, png or webp');
        const data: FramesJob = {
          video: videos[0]!,
          selection,
          format,
          width: intOption('width', str(fields.width)),
          height: intOption('height', str(fields.height)),
          fit: fields.fit as Fit | undefined,
          quality: intOption('quality', str(fields.quality)),
          fast: fields.fast === 'true',
        };
        const job = await ctx.producer.addFrames(data);
        queued = true;
        return await answerJob(ctx.producer, job, wait, reply);
      } catch (err) {
        // Until a job owns the upload, nothing else will delete it.
        if (!queued) await discardUploads(videos);
        throw err;
      }
    },
  );
}
