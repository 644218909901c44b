import path from 'node:path';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { Job } from 'bullmq';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { discardUploads, receiveVideos, resolveUnderRoots, screenVideo } from '../inputs.js';
import { viewJob } from '../../app/job-view.js';
import { CollectionName, errorResponse, errorResponses, jsonOrMultipart, ServerPath, UploadFile, WaitQuery } from '../schemas.js';
import { checkCollectionName, memberKey } from '../../jobs/collection-registry.js';
import { readVideoSource } from '../../scan/inputs.js';
import { mapLimit } from '../../util/pool.js';
import { findFamily } from '../../benchmarks/registry.js';
import { youtubeIdFromFileName } from '../../media/youtube-id.js';
import { isVdedupError } from '../../errors.js';
import type { VideoRef } from '../../jobs/contract.js';

/** Videos one request may add (uploads or paths); a whole benchmark comes through `source`. */
const MAX_VIDEOS_PER_REQUEST = 100;
/** ffprobes one request runs at once to screen the videos it names. */
const SCREEN_CONCURRENCY = 4;

const sourceFields = {
  source: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'many videos at once: a directory or JSONL manifest under VDEDUP_ROOTS, or lmms-eval:<task>[,<task>] (benchmark videos found under the server\'s HF_HOME; see `vdedup benchmarks`)',
    }),
  ),
  benchmark: Type.Optional(
    Type.String({
      // At least one name between the commas (lmms-eval:<names> splits on commas and trims).
      pattern: '[^, \\t\\n\\r]',
      description: 'an LMMs-Eval task family (or several, comma-separated): the same as source "lmms-eval:<benchmark>"; 404 for one the server does not know',
    }),
  ),
  id: Type.Optional(Type.String({ minLength: 1, description: 'member id for a single video (default: file name, or path under its root)' })),
};

/** JSON: exactly one of path, paths, source, benchmark. */
export const CollectionVideosBody = Type.Object(
  {
    path: Type.Optional(ServerPath('one server-side video under VDEDUP_ROOTS')),
    paths: Type.Optional(Type.Array(ServerPath('a server-side video under VDEDUP_ROOTS'), { minItems: 1, maxItems: MAX_VIDEOS_PER_REQUEST })),
    ...sourceFields,
  },
  {
    description: 'Exactly one of path, paths, source, benchmark. Or send multipart/form-data with one or more `file` parts.',
    additionalProperties: false,
    oneOf: ['path', 'paths', 'source', 'benchmark'].map((k) => ({ required: [k] })),
  },
);

