import path from 'node:path';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { Job } from 'bullmq';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { discardUploads, receiveVideos, resolveUnderRoots, screenVideo } from '../inputs.js';
import { viewJob } from '../jobs-view.js';
import { errorResponses, WaitQuery } from '../schemas.js';
import { checkCollectionName, memberKey } from '../../service/collections.js';
import { readVideoSource } from '../../decontam/inputs.js';
import { youtubeIdFromFileName } from '../../media/youtube-id.js';
import { isVdedupError } from '../../errors.js';
import type { VideoRef } from '../../service/jobs.js';

/** Videos one request may add (uploads or paths); a whole benchmark comes through `source`. */
const MAX_VIDEOS_PER_REQUEST = 100;

export const CollectionVideosBody = Type.Object(
  {
    path: Type.Optional(Type.String({ description: 'one server-side video under VDEDUP_ROOTS' })),
    paths: Type.Optional(Type.Array(Type.String(), { maxItems: MAX_VIDEOS_PER_REQUEST })),
    source: Type.Optional(
      Type.String({
        description:
          'many videos at once: a directory or JSONL manifest under VDEDUP_ROOTS, or lmms-eval:<task>[,<task>] (benchmark videos found under the server\'s HF_HOME; see `vdedup benchmarks`)',
      }),
    ),
    benchmark: Type.Optional(
      Type.String({ description: 'an LMMs-Eval task family (or several, comma-separated): the same as source "lmms-eval:<benchmark>"' }),
    ),
    id: Type.Optional(Type.String({ description: 'member id for a single video (default: file name, or path under its root)' })),
  },
  { description: 'JSON, or multipart/form-data with one or more `file` parts', additionalProperties: false },
);

const Added = Type.Object(
  {
    collection: Type.String(),
    queued: Type.Array(Type.Object({ id: Type.String(), jobId: Type.String(), state: Type.String() })),
    rejected: Type.Array(Type.Object({ id: Type.String(), code: Type.String(), message: Type.String() })),
    warnings: Type.Array(Type.String()),
    jobs: Type.Optional(Type.Array(Type.Ref('JobView'))),
  },
  { $id: 'CollectionAdded' },
);

const noCollection = (name: string) => new ApiError(404, 'COLLECTION_NOT_FOUND', `no collection "${name}"`);

