import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { locateFamily, locatorEnv, type FamilyLocation } from '../../src/benchmarks/locator.js';
import { benchmarkFamilies, findFamily } from '../../src/benchmarks/registry.js';
import { readVideoSource } from '../../src/scan/inputs.js';
import { snapshot, touchVideo, writeParquet } from '../helpers/fake-hf.js';

const IDS = ['dQw4w9WgXcQ', 'a-B_c1d2E3f', 'Zz9_yY8-xX7', 'Qw3rTy_uI0p', 'M1n2B3v4C5x'];
let hf = '';
let minervaDir = '';

async function locate(name: string): Promise<FamilyLocation> {
  const f = findFamily(name);
  if (f === undefined) throw new Error(`no family ${name}`);
  return locateFamily(f, locatorEnv({ HF_HOME: hf, MINERVA_VIDEO_DIR: minervaDir }));
}

const ytIds = (loc: FamilyLocation) => loc.videos.map((v) => v.youtubeId).sort();

beforeAll(async () => {
  hf = await mkdtemp(path.join(os.tmpdir(), 'vdedup-hf-'));
  minervaDir = path.join(hf, '..', path.basename(hf) + '-minerva');
  // videomme: <HF_HOME>/videomme/data/<videoID>.mp4; metadata parquet in the hub snapshot; one
  // video named by the metadata is missing; an unextracted archive is left in the snapshot.
  await writeParquet(path.join(snapshot(hf, 'lmms-eval/Video-MME'), 'videomme', 'test-00000-of-00001.parquet'), {
    video_id: ['001', '002', '003'],
    videoID: [IDS[0]!, IDS[1]!, IDS[2]!],
    url: IDS.slice(0, 3).map((i) => `https://www.youtube.com/watch?v=${i}`),
  });
  await touchVideo(path.join(hf, 'videomme', 'data', `${IDS[0]}.mp4`));
  await touchVideo(path.join(hf, 'videomme', 'data', `${IDS[1]}.MP4`));
  await writeFile(path.join(snapshot(hf, 'lmms-eval/Video-MME'), 'videos_chunked_02.zip'), 'zip');
  // activitynetqa: all_test/v_<video_name>.mp4, metadata under the old organisation name.
  await writeParquet(path.join(snapshot(hf, 'lmms-lab/ActivityNetQA'), 'data', 'test-00000.parquet'), { video_name: [IDS[3]!], question: ['q'] });
  await touchVideo(path.join(hf, 'activitynetqa', 'all_test', `v_${IDS[3]}.mp4`));
  // videochatgpt: Test_Videos/<video_name>.mp4 where video_name = v_<id>.
  await writeParquet(path.join(snapshot(hf, 'lmms-eval/VideoChatGPT'), 'Generic', 'test.parquet'), { video_name: [`v_${IDS[4]}`] });
  await touchVideo(path.join(hf, 'videochatgpt', 'Test_Videos', `v_${IDS[4]}.mp4`));
  // vatex: <id>_<start>_<end>.mp4, no metadata: the file name carries the clip form.
  await touchVideo(path.join(hf, 'vatex_test', `${IDS[0]}_000010_000020.mp4`));
  // longvideobench: datasets/longvideobench/videos/<video_path>, JSON metadata; an @handle video is not YouTube.
  await mkdir(path.join(hf, 'datasets', 'longvideobench'), { recursive: true });
  await writeFile(path.join(hf, 'datasets', 'longvideobench', 'lvb_val.json'), JSON.stringify([{ video_path: `${IDS[1]}.mp4`, video_id: IDS[1] }, { video_path: '@somechannel1234567890123456789.mp4' }]));
  await touchVideo(path.join(hf, 'datasets', 'longvideobench', 'videos', `${IDS[1]}.mp4`));
  await touchVideo(path.join(hf, 'datasets', 'longvideobench', 'videos', '@somechannel1234567890123456789.mp4'));
  // youcook2: nested folders, youtube_id column next to video_path (jsonl metadata).
  await mkdir(path.join(hf, 'YouCookIIVideos'), { recursive: true });
  await writeFile(path.join(hf, 'YouCookIIVideos', 'val.jsonl'), `${JSON.stringify({ video_path: 'validation/101/clip1.mp4', youtube_id: IDS[2] })}\n`);
  await touchVideo(path.join(hf, 'YouCookIIVideos', 'YouCookIIVideos', 'validation', '101', 'clip1.mp4'));
  // mmworld: flat folder, shorts:<id> form in the metadata.
  await writeParquet(path.join(snapshot(hf, 'MMWorld/MMWorld'), 'data.parquet'), { video_id: [`shorts:${IDS[3]}`] });
  await touchVideo(path.join(hf, 'mmworld', `${IDS[3]}.mp4`));
  // cinepile: videos in <HF_HOME>/cinepile (the task name), not in its cache_dir.
  await touchVideo(path.join(hf, 'cinepile', `${IDS[4]}.mp4`));
  // minerva: only an environment variable says where.
  await touchVideo(path.join(minervaDir, `${IDS[0]}.webm`));
  // lvbench: all_videos/<id>.mp4, no metadata.
  await touchVideo(path.join(hf, 'lvbench', 'all_videos', `${IDS[2]}.mp4`));
  // Not YouTube: random-looking names must not become IDs.
  await touchVideo(path.join(hf, 'mvbench_video', 'star', 'Charades_v1_480', 'Ab3dE5fG7hK.mp4'));
  await touchVideo(path.join(hf, 'egoschema', 'videos', '0074f737-11cb-497d-8d07-77c3a8127391.mp4'));
  await touchVideo(path.join(hf, 'perceptiontest_val', 'videos', 'video_10.mp4'));
});

