import { mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { extractMember, safeExtension, streamArchive } from '../media/archive/index.js';
import { VdedupError } from '../errors.js';
import type { VideoInput } from '../media/input.js';
import { isVideoName, type CorpusMember } from './archive-inputs.js';
import type { VideoItem } from './inputs.js';

/**
 * Archive members that cannot be read in place, as temporary files: a deflated zip member is
 * inflated on its own; the members of a .tar.gz come from one pass over its gzip stream, which has
 * no random access. Requests for one archive arrive in member order (the scan starts its items in
 * order), so the pass hands each member to the task that asked for it and keeps at most `ahead`
 * members on disk per archive (handed over or waiting to be asked for). Every file is deleted when
 * its task releases it, and the private directory when the scan closes this.
 */

export interface MemberFile {
  file: string;
  /** Deletes the file; call once the member is fingerprinted (or failed). */
  release(): Promise<void>;
}

interface Waiter {
  resolve(f: MemberFile): void;
  reject(err: unknown): void;
}

/** One .tar.gz read once, front to back, its members handed to the tasks that ask for them. */
class StreamedArchive {
  private readonly waiting = new Map<number, Waiter>();
  private readonly held = new Map<number, string>();
  private highestAsked = -1;
  private outstanding = 0;
  private wakeStream: (() => void) | undefined;
  private failure: unknown;
  private ended = false;
  private started = false;
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly archive: string,
    private readonly tmpDir: string,
    private readonly dir: string,
    private readonly ahead: number,
    /** The archive's video members by name, with their order in it. */
    private readonly ordinals: Map<string, number>,
  ) {}

  request(member: CorpusMember): Promise<MemberFile> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.highestAsked = Math.max(this.highestAsked, member.ordinal);
    // Members before this one that nobody asked for never will be: their files go.
    for (const [ordinal, file] of this.held) if (ordinal < member.ordinal && !this.waiting.has(ordinal)) this.drop(ordinal, file);
    const ready = this.held.get(member.ordinal);
    if (ready !== undefined) {
      this.held.delete(member.ordinal);
      return Promise.resolve(this.handOut(ready));
    }
    if (this.ended) return Promise.reject(new VdedupError('INVALID_MEDIA', 'member not found when the archive was read again (did it change during the scan?)', { file: `${this.archive}#${member.name}` }));
    const p = new Promise<MemberFile>((resolve, reject) => this.waiting.set(member.ordinal, { resolve, reject }));
    if (!this.started) this.start();
    return p;
  }

  private handOut(file: string): MemberFile {
    let released = false;
    return {
      file,
      release: async () => {
        if (released) return;
        released = true;
        await rm(file, { force: true });
        this.outstanding--;
        this.wake();
      },
    };
  }

  private drop(ordinal: number, file: string): void {
    this.held.delete(ordinal);
    this.outstanding--;
    void rm(file, { force: true });
    this.wake();
  }

  private wake(): void {
    const w = this.wakeStream;
    this.wakeStream = undefined;
    w?.();
  }

  private start(): void {
    this.started = true;
    let count = 0;
    this.done = streamArchive(this.archive, {
      tmpDir: this.tmpDir,
      isVideo: isVideoName,
      // The listing already reported every problem of these bytes.
      onProblem: () => {},
      onGroup: async (g) => {
        if (g.video === undefined) return;
        const ordinal = this.ordinals.get(g.video.name);
        if (ordinal === undefined || (ordinal < this.highestAsked && !this.waiting.has(ordinal))) return;
        // Taken out of the stream's hands (it deletes its copy when this returns).
        const mine = path.join(this.dir, `${++count}${path.extname(g.video.file)}`);
        await rename(g.video.file, mine);
        this.outstanding++;
        const waiter = this.waiting.get(ordinal);
        if (waiter !== undefined) {
          this.waiting.delete(ordinal);
          waiter.resolve(this.handOut(mine));
        } else this.held.set(ordinal, mine);
        while (this.outstanding >= this.ahead && !this.stopped) await new Promise<void>((resolve) => (this.wakeStream = resolve));
        if (this.stopped) throw new VdedupError('ABORTED', 'the scan ended', { file: this.archive });
      },
    }).then(
      () => this.finish(undefined),
      (err: unknown) => this.finish(err),
    );
  }

  /** Ends the pass (the scan is over): the stream stops at its next member and cleans up. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.done;
  }

  private finish(err: unknown): void {
    this.ended = true;
    if (err !== undefined) this.failure = err;
    for (const [ordinal, w] of this.waiting) {
      w.reject(err ?? new VdedupError('INVALID_MEDIA', 'member not found when the archive was read again (did it change during the scan?)', { file: `${this.archive}#${ordinal}` }));
    }
    this.waiting.clear();
  }
}

/** The temporary files of one scan's archive members. */
export class MemberFiles {
  private dir: Promise<string> | undefined;
  private readonly streams = new Map<string, StreamedArchive>();
  private inflated = 0;

