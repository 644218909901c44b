import type { Redis } from 'ioredis';
import { DEFAULT } from '../scan/presets.js';
import { fingerprintKey } from '../fingerprint/cached.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import { decodeFingerprint, encodeFingerprint } from '../fingerprint/store.js';
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
 * Everything a check or scan needs of a collection lives in Redis, which every API and worker
 * process reaches by construction: the members, and each member's fingerprint (the columns
 * matching reads, sub-second phases included; 48 bytes a sample, so about 0.7 MB per benchmark
 * hour at 4 samples a second). A worker never needs the disk of the worker that added a member.
 * The API and the workers both use this registry (src/jobs: the queue infrastructure they share).
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

/** Members whose fingerprints are read per Redis round trip. */
const FINGERPRINT_CHUNK = 32;

/** HSET of a member's fingerprint only while the member record names the same content key. */
const RESTORE = `local m = redis.call('hget', KEYS[1], ARGV[1])
if m and cjson.decode(m).key == ARGV[2] then redis.call('hset', KEYS[2], ARGV[1], ARGV[3]) return 1 end
return 0`;

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
  /** Member id -> its fingerprint, encoded without content rectangles (see encodeFingerprint). */
  private fingerprintsKey(name: string) {
    return `${this.prefix}:collection:${name}:fingerprints`;
  }
  private versionKey(name: string) {
    return `${this.prefix}:collection:${name}:version`;
  }
  private get namesKey() {
    return `${this.prefix}:collections`;
  }

  /** Add (or replace) a member with its fingerprint, in one transaction: a member never exists without it. */
  async add(name: string, member: CollectionMember, fingerprint: Fingerprint): Promise<number> {
    checkCollectionName(name);
    const r = await this.redis
      .multi()
      .sadd(this.namesKey, name)
      .hset(this.membersKey(name), member.id, JSON.stringify(member))
      .hset(this.fingerprintsKey(name), member.id, encodeFingerprint(member.key, fingerprint, { withContent: false }))
      .incr(this.versionKey(name))
      .exec();
    return Number(resultsOf(r)[3]![1]);
  }

  /**
   * The fingerprints of `members` as Redis holds them, in their order: a Fingerprint, or why there
   * is none usable (absent: the member was added before collections kept them; damaged; another video's).
   */
  async fingerprints(name: string, members: readonly CollectionMember[]): Promise<Array<Fingerprint | { problem: string }>> {
    const out: Array<Fingerprint | { problem: string }> = [];
    // Chunks keep each reply bounded (a member is ~0.7 MB per hour of video).
    for (let i = 0; i < members.length; i += FINGERPRINT_CHUNK) {
      const chunk = members.slice(i, i + FINGERPRINT_CHUNK);
      const raw = await this.redis.hmgetBuffer(this.fingerprintsKey(name), ...chunk.map((m) => m.id));
      chunk.forEach((m, j) => {
        const buf = raw[j];
        if (buf === null || buf === undefined) return out.push({ problem: 'no fingerprint in Redis' });
        try {
          const fp = decodeFingerprint(`collection ${name} member ${m.id}`, buf);
          if (fp.key !== m.key) return out.push({ problem: 'the fingerprint in Redis is of another video' });
          return out.push({ ...fp, file: m.id });
        } catch (err) {
          return out.push({ problem: `the fingerprint in Redis is damaged (${(err as Error).message})` });
        }
      });
    }
    return out;
  }

  /**
   * Put back a member's fingerprint that Redis lost or holds damaged (fingerprinted again from its
   * path, or found in a store). Written only while the member is still the same video (same
   * content key): a member removed or replaced meanwhile is left alone. True when written.
   */
  async restoreFingerprint(name: string, member: CollectionMember, fingerprint: Fingerprint): Promise<boolean> {
    const written = await this.redis.eval(
      RESTORE,
      2,
      this.membersKey(name),
      this.fingerprintsKey(name),
      member.id,
      member.key,
      encodeFingerprint(member.key, fingerprint, { withContent: false }),
    );
    return written === 1;
  }

  /**
   * Remove one member; undefined when there is no such member. The version goes up, so no check
   * result computed with the member is reused.
   */
  async removeMember(name: string, id: string): Promise<{ member: CollectionMember; version: number } | undefined> {
    const raw = await this.redis.hget(this.membersKey(name), id);
    if (raw === null) return undefined;
    const r = resultsOf(
      await this.redis.multi().hdel(this.membersKey(name), id).hdel(this.fingerprintsKey(name), id).incr(this.versionKey(name)).exec(),
    );
    return { member: JSON.parse(raw) as CollectionMember, version: Number(r[2]![1]) };
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
        .del(this.fingerprintsKey(name))
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
