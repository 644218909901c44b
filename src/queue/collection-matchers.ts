import { BenchMatcher } from '../decontam/matcher.js';
import type { Preset } from '../decontam/presets.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { MEMBER_FPS, type CollectionMember, type CollectionRegistry } from '../service/collections.js';
import type { Logger } from 'pino';
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
 * Per worker process: the matcher of each collection at its current version, built once from the
 * fingerprints Redis holds with the collection and reused by every check until the collection
 * changes. A check compares against every member or fails: a member whose fingerprint Redis lacks
 * (added before collections kept them) or holds damaged is taken from this worker's store or
 * fingerprinted again from the path it was added from, and put back in Redis; when neither can
 * be done (an upload), the check fails with COLLECTION_INCOMPLETE instead of answering for part
 * of the collection.
 */
export class CollectionMatchers {
  private readonly cache = new Map<string, Promise<LoadedCollection>>();

  constructor(
    private readonly registry: CollectionRegistry,
    private readonly store: FingerprintStore,
    /** Fingerprint a member again from its file at `fps` (through the store, once per content key). */
    private readonly refingerprint: (path: string, fps: number) => Promise<{ key: string; fingerprint: Fingerprint }>,
    private readonly logger?: Logger,
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
    const held = await this.registry.fingerprints(name, got.videos);
    const fingerprints: Fingerprint[] = [];
    const missing: Array<{ id: string; problem: string }> = [];
    for (const [i, m] of got.videos.entries()) {
      const inRedis = held[i]!;
      if (!('problem' in inRedis)) {
        fingerprints.push(inRedis);
        continue;
      }
      const fp = await this.recover(m);
      if (typeof fp === 'string') {
        missing.push({ id: m.id, problem: `${inRedis.problem}; ${fp}` });
        continue;
      }
      fingerprints.push(fp);
      const restored = await this.registry.restoreFingerprint(name, m, fp).catch(() => false);
      this.logger?.warn({ collection: name, member: m.id, problem: inRedis.problem, restored }, 'collection member fingerprint recovered');
    }
    if (missing.length > 0) {
      const listed =
        missing
          .slice(0, LISTED)
          .map((m) => `${m.id}: ${m.problem}`)
          .join('; ') + (missing.length > LISTED ? `; and ${missing.length - LISTED} more` : '');
      throw new VdedupError(
        'COLLECTION_INCOMPLETE',
        `collection "${name}": ${missing.length} of ${got.videos.length} members have no usable fingerprint and no file to fingerprint again (${listed}); ` +
          'nothing was compared: remove those videos from the collection and add them again',
      );
    }
    return { name, version: got.version, members: got.videos, fingerprints, matcher: new BenchMatcher(fingerprints, preset) };
  }

  /** A member's fingerprint from this worker's store, or decoded again from its path; else why not. */
  private async recover(m: CollectionMember): Promise<Fingerprint | string> {
    const stored = await this.store.get(m.key).catch(() => undefined);
    if (stored !== undefined) return { ...stored, file: m.id };
    if (m.path === undefined) return 'it was uploaded, so there is no file to fingerprint again';
    try {
      const r = await this.refingerprint(m.path, m.fps ?? MEMBER_FPS);
      // The file at the member's path is another video now: its fingerprint is not the member's.
      if (r.key !== m.key) return `the file at its path changed since it was added`;
      return { ...r.fingerprint, file: m.id };
    } catch (err) {
      return `its file could not be fingerprinted again (${(err as Error).message.split('\n')[0]})`;
    }
  }
}