  /**
   * @param tmpDir where the private directory is made
   * @param ahead members of one .tar.gz on disk at once (the scan's concurrency plus one keeps every task fed)
   * @param membersOf the video member names of each .tar.gz, in order (from the listing)
   */
  constructor(
    private readonly tmpDir: string,
    private readonly ahead: number,
    private readonly membersOf: (archive: string) => Map<string, number>,
  ) {}

  private privateDir(): Promise<string> {
    this.dir ??= mkdtemp(path.join(this.tmpDir, 'vdedup-members-'));
    return this.dir;
  }

  async open(member: CorpusMember): Promise<MemberFile> {
    const dir = await this.privateDir();
    if (member.kind === 'tar.gz') {
      let s = this.streams.get(member.archive);
      if (s === undefined) {
        s = new StreamedArchive(member.archive, this.tmpDir, dir, this.ahead, this.membersOf(member.archive));
        this.streams.set(member.archive, s);
      }
      return s.request(member);
    }
    if (member.deflated === undefined) throw new VdedupError('INVALID_ARGUMENT', 'a member stored in place needs no temporary file', { file: `${member.archiveName}#${member.name}` });
    const file = path.join(dir, `z${++this.inflated}${safeExtension(member.name)}`);
    try {
      await extractMember(member.archive, { name: member.name, key: member.key, size: member.size, deflated: member.deflated }, file);
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
    return { file, release: () => rm(file, { force: true }) };
  }

  /** Removes every temporary file left (a scan that stopped early). */
  async close(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    if (this.dir !== undefined) await rm(await this.dir, { recursive: true, force: true });
  }
}

/** The video members of each streamed archive (.tar.gz) among `items`, by name, with their order in the archive. */
export function streamedMembers(items: Iterable<VideoItem>): (archive: string) => Map<string, number> {
  const byArchive = new Map<string, Map<string, number>>();
  for (const { member } of items) {
    if (member?.kind !== 'tar.gz') continue;
    let names = byArchive.get(member.archive);
    if (names === undefined) byArchive.set(member.archive, (names = new Map()));
    names.set(member.name, member.ordinal);
  }
  return (archive) => byArchive.get(archive) ?? new Map();
}

/** A member's identity across a scan (and a service scan's jobs): its archive's absolute path and its name. */
export const memberIdentity = (m: Pick<CorpusMember, 'archive' | 'name'>) => `${m.archive}#${m.name}`;

/**
 * What fingerprinting reads for an item: its file, an archive member's bytes in place, or a
 * temporary copy (`release` deletes it). A streamed member is asked for before anything is
 * awaited: call this first, so that a .tar.gz pass serves members in the order items start.
 */
async function itemInput(item: VideoItem, files: MemberFiles | undefined): Promise<{ input: VideoInput; release?: () => Promise<void> }> {
  const { member } = item;
  if (member === undefined) {
    if (item.path === undefined) throw new VdedupError('FILE_NOT_FOUND', 'no file for this entry (a YouTube ID only)', { file: item.id });
    return { input: item.path };
  }
  if (member.offset !== undefined) return { input: { file: member.archive, offset: member.offset, size: member.size, name: item.id } };
  if (files === undefined) throw new VdedupError('INVALID_ARGUMENT', 'no temporary space for archive members', { file: item.id });
  const got = await files.open(member);
  return { input: got.file, release: got.release };
}

/**
 * `use` on what fingerprinting reads for an item (`itemInput`), a temporary copy deleted after.
 * Call it before awaiting anything else (a .tar.gz pass serves members in the order items start).
 */
export async function withItemInput<T>(item: VideoItem, files: MemberFiles | undefined, use: (input: VideoInput) => Promise<T>): Promise<T> {
  const { input, release } = await itemInput(item, files);
  try {
    return await use(input);
  } finally {
    await release?.();
  }
}
