import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { VdedupError } from '../../errors.js';
import { StreamEnded, StreamSource } from './bytes.js';
import { extractMember, writeAll, zlibFailure } from './extract.js';
import { listArchive, type ArchiveListing, type ListOptions } from './list.js';
import { MemberJudge } from './members.js';
import { bytes, printableName, problem, safeExtension } from './names.js';
import { openArchive, requireKind } from './open.js';
import { NotTar, tarEntriesFrom } from './tar.js';
import { withDefaults, type ArchiveLimits, type ArchiveProblem } from './types.js';

/**
 * One pass over an archive, a WebDataset sample at a time: the sample's video is copied to a
 * temporary file, the caller fingerprints it in onGroup, and the file is deleted as soon as onGroup
 * settles. A .tar.gz is read this way because gzip has no random access; the whole archive is
 * never on disk, and at most one member is.
 */

export interface ArchiveGroup {
  key: string;
  /** The sample's video, copied to `file` (inside a private directory under tmpDir). */
  video?: { name: string; size: number; file: string };
  /** Sidecar member name -> JSON text. */
  sidecars: Map<string, string>;
}

export interface StreamOptions {
  /** Where the private temporary directory is made (and removed at the end). */
  tmpDir: string;
  isVideo(name: string): boolean;
  limits?: Partial<ArchiveLimits>;
  /**
   * Called once per sample (consecutive members sharing a key), or once per video when a sample
   * holds several. A rejection stops the pass: streamArchive rejects with it, after cleaning up.
   */
  onGroup(group: ArchiveGroup): Promise<void>;
  onProblem(p: ArchiveProblem): void;
}

/** The decompressed stream outgrew the ratio limit: a gzip bomb. */
class RatioExceeded extends Error {}

/**
 * Reads a .tar.gz or .tar in one pass (a .zip through its listing, one member extracted at a time).
 * Throws a VdedupError only when the file is missing or not an archive of its kind at all.
 */
