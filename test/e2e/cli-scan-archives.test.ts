import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';
import type { Match, ScanReport } from '../../src/scan/engine.js';

/**
 * The training corpus of fixtures/scan/train shipped four ways (loose files, WebDataset tar shards
 * with JSON sidecars and a parquet, a .tar.gz, a zip with stored and deflated members): every
 * layout names the same copies, with the member as the video and its sample key beside it.
 */

const run = promisify(execFile);
const train = path.join(repoRoot, 'fixtures', 'scan', 'train');
const bench = path.join(repoRoot, 'fixtures', 'scan', 'bench');
/** The benchmark's YouTube ID (its v_<id>.mp4 name), carried by training samples' metadata. */
const BENCH_ID = 'Ab3dE_fG9hK';

let dir: string;
let cache: string;

async function scan(trainSpec: string, extra: string[] = []): Promise<{ report: ScanReport; stdout: string; code: number }> {
  const out = path.join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['scan', '--train', trainSpec, '--bench', bench, '--out', out, ...extra], { VDEDUP_CACHE_DIR: cache, TMPDIR: path.join(dir, 'tmp') });
  if (r.code !== 0) throw new Error(`scan failed (${r.code}): ${r.stderr}`);
  return { report: JSON.parse(await readFile(out, 'utf8')) as ScanReport, stdout: r.stdout, code: r.code };
}

