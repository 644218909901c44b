import { Type, type TSchema } from 'typebox';

/** `{ error: { code, message } }`: every 4xx/5xx answer. */
export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every error: a stable code and a message for people' },
);

export const errorResponses = (...statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('ErrorBody')]));

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

export const PathInput = Type.Object(
  { path: Type.Optional(Type.String({ description: 'server-side video path under VDEDUP_ROOTS (instead of a multipart `file`)' })) },
  { additionalProperties: true },
);
