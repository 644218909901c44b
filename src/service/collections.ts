import type { Redis } from 'ioredis';
import { BenchMatcher } from './matcher.js';
import type { Preset } from './presets.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { VdedupError } from '../errors.js';

/**
 * Collections: named sets of fingerprinted videos to check against (one per benchmark, say).
 * Membership lives in Redis (atomic across API and worker machines); the fingerprints
 * themselves live in the content-keyed store on the shared data volume.
 */
export interface CollectionMember {
  /** Unique within the collection; shown as `bench` in matches. */
  id: string;
  key: string;
  duration: number;
  frames: number;
  addedAt: string;
  /** From the file name or the benchmark's metadata: scans against the collection match it first. */
  youtubeId?: string;
  youtubeIdSource?: 'manifest' | 'file name';
  /**
   * The server path it was added from (absent for uploads, which are deleted once fingerprinted):
   * scans use it for evidence strips, and to decode again a fingerprint that left the store.
   */
  path?: string;
}

export interface CollectionSummary {
  name: string;
  videos: number;
  /** Bumped on every change: a check job id carries it, so a stale result is never reused. */
  version: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkCollectionName(name: string): string {
  if (!NAME.test(name)) throw new VdedupError('INVALID_ARGUMENT', `collection name must be 1-64 of [A-Za-z0-9_-], got "${name}"`);
  return name;
}

/** The replies of a MULTI ... EXEC, or the first command's error (ioredis reports them per command). */
function resultsOf(r: Array<[Error | null, unknown]> | null): Array<[Error | null, unknown]> {
  if (r === null) throw new Error('Redis transaction aborted');
  const err = r.find(([e]) => e !== null)?.[0];
  if (err) throw err;
  return r;
}

export class CollectionRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private membersKey(name: string) {
    return `${this.prefix}:collection:${name}:videos`;
  }
  private versionKey(name: string) {
    return `${this.prefix}:collection:${name}:version`;
  }
  private get namesKey() {
    return `${this.prefix}:collections`;
  }

  async add(name: string, member: CollectionMember): Promise<number> {
    checkCollectionName(name);
    const r = await this.redis
      .multi()
      .sadd(this.namesKey, name)
      .hset(this.membersKey(name), member.id, JSON.stringify(member))
      .incr(this.versionKey(name))
      .exec();
    return Number(resultsOf(r)[2]![1]);
  }

  /**
   * Remove one member; undefined when there is no such member. The version goes up, so no check
   * result computed with the member is reused.
   */
  async removeMember(name: string, id: string): Promise<{ member: CollectionMember; version: number } | undefined> {
    const raw = await this.redis.hget(this.membersKey(name), id);
    if (raw === null) return undefined;
    const r = resultsOf(await this.redis.multi().hdel(this.membersKey(name), id).incr(this.versionKey(name)).exec());
    return { member: JSON.parse(raw) as CollectionMember, version: Number(r[1]![1]) };
  }

  /**
   * Remove a collection and its members (their fingerprints stay in the store: other collections
   * and scans may share them); undefined when there is no such collection. The version key is
   * kept and goes up, so a collection created again under the name never meets old check results.
   */
  async remove(name: string): Promise<CollectionMember[] | undefined> {
    const r = resultsOf(
      await this.redis
        .multi()
        .srem(this.namesKey, name)
        .hgetall(this.membersKey(name))
        .del(this.membersKey(name))
        .incr(this.versionKey(name))
        .exec(),
    );
    if (r[0]![1] !== 1) return undefined;
    return Object.values(r[1]![1] as Record<string, string>).map((v) => JSON.parse(v) as CollectionMember);
  }

  async version(name: string): Promise<number> {
    return Number((await this.redis.get(this.versionKey(name))) ?? 0);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.redis.sismember(this.namesKey, name)) === 1;
  }

  async list(): Promise<CollectionSummary[]> {
    const names = (await this.redis.smembers(this.namesKey)).sort();
    return Promise.all(
      names.map(async (name) => ({ name, videos: await this.redis.hlen(this.membersKey(name)), version: await this.version(name) })),
    );
  }

  /** Members sorted by id, and the version they belong to (read in one transaction). */
  async get(name: string): Promise<{ name: string; version: number; videos: CollectionMember[] } | undefined> {
    const r = await this.redis.multi().sismember(this.namesKey, name).hgetall(this.membersKey(name)).get(this.versionKey(name)).exec();
    if (r === null || r[0]![1] !== 1) return undefined;
    const hash = r[1]![1] as Record<string, string>;
    const videos = Object.values(hash)
      .map((v) => JSON.parse(v) as CollectionMember)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { name, version: Number(r[2]![1] ?? 0), videos };
  }
}

export interface LoadedCollection {
  name: string;
  version: number;
  members: CollectionMember[];
  fingerprints: Fingerprint[];
  matcher: BenchMatcher;
  /** Members whose fingerprint is not in this machine's store (data volume not shared?). */
  missing: string[];
}

/**
 * Per worker process: the matcher of each collection at its current version, built once from
 * the store and reused by every check until the collection changes.
 */
export class CollectionMatchers {
  private readonly cache = new Map<string, Promise<LoadedCollection>>();

  constructor(
    private readonly registry: CollectionRegistry,
    private readonly store: FingerprintStore,
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
      loaded.catch(() => this.cache.delete(cacheKey));
    }
    return loaded;
  }

  private async build(name: string, preset: Preset): Promise<LoadedCollection> {
    const got = await this.registry.get(name);
    if (got === undefined) throw new VdedupError('INVALID_ARGUMENT', `no collection named "${name}" (add videos with POST /v1/collections/${name}/videos)`);
    const members: CollectionMember[] = [];
    const fingerprints: Fingerprint[] = [];
    const missing: string[] = [];
    for (const m of got.videos) {
      const fp = await this.store.get(m.key);
      if (fp === undefined) missing.push(m.id);
      else {
        members.push(m);
        fingerprints.push(fp);
      }
    }
    return { name, version: got.version, members, fingerprints, matcher: new BenchMatcher(fingerprints, preset), missing };
  }
}
