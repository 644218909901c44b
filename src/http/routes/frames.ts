import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { receiveVideos, waitSeconds } from '../inputs.js';
import { replyWithJob } from '../replies.js';
import { errorResponses, jsonOrMultipart, ServerPath, UploadFile, WaitQuery } from '../schemas.js';
import { requestFrames } from '../../app/frames-job.js';
import { MAX_FPS, MAX_FRAMES, MIN_FPS } from '../../frames/plan.js';

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
      const body = (request.isMultipart() ? {} : (request.body ?? {})) as Record<string, unknown>;
      const receive = async () => {
        const received = await receiveVideos(request, ctx.config, 1, FramesForm);
        // JSON may list the times as an array: the use case reads the comma-separated form.
        if (Array.isArray(body.timestamps)) received.fields.timestamps = body.timestamps.join(',');
        return received;
      };
      return replyWithJob(reply, await requestFrames(ctx, receive, waitSeconds(request.query, ctx.config)));
    },
  );
}
