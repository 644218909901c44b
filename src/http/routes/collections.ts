import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { receiveVideos, waitSeconds } from '../inputs.js';
import { CollectionName, errorResponse, errorResponses, jsonOrMultipart, ServerPath, UploadFile, WaitQuery } from '../schemas.js';
import { addVideos, getCollection, listCollections, removeCollection, removeMember } from '../../app/collections.js';

/** Videos one request may add (uploads or paths); a whole benchmark comes through `source`. */
const MAX_VIDEOS_PER_REQUEST = 100;

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
      const receive = () => receiveVideos(request, ctx.config, MAX_VIDEOS_PER_REQUEST, CollectionVideosForm);
      const added = await addVideos(ctx, request.params.name, receive, waitSeconds(request.query, ctx.config));
      // Every job finished in time: 200 with their views.
      return reply.status(added.jobs === undefined ? 202 : 200).send(added);
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
    async () => ({ collections: await listCollections(ctx) }),
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
    async (request) => getCollection(ctx, request.params.name),
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
      const removed = await removeMember(ctx, request.params.name, request.params.id);
      request.log.info({ collection: removed.collection, id: removed.removed, version: removed.version }, 'collection video removed');
      return removed;
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
      const removed = await removeCollection(ctx, request.params.name);
      request.log.info({ collection: removed.collection, videos: removed.removed }, 'collection removed');
      return removed;
    },
  );
}
