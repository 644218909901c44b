import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  archiveKind,
  expandShardPattern,
  listArchive,
  listStream,
  sidecarParquetFor,
  youtubeIdFromSidecar,
  youtubeIdsFromParquet,
  type ArchiveKind,
  type ArchiveMember,
} from '../media/archive/index.js';
import { VIDEO_EXTENSIONS } from '../media/video-files.js';
import { youtubeIdFromFileName } from '../media/youtube-id.js';
import { isVdedupError, VdedupError } from '../errors.js';
import type { VideoItem } from './inputs.js';

/**
 * Training corpora as they are shipped: WebDataset tar shards (video2dataset's `00000.tar` with
 * `<key>.mp4`, `<key>.json`, a `00000.parquet` beside it), `.tar.gz` archives and zips. Each video
 * member becomes one item named `<archive>#<member>`; its YouTube ID comes from the sample's JSON
 * sidecar, else the shard's parquet, else the member's file name, so the ID stage removes it
 * without reading its data. What cannot be read is an error entry naming archive and member.
 */

/** Where an archive member's bytes are, for fingerprinting. */
export interface CorpusMember {
  /** Absolute path of the archive. */
  archive: string;
  /** The archive as the report names it (relative to the directory scanned, or as given). */
  archiveName: string;
  kind: ArchiveKind;
  /** The member's name inside the archive. */
  name: string;
  /** WebDataset sample key (the member name up to the first dot of its base name). */
  key: string;
  size: number;
  /** Position among the archive's video members (a streamed .tar.gz hands them over in this order). */
  ordinal: number;
  /** Stored data in place: bytes [offset, offset + size) of the archive (uncompressed tar, stored zip). */
  offset?: number;
  /** A deflated zip member: inflated to a temporary file to be read. */
  deflated?: ArchiveMember['deflated'];
}

/** A problem with an input that is not one video's decoding: the report lists it as an error. */
export interface InputError {
  video: string;
  code: string;
  message: string;
}

export const isVideoName = (name: string) => VIDEO_EXTENSIONS.has(path.extname(name).toLowerCase());

/** Whether a path names an archive the scan reads (by its extension). */
export const isArchiveName = (name: string) => archiveKind(name) !== undefined;

/** Whether a `--train`/`--bench` argument is a WebDataset shard pattern (`shards/{00000..00099}.tar`). */
export const isShardPattern = (spec: string) => /\{[^}]*(?:\.\.|,)[^}]*\}/.test(spec);

/** The shards a pattern names, the missing ones as error entries (a scan that cannot see a shard says so). */
export async function shardPatternArchives(spec: string): Promise<{ archives: string[]; errors: InputError[] }> {
  const names = expandShardPattern(spec);
  const archives: string[] = [];
  const errors: InputError[] = [];
  for (const name of names) {
    if (!isArchiveName(name)) throw new VdedupError('INVALID_ARGUMENT', `${spec}: ${name} is not a .tar, .tar.gz, .tgz or .zip name`);
    const s = await stat(path.resolve(name)).catch(() => undefined);
    if (s?.isFile() === true) archives.push(name);
    else errors.push({ video: name, code: 'FILE_NOT_FOUND', message: 'shard not found: its members were not scanned' });
  }
  if (archives.length === 0) throw new VdedupError('FILE_NOT_FOUND', `${spec}: none of its ${names.length} shards exist`);
  return { archives, errors };
}

/**
 * The video members of one archive as scan items. The archive's problems (unsafe names, links,
 * truncation, bombs) are error entries; an archive that cannot be read at all is one error entry,
 * and the scan of the other archives goes on.
 */
export async function readArchiveItems(absolute: string, archiveName: string): Promise<{ items: VideoItem[]; errors: InputError[] }> {
  const kind = archiveKind(absolute)!;
  const errors: InputError[] = [];
  // Each sidecar's ID as it is read; its text is not kept (a shard's sidecars can hold hundreds of MB).
  const sidecarIds = new Map<string, string>();
  const onSidecar = (key: string, _name: string, text: string) => {
    if (sidecarIds.has(key)) return;
    const id = youtubeIdFromSidecar(text);
    if (id !== undefined) sidecarIds.set(key, id);
  };
  let listing;
  try {
    const opts = { isVideo: isVideoName, onSidecar };
    listing = kind === 'tar.gz' ? await listStream(absolute, opts) : await listArchive(absolute, opts);
  } catch (err) {
    if (!isVdedupError(err)) throw err;
    return { items: [], errors: [{ video: archiveName, code: err.code, message: `archive not read: ${err.message}` }] };
  }
  for (const p of listing.problems) {
    errors.push({ video: p.member === undefined ? archiveName : `${archiveName}#${p.member}`, code: 'INVALID_MEDIA', message: p.message });
  }
  // video2dataset writes a parquet of the shard's samples beside it (url, key): IDs for members
  // whose sidecar is missing or says nothing.
  let parquetIds: Map<string, string> | undefined;
  const parquet = sidecarParquetFor(absolute);
  if (listing.videos.length > 0 && (await stat(parquet).catch(() => undefined))?.isFile() === true) {
    try {
      const read = await youtubeIdsFromParquet(parquet);
      parquetIds = read.ids;
      for (const p of read.problems) errors.push({ video: archiveName, code: 'INVALID_MEDIA', message: `parquet: ${p}` });
    } catch (err) {
      if (!isVdedupError(err)) throw err;
      errors.push({ video: archiveName, code: err.code, message: `parquet not read (YouTube IDs from sidecars and names only): ${err.message}` });
    }
  }
  const items = listing.videos.map((m, ordinal): VideoItem => {
    let youtubeId = sidecarIds.get(m.key);
    let youtubeIdSource: VideoItem['youtubeIdSource'] = youtubeId === undefined ? undefined : 'sidecar';
    if (youtubeId === undefined && parquetIds?.has(m.key) === true) {
      youtubeId = parquetIds.get(m.key);
      youtubeIdSource = 'parquet';
    }
    if (youtubeId === undefined) {
      youtubeId = youtubeIdFromFileName(m.name);
      youtubeIdSource = youtubeId === undefined ? undefined : 'file name';
    }
    const member: CorpusMember = {
      archive: absolute,
      archiveName,
      kind,
      name: m.name,
      key: m.key,
      size: m.size,
      ordinal,
      ...(m.offset === undefined ? {} : { offset: m.offset }),
      ...(m.deflated === undefined ? {} : { deflated: m.deflated }),
    };
    return { id: `${archiveName}#${m.name}`, path: undefined, youtubeId, youtubeIdSource, member };
  });
  return { items, errors };
}
