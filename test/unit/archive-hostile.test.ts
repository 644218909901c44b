import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, link, writeFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listArchive } from '../../src/media/archive/index.js';
import { TAR_END, buildZip, gnuLongMember, paxMember, tarHeader, tarMember } from '../helpers/archive-bytes.js';
import { bytesAt, isVideo, lines, streamed } from '../helpers/archive-read.js';

/**
 * Archives built to escape a directory, smuggle links or duplicates, or end early: each bad member
 * is a problem line naming the archive and the member, the other members go on, and nothing is
 * written outside the temporary directory. (Bombs and size limits: archive-limits.test.ts.)
 */

let dir = '';
const file = (...names: string[]) => path.join(dir, ...names);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-archive-hostile-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('unsafe names', () => {
  it('.. components, absolute and Windows paths, backslashes, NUL and newline: problems; safe members kept', async () => {
    const ok = Buffer.from('fine video');
    const tar = Buffer.concat([
      tarMember({ name: '../evil.mp4' }, Buffer.from('x')),
      tarMember({ name: 'a/../../evil.mp4' }, Buffer.from('x')),
      tarMember({ name: '/abs.mp4' }, Buffer.from('x')),
      tarMember({ name: 'C:/windows.mp4' }, Buffer.from('x')),
      tarMember({ name: '..\\back.mp4' }, Buffer.from('x')),
      gnuLongMember('a\0b.mp4'),
      tarMember({ name: 'cut-at-nul', format: 'gnu' }, Buffer.from('x')),
      tarMember({ name: 'line\nbreak.mp4' }, Buffer.from('x')),
      paxMember({ path: '../pax-evil.mp4' }),
      tarMember({ name: 'harmless-name.mp4' }, Buffer.from('x')),
      tarMember({ name: 'notes/../../x.txt' }, Buffer.from('x')),
      tarMember({ name: './ok//./good.mp4' }, ok),
      TAR_END,
    ]);
    const archive = file('names.tar');
    await writeFile(archive, tar);
    const expected = [
      "../evil.mp4: unsafe name: '..' component",
      "a/../../evil.mp4: unsafe name: '..' component",
      '/abs.mp4: unsafe name: absolute path',
      'C:/windows.mp4: unsafe name: absolute path',
      '..\\back.mp4: unsafe name: backslash',
      'a\\x00b.mp4: unsafe name: control character',
      'line\\x0abreak.mp4: unsafe name: control character',
      "../pax-evil.mp4: unsafe name: '..' component",
      "notes/../../x.txt: unsafe name: '..' component",
    ];
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual(expected);
    expect(listing.videos.map((v) => [v.name, v.key])).toEqual([['ok/good.mp4', 'ok/good']]);
    expect((await bytesAt(archive, listing.videos[0]!)).equals(ok)).toBe(true);

    // The same as a tar.gz, streamed: the same problems, and nothing lands beside the tmpDir.
    await writeFile(file('names.tar.gz'), gzipSync(tar));
    const before = await readdir(dir);
    const s = await streamed(dir, file('names.tar.gz'));
    expect(s.lines).toEqual(expected);
    expect(s.groups).toEqual([{ key: 'ok/good', video: 'ok/good.mp4', data: ok, sidecars: [] }]);
    expect(s.left).toEqual([]);
    expect(await readdir(dir)).toEqual(before);
  });

  it('zip names: the same rules, and a local header naming another file', async () => {
    const archive = file('names.zip');
    await writeFile(
      archive,
      buildZip([
        { name: '../evil.mp4', stored: Buffer.from('x') },
        { name: 'C:\\evil.mp4', stored: Buffer.from('x') },
        { name: 'real.mp4', localName: 'other.mp4', stored: Buffer.from('x') },
        { name: 'good.mp4', stored: Buffer.from('good') },
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual([
      "../evil.mp4: unsafe name: '..' component",
      'C:\\evil.mp4: unsafe name: backslash',
      "real.mp4: the local header's name differs from the central directory's",
    ]);
    expect(listing.videos.map((v) => v.name)).toEqual(['good.mp4']);
  });
});

describe('links, devices, FIFOs, directories', () => {
  it('hand-built: every kind but plain files and directories is a problem', async () => {
    const archive = file('kinds.tar');
    await writeFile(
      archive,
      Buffer.concat([
        tarMember({ name: 'videos/', type: '5' }),
        tarMember({ name: 'link.mp4', type: '2', linkName: '/etc/passwd' }),
        tarMember({ name: 'hard.mp4', type: '1', linkName: 'videos/good.mp4' }),
        tarMember({ name: 'tty.mp4', type: '3' }),
        tarMember({ name: 'sda.mp4', type: '4' }),
        tarMember({ name: 'pipe.mp4', type: '6' }),
        tarMember({ name: 'sparse.mp4', type: 'S' }, Buffer.alloc(10)),
        tarMember({ name: 'odd.mp4', type: 'Z' }, Buffer.alloc(10)),
        tarMember({ name: 'videos/good.mp4' }, Buffer.from('good')),
        TAR_END,
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual([
      'link.mp4: symbolic link, not followed',
      'hard.mp4: hard link, not followed',
      'tty.mp4: character device, skipped',
      'sda.mp4: block device, skipped',
      'pipe.mp4: FIFO, skipped',
      'sparse.mp4: sparse file, not supported',
      'odd.mp4: not a regular file, skipped',
    ]);
    expect(listing.videos.map((v) => v.name)).toEqual(['videos/good.mp4']);
  });

  it('written by GNU tar from a real symlink, hard link and FIFO', async () => {
    const src = file('kinds-src');
    await mkdir(src);
    await writeFile(path.join(src, 'a.mp4'), 'video a');
    await symlink('/etc/passwd', path.join(src, 'sym.mp4'));
    await link(path.join(src, 'a.mp4'), path.join(src, 'b.mp4'));
    execFileSync('mkfifo', [path.join(src, 'fifo.mp4')]);
    execFileSync('tar', ['-C', src, '-cf', file('kinds-gnu.tar'), 'a.mp4', 'sym.mp4', 'b.mp4', 'fifo.mp4']);
    const listing = await listArchive(file('kinds-gnu.tar'), { isVideo });
    expect(lines(file('kinds-gnu.tar'), listing.problems)).toEqual(['sym.mp4: symbolic link, not followed', 'b.mp4: hard link, not followed', 'fifo.mp4: FIFO, skipped']);
    expect(listing.videos.map((v) => v.name)).toEqual(['a.mp4']);
  });

  it('zip: a Unix symlink entry is a problem, a directory is skipped quietly', async () => {
    const archive = file('kinds.zip');
    await writeFile(
      archive,
      buildZip([
        { name: 'dir/', stored: Buffer.alloc(0), mode: 0o40755 },
        { name: 'link.mp4', stored: Buffer.from('/etc/passwd'), mode: 0o120777 },
        { name: 'fifo.mp4', stored: Buffer.alloc(0), mode: 0o10644 },
        { name: 'dir/ok.mp4', stored: Buffer.from('ok'), mode: 0o100644 },
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual(['link.mp4: symbolic link, not followed', 'fifo.mp4: FIFO, skipped']);
    expect(listing.videos.map((v) => v.name)).toEqual(['dir/ok.mp4']);
  });
});

describe('duplicates', () => {
  it('the first member of a name is kept, the second is a problem (tar and zip)', async () => {
    const tar = file('dup.tar');
    await writeFile(
      tar,
      Buffer.concat([
        tarMember({ name: 'a.mp4' }, Buffer.from('first')),
        tarMember({ name: 'a.json' }, Buffer.from('{"n":1}')),
        tarMember({ name: './a.mp4' }, Buffer.from('second')),
        tarMember({ name: 'a.json' }, Buffer.from('{"n":2}')),
        TAR_END,
      ]),
    );
    const listing = await listArchive(tar, { isVideo });
    expect(lines(tar, listing.problems)).toEqual(['./a.mp4: duplicate name; the first member of this name is kept', 'a.json: duplicate name; the first member of this name is kept']);
    expect(listing.videos.map((v) => v.name)).toEqual(['a.mp4']);
    expect((await bytesAt(tar, listing.videos[0]!)).toString()).toBe('first');
    expect(listing.sidecars).toEqual(new Map([['a', new Map([['a.json', '{"n":1}']])]]));

    const zip = file('dup.zip');
    await writeFile(zip, buildZip([{ name: 'v.mp4', stored: Buffer.from('first') }, { name: 'v.mp4', stored: Buffer.from('second') }]));
    const z = await listArchive(zip, { isVideo });
    expect(lines(zip, z.problems)).toEqual(['v.mp4: duplicate name; the first member of this name is kept']);
    expect((await bytesAt(zip, z.videos[0]!)).toString()).toBe('first');
  });
});

describe('truncated archives', () => {
  const good = Buffer.from('complete video');
  const parts = [tarMember({ name: '1.mp4' }, good), tarMember({ name: '1.json' }, Buffer.from('{}')), tarHeader({ name: '2.mp4', size: 5000 }), Buffer.alloc(100, 2)];

  it('tar: a member running past the end is a problem, the members before it are kept', async () => {
    const archive = file('cut.tar');
    const bytes = Buffer.concat(parts);
    await writeFile(archive, bytes);
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual([`2.mp4: truncated: the member's 5000 bytes run past the end of the archive (${bytes.length} bytes); listing stops`]);
    expect(listing.videos.map((v) => v.name)).toEqual(['1.mp4']);

    const s = await streamed(dir, archive);
    expect(s.lines).toEqual(['2.mp4: truncated: the stream ends 4900 bytes before the end of the member']);
    expect(s.groups).toEqual([{ key: '1', video: '1.mp4', data: good, sidecars: ['1.json'] }]);
    expect(s.left).toEqual([]);

    await writeFile(file('cut-header.tar'), Buffer.concat([parts[0]!, tarHeader({ name: 'x' }).subarray(0, 100)]));
    const h = await listArchive(file('cut-header.tar'), { isVideo });
    expect(lines(file('cut-header.tar'), h.problems)).toEqual(['truncated: the archive ends inside a header at byte 1024']);
    expect(h.videos.map((v) => v.name)).toEqual(['1.mp4']);
  });

  it('a bad checksum or a malformed pax header mid-archive ends the listing with a problem', async () => {
    const bad = file('bad-checksum.tar');
    await writeFile(bad, Buffer.concat([parts[0]!, tarMember({ name: '2.mp4', badChecksum: true }, good), tarMember({ name: '3.mp4' }, good), TAR_END]));
    const l = await listArchive(bad, { isVideo });
    expect(lines(bad, l.problems)).toEqual(['bad header checksum at byte 1024; listing stops']);
    expect(l.videos.map((v) => v.name)).toEqual(['1.mp4']);

    const pax = file('bad-pax.tar');
    await writeFile(pax, Buffer.concat([parts[0]!, tarMember({ name: 'pax', type: 'x' }, Buffer.from('99 path=x\n')), tarMember({ name: '3.mp4' }, good), TAR_END]));
    const p = await listArchive(pax, { isVideo });
    expect(lines(pax, p.problems)).toEqual(['malformed pax header at byte 1024; listing stops']);
  });

  it('a truncated gzip stream: a problem, the samples read whole before it delivered, no file left', async () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({ key: `s${i}`, data: Buffer.from(Array.from({ length: 30_000 }, (_, j) => (i * 7919 + j * j) % 251)) }));
    const tar = Buffer.concat([...samples.map((s) => tarMember({ name: `${s.key}.mp4` }, s.data)), TAR_END]);
    const gz = gzipSync(tar);
    const archive = file('cut.tar.gz');
    await writeFile(archive, gz.subarray(0, Math.floor(gz.length / 2)));
    const s = await streamed(dir, archive);
    expect(s.problems.map((p) => p.message)).toEqual(['truncated gzip stream (unexpected end of file)']);
    expect(s.groups.length).toBeGreaterThan(0);
    expect(s.groups.length).toBeLessThan(10);
    expect(s.groups).toEqual(samples.slice(0, s.groups.length).map((x) => ({ key: x.key, video: `${x.key}.mp4`, data: x.data, sidecars: [] })));
    expect(s.problems[0]!.member).toBe(`s${s.groups.length}.mp4`);
    expect(s.left).toEqual([]);
  });
});
