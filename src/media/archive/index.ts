/**
 * Reading video corpora shipped as archives: WebDataset tar shards, .tar.gz/.tgz, .zip. Listings
 * (tar, zip) give each video's data in place; one streaming pass (tar.gz) hands each sample to the
 * caller with its video in a temporary file. Bad members are problems (data), never exceptions;
 * only an archive that cannot be read at all throws a VdedupError.
 */
export { archiveKind } from './open.js';
export { listArchive, type ArchiveListing, type ListOptions } from './list.js';
export { extractMember } from './extract.js';
export { listStream, streamArchive, type ArchiveGroup, type StreamOptions } from './stream.js';
export { webdatasetKey, problemLine, safeExtension } from './names.js';
export { youtubeIdFromSidecar } from './sidecar.js';
export { sidecarParquetFor, youtubeIdsFromParquet } from './parquet.js';
export { expandShardPattern } from './shards.js';
export { DEFAULT_ARCHIVE_LIMITS, type ArchiveKind, type ArchiveLimits, type ArchiveMember, type ArchiveProblem } from './types.js';
