import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { badInput, cliPath, clip, repoRoot } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';
import type { ScanReport } from '../../src/scan/engine.js';
import { FingerprintStore } from '../../src/fingerprint/store.js';

const train = path.join(repoRoot, 'fixtures', 'scan', 'train');
const bench = path.join(repoRoot, 'fixtures', 'scan', 'bench');

async function scan(dir: string, extra: string[] = [], trainDir = train, benchDir = bench) {
  const out = path.join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['scan', '--train', trainDir, '--bench', benchDir, '--out', out, ...extra], {
    VDEDUP_CACHE_DIR: path.join(dir, 'cache'),
  });
  if (r.code !== 0) throw new Error(`scan failed (${r.code}): ${r.stderr}`);
  return { r, report: JSON.parse(await readFile(out, 'utf8')) as ScanReport };
}

const nearDup = (rep: ScanReport) => rep.matches.filter((m) => m.reason === 'near-duplicate');

describe('vdedup scan (real CLI, embedded mode)', () => {
  it('finds the planted copy with its time ranges, the YouTube-ID re-upload, and nothing else', async () => {
    await withTempDir(async (dir) => {
      const { r, report } = await scan(dir, ['--csv', path.join(dir, 'r.csv'), '--html', path.join(dir, 'r.html')]);
      expect(report.removed).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
      const id = report.matches.find((m) => m.reason === 'youtube-id');
      expect(id).toMatchObject({ train: 'Ab3dE_fG9hK.mp4', bench: 'v_Ab3dE_fG9hK.mp4', youtubeId: 'Ab3dE_fG9hK' });
      const nd = nearDup(report);
      expect(nd).toHaveLength(1);
      const m = nd[0]!;
      expect(m.train).toBe('compilation.mp4');
      expect(m.bench).toBe('mandelbrot-zoom.mp4');
      // The compilation holds bench seconds 6..30 at training seconds 10..34.
      expect(Math.abs(m.trainStart! - 10)).toBeLessThanOrEqual(1);
      expect(Math.abs(m.trainEnd! - 34)).toBeLessThanOrEqual(1);
      expect(Math.abs(m.benchStart! - 6)).toBeLessThanOrEqual(1);
      expect(Math.abs(m.benchEnd! - 30)).toBeLessThanOrEqual(1);
      expect(m.matchedFrames).toBeGreaterThanOrEqual(18);
      expect(m.windowFrames).toBe(20);
      expect(report.stats).toMatchObject({ trainVideos: 3, benchVideos: 3, preset: 'default', errors: 0, retrieval: 'frame-scan', approximate: false });
      // The ID-matched training file is never decoded: 2 training + 3 bench videos are.
      expect(report.stats.decodedVideos).toBe(5);
      expect(r.stdout).toMatch(/compilation\.mp4 \d+-\d+s\s+~\s+mandelbrot-zoom\.mp4/);
      const csv = await readFile(path.join(dir, 'r.csv'), 'utf8');
      expect(csv.split('\n')[0]).toBe('train,bench,reason,trainStart,trainEnd,benchStart,benchEnd,matchedFrames,windowFrames,meanDistance,speed,flipped,cropped,inner,youtubeId,trainArchive,trainKey,region');
      expect(csv).toMatch(/^compilation\.mp4,mandelbrot-zoom\.mp4,near-duplicate,/m);
      expect(await readFile(path.join(dir, 'r.html'), 'utf8')).toMatch(/<td><code>compilation\.mp4<\/code><\/td>/);
    });
  });

  it('a second scan of an unchanged corpus decodes nothing and gives the same report; --exact agrees', async () => {
    await withTempDir(async (dir) => {
      const first = await scan(dir);
      const second = await scan(dir);
      expect(second.report.stats.decodedVideos).toBe(0);
      expect(second.report.stats.framesHashed).toBe(0);
      expect(second.report.matches).toEqual(first.report.matches);
      const exact = await scan(dir, ['--exact']);
      expect(exact.report.matches).toEqual(first.report.matches);
      expect(exact.report.stats).toMatchObject({ retrieval: 'exact', approximate: false });
      // The approximate prefilter, forced on a small benchmark side: the same copy, and the report says how.
      const prefiltered = await scan(dir, ['--prefilter', 'on']);
      expect(prefiltered.report.matches).toEqual(first.report.matches);
      expect(prefiltered.report.stats).toMatchObject({ retrieval: 'prefilter', approximate: true });
      expect(prefiltered.r.stdout).toMatch(/approximate retrieval: prefilter/);
      // The flag's earlier name still works; --prefilter off keeps the exhaustive scan.
      expect((await scan(dir, ['--index', 'on'])).report.stats).toMatchObject({ retrieval: 'prefilter' });
      expect((await scan(dir, ['--prefilter', 'off'])).report.stats).toMatchObject({ retrieval: 'frame-scan', approximate: false });
    });
  });

  it('--fast decodes the training side with fewer decoder steps: the same findings, its own store entries', async () => {
    await withTempDir(async (dir) => {
      const exact = await scan(dir);
      const fast = await scan(dir, ['--fast']);
      expect(fast.report.removed).toEqual(exact.report.removed);
      expect(nearDup(fast.report).map((m) => [m.train, m.bench, m.trainStart, m.benchStart])).toEqual(
        nearDup(exact.report).map((m) => [m.train, m.bench, m.trainStart, m.benchStart]),
      );
      // The training videos were decoded again (fast hashes are stored apart); the bench side came from the store.
      expect(fast.report.stats.decodedVideos).toBe(exact.report.stats.decodedVideos - 3);
      expect(fast.report.stats.storedVideos).toBe(3);
      const fp = async (fast: boolean) => {
        const r = await runCli(['fingerprint', clip('mandelbrot.mp4'), '--json', ...(fast ? ['--fast'] : [])]);
        return JSON.parse(r.stdout) as { hashes: string[] };
      };
      const [a, b] = await Promise.all([fp(false), fp(true)]);
      expect(b.hashes).toHaveLength(a.hashes.length);
      const bits = (x: string, y: string) => (BigInt(`0x${x}`) ^ BigInt(`0x${y}`)).toString(2).replaceAll('0', '').length;
      const distances = a.hashes.map((h, i) => bits(h, b.hashes[i]!));
      expect(Math.max(...distances)).toBeLessThanOrEqual(12);
    });
  });

  it('lists unreadable videos under errors and still scans the rest', async () => {
    await withTempDir(async (dir) => {
      const t = path.join(dir, 'train');
      await mkdir(t);
      for (const f of ['zero-byte.mp4', 'text.mp4', 'audio-only.m4a', 'truncated.mp4']) await copyFile(badInput(f), path.join(t, f));
      await copyFile(path.join(train, 'compilation.mp4'), path.join(t, 'compilation.mp4'));
      const { report } = await scan(dir, [], t);
      expect(report.removed).toEqual(['compilation.mp4']);
      // audio-only.m4a is not walked: .m4a is not a video extension.
      expect(report.errors.map((e) => [e.video, e.code])).toEqual([
        ['text.mp4', 'INVALID_MEDIA'],
        ['truncated.mp4', 'TRUNCATED_MEDIA'],
        ['zero-byte.mp4', 'EMPTY_FILE'],
      ]);
    });
  });

  it('reads JSONL manifests with ids and YouTube URLs', async () => {
    await withTempDir(async (dir) => {
      const manifest = path.join(dir, 'train.jsonl');
      await writeFile(
        manifest,
        [
          JSON.stringify({ id: 'clip-001', path: path.join(train, 'compilation.mp4') }),
          JSON.stringify({ id: 'clip-002', path: path.join(train, 'unrelated-life.mp4'), url: 'https://youtu.be/Ab3dE_fG9hK?t=3' }),
          JSON.stringify({ id: 'clip-003', youtube_id: 'https://www.youtube.com/watch?v=zzzzzzzzzzz' }),
        ].join('\n'),
      );
      const { report } = await scan(dir, [], manifest);
      expect(report.removed).toEqual(['clip-001', 'clip-002']);
      expect(report.matches.find((m) => m.train === 'clip-002')).toMatchObject({ reason: 'youtube-id', bench: 'v_Ab3dE_fG9hK.mp4' });
    });
  });

  it('a scan killed half-way keeps its finished fingerprints and the rerun gives the same report', async () => {
    await withTempDir(async (dir) => {
      const t = path.join(dir, 'train');
      await mkdir(t);
      // Enough distinct work that the scan is still running when the first fingerprints land.
      for (let i = 0; i < 6; i++) await copyFile(clip(['mandelbrot.mp4', 'life.mp4', 'testsrc2.mp4'][i % 3]!), path.join(t, `v${i}-${i % 3}.mp4`));
      await copyFile(path.join(train, 'compilation.mp4'), path.join(t, 'compilation.mp4'));
      const cache = path.join(dir, 'cache');
      const out = path.join(dir, 'killed.json');
      const child = spawn(process.execPath, [cliPath, 'scan', '--train', t, '--bench', bench, '--out', out, '--concurrency', '1'], {
        env: { ...process.env, VDEDUP_CACHE_DIR: cache },
        stdio: 'ignore',
      });
      const shards = new FingerprintStore(cache).dir;
      const deadline = Date.now() + 30_000;
      let stored = 0;
      while (Date.now() < deadline) {
        stored = 0;
        for (const s of await readdir(shards).catch(() => [] as string[])) {
          stored += (await readdir(path.join(shards, s))).filter((f) => f.endsWith('.vfp')).length;
        }
        if (stored >= 4) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      child.kill('SIGKILL');
      await new Promise((res) => child.once('close', res));
      expect(stored).toBeGreaterThanOrEqual(4);
      expect(existsSync(out)).toBe(false); // killed before it finished
      const verify = await runCli(['store', 'verify'], { VDEDUP_CACHE_DIR: cache });
      expect(verify.code).toBe(0);
      const rerun = await scan(dir, [], t);
      expect(rerun.report.stats.storedVideos).toBeGreaterThanOrEqual(4);
      const clean = await withTempDir((fresh) => scan(fresh, [], t));
      expect(rerun.report.matches).toEqual(clean.report.matches);
      expect(rerun.report.removed).toContain('compilation.mp4');
    });
  });

  it('a copy of fast footage that starts half a second off is found at its sub-second time (phases); at 1 fps it is not', async () => {
    await withTempDir(async (dir) => {
      const phaseDir = path.join(repoRoot, 'fixtures', 'phase');
      const runs = await Promise.all([scan(dir, [], path.join(phaseDir, 'train'), path.join(phaseDir, 'bench')), scan(dir, ['--exact'], path.join(phaseDir, 'train'), path.join(phaseDir, 'bench'))]);
      for (const { report } of runs) {
        expect(nearDup(report)).toEqual([
          expect.objectContaining({ train: 'fast-copy-at-7.5s.mp4', bench: 'fast-zoom.mp4', trainStart: 8, trainEnd: 28, benchStart: 7.5, benchEnd: 27.5, matchedFrames: 20 }),
        ]);
        // The evidence pairs each training second with the benchmark frame half a second before.
        expect(nearDup(report)[0]!.evidence!.benchTimes.slice(0, 3)).toEqual([7.5, 8.5, 9.5]);
      }
      // The same rule with the benchmark side at 1 fps (one phase) cannot see it: every training
      // frame is half a second from the nearest benchmark frame.
      const { runScan } = await import('../../src/scan/engine.js');
      const { DEFAULT } = await import('../../src/scan/presets.js');
      const onePhase = await runScan({
        train: path.join(phaseDir, 'train'),
        bench: path.join(phaseDir, 'bench'),
        settings: { preset: { ...DEFAULT, benchPhases: 1 }, exact: false, prefilter: 'auto' },
        store: new FingerprintStore(path.join(dir, 'cache')),
      });
      expect(nearDup(onePhase)).toEqual([]);
    });
  });

  it('a 12-s excerpt of fast footage inside a longer video is found by the short-excerpt window; the 20-s window alone misses it', async () => {
    await withTempDir(async (dir) => {
      const shortTrain = path.join(repoRoot, 'fixtures', 'short', 'train');
      const phaseBench = path.join(repoRoot, 'fixtures', 'phase', 'bench');
      const runs = await Promise.all([scan(dir, [], shortTrain, phaseBench), scan(dir, ['--exact'], shortTrain, phaseBench)]);
      for (const { report } of runs) {
        // 12 s from benchmark second 10.25 at training second 8: frames 8..19 hold it.
        expect(nearDup(report)).toEqual([
          expect.objectContaining({ train: 'fast-excerpt-12s-at-10.25s.mp4', bench: 'fast-zoom.mp4', trainStart: 8, trainEnd: 20, benchStart: 10.25, benchEnd: 22.25, windowFrames: 10 }),
        ]);
        expect(nearDup(report)[0]!.matchedFrames).toBeGreaterThanOrEqual(9);
        expect(nearDup(report)[0]!.meanDistance).toBeLessThanOrEqual(12);
      }
      const { runScan } = await import('../../src/scan/engine.js');
      const { DEFAULT } = await import('../../src/scan/presets.js');
      const windowOnly = await runScan({
        train: shortTrain,
        bench: phaseBench,
        settings: { preset: { ...DEFAULT, rule: { ...DEFAULT.rule, shortWindow: 0 } }, exact: false, prefilter: 'auto' },
        store: new FingerprintStore(path.join(dir, 'cache')),
      });
      expect(nearDup(windowOnly)).toEqual([]);
    });
  });

  it('a copy of fast footage under a logo and a caption bar is found on the inner half of both frames; whole frames miss it', async () => {
    await withTempDir(async (dir) => {
      const overlayTrain = path.join(repoRoot, 'fixtures', 'overlay', 'train');
      const phaseBench = path.join(repoRoot, 'fixtures', 'phase', 'bench');
      const runs = await Promise.all([scan(dir, [], overlayTrain, phaseBench), scan(dir, ['--exact'], overlayTrain, phaseBench)]);
      for (const { r, report } of runs) {
        // 22 s from benchmark second 5.25 at training second 5: frames 5..26 hold it.
        expect(nearDup(report)).toEqual([
          expect.objectContaining({ train: 'fast-copy-logo-caption-at-5.25s.mp4', bench: 'fast-zoom.mp4', trainStart: 5, trainEnd: 27, benchStart: 5.25, benchEnd: 27.25, inner: true }),
        ]);
        expect(nearDup(report)[0]!.matchedFrames).toBeGreaterThanOrEqual(14);
        expect(r.stdout).toContain('inner half');
        expect(report.warnings).toEqual([]);
      }
      expect(runs[0]!.report.matches).toEqual(runs[1]!.report.matches);
      const { runScan } = await import('../../src/scan/engine.js');
      const { DEFAULT } = await import('../../src/scan/presets.js');
      const wholeFrames = await runScan({
        train: overlayTrain,
        bench: phaseBench,
        settings: { preset: { ...DEFAULT, matchInner: false }, exact: false, prefilter: 'auto' },
        store: new FingerprintStore(path.join(dir, 'cache')),
      });
      expect(nearDup(wholeFrames)).toEqual([]);
    });
  });

  it('copies that fill part of the picture are found on their active region and on the central 9:16 strip; the same meme canvas over unrelated footage is not; whole frames miss both', async () => {
    await withTempDir(async (dir) => {
      const layoutTrain = path.join(repoRoot, 'fixtures', 'layout', 'train');
      const phaseBench = path.join(repoRoot, 'fixtures', 'phase', 'bench');
      const runs = await Promise.all([scan(dir, [], layoutTrain, phaseBench), scan(dir, ['--exact'], layoutTrain, phaseBench)]);
      for (const { r, report } of runs) {
        // 22 s from benchmark second 5.25 at training second 5: frames 5..26 hold it.
        const [meme, portrait, ...rest] = nearDup(report).sort((a, b) => a.train.localeCompare(b.train));
        expect(rest).toEqual([]);
        expect(meme).toEqual(expect.objectContaining({ train: 'meme-copy-at-5.25s.mp4', bench: 'fast-zoom.mp4', trainStart: 5, trainEnd: 27, benchStart: 5.25, benchEnd: 27.25 }));
        // The video sits at 60% of the canvas width, 100 px down a 256-px canvas.
        expect(meme!.region).toEqual(expect.objectContaining({ side: 'train', name: 'main' }));
        const region = meme!.region as { x: number; y: number; width: number; height: number };
        expect(Math.abs(region.x - 51 / 256)).toBeLessThan(0.04);
        expect(Math.abs(region.y - 100 / 256)).toBeLessThan(0.04);
        expect(Math.abs(region.width - 154 / 256)).toBeLessThan(0.05);
        expect(portrait).toEqual(expect.objectContaining({ train: 'portrait-crop-copy-at-5.25s.mp4', bench: 'fast-zoom.mp4', trainStart: 5, trainEnd: 27, region: { side: 'bench', name: 'center-9:16' } }));
        for (const m of [meme!, portrait!]) expect(m.matchedFrames).toBeGreaterThanOrEqual(14);
        expect(r.stdout).toContain('main picture at');
        expect(r.stdout).toContain('portrait crop');
        expect(report.warnings).toEqual([]);
      }
      expect(runs[0]!.report.matches).toEqual(runs[1]!.report.matches);
      const { runScan } = await import('../../src/scan/engine.js');
      const { DEFAULT } = await import('../../src/scan/presets.js');
      const wholeFrames = await runScan({
        train: layoutTrain,
        bench: phaseBench,
        settings: { preset: { ...DEFAULT, matchLayouts: false }, exact: false, prefilter: 'auto' },
        store: new FingerprintStore(path.join(dir, 'cache')),
      });
      expect(nearDup(wholeFrames)).toEqual([]);
    });
  });

  it('a copy of fast footage played 5% faster is found along a slanted alignment, with its speed and time ranges; straight alignments miss it', async () => {
    await withTempDir(async (dir) => {
      const speedTrain = path.join(repoRoot, 'fixtures', 'speed', 'train');
      const phaseBench = path.join(repoRoot, 'fixtures', 'phase', 'bench');
      const runs = await Promise.all([scan(dir, [], speedTrain, phaseBench), scan(dir, ['--exact'], speedTrain, phaseBench)]);
      for (const { report } of runs) {
        // 24 s of the benchmark video from second 4.3, played at 1.05x from training second 6
        // to 28.9: training time t shows benchmark time 4.3 + 1.05 (t - 6).
        const [m, ...rest] = nearDup(report);
        expect(rest).toEqual([]);
        expect(m).toEqual(expect.objectContaining({ train: 'fast-copy-1.05x-at-4.3s.mp4', bench: 'fast-zoom.mp4', speed: 1.05, trainStart: 6, trainEnd: 29 }));
        expect(Math.abs(m!.benchStart! - 4.3)).toBeLessThanOrEqual(0.25);
        expect(Math.abs(m!.benchEnd! - (4.3 + 1.05 * 23))).toBeLessThanOrEqual(0.5);
        expect(m!.matchedFrames).toBeGreaterThanOrEqual(14);
        // The evidence pairs each training second with the benchmark sample the slanted line meets.
        const e = m!.evidence!;
        e.trainTimes.forEach((t, k) => expect(Math.abs(e.benchTimes[k]! - (4.3 + 1.05 * (t - 6)))).toBeLessThanOrEqual(0.25));
      }
      expect(runs[0]!.report.matches).toEqual(runs[1]!.report.matches);
      // The same preset without slanted alignments finds nothing: over a 20-s window the copy
      // drifts a second from any straight one.
      const { runScan } = await import('../../src/scan/engine.js');
      const { DEFAULT } = await import('../../src/scan/presets.js');
      const straight = await runScan({
        train: speedTrain,
        bench: phaseBench,
        settings: { preset: { ...DEFAULT, rule: { ...DEFAULT.rule, speedRange: 0 } }, exact: false, prefilter: 'auto' },
        store: new FingerprintStore(path.join(dir, 'cache')),
      });
      expect(nearDup(straight)).toEqual([]);
    });
  });

  it('fails with one line when an input does not exist', async () => {
    const r = await runCli(['scan', '--train', '/no/such/dir', '--bench', bench, '--out', '/tmp/x.json']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\/no\/such\/dir: no such file or directory/);
  });

  it('a bad flag value is a usage error: one line, exit 2', async () => {
    const r = await runCli(['scan', '--train', train, '--bench', bench, '--out', '/tmp/x.json', '--concurrency', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--concurrency must be a positive integer, got 0/);
  });
});
