import type { VideoInput } from '../media/input.js';
import type { CachedFingerprint } from '../fingerprint/cached.js';
import type { Fingerprint, FingerprintOptions } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import type { BenchMatcher } from '../scan/matcher.js';
import type { MatchSettings } from '../scan/settings.js';
import type { DataDirState } from '../config/data-dir.js';
import type { ServiceConfig } from '../config/service.js';
import type { CollectionMember, CollectionRegistry } from '../jobs/collection-registry.js';
import type { Producer } from '../jobs/producer.js';

/** What the use cases that take requests work with: the settings, and the queues through the producer. */
export interface RequestDeps {
  config: ServiceConfig;
  producer: Producer;
}

/** A collection ready to match against, at one version. */
export interface LoadedCollection {
  name: string;
  version: number;
  /** Every member, in the order of `fingerprints` and of the matcher's benchmark videos. */
  members: CollectionMember[];
  fingerprints: Fingerprint[];
  matcher: BenchMatcher;
}

export interface RefingerprintOptions {
  signal?: AbortSignal | undefined;
  threads?: number;
}

/** A member's fingerprint and the frames decoded to get it; or why there is none usable. */
export type MemberFingerprint = { fp: Fingerprint; framesDecoded: number } | { problem: string };

/** The collections a worker matches against, kept per collection version (worker/collection-matchers.ts). */
export interface CollectionMatcherSource {
  /** The collection's matcher at its current version: every member, or COLLECTION_INCOMPLETE. */
  load(name: string, settings: MatchSettings): Promise<LoadedCollection>;
  /** One member's fingerprint, as a scan reads a collection side (recovered when Redis lost it). */
  member(name: string, member: CollectionMember, options: RefingerprintOptions): Promise<MemberFingerprint>;
}

/** What the use cases that run jobs work with (a worker process provides them). */
export interface RunDeps {
  config: ServiceConfig;
  store: FingerprintStore;
  registry: CollectionRegistry;
  /** Fingerprint a file through the store, decoded once per content key however many jobs ask at once. */
  fingerprint: (input: VideoInput, options?: FingerprintOptions) => Promise<CachedFingerprint>;
  matchers: CollectionMatcherSource;
  /** Whether this process's VDEDUP_DATA_DIR is the API's (uploads, frames and evidence strips need it). */
  dataDir: () => Promise<DataDirState>;
}
