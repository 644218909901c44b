import { inflateRawSync, crc32 } from 'node:zlib';
import { VdedupError } from '../../errors.js';
import { RandomReader } from './bytes.js';
import { MemberJudge, type Verdict } from './members.js';
import { bytes, problem } from './names.js';
import { openArchive, requireKind } from './open.js';
import { NotTar, tarEntriesAt } from './tar.js';
import { withDefaults, type ArchiveLimits, type ArchiveMember, type ArchiveProblem } from './types.js';
import { ENCRYPTED_FLAGS, ZipUnreadable, zipDataOffset, zipEntries, type ZipEntry } from './zip.js';

/**
 * Listing an uncompressed tar or a zip by random access: the video members with where their data
 * lies, the .json sidecars' text per sample key, and every problem as data. Member data other than
 * sidecars is never read, so a listing costs headers, whatever the archive's size.
 */

export interface ArchiveListing {
  videos: ArchiveMember[];
  /** Sample key -> sidecar member name -> JSON text. */
  sidecars: Map<string, Map<string, string>>;
  problems: ArchiveProblem[];
}

export interface ListOptions {
  isVideo(name: string): boolean;
  limits?: Partial<ArchiveLimits>;
  /**
   * Each sidecar's text as it is read, instead of keeping it in the listing (whose `sidecars` then
   * stays empty): a shard of 10,000 samples with yt-dlp's info in each sidecar holds hundreds of
   * MB of JSON, of which the caller wants an ID per sample. The total budget then does not apply.
   */
  onSidecar?: (key: string, name: string, text: string) => void;
}

/** Collects the listing, with the sidecar budget. */
class Listing implements ArchiveListing {
  videos: ArchiveMember[] = [];
  sidecars = new Map<string, Map<string, string>>();
  problems: ArchiveProblem[] = [];
  private sidecarBytes = 0;

  constructor(
    readonly archive: string,
    readonly limits: ArchiveLimits,
    private readonly onSidecar?: (key: string, name: string, text: string) => void,
  ) {}

  problem(member: string | undefined, message: string): void {
    this.problems.push(problem(this.archive, member, message));
  }

  /** Whether a sidecar of this size may be read; a problem when not. */
  sidecarFits(member: string, size: number): boolean {
    if (size > this.limits.maxSidecarBytes) {
      this.problem(member, `sidecar of ${bytes(size)}, more than the limit of ${bytes(this.limits.maxSidecarBytes)}; not read`);
      return false;
    }
    if (this.onSidecar === undefined && this.sidecarBytes + size > this.limits.maxSidecarTotalBytes) {
      this.problem(member, `sidecars of this archive exceed ${bytes(this.limits.maxSidecarTotalBytes)} in all; not read`);
      return false;
    }
    this.sidecarBytes += size;
    return true;
  }

  addSidecar(key: string, name: string, text: string): void {
    if (this.onSidecar !== undefined) {
      this.onSidecar(key, name, text);
      return;
    }
    let byName = this.sidecars.get(key);
    if (byName === undefined) this.sidecars.set(key, (byName = new Map()));
    byName.set(name, text);
  }

  memberFits(member: string, size: number): boolean {
    if (size <= this.limits.maxMemberBytes) return true;
    this.problem(member, `member of ${bytes(size)}, more than the limit of ${bytes(this.limits.maxMemberBytes)}; skipped`);
    return false;
  }
}

/**
 * Lists a .tar or .zip archive (a .tar.gz has no random access: streamArchive reads it). Throws a
 * VdedupError only when the file is missing or not a tar/zip at all.
 */
export async function listArchive(archive: string, opts: ListOptions): Promise<ArchiveListing> {
  const kind = requireKind(archive);
  if (kind === 'tar.gz') throw new VdedupError('INVALID_ARGUMENT', 'a compressed tar has no random access: read it with streamArchive', { file: archive });
  const { handle, size } = await openArchive(archive);
  const reader = new RandomReader(handle, size);
  const listing = new Listing(archive, withDefaults(opts.limits), opts.onSidecar);
  try {
    if (kind === 'tar') await listTar(reader, listing, new MemberJudge(opts.isVideo));
    else await listZip(reader, listing, new MemberJudge(opts.isVideo));
  } catch (err) {
    if (err instanceof NotTar || err instanceof ZipUnreadable) {
      const code = err instanceof ZipUnreadable && err.truncated ? 'TRUNCATED_MEDIA' : 'INVALID_MEDIA';
      throw new VdedupError(code, err.message, { file: archive, cause: err });
    }
    throw err;
  } finally {
    await handle.close();
  }
  return { videos: listing.videos, sidecars: listing.sidecars, problems: listing.problems };
}

/**
 * The members of a walk (tar headers, zip central directory) the scan uses, videos and sidecars,
 * each with its verdict; the walk's problems and the judge's go to the listing.
 */
async function* usedMembers<E extends { name: string; type: Parameters<MemberJudge['judge']>[1] }>(
  steps: AsyncIterable<{ kind: 'entry'; entry: E } | { kind: 'problem'; member?: string; message: string }>,
  listing: Listing,
  judge: MemberJudge,
): AsyncGenerator<{ entry: E; verdict: Extract<Verdict, { use: 'video' | 'sidecar' }> }> {
  for await (const step of steps) {
    if (step.kind === 'problem') {
      listing.problem(step.member, step.message);
      continue;
    }
    const { entry } = step;
    const verdict = judge.judge(entry.name, entry.type);
    if (verdict.use === 'problem') listing.problem(entry.name, verdict.message);
    if (verdict.use === 'video' || verdict.use === 'sidecar') yield { entry, verdict };
  }
}

