/**
 * The shapes the archive layer hands to the scan, and the limits that bound what a hostile archive
 * can cost. Members are named by their (normalised) name inside the archive; nothing here ever
 * becomes a path on disk.
 */

export type ArchiveKind = 'tar' | 'tar.gz' | 'zip';

/** A video member found by a listing. */
export interface ArchiveMember {
  /** Normalised member name (no `./`, no empty components, `/` separators). */
  name: string;
  /** WebDataset sample key (`webdatasetKey(name)`). */
  key: string;
  /** Size of the member's data, uncompressed. */
  size: number;
  /** Stored data in place: bytes [offset, offset + size) of the archive file. */
  offset?: number;
  /** Deflated zip data: extractMember inflates bytes [offset, offset + compressedSize). */
  deflated?: { offset: number; compressedSize: number; crc32: number };
}

/** One thing wrong with an archive or one of its members: data, never thrown. */
export interface ArchiveProblem {
  archive: string;
  /** The member's name as stored (control characters escaped), when the problem is about one. */
  member?: string;
  /** One line, no newline. */
  message: string;
}

export interface ArchiveLimits {
  /** A member larger than this is a problem (its data is never read). */
  maxMemberBytes: number;
  /** Decompressed bytes per compressed byte, checked once past ratioFloorBytes. */
  maxRatio: number;
  ratioFloorBytes: number;
  /** Members (headers or central directory entries) read before the listing stops. */
  maxMembers: number;
  /** A .json sidecar larger than this is a problem, not read. */
  maxSidecarBytes: number;
  /** Sidecar text a listing keeps in all; past it further sidecars are problems. */
  maxSidecarTotalBytes: number;
}

/**
 * - member 64 GiB: hours of high-bitrate 4K fit; anything larger in a training corpus is a mistake
 *   or an attack on the temp disk.
 * - ratio 100 past 256 MiB: video is already compressed, so gzip/deflate of a real corpus gains a few
 *   percent (ratio near 1); json and text reach 10-20. 100 leaves a wide margin, and the floor lets
 *   small, very compressible members (a megabyte of zeros) through, while a bomb is stopped after
 *   256 MiB of output instead of filling the disk.
 * - members 1 million: a WebDataset shard holds about 10 thousand samples (3 members each); a million
 *   is far beyond a real archive and keeps the per-member bookkeeping (names for the duplicate check,
 *   offsets) near 100 MB.
 * - sidecar 1 MiB: video2dataset's json with a full yt-dlp info dict is tens of KB.
 * - sidecar total 256 MiB: a listing keeps sidecar text for the whole archive; this bounds it.
 */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxMemberBytes: 64 * 2 ** 30,
  maxRatio: 100,
  ratioFloorBytes: 256 * 2 ** 20,
  maxMembers: 1_000_000,
  maxSidecarBytes: 2 ** 20,
  maxSidecarTotalBytes: 256 * 2 ** 20,
});

/** The limits given, each missing field from the defaults. */
export function withDefaults(limits: Partial<ArchiveLimits> | undefined): ArchiveLimits {
  return { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
}
