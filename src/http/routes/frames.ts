import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { discardUploads, receiveVideos, screenVideo } from '../inputs.js';
import { answerJob } from '../../app/job-view.js';
import { errorResponses, jsonOrMultipart, ServerPath, UploadFile, WaitQuery } from '../schemas.js';
import { intOption, MAX_FPS, MAX_FRAMES, MIN_FPS, selectionFromOptions } from '../../frames/plan.js';
import { checkOutputOptions, type Fit, type ImageFormat } from '../../frames/extract.js';
import type { FramesJob } from '../../jobs/contract.js';

/**
 * What frames/plan.ts parseTimestamp reads: seconds, m:ss or h:mm:ss (minutes and seconds below
 * 60, fractions on the last part), comma-separated, spaces around them and empty items ignored.
 * ASCII classes only, so that the pattern means the same in every regex dialect.
 */
const TIME = '[0-9]+(\\.[0-9]+)?|[0-9]+:0*[0-5]?[0-9](\\.[0-9]+)?|[0-9]+:0*[0-5]?[0-9]:0*[0-5]?[0-9](\\.[0-9]+)?';
const TIMESTAMPS = `^([ \\t]*,)*[ \\t]*(${TIME})[ \\t]*(,[ \\t]*((${TIME})[ \\t]*)?)*$`;

/** How frames are chosen and written: the same fields as JSON members or multipart fields. */
const frameFields = {
  fps: Type.Optional(Type.Number({ minimum: MIN_FPS, maximum: MAX_FPS, description: `frames per second, from 0 s (${MIN_FPS} to ${MAX_FPS})` })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FRAMES, description: 'N frames spread uniformly, first and last included' })),
  timestamps: Type.Optional(Type.String({ pattern: TIMESTAMPS, description: 'comma-separated: seconds, or [hh:]mm:ss[.ms] with minutes and seconds below 60' })),
  random: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FRAMES, description: 'N distinct frames drawn at random (seeded), in time order' })),
  seed: Type.Optional(Type.Integer({ description: 'seed of `random` (default 0): the same seed gives the same frames' })),
  format: Type.Optional(Type.Union([Type.Literal('jpg'), Type.Literal('png'), Type.Literal('webp')])),
  width: Type.Optional(Type.Integer({ minimum: 16, maximum: 8192 })),
  height: Type.Optional(Type.Integer({ minimum: 16, maximum: 8192 })),
  fit: Type.Optional(Type.Union([Type.Literal('inside'), Type.Literal('cover'), Type.Literal('fill')])),
  quality: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'JPEG/WebP quality' })),
  fast: Type.Optional(Type.Boolean({ description: 'seek to keyframes only (not with fps): faster, frames may be up to a GOP away from the times asked for' })),
};

/** Exactly one of the ways to choose frames; `fast` does not go with fps (an fps pass decodes every frame). */
const oneSelection = [
  { required: ['fps'], properties: { fast: { enum: [false] } } },
  ...['count', 'timestamps', 'random'].map((k) => ({ required: [k] })),
];

export const FramesBody = Type.Object(
  {
    path: ServerPath('server-side video under VDEDUP_ROOTS'),
    ...frameFields,
    // JSON may list the times as numbers too (a multipart field is text: the comma-separated form).
    timestamps: Type.Optional(
      Type.Union([
        frameFields.timestamps,
        Type.Array(Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: `^[ \\t]*(${TIME})[ \\t]*$` })]), {
          minItems: 1,
          maxItems: MAX_FRAMES,
          description: 'seconds, or [hh:]mm:ss[.ms] strings',
        }),
      ]),
    ),
  },
  {
    description: 'Exactly one of fps, count, timestamps, random. Or send multipart/form-data with a `file` part and the same fields.',
    additionalProperties: false,
    oneOf: oneSelection,
  },
);

export const FramesForm = Type.Object(
  { file: UploadFile, ...frameFields },
  { description: 'An upload; exactly one of fps, count, timestamps, random', additionalProperties: false, oneOf: oneSelection },
);

const str = (v: unknown) => (v === undefined ? undefined : String(v));

const jobLinks = { GetJob: { operationId: 'getJob', parameters: { id: '$response.body#/jobId' } } };

export function framesRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Querystring: { wait?: number } }>(
    '/v1/frames',
    {
      links: {
        200: { ...jobLinks, GetFirstFrame: { operationId: 'getJobFrame', parameters: { id: '$response.body#/jobId', n: 0 } } },
        202: jobLinks,
      },
      schema: {
        operationId: 'extractFrames',
        tags: ['frames'],
        summary: 'Extract frames (fps, N uniform, timestamps, random) through the frames queue',
        description: 'Answers 202 { jobId }; the finished job lists frames with exact timestamps and URLs under /v1/jobs/:id/frames/:n.',
        querystring: WaitQuery,
        body: jsonOrMultipart(FramesBody, FramesForm),
        response: { 200: Type.Ref('JobView'), 202: Type.Ref('Accepted'), ...errorResponses(403, 404, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const wait = Math.min(request.query.wait ?? 0, ctx.config.maxWaitSeconds);
      const body = (request.isMultipart() ? {} : (request.body ?? {})) as Record<string, unknown>;
      // A full queue (or Redis down) is said before the upload is read.
      await ctx.producer.admit('frames');
      const { fields, videos } = await receiveVideos(request, ctx.config, 1, FramesForm);
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
        // Multipart fields are checked one by one: what goes with what is checked here (JSON: by its schema).
        if (given.fps !== undefined && fields.fast === 'true') {
          throw new ApiError(400, 'INVALID_ARGUMENT', '`fast` applies to count, timestamps and random (an fps pass decodes every frame anyway)');
        }
        const selection = selectionFromOptions(given);
        const output = {
          format: (fields.format ?? 'jpg') as ImageFormat,
          width: intOption('width', str(fields.width)),
          height: intOption('height', str(fields.height)),
          fit: fields.fit as Fit | undefined,
          quality: intOption('quality', str(fields.quality)),
        };
        // Refused here (400), not by the worker after the job was queued.
        checkOutputOptions(output);
        const data: FramesJob = { video: videos[0]!, selection, ...output, fast: fields.fast === 'true' };
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