/** multipart/form-data: uploads, as `file` parts (server-side sources are named in JSON). */
export const CollectionVideosForm = Type.Object(
  {
    file: Type.Array(UploadFile, { minItems: 1, maxItems: MAX_VIDEOS_PER_REQUEST, description: 'one part per video' }),
    id: sourceFields.id,
  },
  { description: 'Uploads (`file` parts); a server-side path, source or benchmark is named in JSON', additionalProperties: false },
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

const addedLinks = {
  GetCollection: { operationId: 'getCollection', parameters: { name: '$request.path.name' } },
  GetFirstJob: { operationId: 'getJob', parameters: { id: '$response.body#/queued/0/jobId' } },
  RemoveFirstVideo: { operationId: 'removeCollectionVideo', parameters: { name: '$request.path.name', id: '$response.body#/queued/0/id' } },
};

export function collectionRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addSchema(Added);
  app.post<{ Params: { name: string }; Querystring: { wait?: number } }>(
    '/v1/collections/:name/videos',
    {
      links: { 200: addedLinks, 202: addedLinks },
      schema: {
        operationId: 'addCollectionVideos',
        tags: ['collections'],
        summary: 'Fingerprint and index videos into a named collection (created on first use)',
        description:
          'Each video becomes a fingerprint job (one per content: adding the same video twice joins the first job). 202 with the jobs; with ?wait=<seconds>, 200 when all finished in time. A video that cannot be read is listed in `rejected` (bad path) or fails its job (bad media).',
        params: Type.Object({ name: CollectionName() }),
        querystring: WaitQuery,
        body: jsonOrMultipart(CollectionVideosBody, CollectionVideosForm),
        response: {
          200: Type.Ref('CollectionAdded'),
          202: Type.Ref('CollectionAdded'),
          ...errorResponses(403, 413, 429),
          404: errorResponse(404, 'FILE_NOT_FOUND (a path or source), BENCHMARK_NOT_FOUND (a benchmark the server does not know), NO_VIDEOS (a source with no videos in it)'),
          422: errorResponse(422, 'The source cannot be read as videos (a manifest that is not JSONL of videos, say)'),
        },
      },
    },
    async (request, reply) => {
      const collection = checkCollectionName(request.params.name);
      const wait = Math.min(request.query.wait ?? 0, ctx.config.maxWaitSeconds);
      // A full queue (or Redis down) is said before the uploads are read.
      await ctx.producer.admit('fingerprint');
      const { fields, videos } = await receiveVideos(request, ctx.config, MAX_VIDEOS_PER_REQUEST, CollectionVideosForm);
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
        const source = fields.benchmark !== undefined ? `lmms-eval:${fields.benchmark}` : fields.source;
        if (source?.startsWith('lmms-eval:')) {
          // A benchmark the server does not know is not found (as a collection that does not exist).
          const unknown = source.slice('lmms-eval:'.length).split(',').map((n) => n.trim()).filter((n) => n !== '' && n !== 'all' && findFamily(n) === undefined);
          if (unknown.length > 0) throw new ApiError(404, 'BENCHMARK_NOT_FOUND', `unknown LMMs-Eval benchmark "${unknown[0]!.slice(0, 100)}" (\`vdedup benchmarks\` lists them)`);
        }
        if (source !== undefined) {
          const spec = source.startsWith('lmms-eval:') ? source : (await resolveUnderRoots(ctx.config, source)).absolute;
          const src = await readVideoSource(spec).catch((err: unknown) => {
            // Nothing of the benchmark under HF_HOME: said without the server's paths.
            if (isVdedupError(err) && err.code === 'FILE_NOT_FOUND' && spec.startsWith('lmms-eval:')) {
              throw new ApiError(404, 'NO_VIDEOS', `${spec.slice(0, 200)}: the server has no videos or metadata of this benchmark (download it with LMMs-Eval under the server's HF_HOME)`);
            }
            throw err;
          });
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
        if (items.length === 0 && source !== undefined) {
          throw new ApiError(404, 'NO_VIDEOS', `${source.slice(0, 200)}: no videos found${warnings.length > 0 ? ` (${warnings.join('; ').slice(0, 500)})` : ''}`);
        }
        if (items.length === 0) throw new ApiError(400, 'INVALID_ARGUMENT', 'no videos: send multipart `file` parts, or JSON { "path" | "paths" | "source" | "benchmark" }');
        const queued: Array<{ id: string; jobId: string; state: string }> = [];
        const rejected: Array<{ id: string; code: string; message: string }> = [];
        const jobs: Job[] = [];
        // Videos named in the request are screened here, a few ffprobes at a time (a request of 100
        // uploads took over 30 s one by one); a whole benchmark's are left to the workers.
        const screened = await mapLimit(items, SCREEN_CONCURRENCY, (item) => (item.screen === true ? screenVideo(item.video) : Promise.resolve(undefined)));
        for (const [i, { id, video, youtubeId, youtubeIdSource }] of items.entries()) {
          const bad = screened[i];
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
        operationId: 'listCollections',
        tags: ['collections'],
        summary: 'Collections and their sizes',
        response: { 200: Type.Object({ collections: Type.Array(Summary) }) },
      },
    },
    async () => ({ collections: await ctx.producer.guard(() => ctx.producer.registry.list()) }),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/collections/:name',
    {
      schema: {
        operationId: 'getCollection',
        tags: ['collections'],
        summary: 'A collection and its videos',
        params: Type.Object({ name: CollectionName() }),
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
          ...errorResponses(404),
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
        operationId: 'removeCollectionVideo',
        tags: ['collections'],
        summary: 'Remove one video from a collection',
        description:
          'The id as listed by GET /v1/collections/:name, URL-encoded (an id with "/" is sent as %2F). Checks answered from then on do not see it; its fingerprint stays in the store. Adding it again fingerprints it afresh.',
        params: Type.Object({ name: CollectionName(), id: Type.String({ minLength: 1 }) }),
        response: {
          200: Type.Object({ collection: Type.String(), removed: Type.String(), version: Type.Integer() }),
          ...errorResponses(404),
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
        operationId: 'removeCollection',
        summary: 'Remove a collection and all its videos',
        description:
          'The fingerprints stay in the store (scans and other collections may share them). Videos whose add job is still queued or running join a collection of this name when they finish.',
        params: Type.Object({ name: CollectionName() }),
        response: {
          200: Type.Object({ collection: Type.String(), removed: Type.Integer({ description: 'videos it held' }) }),
          ...errorResponses(404),
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