async function listTar(reader: RandomReader, listing: Listing, judge: MemberJudge): Promise<void> {
  for await (const { entry, verdict } of usedMembers(tarEntriesAt(reader, listing.limits.maxMembers), listing, judge)) {
    if (verdict.use === 'video' && listing.memberFits(entry.name, entry.size)) {
      listing.videos.push({ name: verdict.name, key: verdict.key, size: entry.size, offset: entry.dataOffset });
    }
    if (verdict.use === 'sidecar' && listing.sidecarFits(entry.name, entry.size)) {
      const text = (await reader.read(entry.dataOffset, entry.size)).toString('utf8');
      listing.addSidecar(verdict.key, verdict.name, text);
    }
  }
}

interface ZipCandidate {
  entry: ZipEntry;
  use: 'video' | 'sidecar';
  name: string;
  key: string;
  dataOffset: number;
  problem?: string;
}

/** Why a zip entry's data cannot be used as declared, before its local header is read. */
function zipRefusal(entry: ZipEntry, limits: ArchiveLimits): string | undefined {
  if ((entry.flags & ENCRYPTED_FLAGS) !== 0) return 'encrypted; skipped';
  if (entry.method !== 0 && entry.method !== 8) return `compression method ${entry.method} not supported (only stored and deflate); skipped`;
  if (entry.method === 0 && entry.compressedSize !== entry.size) {
    return `stored, but ${bytes(entry.compressedSize)} stored for ${bytes(entry.size)} declared; skipped`;
  }
  if (entry.method === 8 && entry.size > limits.ratioFloorBytes && entry.size > limits.maxRatio * entry.compressedSize) {
    return `declares ${bytes(entry.size)} from ${bytes(entry.compressedSize)}, a ratio above ${limits.maxRatio}; skipped`;
  }
  return undefined;
}

async function listZip(reader: RandomReader, listing: Listing, judge: MemberJudge): Promise<void> {
  const candidates: ZipCandidate[] = [];
  for await (const { entry, verdict } of usedMembers(zipEntries(reader, listing.limits.maxMembers), listing, judge)) {
    const refusal = zipRefusal(entry, listing.limits);
    if (refusal !== undefined) {
      listing.problem(entry.name, refusal);
      continue;
    }
    if (!listing.memberFits(entry.name, entry.size)) continue;
    const dataOffset = await zipDataOffset(reader, entry);
    if (typeof dataOffset === 'string') listing.problem(entry.name, dataOffset);
    else candidates.push({ entry, use: verdict.use, name: verdict.name, key: verdict.key, dataOffset });
  }
  markOverlaps(candidates);
  for (const c of candidates) {
    if (c.problem !== undefined) listing.problem(c.entry.name, c.problem);
    else if (c.use === 'video') listing.videos.push(zipMember(c));
    else if (listing.sidecarFits(c.entry.name, c.entry.size)) {
      const text = await readZipSidecar(reader, c, listing.limits.maxSidecarBytes);
      if (typeof text === 'string') listing.addSidecar(c.key, c.name, text);
      else listing.problem(c.entry.name, text.problem);
    }
  }
}

/**
 * The classic zip bomb has many entries share one run of compressed data. A real zip's members
 * (local header to end of data) never overlap: of overlapping ones, the one starting first is
 * kept, the others are problems.
 */
function markOverlaps(candidates: ZipCandidate[]): void {
  const byStart = [...candidates].sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  let reach: ZipCandidate | undefined;
  for (const c of byStart) {
    const end = c.dataOffset + c.entry.compressedSize;
    if (reach !== undefined && c.entry.localHeaderOffset < reach.dataOffset + reach.entry.compressedSize) {
      c.problem = `overlaps member ${reach.name} (zip bomb?); skipped`;
      continue;
    }
    if (reach === undefined || end > reach.dataOffset + reach.entry.compressedSize) reach = c;
  }
}

function zipMember(c: ZipCandidate): ArchiveMember {
  const base = { name: c.name, key: c.key, size: c.entry.size };
  if (c.entry.method === 0) return { ...base, offset: c.dataOffset };
  return { ...base, deflated: { offset: c.dataOffset, compressedSize: c.entry.compressedSize, crc32: c.entry.crc32 } };
}

/** A small zip member's text, checked against its declared size and CRC. */
async function readZipSidecar(reader: RandomReader, c: ZipCandidate, maxBytes: number): Promise<string | { problem: string }> {
  const { entry } = c;
  // Deflate adds at most a few bytes per 16 KiB block to incompressible data.
  if (entry.compressedSize > maxBytes + 64 * 1024) return { problem: `sidecar of ${bytes(entry.compressedSize)} compressed; not read` };
  const raw = await reader.read(c.dataOffset, entry.compressedSize);
  let data: Buffer;
  try {
    data = entry.method === 0 ? raw : inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
  } catch (err) {
    return { problem: `sidecar unreadable: ${(err as Error).message.split('\n')[0]}` };
  }
  if (data.length !== entry.size) return { problem: `sidecar holds ${bytes(data.length)}, ${bytes(entry.size)} declared` };
  if (crc32(data) !== entry.crc32) return { problem: 'sidecar CRC-32 mismatch: the data is damaged' };
  return data.toString('utf8');
}
