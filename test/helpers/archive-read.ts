import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { problemLine, streamArchive, type ArchiveLimits, type ArchiveMember, type ArchiveProblem } from '../../src/media/archive/index.js';

/** Reading back what the archive layer reports, for the archive tests. */

export const isVideo = (name: string) => /\.(mp4|webm)$/i.test(name);

/** Problem lines without the archive's path in front. */
export const lines = (archive: string, problems: ArchiveProblem[]) => problems.map((p) => problemLine(p).replace(`${archive}: `, ''));

/** The bytes a listed member says it holds in place. */
export async function bytesAt(archive: string, m: ArchiveMember): Promise<Buffer> {
  const h = await open(archive, 'r');
  try {
    const buf = Buffer.alloc(m.size);
    await h.read(buf, 0, m.size, m.offset!);
    return buf;
  } finally {
    await h.close();
  }
}

/**
 * Streams an archive into a fresh tmpDir under `dir`: the groups (video content included), the
 * problems, and what was left in the tmpDir afterwards (should be nothing).
 */
export async function streamed(dir: string, archive: string, lim?: Partial<ArchiveLimits>) {
  const tmpDir = await mkdtemp(path.join(dir, 'tmp-'));
  const groups: { key: string; video?: string; data?: Buffer; sidecars: string[] }[] = [];
  const problems: ArchiveProblem[] = [];
  await streamArchive(archive, {
    tmpDir,
    isVideo,
    limits: lim,
    onProblem: (p) => problems.push(p),
    onGroup: async (g) => {
      // Temporary names are generated: a counter and the member's extension, never its name.
      if (g.video) expect(path.basename(g.video.file)).toMatch(/^\d+\.(mp4|webm)$/);
      groups.push({ key: g.key, sidecars: [...g.sidecars.keys()], ...(g.video ? { video: g.video.name, data: await readFile(g.video.file) } : {}) });
    },
  });
  const left = await readdir(tmpDir, { recursive: true });
  await rm(tmpDir, { recursive: true });
  return { groups, problems, lines: lines(archive, problems), left };
}
