import { Type, type TSchema } from 'typebox';

/** `{ error: { code, message } }`: every 4xx/5xx answer. */
export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every error: a stable code and a message for people' },
);

/**
 * What each error status means here, as the document says it (the route-specific codes, such as
 * 404 COLLECTION_NOT_FOUND, are in each route's own description). Statuses every route of a kind
 * can answer (400, 401, 413, 415, 429, 431, 503) are added by plugins/contract.ts.
 */
export const ERROR_STATUS_MEANING: Record<number, string> = {
  400: 'VALIDATION (a parameter, query parameter or body the document does not allow), or the request cannot be done as asked (INVALID_ARGUMENT, INVALID_MULTIPART, TOO_MANY_FILES)',
  401: 'UNAUTHORIZED: missing or wrong API key (Authorization: Bearer <key>)',
  403: 'PATH_NOT_ALLOWED: server-side paths are outside VDEDUP_ROOTS (or VDEDUP_ROOTS is not set)',
  404: 'NOT_FOUND: the named file, collection, job or scan does not exist',
  409: 'The job or scan is not finished, or failed',
  413: 'BODY_TOO_LARGE (a JSON body over 1 MiB), FILE_TOO_LARGE (an upload over VDEDUP_MAX_UPLOAD_BYTES)',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not one of the media types the operation takes',
  422: 'The video cannot be used (EMPTY_FILE, INVALID_MEDIA, NO_VIDEO_STREAM, TRUNCATED_MEDIA, NO_FRAMES, ...), or asks for frames it does not have',
  429: 'RATE_LIMITED (over VDEDUP_RATE_LIMIT requests per minute) or QUEUE_FULL (VDEDUP_MAX_QUEUE_DEPTH jobs waiting); Retry-After says when to try again',
  431: 'HEADERS_TOO_LARGE: the request line (URL) and headers exceed the server\'s limit (16 KiB)',
  503: 'REDIS_UNAVAILABLE: the queues cannot be reached; Retry-After says when to try again',
};

/** The error body under a status, described by what the status means (or `description`). */
export const errorResponse = (status: number, description = ERROR_STATUS_MEANING[status] ?? 'An error'): TSchema =>
  ({ $ref: 'ErrorBody', description }) as unknown as TSchema;

export const errorResponses = (...statuses: number[]): Record<number, TSchema> => Object.fromEntries(statuses.map((s) => [s, errorResponse(s)]));

/** Collection names, as the registry accepts them (jobs/collection-registry.ts checkCollectionName). */
export const CollectionName = (description = 'a collection') =>
  Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', minLength: 1, maxLength: 64, description: `${description}: 1-64 of A-Z a-z 0-9 _ -`, examples: ['lmms-eval'] });

/** A server-side path (relative to the first of VDEDUP_ROOTS, or absolute under one of them). */
export const ServerPath = (description: string) =>
  Type.String({ minLength: 1, pattern: '^[^\\u0000]+$', description: `${description} (no NUL characters)`, examples: ['videos/clip.mp4'] });

export const JobState = Type.String({
  description: 'BullMQ job state: waiting, waiting-children, delayed, active, completed, failed (or unknown)',
});

export const JobView = Type.Object(
  {
    jobId: Type.String(),
    queue: Type.String(),
    name: Type.String(),
    state: JobState,
    progress: Type.Unknown({ description: 'what the worker last reported: frames, or done/total' }),
    attemptsMade: Type.Integer(),
    createdAt: Type.String(),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    processedBy: Type.Union([Type.String(), Type.Null()], { description: 'worker (host:pid) that ran the last attempt' }),
    result: Type.Optional(Type.Unknown({ description: 'the job result, once completed' })),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  },
  { $id: 'JobView', additionalProperties: false },
);

export const Accepted = Type.Object(
  { jobId: Type.String(), state: JobState, statusUrl: Type.String() },
  { $id: 'Accepted', description: 'Queued; poll statusUrl (or ask with ?wait=<seconds>)' },
);

export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Number({ minimum: 0, description: 'seconds to wait for the result before answering 202' })),
});

export const PresetName = Type.Union([Type.Literal('default'), Type.Literal('paper')]);

/** One uploaded video, as a multipart part named `file`. */
export const UploadFile = Type.String({ format: 'binary', description: 'the video file' });

/**
 * A body that is JSON or multipart/form-data. Fastify validates the JSON schema; multipart bodies
 * are streamed to disk by the handler (http/inputs.ts receiveVideos), which checks their fields
 * itself, so their schema is only shown in the document (plugins/openapi.ts reads `multipart`).
 */
export function jsonOrMultipart(json: TSchema, multipart: TSchema): { content: Record<string, { schema: TSchema }>; multipart: TSchema } {
  return { content: { 'application/json': { schema: json } }, multipart };
}
