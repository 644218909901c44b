import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { withTempDir } from '../helpers/ffmpeg.js';
import { scanWhenDone, testEnv } from '../helpers/service.js';
import { pino } from 'pino';
import { buildApp } from '../../src/http/app.js';
import { startWorkers } from '../../src/worker/worker.js';

/** Debian's Chromium, installed by .ci/run (a test tool's own browser download fails offline). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** CI artifact: the screenshot of the report (named in the README). */
const SCREENSHOT = path.join(repoRoot, 'test-artifacts', 'scan-report.png');
const SERVICE_SCREENSHOT = path.join(repoRoot, 'test-artifacts', 'service-scan-report.png');
const SCANS_SCREENSHOT = path.join(repoRoot, 'test-artifacts', 'service-scans.png');

const launch = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

/**
 * Open a scan report of the fixtures scan (two matches: one YouTube-ID, one near-duplicate) and
 * check what a reviewer relies on: decoded strips, keyboard sorting, filters, nothing fetched
 * from elsewhere than the report's own origin. Saves a screenshot.
 */
async function checkReportPage(browser: Browser, url: string, origin: string, screenshot: string): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Any request leaving the file (a CDN script, a font) would fail the "works offline" promise.
  const external: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(origin) && !req.url().startsWith('data:')) external.push(req.url());
  });
  await page.goto(url);
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
  await mkdir(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
}

describe('HTML scan report in a real browser', () => {
  it('shows an evidence strip for every near-duplicate, sorts and filters the table', async () => {
    await withTempDir(async (dir) => {
      const html = path.join(dir, 'report.html');
      const r = await runCli(
        ['scan', '--train', path.join(repoRoot, 'fixtures', 'scan', 'train'), '--bench', path.join(repoRoot, 'fixtures', 'scan', 'bench'), '--out', path.join(dir, 'r.json'), '--html', html],
        { VDEDUP_CACHE_DIR: path.join(dir, 'cache') },
      );
      expect(r.code).toBe(0);
      const browser = await launch();
      try {
        await checkReportPage(browser, pathToFileURL(html).href, 'file:', SCREENSHOT);
      } finally {
        await browser.close();
      }
    });
  });

  it('the service serves the same report (strips rendered by the scan worker) and a scans page with links to it', async () => {
    const t = await testEnv();
    const app = await buildApp(t.config, { logger: false });
    const workers = await startWorkers(t.config, pino({ level: 'silent' }));
    const browser = await launch();
    try {
      const origin = await app.listen({ host: '127.0.0.1', port: 0 });
      const res = await app.inject({ method: 'POST', url: '/v1/scans', headers: { 'content-type': 'application/json' }, payload: { train: 'scan/train', bench: 'scan/bench' } });
      const { scanId } = res.json() as { scanId: string };
      expect((await scanWhenDone(app, scanId, 60_000)).state).toBe('completed');
      await checkReportPage(browser, `${origin}/v1/scans/${scanId}/report?format=html`, origin, SERVICE_SCREENSHOT);

      const page = await browser.newPage();
      await page.goto(`${origin}/v1/scans?format=html`);
      const row = page.locator('#scans tbody tr');
      expect(await row.count()).toBe(1);
      expect(await row.getAttribute('data-state')).toBe('completed');
      expect(await row.locator('progress').getAttribute('value')).toBe('100');
      expect(await row.textContent()).toContain('2 to remove');
      await page.screenshot({ path: SCANS_SCREENSHOT });
      // The report link, followed with the keyboard, opens the report.
      await row.locator('a', { hasText: 'report' }).focus();
      await Promise.all([page.waitForURL(/\/report\?format=html$/), page.keyboard.press('Enter')]);
      expect(await page.locator('#matches tbody tr').count()).toBe(2);
      const list = await app.inject({ method: 'GET', url: '/v1/scans' });
      expect(list.json().scans.map((x: { scanId: string }) => x.scanId)).toEqual([scanId]);
    } finally {
      await browser.close();
      await app.close();
      await workers.close(5000);
      await t.cleanup();
    }
  });
});