/** What a copy is, whatever the layout calls its video. */
const copies = (r: ScanReport) =>
  r.matches
    .filter((m) => m.reason === 'near-duplicate')
    .map((m: Match) => ({ bench: m.bench, trainStart: m.trainStart, trainEnd: m.trainEnd, benchStart: m.benchStart, benchEnd: m.benchEnd, matchedFrames: m.matchedFrames }));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-archives-'));
  cache = path.join(dir, 'cache');
  await mkdir(path.join(dir, 'tmp'));
  // WebDataset shards as video2dataset writes them: <key>.mp4, <key>.json, <key>.txt per sample.
  const stage = path.join(dir, 'stage');
  await mkdir(stage);
  const sample = async (key: string, video: string, url: string) => {
    await copyFile(path.join(train, video), path.join(stage, `${key}.mp4`));
    await writeFile(path.join(stage, `${key}.json`), JSON.stringify({ url, key, status: 'success', caption: 'a video' }));
    await writeFile(path.join(stage, `${key}.txt`), 'a video');
  };
  await sample('000000000', 'compilation.mp4', 'https://www.youtube.com/watch?v=Zq9xW8vU7tS');
  // Its sidecar names the benchmark's ID: removed without decoding.
  await sample('000000001', 'unrelated-life.mp4', `https://www.youtube.com/watch?v=${BENCH_ID}`);
  await sample('000010000', 'Ab3dE_fG9hK.mp4', 'https://example.com/clip');
  const shards = path.join(dir, 'shards');
  await mkdir(shards);
  await run('tar', ['-cf', path.join(shards, '00000.tar'), '-C', stage, ...['000000000', '000000001'].flatMap((k) => [`${k}.mp4`, `${k}.json`, `${k}.txt`])]);
  // The second shard's sidecar names no YouTube video; its parquet (url, key) does.
  await writeFile(path.join(stage, '000010000.json'), '{"key": "000010000", "status": "success"}');
  await run('tar', ['-cf', path.join(shards, '00001.tar'), '-C', stage, '000010000.mp4', '000010000.json', '000010000.txt']);
  const parquet = parquetWriteBuffer({
    columnData: [
      { name: 'url', data: [`https://youtu.be/${BENCH_ID}`], type: 'STRING' },
      { name: 'key', data: ['000010000'], type: 'STRING' },
    ],
  });
  await writeFile(path.join(shards, '00001.parquet'), Buffer.from(parquet));
  // The loose files in one folder, as a .tar.gz and as a zip (one member deflated).
  const videos = await readdir(train);
  await run('tar', ['-czf', path.join(dir, 'corpus.tar.gz'), '-C', path.dirname(train), ...videos.map((v) => `train/${v}`)]);
  await run('python3', [
    '-c',
    'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n  for i, f in enumerate(sys.argv[3:]):\n    z.write(sys.argv[2] + "/" + f, "train/" + f, zipfile.ZIP_DEFLATED if i == 0 else zipfile.ZIP_STORED)',
    path.join(dir, 'corpus.zip'),
    train,
    ...videos,
  ]);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vdedup scan over archives (real CLI, embedded mode)', () => {
  it('WebDataset shards: the same copy as the loose files, by member and sample key; IDs from the sidecar and the parquet; --keys-out', async () => {
    const loose = await scan(train);
    const keys = path.join(dir, 'keys.tsv');
    const { report, stdout } = await scan(path.join(dir, 'shards', '{00000..00001}.tar'), ['--keys-out', keys, '--csv', path.join(dir, 'r.csv'), '--html', path.join(dir, 'r.html')]);
    expect(copies(report)).toEqual(copies(loose.report));
    const shard0 = path.join(dir, 'shards', '00000.tar');
    const shard1 = path.join(dir, 'shards', '00001.tar');
    expect(report.removed).toEqual([`${shard0}#000000000.mp4`, `${shard0}#000000001.mp4`, `${shard1}#000010000.mp4`]);
    const nd = report.matches.find((m) => m.reason === 'near-duplicate')!;
    expect(nd).toMatchObject({ train: `${shard0}#000000000.mp4`, trainArchive: shard0, trainKey: '000000000', bench: 'mandelbrot-zoom.mp4' });
    const ids = report.matches.filter((m) => m.reason === 'youtube-id');
    expect(ids.map((m) => [m.train, m.youtubeIdSource])).toEqual([
      [`${shard0}#000000001.mp4`, 'sidecar / file name'],
      [`${shard1}#000010000.mp4`, 'parquet / file name'],
    ]);
    expect(report.removedMembers).toEqual([
      { archive: shard0, key: '000000000', member: '000000000.mp4' },
      { archive: shard0, key: '000000001', member: '000000001.mp4' },
      { archive: shard1, key: '000010000', member: '000010000.mp4' },
    ]);
    expect(await readFile(keys, 'utf8')).toBe(`${shard0}\t000000000\n${shard0}\t000000001\n${shard1}\t000010000\n`);
    expect((await readFile(path.join(dir, 'r.csv'), 'utf8')).split('\n')[0]).toMatch(/,trainArchive,trainKey,region$/);
    const html = await readFile(path.join(dir, 'r.html'), 'utf8');
    expect(html).toContain(`<code>${shard0}#000000000.mp4</code><br><span class="muted">key 000000000</span>`);
    expect(report.errors).toEqual([]);
    // Read in place and known by content: the loose scan stored every fingerprint.
    expect(report.stats.decodedVideos).toBe(0);
    expect(stdout).toContain(`${shard0}#000000000.mp4`);
  });

  it('.tar.gz and zip (stored and deflated members): the same copies, nothing left in the temporary directory', async () => {
    const loose = await scan(train);
    for (const archive of ['corpus.tar.gz', 'corpus.zip']) {
      const { report } = await scan(path.join(dir, archive));
      expect(copies(report), archive).toEqual(copies(loose.report));
      const spec = path.join(dir, archive);
      expect(report.removed, archive).toEqual([`${spec}#train/Ab3dE_fG9hK.mp4`, `${spec}#train/compilation.mp4`]);
      expect(report.errors, archive).toEqual([]);
      expect(await readdir(path.join(dir, 'tmp')), archive).toEqual([]);
    }
  });

  it('a fresh store: members of a .tar.gz and of a zip are decoded through temporary copies, all removed, and found', async () => {
    await withTempDir(async (fresh) => {
      for (const archive of ['corpus.tar.gz', 'corpus.zip']) {
        const out = path.join(fresh, `${archive}.json`);
        const r = await runCli(['scan', '--train', path.join(dir, archive), '--bench', bench, '--out', out, '--tmp-dir', fresh], { VDEDUP_CACHE_DIR: path.join(fresh, `cache-${archive}`) });
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(await readFile(out, 'utf8')) as ScanReport;
        // 3 benchmark videos and the 2 training videos not removed by their YouTube ID.
        expect(report.stats.decodedVideos).toBe(5);
        expect(report.matches.filter((m) => m.reason === 'near-duplicate').map((m) => m.train)).toEqual([`${path.join(dir, archive)}#train/compilation.mp4`]);
        expect((await readdir(fresh)).filter((n) => n.startsWith('vdedup-'))).toEqual([]);
      }
    });
  });

  it('a missing shard, and an archive with unsafe members: error entries naming them, the rest scanned', async () => {
    await withTempDir(async (bad) => {
      const stage = path.join(bad, 'stage');
      await mkdir(path.join(stage, 'sub'), { recursive: true });
      await copyFile(path.join(train, 'compilation.mp4'), path.join(stage, 'sub', 'good.mp4'));
      await symlink('/etc/passwd', path.join(stage, 'sub', 'link.mp4'));
      await run('tar', ['-cf', path.join(bad, '00000.tar'), '-C', stage, 'sub/good.mp4', 'sub/link.mp4']);
      // A member named ../escape.mp4 (GNU tar keeps it with -P).
      await copyFile(path.join(train, 'unrelated-life.mp4'), path.join(bad, 'escape.mp4'));
      await run('tar', ['-cPf', path.join(bad, '00001.tar'), '-C', stage, `../escape.mp4`]);
      const { report } = await scan(path.join(bad, '{00000..00002}.tar'));
      const shard = (n: string) => path.join(bad, n);
      expect(report.errors.map((e) => [e.video, e.code])).toEqual([
        [`${shard('00000.tar')}#sub/link.mp4`, 'INVALID_MEDIA'],
        [`${shard('00001.tar')}#../escape.mp4`, 'INVALID_MEDIA'],
        [shard('00002.tar'), 'FILE_NOT_FOUND'],
      ]);
      expect(report.errors[0]!.message).toMatch(/symbolic link/);
      expect(report.errors[2]!.message).toMatch(/shard not found/);
      expect(report.matches.filter((m) => m.reason === 'near-duplicate').map((m) => m.train)).toEqual([`${shard('00000.tar')}#sub/good.mp4`]);
    });
  });
});
