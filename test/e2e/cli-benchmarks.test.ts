import { mkdtemp, readFile, writeFile, mkdir, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScanReport } from '../../src/scan/engine.js';
import { runCli } from '../helpers/cli.js';
import { snapshot, touchVideo, writeParquet } from '../helpers/fake-hf.js';
import { clip, repoRoot } from '../helpers/paths.js';

const IN_META_ON_DISK = 'dQw4w9WgXcQ';
const IN_META_MISSING = 'Zz9_yY8-xX7';

async function fakeVideoMme(): Promise<string> {
  const hf = await mkdtemp(path.join(os.tmpdir(), 'vdedup-hf-e2e-'));
  await writeParquet(path.join(snapshot(hf, 'lmms-eval/Video-MME'), 'videomme', 'test-00000-of-00001.parquet'), {
    video_id: ['001', '002'],
    videoID: [IN_META_ON_DISK, IN_META_MISSING],
  });
  await touchVideo(path.join(hf, 'videomme', 'data', `${IN_META_ON_DISK}.mp4`), path.join(repoRoot, 'fixtures', 'scan', 'bench', 'testsrc2.mp4'));
  return hf;
}

describe('LMMs-Eval benchmarks from the CLI', () => {
  it('scan --bench lmms-eval:videomme removes YouTube-ID matches without decoding them', async () => {
    const hf = await fakeVideoMme();
    const train = path.join(hf, '..', `${path.basename(hf)}-train`);
    await mkdir(train, { recursive: true });
    // Not videos at all: if the scan tried to decode them they would show up under "errors".
    await writeFile(path.join(train, `${IN_META_MISSING}.mp4`), 'not a video');
    await writeFile(path.join(train, `v_${IN_META_ON_DISK}.mp4`), 'not a video');
    await copyFile(clip('life.mp4'), path.join(train, 'unrelated.mp4'));
    const out = path.join(train, 'report.json');
    const r = await runCli(['scan', '--train', train, '--bench', 'lmms-eval:videomme', '--out', out], {
      HF_HOME: hf,
      VDEDUP_CACHE_DIR: path.join(hf, 'cache'),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as ScanReport;
    expect(report.errors).toEqual([]);
    expect(report.removed).toEqual([`${IN_META_MISSING}.mp4`, `v_${IN_META_ON_DISK}.mp4`]);
    expect(report.matches.map((m) => [m.train, m.bench, m.reason])).toEqual([
      [`${IN_META_MISSING}.mp4`, `videomme:youtube:${IN_META_MISSING}`, 'youtube-id'],
      [`v_${IN_META_ON_DISK}.mp4`, `videomme:data/${IN_META_ON_DISK}.mp4`, 'youtube-id'],
    ]);
    // Decoded: the one benchmark video on disk and the unrelated training video, nothing else.
    expect(report.stats.decodedVideos).toBe(2);
    expect(report.warnings.join('\n')).toMatch(/videomme: partial: 1 of 2 videos/);
    expect(r.stdout).toMatch(/warning: videomme: partial/);
  });

  it('vdedup benchmarks shows what is on disk; --json has every family', async () => {
    const hf = await fakeVideoMme();
    const text = await runCli(['benchmarks'], { HF_HOME: hf });
    expect(text.code).toBe(0);
    // extremewhenbench reuses the videomme cache, so it shows up too.
    expect(text.stdout).toMatch(/2 of \d+ LMMs-Eval video benchmark families have files on disk/);
    expect(text.stdout).toMatch(/videomme\s+1\/2 videos\s+2 YouTube IDs/);
    const json = await runCli(['benchmarks', '--json'], { HF_HOME: hf });
    const doc = JSON.parse(json.stdout) as { families: Array<{ name: string; videosFound: number; roots: unknown[] }> };
    expect(doc.families.length).toBeGreaterThanOrEqual(40);
    expect(doc.families.find((f) => f.name === 'videomme')).toMatchObject({ videosFound: 1 });
  });

  it('a missing cache is a clear one-line error', async () => {
    const hf = await mkdtemp(path.join(os.tmpdir(), 'vdedup-hf-empty-'));
    const r = await runCli(['scan', '--train', clip('life.mp4'), '--bench', 'lmms-eval:videomme', '--out', path.join(hf, 'r.json')], { HF_HOME: hf });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no benchmark videos or metadata found under HF_HOME=.*looked in .*videomme/);
  });
});
