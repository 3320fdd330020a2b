/**
 * The saved report.html, with its cid: images resolved to files beside it, rendered by a real
 * browser (Debian's chromium, driven by playwright-core) at phone and desktop width: the
 * headline and the first warning must be on the first screen at 390 px, nothing may overflow
 * sideways, every image must load, and no request may leave the page (no external assets).
 * Screenshots are left in $REPORT_SCREENSHOT_DIR (default: a temp dir, printed).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { renderReport, resolveImages } from '../lib/report/index.js';
import { NO_LOSS_LINE } from '../lib/report/content.js';
import type { RenderedReport } from '../lib/report/types.js';
import { baseInput, hostileInput, noAlertInput } from './fixtures/report/inputs.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  // eslint-disable-next-line no-console
  console.warn(`report-browser: skipped: ${CHROMIUM} not found (install Debian's chromium package; CI's .ci/run does)`);
}

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

/** report.html as saved beside the run, plus the images it names, in one directory. */
function saveResolved(dir: string, name: string, r: RenderedReport): string {
  for (const img of r.images) writeFileSync(join(dir, `${name}-${img.filename}`), img.png);
  const html = resolveImages(r.html, r.images, (img) => `${name}-${img.filename}`);
  expect(html).not.toContain('cid:');
  const file = join(dir, `${name}.html`);
  writeFileSync(file, html);
  return file;
}

describe.skipIf(!hasChromium)('report in headless Chromium', () => {
  let ctx: BrowserContext;
  let profile: string;
  const outDir = process.env.REPORT_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'tailwatch-report-'));
  const reports: Record<string, { file: string; r: RenderedReport }> = {};

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    for (const [name, input] of [
      ['alerts', baseInput()],
      ['no-alerts', noAlertInput()],
      ['hostile', hostileInput()],
    ] as const) {
      const r = await renderReport(input);
      reports[name] = { file: saveResolved(outDir, name, r), r };
    }
    profile = mkdtempSync(join(tmpdir(), 'tailwatch-chromium-profile-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: PHONE,
      javaScriptEnabled: true, // for the test's own page.evaluate; the report has no script
    });
    // eslint-disable-next-line no-console
    console.log(`report-browser: screenshots in ${outDir}`);
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(name: string, viewport: { width: number; height: number }) {
    const page = await ctx.newPage();
    await page.setViewportSize(viewport);
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) external.push(req.url());
    });
    await page.goto(pathToFileURL(reports[name].file).href, { waitUntil: 'load' });
    return { page, external };
  }

  async function imagesLoaded(page: import('playwright-core').Page) {
    return page.$$eval('img', (imgs) =>
      imgs.map((i) => ({ src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0, alt: i.getAttribute('alt') ?? '' })),
    );
  }

  it('phone 390 px: headline and first warning above the fold, no sideways scroll, images load', async () => {
    const { r } = reports.alerts;
    const { page, external } = await open('alerts', PHONE);
    await page.screenshot({ path: join(outDir, 'alerts-390.png') });
    await page.screenshot({ path: join(outDir, 'alerts-390-full.png'), fullPage: true });

    const h1 = await page.locator('h1').boundingBox();
    expect(h1).not.toBeNull();
    expect(await page.locator('h1').innerText()).toContain('Small customers in region=EU');
    expect(h1!.y + h1!.height).toBeLessThanOrEqual(PHONE.height);

    // the first warning: its title, its numbers and its money, all inside the first viewport
    const card = page.getByText('#1 · Critical');
    const money = page.getByText('$48,210 a year at risk').first();
    const numbers = page.getByText('21.0% → 14.0%').first();
    for (const loc of [card, numbers, money]) {
      const b = await loc.boundingBox();
      expect(b).not.toBeNull();
      expect(b!.y).toBeGreaterThanOrEqual(0);
      expect(b!.y + b!.height).toBeLessThanOrEqual(PHONE.height);
    }
    const moneyBox = await money.boundingBox();
    // eslint-disable-next-line no-console
    console.log(`report-browser: phone: headline ends at ${Math.round(h1!.y + h1!.height)} px, first warning's money line at ${Math.round(moneyBox!.y + moneyBox!.height)} px of ${PHONE.height}`);

    // string expressions: the project's tsconfig has no DOM lib
    const scrollWidth = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    expect(scrollWidth).toBeLessThanOrEqual(PHONE.width);

    const imgs = await imagesLoaded(page);
    expect(imgs).toHaveLength(r.images.length);
    for (const i of imgs) {
      expect(i.ok, `image ${i.src} did not load`).toBe(true);
      expect(i.alt.length).toBeGreaterThan(20);
    }
    expect(external).toEqual([]);
    await page.close();
  }, 30_000);

  it('desktop 1280 px: one centred column, images load', async () => {
    const { page, external } = await open('alerts', DESKTOP);
    await page.screenshot({ path: join(outDir, 'alerts-1280.png') });
    await page.screenshot({ path: join(outDir, 'alerts-1280-full.png'), fullPage: true });
    const h1 = await page.locator('h1').boundingBox();
    expect(h1!.y + h1!.height).toBeLessThanOrEqual(DESKTOP.height);
    // the column is capped at 640 px and centred
    expect(h1!.width).toBeLessThanOrEqual(640);
    expect(Math.abs(h1!.x + h1!.width / 2 - DESKTOP.width / 2)).toBeLessThan(40);
    for (const i of await imagesLoaded(page)) expect(i.ok, `image ${i.src} did not load`).toBe(true);
    expect(external).toEqual([]);
    await page.close();
  }, 30_000);

  it('no alerts: the first line says so, on the first screen, and the trend charts are still there', async () => {
    const { page } = await open('no-alerts', PHONE);
    await page.screenshot({ path: join(outDir, 'no-alerts-390.png') });
    const bodyText = (await page.evaluate('document.body.innerText')) as string;
    const firstText = bodyText.trim().split('\n').map((l) => l.trim()).filter(Boolean);
    expect(firstText[0]).toBe(NO_LOSS_LINE('month'));
    const h1 = await page.locator('h1').boundingBox();
    expect(h1!.y + h1!.height).toBeLessThanOrEqual(PHONE.height);
    const imgs = await imagesLoaded(page);
    expect(imgs).toHaveLength(3);
    for (const i of imgs) expect(i.ok).toBe(true);
    await page.close();
  }, 30_000);

  it('hostile names stay text: no element or script comes from the data', async () => {
    const { page } = await open('hostile', PHONE);
    await page.screenshot({ path: join(outDir, 'hostile-390.png') });
    const counts = await page.evaluate(`({
      scripts: document.querySelectorAll('script').length,
      imgs: document.querySelectorAll('img').length,
      bold: [...document.querySelectorAll('b')].filter((b) => b.textContent === 'Evil & Co').length,
    })`);
    expect(counts).toEqual({ scripts: 0, imgs: 3, bold: 0 });
    expect(await page.locator('h1').innerText()).toContain('<script>alert(1)</script>');
    // long unbroken hostile names wrap instead of widening the page
    expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(PHONE.width);
    await page.close();
  }, 30_000);
});
