import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { discardUploads, receiveVideos, requireCollection, screenVideo } from '../inputs.js';
import { answerJob } from '../../app/job-view.js';
import { CollectionName, errorResponses, jsonOrMultipart, PresetName, ServerPath, UploadFile, WaitQuery } from '../schemas.js';
import { presetByName } from '../../scan/presets.js';
import { fingerprintKey } from '../../fingerprint/cached.js';

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
    async (request, reply) => {
      const wait = Math.min(request.query.wait ?? 0, ctx.config.maxWaitSeconds);
      // A full queue (or Redis down) is said before the upload is read.
      await ctx.producer.admit('check');
      const { fields, videos } = await receiveVideos(request, ctx.config, 1, CheckForm);
      let queued = false;
      try {
        if (videos.length !== 1) throw new ApiError(400, 'INVALID_ARGUMENT', 'give one video: a multipart `file` part, or JSON { "path": ... } under VDEDUP_ROOTS');
        const video = videos[0]!;
        const bad = await screenVideo(video);
        if (bad !== undefined) throw bad;
        const collection = await requireCollection(ctx.producer, fields.collection ?? ctx.config.defaultCollection);
        const preset = presetByName(fields.preset ?? 'default').name;
        const key = await fingerprintKey(video.path);
        const version = await ctx.producer.guard(() => ctx.producer.registry.version(collection));
        const job = await ctx.producer.addCheck({ collection, video, key, preset }, version);
        queued = true;
        // The same video was already queued (or checked): that job answers; this upload is spare.
        if ((job.data as { video: { path: string } }).video.path !== video.path) await discardUploads(videos);
        return await answerJob(ctx.producer, job, wait, reply);
      } catch (err) {
        // Until a job owns the upload, nothing else will delete it.
        if (!queued) await discardUploads(videos);
        throw err;
      }
    },
  );
}
