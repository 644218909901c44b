import type { Logger } from 'pino';
import type { CollectionMatcherSource, LoadedCollection, MemberFingerprint, RefingerprintOptions } from '../app/deps.js';
import { BenchMatcher } from '../scan/matcher.js';
import type { MatchSettings } from '../scan/settings.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import { fingerprintKey, isEarlierKey } from '../fingerprint/cached.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { MEMBER_FPS, type CollectionMember, type CollectionRegistry } from '../jobs/collection-registry.js';
import { VdedupError } from '../errors.js';

interface Refingerprinted {
  key: string;
  fingerprint: Fingerprint;
  /** True when nothing was decoded (the store had it). */
  fromStore: boolean;
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
export class CollectionMatchers implements CollectionMatcherSource {
  private readonly cache = new Map<string, Promise<LoadedCollection>>();

  constructor(
    private readonly registry: CollectionRegistry,
    private readonly store: FingerprintStore,
    /** Fingerprint a member again from its file at `fps` (through the store, once per content key). */
    private readonly refingerprint: (path: string, fps: number, options: RefingerprintOptions) => Promise<Refingerprinted>,
    private readonly logger?: Logger,
  ) {}

  async load(name: string, settings: MatchSettings): Promise<LoadedCollection> {
    const version = await this.registry.version(name);
    // The same collection matched another way (another preset, say) is another matcher.
    const matching = `${name}\u0000${settings.preset.name}\u0000${settings.exact}\u0000${settings.prefilter}\u0000${settings.kernel ?? ''}\u0000`;
    const cacheKey = `${matching}${version}`;
    let loaded = this.cache.get(cacheKey);
    if (loaded === undefined) {
      loaded = this.build(name, settings);
      // Older versions of this collection are dropped: only the newest is ever asked for again.
      for (const k of this.cache.keys()) if (k.startsWith(matching)) this.cache.delete(k);
      this.cache.set(cacheKey, loaded);
      // A failed load (a member missing, say) is never reused: the next check tries again.
      loaded.catch(() => this.cache.delete(cacheKey));
    }
    return loaded;
  }

  private async build(name: string, settings: MatchSettings): Promise<LoadedCollection> {
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
      const got = await this.recover(name, m, inRedis.problem, {}).catch(
        (err: unknown) => ({ problem: `${inRedis.problem}; its file could not be fingerprinted again (${(err as Error).message.split('\n')[0]})` }),
      );
      if ('problem' in got) missing.push({ id: m.id, problem: got.problem });
      else fingerprints.push(got.fp);
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
    return { name, version: got.version, members: got.videos, fingerprints, matcher: new BenchMatcher(fingerprints, settings) };
  }

  /**
   * One member's fingerprint, as a scan reads a collection side: Redis's, else recovered like a
   * check's (see `recover`). Throws only when decoding the member's file fails.
   */
  async member(name: string, m: CollectionMember, options: RefingerprintOptions): Promise<MemberFingerprint> {
    const [held] = await this.registry.fingerprints(name, [m]);
    if (held !== undefined && !('problem' in held)) return { fp: held, framesDecoded: 0 };
    return this.recover(name, m, held?.problem ?? 'no fingerprint in Redis', options);
  }

  /**
   * A member whose fingerprint Redis lacks or holds damaged (`problem`): taken from this worker's
   * store, or decoded again from its path (a member an earlier version added is then upgraded to
   * this version's fingerprint), and put back in Redis; else why not (an upload, or a file changed
   * since it was added). Throws only when decoding the member's file fails.
   */
  private async recover(name: string, m: CollectionMember, problem: string, options: RefingerprintOptions): Promise<MemberFingerprint> {
    let got: { fp: Fingerprint; framesDecoded: number };
    let upgraded = false;
    const stored = await this.store.get(m.key).catch(() => undefined);
    if (stored !== undefined) {
      got = { fp: { ...stored, file: m.id }, framesDecoded: 0 };
    } else if (m.path === undefined) {
      return { problem: `${problem}; it was uploaded, so there is no file to fingerprint again` };
    } else {
      const fps = m.fps ?? MEMBER_FPS;
      // Another key: the file at the member's path is another video now (its fingerprint is not
      // the member's), or the member was added by an earlier version under that version's key (the
      // same file: its fingerprint is the member's, now with everything this version hashes).
      // Checked from the keys, before decoding: a changed file is not decoded for nothing.
      const key = await fingerprintKey(m.path, false, fps);
      if (key !== m.key && !(await isEarlierKey(m.path, m.key, false, fps).catch(() => false))) {
        return { problem: `${problem}; the file at its path changed since it was added` };
      }
      const r = await this.refingerprint(m.path, fps, options);
      got = { fp: { ...r.fingerprint, file: m.id }, framesDecoded: r.fromStore ? 0 : r.fingerprint.frameCount };
      upgraded = r.key !== m.key;
    }
    const restored = await this.registry.restoreFingerprint(name, m, got.fp).catch(() => false);
    this.logger?.warn({ collection: name, member: m.id, problem, restored, upgraded }, 'collection member fingerprint recovered');
    return got;
  }
}