export function collectionRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addSchema(Added);
  app.post<{ Params: { name: string }; Querystring: { wait?: number } }>(
    '/v1/collections/:name/videos',
    {
      schema: {
        tags: ['collections'],
        summary: 'Fingerprint and index videos into a named collection (created on first use)',
        description:
          'Each video becomes a fingerprint job (one per content: adding the same video twice joins the first job). 202 with the jobs; with ?wait=<seconds>, 200 when all finished in time. A video that cannot be read is listed in `rejected` (bad path) or fails its job (bad media).',
        consumes: ['application/json', 'multipart/form-data'],
        params: Type.Object({ name: Type.String() }),
        querystring: WaitQuery,
        body: CollectionVideosBody,
        response: { 200: Type.Ref('CollectionAdded'), 202: Type.Ref('CollectionAdded'), ...errorResponses(400, 401, 403, 404, 413, 503) },
      },
    },
    async (request, reply) => {
      const collection = checkCollectionName(request.params.name);
      const wait = Math.min(request.query.wait ?? 0, ctx.config.maxWaitSeconds);
      // A full queue (or Redis down) is said before the uploads are read.
      await ctx.producer.admit('fingerprint');
      const { fields, videos } = await receiveVideos(request, ctx.config, MAX_VIDEOS_PER_REQUEST, CollectionVideosBody);
      const queuedUploads = new Set<string>();
      try {
        type Item = { id: string; video: VideoRef; screen?: boolean; youtubeId?: string; youtubeIdSource?: 'manifest' | 'file name' };
        const items: Item[] = videos.map((v) => {
          const youtubeId = youtubeIdFromFileName(path.basename(v.name));
          return {
            id: videos.length === 1 && fields.id ? fields.id : v.name,
            video: v,
            screen: true,
            ...(youtubeId === undefined ? {} : { youtubeId, youtubeIdSource: 'file name' as const }),
          };
        });
        const warnings: string[] = [];
        if (fields.source !== undefined && fields.benchmark !== undefined) throw new ApiError(400, 'INVALID_ARGUMENT', 'give source or benchmark, not both');
        const source = fields.benchmark !== undefined ? `lmms-eval:${fields.benchmark}` : fields.source;
        if (source !== undefined) {
          const spec = source.startsWith('lmms-eval:') ? source : (await resolveUnderRoots(ctx.config, source)).absolute;
          const src = await readVideoSource(spec);
          warnings.push(...src.warnings);
          for (const item of src.items) {
            if (item.path === undefined) continue;
            items.push({
              id: item.id,
              video: { path: item.path, name: item.id, upload: false },
              ...(item.youtubeId === undefined ? {} : { youtubeId: item.youtubeId, youtubeIdSource: item.youtubeIdSource }),
            });
          }
        }
        if (items.length === 0) throw new ApiError(400, 'INVALID_ARGUMENT', 'no videos: send multipart `file` parts, or JSON { "path" | "paths" | "source" | "benchmark" }');
        const queued: Array<{ id: string; jobId: string; state: string }> = [];
        const rejected: Array<{ id: string; code: string; message: string }> = [];
        const jobs: Job[] = [];
        for (const { id, video, screen, youtubeId, youtubeIdSource } of items) {
          // Videos named in the request are screened here; a whole benchmark's are left to the workers.
          const bad = screen === true ? await screenVideo(video) : undefined;
          if (bad !== undefined) {
            rejected.push({ id, code: bad.code, message: bad.oneLine() });
            continue;
          }
          let key: string;
          try {
            key = await memberKey(video.path);
          } catch (err) {
            if (!isVdedupError(err)) throw err;
            rejected.push({ id, code: err.code, message: err.message });
            continue;
          }
          const job = await ctx.producer.addCollectionVideo({ collection, id, video, ...(youtubeId === undefined ? {} : { youtubeId, youtubeIdSource }) }, key);
          queuedUploads.add(video.path);
          if ((job.data as { video: VideoRef }).video.path !== video.path) await discardUploads([video]);
          jobs.push(job);
          queued.push({ id, jobId: job.id!, state: await job.getState() });
        }
        await discardUploads(videos.filter((v) => !queuedUploads.has(v.path)));
        const deadline = Date.now() + wait * 1000;
        let allDone = wait > 0;
        for (const job of jobs) {
          if (!allDone) break;
          allDone = await ctx.producer.waitFor(job, Math.max(0, (deadline - Date.now()) / 1000));
        }
        if (allDone && jobs.length > 0) {
          const views = await Promise.all(jobs.map((j) => viewJob(ctx.producer, j.id!)));
          queued.forEach((q, i) => (q.state = views[i]!.state));
          return reply.status(200).send({ collection, queued, rejected, warnings, jobs: views });
        }
        return reply.status(202).send({ collection, queued, rejected, warnings });
      } catch (err) {
        await discardUploads(videos.filter((v) => !queuedUploads.has(v.path)));
        throw err;
      }
    },
  );

  const Summary = Type.Object({ name: Type.String(), videos: Type.Integer(), version: Type.Integer() });
  app.get(
    '/v1/collections',
    {
      schema: {
        tags: ['collections'],
        summary: 'Collections and their sizes',
        response: { 200: Type.Object({ collections: Type.Array(Summary) }), ...errorResponses(401, 503) },
      },
    },
    async () => ({ collections: await ctx.producer.guard(() => ctx.producer.registry.list()) }),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/collections/:name',
    {
      schema: {
        tags: ['collections'],
        summary: 'A collection and its videos',
        params: Type.Object({ name: Type.String() }),
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.Integer(),
            videos: Type.Array(
              Type.Object({
                id: Type.String(),
                key: Type.String(),
                duration: Type.Number(),
                frames: Type.Integer({ description: 'seconds sampled (1 fps frames)' }),
                fps: Type.Optional(Type.Integer({ description: 'samples per second of the fingerprint (the benchmark side\'s sub-second phases)' })),
                addedAt: Type.String(),
                youtubeId: Type.Optional(Type.String()),
                youtubeIdSource: Type.Optional(Type.String()),
                path: Type.Optional(Type.String({ description: 'the server path it was added from (absent for uploads)' })),
              }),
            ),
          }),
          ...errorResponses(400, 401, 404, 503),
        },
      },
    },
    async (request) => {
      const name = checkCollectionName(request.params.name);
      const got = await ctx.producer.guard(() => ctx.producer.registry.get(name));
      if (got === undefined) throw noCollection(name);
      return got;
    },
  );

  app.delete<{ Params: { name: string; id: string } }>(
    '/v1/collections/:name/videos/:id',
    {
      schema: {
        tags: ['collections'],
        summary: 'Remove one video from a collection',
        description:
          'The id as listed by GET /v1/collections/:name, URL-encoded (an id with "/" is sent as %2F). Checks answered from then on do not see it; its fingerprint stays in the store. Adding it again fingerprints it afresh.',
        params: Type.Object({ name: Type.String(), id: Type.String() }),
        response: {
          200: Type.Object({ collection: Type.String(), removed: Type.String(), version: Type.Integer() }),
          ...errorResponses(400, 401, 404, 503),
        },
      },
    },
    async (request) => {
      const name = checkCollectionName(request.params.name);
      const { id } = request.params;
      const got = await ctx.producer.guard(() => ctx.producer.registry.removeMember(name, id));
      if (got === undefined) {
        if (!(await ctx.producer.guard(() => ctx.producer.registry.exists(name)))) throw noCollection(name);
        throw new ApiError(404, 'VIDEO_NOT_FOUND', `collection "${name}" has no video "${id}" (GET /v1/collections/${name} lists them)`);
      }
      await ctx.producer.forgetCollectionAdds(name, [got.member.key]);
      request.log.info({ collection: name, id, version: got.version }, 'collection video removed');
      return { collection: name, removed: id, version: got.version };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/v1/collections/:name',
    {
      schema: {
        tags: ['collections'],
        summary: 'Remove a collection and all its videos',
        description:
          'The fingerprints stay in the store (scans and other collections may share them). Videos whose add job is still queued or running join a collection of this name when they finish.',
        params: Type.Object({ name: Type.String() }),
        response: {
          200: Type.Object({ collection: Type.String(), removed: Type.Integer({ description: 'videos it held' }) }),
          ...errorResponses(400, 401, 404, 503),
        },
      },
    },
    async (request) => {
      const name = checkCollectionName(request.params.name);
      const members = await ctx.producer.guard(() => ctx.producer.registry.remove(name));
      if (members === undefined) throw noCollection(name);
      await ctx.producer.forgetCollectionAdds(name, members.map((m) => m.key));
      request.log.info({ collection: name, videos: members.length }, 'collection removed');
      return { collection: name, removed: members.length };
    },
  );
}
