import { BenchMatcher } from '../decontam/matcher.js';
import type { Preset } from '../decontam/presets.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import type { CollectionMember, CollectionRegistry } from '../service/collections.js';
import { VdedupError } from '../errors.js';

export interface LoadedCollection {
  name: string;
  version: number;
  /** Every member, in the order of `fingerprints` and of the matcher's benchmark videos. */
  members: CollectionMember[];
  fingerprints: Fingerprint[];
  matcher: BenchMatcher;
}

/** Members listed in an error: enough to act on, short enough for one line. */
const LISTED = 10;

/**
 * Per worker process: the matcher of each collection at its current version, built once from
 * the store and reused by every check until the collection changes. A check compares against
 * every member or fails: a member whose fingerprint is not in this worker's store is fingerprinted
 * again from the path it was added from, and when it has none (an upload), the check fails with
 * COLLECTION_INCOMPLETE instead of answering for part of the collection.
 */
export class CollectionMatchers {
  private readonly cache = new Map<string, Promise<LoadedCollection>>();

  constructor(
    private readonly registry: CollectionRegistry,
    private readonly store: FingerprintStore,
    /** Fingerprint a member again from its file at `fps` (through the store, once per content key). */
    private readonly refingerprint: (path: string, fps: number) => Promise<Fingerprint>,
  ) {}

  async load(name: string, preset: Preset): Promise<LoadedCollection> {
    const version = await this.registry.version(name);
    const cacheKey = `${name}\u0000${preset.name}\u0000${version}`;
    let loaded = this.cache.get(cacheKey);
    if (loaded === undefined) {
      loaded = this.build(name, preset);
      // Older versions of this collection are dropped: only the newest is ever asked for again.
      for (const k of this.cache.keys()) if (k.startsWith(`${name}\u0000${preset.name}\u0000`)) this.cache.delete(k);
      this.cache.set(cacheKey, loaded);
      // A failed load (a member missing, say) is never reused: the next check tries again.
      loaded.catch(() => this.cache.delete(cacheKey));
    }
    return loaded;
  }

  private async build(name: string, preset: Preset): Promise<LoadedCollection> {
    const got = await this.registry.get(name);
    if (got === undefined) throw new VdedupError('INVALID_ARGUMENT', `no collection named "${name}" (add videos with POST /v1/collections/${name}/videos)`);
    const fingerprints: Fingerprint[] = [];
    const missing: string[] = [];
    for (const m of got.videos) {
      const fp = (await this.store.get(m.key)) ?? (m.path === undefined ? undefined : await this.refingerprint(m.path, preset.benchPhases).catch(() => undefined));
      if (fp === undefined) missing.push(m.id);
      else fingerprints.push(fp);
    }
    if (missing.length > 0) {
      const listed = missing.slice(0, LISTED).join(', ') + (missing.length > LISTED ? `, and ${missing.length - LISTED} more` : '');
      throw new VdedupError(
        'COLLECTION_INCOMPLETE',
        `collection "${name}": ${missing.length} of ${got.videos.length} members have no fingerprint this worker can read (${listed}); ` +
          'nothing was compared: give every worker the same VDEDUP_DATA_DIR, or remove those videos from the collection and add them again',
      );
    }
    return { name, version: got.version, members: got.videos, fingerprints, matcher: new BenchMatcher(fingerprints, preset) };
  }
}