export async function streamArchive(archive: string, opts: StreamOptions): Promise<void> {
  const kind = requireKind(archive);
  const limits = withDefaults(opts.limits);
  const { handle } = await openArchive(archive);
  let scratch: string | undefined;
  try {
    scratch = await mkdtemp(path.join(opts.tmpDir, 'vdedup-archive-'));
    if (kind === 'zip') await streamZip(archive, scratch, limits, opts);
    else await streamTar(archive, handle, kind === 'tar.gz', scratch, limits, opts);
  } finally {
    await handle.close();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The listing of a .tar.gz (or .tar) from one pass over its stream: the video members (no offset:
 * their data is read again by streamArchive), the sidecars, the problems. Video data is skipped,
 * never written, so listing costs one decompression.
 */
export async function listStream(archive: string, opts: ListOptions): Promise<ArchiveListing> {
  const kind = requireKind(archive);
  if (kind === 'zip') return listArchive(archive, opts);
  const limits = withDefaults(opts.limits);
  const { handle } = await openArchive(archive);
  const listing: ArchiveListing = { videos: [], sidecars: new Map(), problems: [] };
  let sidecarBytes = 0;
  try {
    await streamTar(archive, handle, kind === 'tar.gz', undefined, limits, {
      isVideo: opts.isVideo,
      onProblem: (p) => listing.problems.push(p),
      onGroup: async (g) => {
        if (g.video !== undefined) listing.videos.push({ name: g.video.name, key: g.key, size: g.video.size });
        if (opts.onSidecar !== undefined) {
          for (const [name, text] of g.sidecars) opts.onSidecar(g.key, name, text);
          return;
        }
        if (g.sidecars.size === 0 || listing.sidecars.has(g.key)) return;
        const size = [...g.sidecars.values()].reduce((n, t) => n + Buffer.byteLength(t), 0);
        if (sidecarBytes + size > limits.maxSidecarTotalBytes) {
          listing.problems.push(problem(archive, [...g.sidecars.keys()][0], `sidecars of this archive exceed ${bytes(limits.maxSidecarTotalBytes)} in all; not read`));
          return;
        }
        sidecarBytes += size;
        listing.sidecars.set(g.key, g.sidecars);
      },
    });
  } finally {
    await handle.close();
  }
  return listing;
}

/** `scratch` undefined: list only (video data skipped, the group's `file` empty). */
async function streamTar(archive: string, handle: FileHandle, gzipped: boolean, scratch: string | undefined, limits: ArchiveLimits, opts: Omit<StreamOptions, 'tmpDir'>): Promise<void> {
  const report = (member: string | undefined, message: string) => opts.onProblem(problem(archive, member, message));
  let stream: AsyncIterable<Buffer> = handle.createReadStream({ autoClose: false });
  let onPull: ((decompressed: number) => void) | undefined;
  if (gzipped) {
    const magic = Buffer.alloc(2);
    await handle.read(magic, 0, 2, 0);
    if (magic[0] !== 0x1f || magic[1] !== 0x8b) throw new VdedupError('INVALID_MEDIA', 'not a gzip file', { file: archive });
    const gunzip = createGunzip();
    stream = pipeline(handle.createReadStream({ autoClose: false }), gunzip, () => {});
    // bytesWritten: compressed bytes zlib has taken in so far.
    onPull = (out) => {
      if (out > limits.ratioFloorBytes && out > limits.maxRatio * gunzip.bytesWritten) {
        throw new RatioExceeded(`decompresses to more than ${limits.maxRatio} times its size (${bytes(out)} from ${bytes(gunzip.bytesWritten)}); reading stops`);
      }
    };
  }
  const source = new StreamSource(stream, onPull);
  const judge = new MemberJudge(opts.isVideo);
  let group: ArchiveGroup | undefined;
  let tempFiles = 0;

  const flush = async () => {
    const g = group;
    group = undefined;
    // A group whose only member failed to read holds nothing to hand over.
    if (g === undefined || (g.video === undefined && g.sidecars.size === 0)) return;
    try {
      await opts.onGroup(g);
    } finally {
      if (g.video !== undefined && g.video.file !== '') await rm(g.video.file, { force: true });
    }
  };

  try {
    for await (const step of tarEntriesFrom(source, limits.maxMembers)) {
      if (step.kind === 'problem') {
        report(step.member, step.message);
        continue;
      }
      const { entry, data } = step;
      const verdict = judge.judge(entry.name, entry.type);
      if (verdict.use === 'problem') report(entry.name, verdict.message);
      if (verdict.use !== 'video' && verdict.use !== 'sidecar') continue;
      const limit = verdict.use === 'video' ? limits.maxMemberBytes : limits.maxSidecarBytes;
      if (entry.size > limit) {
        report(entry.name, `${verdict.use === 'video' ? 'member' : 'sidecar'} of ${bytes(entry.size)}, more than the limit of ${bytes(limit)}; skipped`);
        continue;
      }
      // A new key, or a second video in one sample: the group so far goes to the caller first,
      // so that at most one temporary video exists.
      if (group !== undefined && (group.key !== verdict.key || (verdict.use === 'video' && group.video !== undefined))) {
        const carried = group.key === verdict.key ? new Map(group.sidecars) : new Map<string, string>();
        await flush();
        group = { key: verdict.key, sidecars: carried };
      }
      group ??= { key: verdict.key, sidecars: new Map() };
      if (verdict.use === 'sidecar') {
        const pieces: Buffer[] = [];
        for await (const piece of data) pieces.push(piece);
        group.sidecars.set(verdict.name, Buffer.concat(pieces).toString('utf8'));
      } else if (scratch === undefined) {
        for await (const piece of data) void piece; // skipped: the listing needs no video data
        group.video = { name: verdict.name, size: entry.size, file: '' };
      } else {
        const file = path.join(scratch, `${++tempFiles}${safeExtension(verdict.name)}`);
        await copyTo(file, data);
        group.video = { name: verdict.name, size: entry.size, file };
      }
    }
    await flush();
  } catch (err) {
    const failure = streamFailure(err, archive, gzipped);
    if (failure === undefined) throw err;
    report(source.member, failure);
    await flush(); // the members read whole before the failure still count
  } finally {
    await source.close();
    if (group?.video !== undefined && group.video.file !== '') await rm(group.video.file, { force: true });
  }
}

/** Copies a member's data to a new private file; the file is removed if the copy fails. */
async function copyTo(file: string, data: AsyncIterable<Buffer>): Promise<void> {
  const out = await open(file, 'wx', 0o600);
  try {
    for await (const piece of data) await writeAll(out, piece);
  } catch (err) {
    await out.close();
    await rm(file, { force: true });
    throw err;
  }
  await out.close();
}

/** A failure of the archive's bytes (reported, the pass ends), or undefined for anything else (thrown). */
function streamFailure(err: unknown, archive: string, gzipped: boolean): string | undefined {
  if (err instanceof NotTar) {
    throw new VdedupError('INVALID_MEDIA', gzipped ? `${err.message} inside the gzip stream` : err.message, { file: archive, cause: err });
  }
  if (err instanceof StreamEnded) return `truncated: ${err.message}`;
  if (err instanceof RatioExceeded) return err.message;
  const z = zlibFailure(err);
  if (z !== undefined) return z.code === 'TRUNCATED_MEDIA' ? 'truncated gzip stream (unexpected end of file)' : `gzip stream ${z.message}`;
  return undefined;
}

/** A zip has random access: list it, then extract one video at a time into the scratch directory. */
async function streamZip(archive: string, scratch: string, limits: ArchiveLimits, opts: StreamOptions): Promise<void> {
  const listing = await listArchive(archive, { isVideo: opts.isVideo, limits });
  for (const p of listing.problems) opts.onProblem(p);
  const withVideo = new Set<string>();
  let tempFiles = 0;
  for (const video of listing.videos) {
    const file = path.join(scratch, `${++tempFiles}${safeExtension(video.name)}`);
    try {
      await extractMember(archive, video, file, limits);
    } catch (err) {
      // extractMember names the member first; anything else (the archive gone) ends the pass.
      const prefix = `${printableName(video.name)}: `;
      if (!(err instanceof VdedupError) || !err.message.startsWith(prefix)) throw err;
      opts.onProblem(problem(archive, video.name, err.message.slice(prefix.length)));
      continue;
    }
    withVideo.add(video.key);
    try {
      await opts.onGroup({ key: video.key, video: { name: video.name, size: video.size, file }, sidecars: listing.sidecars.get(video.key) ?? new Map() });
    } finally {
      await rm(file, { force: true });
    }
  }
  for (const [key, sidecars] of listing.sidecars) if (!withVideo.has(key)) await opts.onGroup({ key, sidecars });
}
