import type { Redis } from 'ioredis';
import { DEFAULT } from '../decontam/presets.js';
import { fingerprintKey } from '../fingerprint/cached.js';
import { VdedupError } from '../errors.js';

/**
 * Samples per second of a member's fingerprint: a collection is a benchmark side, so its members
 * carry the default preset's sub-second phases (a preset with fewer reads the frames it needs).
 */
export const MEMBER_FPS = DEFAULT.benchPhases;

/** The store key of a video as a collection member (what its add job and the member record use). */
export function memberKey(file: string): Promise<string> {
  return fingerprintKey(file, false, MEMBER_FPS);
}

/**
 * Collections: named sets of fingerprinted videos to check against (one per benchmark, say).
 * Membership lives in Redis (atomic across API and worker machines); the fingerprints
 * themselves live in the content-keyed store on the shared data volume. The API and the workers
 * both read it (src/service: what they share).
 */
export interface CollectionMember {
  /** Unique within the collection; shown as `bench` in matches. */
  id: string;
  key: string;
  duration: number;
  /** Seconds sampled (1 fps frames); the fingerprint holds `fps` samples per second. */
  frames: number;
  fps?: number;
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