describe('LMMs-Eval registry', () => {
  it('covers at least 40 families, including the ones users name most', () => {
    const names = benchmarkFamilies().map((f) => f.name);
    expect(names.length).toBeGreaterThanOrEqual(40);
    for (const n of ['videomme', 'mvbench', 'longvideobench', 'videommmu', 'mmvu', 'scivideobench', 'egoschema', 'perceptiontest', 'nextqa', 'activitynetqa', 'mlvu', 'tempcompass', 'videochatgpt', 'vatex', 'youcook2', 'charades_sta', 'lvbench', 'cinepile']) {
      expect(names).toContain(n);
    }
  });

  it('knows old and new dataset organisations and finds a family by task name', () => {
    expect(findFamily('videomme')!.datasetIds).toEqual(['lmms-eval/Video-MME', 'lmms-lab/Video-MME']);
    expect(findFamily('videomme_w_subtitle')!.name).toBe('videomme');
    expect(findFamily('VATEX_TEST')!.name).toBe('vatex');
    expect(findFamily('nope')).toBeUndefined();
  });
});

describe('locating benchmark videos in a fake HF_HOME', () => {
  it('videomme: videos, IDs from parquet metadata, the missing one, the unextracted archive', async () => {
    const loc = await locate('videomme');
    expect(loc.videos.map((v) => v.id).sort()).toEqual([`videomme:data/${IDS[0]}.mp4`, `videomme:data/${IDS[1]}.MP4`].sort());
    expect(ytIds(loc)).toEqual([IDS[0], IDS[1]].sort());
    expect(loc.videos.every((v) => v.youtubeIdSource === 'manifest')).toBe(true);
    expect(loc.expectedVideos).toBe(3);
    expect(loc.idsWithoutVideo.map((i) => i.youtubeId)).toEqual([IDS[2]]);
    expect(loc.unextractedArchives).toHaveLength(1);
    expect(loc.problems.join(' ')).toMatch(/unextracted archive/);
    expect(loc.problems.join(' ')).toMatch(/partial: 2 of 3/);
  });

  it.each([
    ['activitynetqa', [3]],
    ['videochatgpt', [4]],
    ['vatex', [0]],
    ['youcook2', [2]],
    ['mmworld', [3]],
    ['cinepile', [4]],
    ['minerva', [0]],
    ['lvbench', [2]],
  ])('%s: every video and its YouTube ID', async (name, idx) => {
    const loc = await locate(name);
    expect(loc.videos).toHaveLength(idx.length);
    expect(ytIds(loc)).toEqual(idx.map((i) => IDS[i]!).sort());
  });

  it('longvideobench: JSON metadata; a channel-handle video has no YouTube ID', async () => {
    const loc = await locate('longvideobench');
    expect(loc.videos).toHaveLength(2);
    expect(loc.videos.find((v) => v.path.includes('@some'))!.youtubeId).toBeUndefined();
    expect(loc.videos.find((v) => v.path.includes(IDS[1]!))!.youtubeId).toBe(IDS[1]);
  });

  it.each(['mvbench', 'egoschema', 'perceptiontest'])('%s: videos found, never given YouTube IDs (not YouTube)', async (name) => {
    const loc = await locate(name);
    expect(loc.videos).toHaveLength(1);
    expect(loc.videos[0]!.youtubeId).toBeUndefined();
  });

  it('a benchmark that was never downloaded says where it looked', async () => {
    const loc = await locate('tempcompass');
    expect(loc.videos).toEqual([]);
    expect(loc.problems.join(' ')).toMatch(/not downloaded: none of .*tempcompass/);
  });

  it('frames-only families are reported as such', async () => {
    expect((await locate('seedbench')).problems).toEqual(['frames only: this benchmark ships no video files']);
  });
});

describe('lmms-eval: sources for scans', () => {
  it('lists videos and metadata-only IDs, and warns about a partial cache', async () => {
    const saved = process.env.HF_HOME;
    process.env.HF_HOME = hf;
    try {
      const src = await readVideoSource('lmms-eval:videomme,activitynetqa');
      expect(src.items.filter((i) => i.path !== undefined)).toHaveLength(3);
      expect(src.items.find((i) => i.path === undefined)).toMatchObject({ youtubeId: IDS[2] });
      expect(src.warnings.join('\n')).toMatch(/videomme: partial/);
      await expect(readVideoSource('lmms-eval:nosuchbench')).rejects.toThrow(/unknown LMMs-Eval benchmark "nosuchbench"/);
      await expect(readVideoSource('lmms-eval:tempcompass')).rejects.toThrow(/no benchmark videos or metadata found under HF_HOME=/);
      const all = await readVideoSource('lmms-eval:all');
      expect(all.items.filter((i) => i.path !== undefined).length).toBeGreaterThanOrEqual(14);
    } finally {
      if (saved === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = saved;
    }
  });
});
