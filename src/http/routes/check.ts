import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { receiveVideos, waitSeconds } from '../inputs.js';
import { replyWithJob } from '../replies.js';
import { CollectionName, errorResponses, jsonOrMultipart, PresetName, ServerPath, UploadFile, WaitQuery } from '../schemas.js';
import { requestCheck } from '../../app/check.js';

const checkFields = {
  collection: Type.Optional(CollectionName('collection to check against (default VDEDUP_DEFAULT_COLLECTION, "lmms-eval")')),
  preset: Type.Optional(PresetName),
};

/** JSON: a server-side `path`. */
export const CheckBody = Type.Object(
  { path: ServerPath('server-side video under VDEDUP_ROOTS'), ...checkFields },
  { description: 'a server-side video; or send multipart/form-data with a `file` part and the same fields', additionalProperties: false },
);

/** multipart/form-data: the video as a `file` part. */
export const CheckForm = Type.Object({ file: UploadFile, ...checkFields }, { description: 'an upload', additionalProperties: false });

const jobLinks = { GetJob: { operationId: 'getJob', parameters: { id: '$response.body#/jobId' } } };

export function checkRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Querystring: { wait?: number } }>(
    '/v1/check',
    {
      // The job a check answers with, for clients and the document's readers (and API fuzzers).
      links: { 200: jobLinks, 202: jobLinks },
      schema: {
        operationId: 'checkVideo',
        tags: ['check'],
        summary: 'Is this video a near-duplicate of a video in a collection?',
        description:
          'Upload (multipart `file`) or name a server-side `path`. Answers 202 { jobId }; with ?wait=<seconds>, 200 and the result when it is ready in time. The same video checked again against an unchanged collection joins the earlier job.',
        querystring: WaitQuery,
        body: jsonOrMultipart(CheckBody, CheckForm),
        response: { 200: Type.Ref('JobView'), 202: Type.Ref('Accepted'), ...errorResponses(403, 404, 413, 422, 429) },
      },
    },
    async (request, reply) =>
      replyWithJob(reply, await requestCheck(ctx, () => receiveVideos(request, ctx.config, 1, CheckForm), waitSeconds(request.query, ctx.config))),
  );
}
