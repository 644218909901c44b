import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ApiError } from './errors.js';
import { resolveUnderRoots, type ReceivedInputs } from '../app/inputs.js';
import { discardUploads } from '../app/uploads.js';
import { uploadsDir } from '../config/paths.js';
import type { ServiceConfig } from '../config/service.js';
import type { VideoRef } from '../jobs/contract.js';

/** The seconds a request asks to wait for its job (`?wait=`), at most VDEDUP_MAX_WAIT_SECONDS. */
export function waitSeconds(query: { wait?: number }, config: ServiceConfig): number {
  return Math.min(query.wait ?? 0, config.maxWaitSeconds);
}

function safeFileName(name: string | undefined): string {
  const base = path.basename(name ?? '').replace(/[^\w.\- ]+/g, '_').slice(-120);
  return base === '' || base === '.' || base === '..' ? 'upload' : base;
}

/**
 * A multipart text field checked against the property of the form's schema (the document's
 * multipart/form-data body) that names it, as Fastify checks JSON members: numbers and booleans
 * arrive as text and are read as such. Unknown fields are refused.
 */
function checkFormField(form: { properties: Record<string, TSchema> }, name: string, value: string): void {
  const fields = Object.keys(form.properties).filter((k) => k !== 'file');
  const schema = name === 'file' ? undefined : form.properties[name];
  if (schema === undefined) {
    const what = name === 'file' ? 'the `file` part must be a file (a part with a filename)' : `unknown multipart field "${name}"`;
    throw new ApiError(400, 'INVALID_ARGUMENT', `${what} (fields: file, ${fields.join(', ')})`);
  }
  const converted = Value.Convert(schema, value);
  if (!Value.Check(schema, converted)) {
    const first = [...Value.Errors(schema, converted)][0];
    throw new ApiError(400, 'VALIDATION', `multipart field "${name}": ${first?.message ?? 'not a valid value'} (got "${value.slice(0, 100)}")`);
  }
}

/**
 * The videos of a request: multipart files streamed to the data volume (never held in memory,
 * capped at VDEDUP_MAX_UPLOAD_BYTES each), or JSON `path`/`paths` under the allowed roots.
 * Other multipart fields (checked against `form`, the operation's multipart schema) and JSON
 * members (checked by the route's JSON schema) come back in `fields`.
 */
export async function receiveVideos(
  request: FastifyRequest,
  config: ServiceConfig,
  maxFiles: number,
  form: { properties: Record<string, TSchema> },
): Promise<ReceivedInputs> {
  if (!request.isMultipart()) {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const requested = typeof body.path === 'string' ? [body.path] : Array.isArray(body.paths) ? body.paths : [];
    if (requested.length > maxFiles) throw new ApiError(400, 'INVALID_ARGUMENT', `at most ${maxFiles} paths per request`);
    const videos: VideoRef[] = [];
    for (const p of requested) {
      const r = await resolveUnderRoots(config, p as string);
      videos.push({ path: r.absolute, name: r.name, upload: false });
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
    return { fields, videos };
  }
  const fields: Record<string, string> = {};
  const videos: VideoRef[] = [];
  try {
    for await (const part of request.parts({ limits: { fileSize: config.maxUploadBytes, files: maxFiles, fields: 50 } })) {
      if (part.type === 'field') {
        checkFormField(form, part.fieldname, String(part.value));
        if (part.fieldname in fields) throw new ApiError(400, 'INVALID_ARGUMENT', `multipart field "${part.fieldname}" given more than once`);
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new ApiError(400, 'INVALID_ARGUMENT', `upload files in parts named "file", not "${part.fieldname}"`);
      }
      const dir = path.join(uploadsDir(config), randomUUID());
      await mkdir(dir, { recursive: true });
      const name = safeFileName(part.filename);
      const file = path.join(dir, name);
      videos.push({ path: file, name: part.filename || name, upload: true });
      await pipeline(part.file, createWriteStream(file));
      if (part.file.truncated) {
        throw new ApiError(413, 'FILE_TOO_LARGE', `${part.filename}: larger than the upload limit of ${config.maxUploadBytes} bytes (VDEDUP_MAX_UPLOAD_BYTES)`);
      }
    }
  } catch (err) {
    await discardUploads(videos);
    if (err instanceof ApiError) throw err;
    const e = err as { code?: string; message?: string };
    // As many paths over the limit in JSON (the document's maxItems): a request the document refuses, 400.
    if (e.code === 'FST_FILES_LIMIT') throw new ApiError(400, 'TOO_MANY_FILES', `at most ${maxFiles} file(s) per request`);
    if (e.code === 'FST_REQ_FILE_TOO_LARGE') throw new ApiError(413, 'FILE_TOO_LARGE', `larger than the upload limit of ${config.maxUploadBytes} bytes`);
    // A body that is not well-formed multipart (no boundary, cut short, a broken part header) is
    // the client's mistake: 400, not an internal error.
    if (/Boundary not found|Unexpected end of (form|multipart)|Malformed part header|Malformed urlencoded form/i.test(e.message ?? '')) {
      throw new ApiError(400, 'INVALID_MULTIPART', `not a well-formed multipart/form-data body (${e.message})`);
    }
    throw err;
  }
  return { fields, videos };
}
