import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';

/** Debian's Chromium, installed by .ci/run (a test tool's own browser download fails offline). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** CI artifact: the screenshot of the report (named in the README). */
const SCREENSHOT = path.join(repoRoot, 'test-artifacts', 'scan-report.png');

describe('HTML scan report in a real browser', () => {
  it('shows an evidence strip for every near-duplicate, sorts and filters the table', async () => {
    await withTempDir(async (dir) => {
      const html = path.join(dir, 'report.html');
      const r = await runCli(
        ['scan', '--train', path.join(repoRoot, 'fixtures', 'scan', 'train'), '--bench', path.join(repoRoot, 'fixtures', 'scan', 'bench'), '--out', path.join(dir, 'r.json'), '--html', html],
        { VDEDUP_CACHE_DIR: path.join(dir, 'cache') },
      );
      expect(r.code).toBe(0);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        // Any request leaving the file (a CDN script, a font) would fail the "works offline" promise.
        const external: string[] = [];
        page.on('request', (req) => {
          if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) external.push(req.url());
        });
        await page.goto(pathToFileURL(html).href);
        const rows = page.locator('#matches tbody tr');
        expect(await rows.count()).toBe(2);
        // Every near-duplicate row's strip is decoded (naturalWidth > 0).
        // Runs in the page: wait for each image to load, then read its decoded width.
        type Img = { complete: boolean; naturalWidth: number; onload: (() => void) | null };
        const widths: number[] = await page.$$eval('#matches tbody tr[data-reason="near-duplicate"] td.strip img', (imgs) =>
          Promise.all((imgs as unknown as Img[]).map((img) => (img.complete ? img.naturalWidth : new Promise<number>((res) => (img.onload = () => res(img.naturalWidth)))))),
        );
        expect(widths.length).toBe(1);
        expect(widths.every((w) => w > 0)).toBe(true);
        // Sort by training video, both directions, with the keyboard.
        const firstTrain = () => page.locator('#matches tbody tr').first().getAttribute('data-train');
        await page.locator('th button[data-key="train"]').focus();
        await page.keyboard.press('Enter');
        expect(await firstTrain()).toBe('Ab3dE_fG9hK.mp4');
        await page.keyboard.press('Enter');
        expect(await firstTrain()).toBe('compilation.mp4');
        expect(await page.locator('th[aria-sort="descending"] button').getAttribute('data-key')).toBe('train');
        // Filter by text, then by reason.
        await page.fill('#filter', 'mandelbrot');
        expect(await page.locator('#matches tbody tr:not([hidden])').count()).toBe(1);
        await page.fill('#filter', '');
        await page.selectOption('#reason', 'youtube-id');
        expect(await page.locator('#matches tbody tr:not([hidden])').getAttribute('data-train')).toBe('Ab3dE_fG9hK.mp4');
        await page.selectOption('#reason', '');
        expect(external).toEqual([]);
        await mkdir(path.dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      } finally {
        await browser.close();
      }
    });
  });
});
