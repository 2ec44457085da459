import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { devDataDir } from '../vision/fixtures.js';
import { tempDir } from '../helpers/services.js';
import { findConsoleDir } from '../../src/api/routes/console.routes.js';

/** Debian's Chromium: no browser download. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.resolve('test/.artifacts/console');
const PASSWORD = 'console e2e password';

/** Gzipped size of the scripts index.html loads (the first-load budget is 250 KB). */
async function firstLoadJsGzip(dir: string): Promise<number> {
  const html = await fs.readFile(path.join(dir, 'index.html'), 'utf8');
  let total = 0;
  for (const [, src] of html.matchAll(/<script[^>]+src="([^"]+)"/g)) total += zlib.gzipSync(await fs.readFile(path.join(dir, src!))).length;
  for (const [, href] of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)) total += zlib.gzipSync(await fs.readFile(path.join(dir, href!))).length;
  return total;
}

describe('web console end to end in Chromium: sign in, upload by drag and drop, processing, photo, poster, selfie, insights, sign out', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let photoDir: { dir: string; remove(): Promise<void> };
  let selfiePath: string;
  let email: string;
  let eventId: number;
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  before(async () => {
    assert.ok(findConsoleDir(), 'the console is built (npm run build:web; npm test does it first)');
    await fs.mkdir(ARTIFACTS, { recursive: true });
    // 20 event photos: dlib's 12 example photos, and 8 group shots of the "johns" (person 0 in four of them).
    photoDir = await tempDir();
    const dlib = path.join(await devDataDir(), 'faces');
    const examples = (await fs.readdir(dlib)).filter((f) => f.endsWith('.jpg')).sort();
    await fs.mkdir(path.join(photoDir.dir, 'ceremony'), { recursive: true });
    for (const f of examples) await fs.copyFile(path.join(dlib, f), path.join(photoDir.dir, 'ceremony', f));
    const people = await johns();
    for (let i = 0; i < 20 - examples.length; i++) {
      const who = [people[i % 2 === 0 ? 0 : 1]!, people[2 + (i % 3)]!].map((p) => p.files[i]!);
      await fs.writeFile(path.join(photoDir.dir, 'ceremony', `group-${i}.jpg`), await groupPhoto(who, i));
    }
    // One file that is not an image: the console must show a clear per-file error for it.
    await fs.writeFile(path.join(photoDir.dir, 'ceremony', 'notes.jpg'), 'this is not a photo');
    selfiePath = path.join(photoDir.dir, 'selfie.jpg');
    await fs.writeFile(selfiePath, await selfie(people[0]!.files[10]!));

    t = await createTestApp({ env: { TELEGRAM_BOT_USERNAME: 'facepass_e2e_bot' } });
    pipeline = await startPipeline(t, { workers: true });
    base = pipeline.api.replace(/\/api\/v1$/, '');
    email = `e2e-${Date.now()}@example.com`;
    await t.photographer(email);
    await t.deps.services.accounts.setPassword(email, PASSWORD);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await pipeline?.close();
    await t?.close();
    await photoDir?.remove();
  });

  it('keeps the first load within 250 KB of compressed JS', async () => {
    const gz = await firstLoadJsGzip(findConsoleDir()!);
    console.log(`# first-load JS: ${(gz / 1024).toFixed(1)} KB gzip`);
    assert.ok(gz <= 250 * 1024, `${gz} bytes`);
  });

  it('refuses everything without a session and sends the visitor to sign-in', async () => {
    await page.goto(`${base}/events`);
    await page.getByRole('heading', { name: 'FacePass console' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    const status = await page.evaluate(`fetch('/api/v1/events/').then((r) => r.status)`);
    assert.equal(status, 401);
    // The console never shadows the API, docs or health routes.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.match(await (await fetch(`${base}/docs/json`)).text(), /openapi/);
    assert.equal((await fetch(`${base}/api/v1/nothing-here`)).status, 404);
    await shot('01-sign-in');
  });

  it('signs in (a wrong password is refused), creates an event', async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    // The session cookie is httpOnly: the page cannot read it.
    assert.equal(await page.evaluate(`document.cookie.includes('facepass_session')`), false);
    // CSRF: a same-origin request without the token is refused even with the cookie.
    const csrfless = await page.evaluate(
      `fetch('/api/v1/events/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' }).then((r) => r.status)`,
    );
    assert.equal(csrfless, 403);

    await page.getByLabel('Name').fill('Свадьба Ивана и Марии');
    await page.getByLabel('Date').fill('2026-06-15');
    await page.getByLabel('Location').fill('Москва');
    await page.getByRole('button', { name: 'Create' }).click();
    const link = page.getByRole('link', { name: 'Свадьба Ивана и Марии' });
    await link.waitFor();
    eventId = Number((await link.getAttribute('href'))!.split('/').pop());
    assert.ok(eventId > 0);
    await shot('02-events');
  });

  it('uploads 20 photos by drag and drop, shows a per-file error for a non-image, and processes them all', async () => {
    await page.getByRole('link', { name: 'Свадьба Ивана и Марии' }).click();
    await page.getByTestId('dropzone').waitFor();
    const files = (await fs.readdir(path.join(photoDir.dir, 'ceremony'))).map((f) => path.join(photoDir.dir, 'ceremony', f));
    assert.equal(files.length, 21);
    // Files reach the page through a hidden input; the drop is a real DragEvent with a DataTransfer built from them.
    const drop = async () => {
      await page.evaluate(`{
        const input = document.createElement('input');
        input.type = 'file';
        input.multiple = true;
        input.id = 'e2e-files';
        input.hidden = true;
        document.body.append(input);
      }`);
      await page.setInputFiles('#e2e-files', files);
      await page.evaluate(`{
        const input = document.getElementById('e2e-files');
        const transfer = new DataTransfer();
        for (const f of input.files) transfer.items.add(f);
        input.remove();
        const zone = document.querySelector('[data-testid=dropzone]');
        zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }`);
    };
    await drop();
    const summary = page.getByTestId('upload-summary');
    await summary.filter({ hasText: /20 uploaded · 0 already there · 1 failed \/ 21/ }).waitFor({ timeout: 120_000 });
    await page.getByText('notes.jpg: Not a supported image (JPEG, PNG, WebP, AVIF, TIFF)').waitFor();
    await shot('03-upload');

    // Processing by the real workers and engine, followed by polling.
    await page.getByTestId('progress').filter({ hasText: /20 of 20 processed/ }).waitFor({ timeout: 480_000 });
    const progress = await (await fetch(`${pipeline.api}/events/${eventId}/progress`, { headers: { cookie: await cookieHeader(context) } })).json() as { done: number; total: number };
    assert.equal(progress.total, 20);
    assert.equal(progress.done, 20);
    // The grid is virtualised: it holds tiles for the rows in view, here all 20 (2–3 rows).
    await page.locator('.tile img').first().waitFor();
    assert.equal(await page.locator('.tile').count(), 20);
    await shot('04-photos');

    // Dropping the same folder again uploads nothing: every file is already there (SHA-256 in the browser).
    await drop();
    await summary.filter({ hasText: /20 already there/ }).waitFor({ timeout: 60_000 });
    assert.equal((await t.deps.repositories.photos.countByEvent(eventId)), 20);
  });

  it('opens a photo with its face boxes', async () => {
    const tile = page.locator('.tile', { has: page.locator('.face-count') }).first();
    const count = Number(await tile.locator('.face-count').textContent());
    assert.ok(count > 0);
    await tile.click();
    const dialog = page.locator('dialog.photo-view');
    await dialog.locator('[data-testid=face-boxes] rect').first().waitFor();
    assert.equal(await dialog.locator('[data-testid=face-boxes] rect').count(), count);
    await dialog.locator('img').evaluate((img) => (img as unknown as { decode(): Promise<void> }).decode());
    await shot('05-photo-view');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('lists a failed photo with its reason and processes it again on Retry', async () => {
    // A photo failed by a cause that has gone away (the worker's engine ran out of memory, say).
    const [victim] = (await t.deps.repositories.photos.listByEvent(eventId, { offset: 0, limit: 1 })).items;
    assert.ok(await t.deps.repositories.photos.markFailed(victim!.id, 'Processing failed after every retry: out of memory'));
    await page.reload();
    const failed = page.getByTestId('failed-photos');
    await failed.getByText('out of memory').waitFor();
    await shot('05b-failed-photo');
    await failed.getByRole('button', { name: 'Retry' }).click();
    // Pending again at once (no longer listed as failed), then processed by the worker.
    await failed.waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByTestId('progress').filter({ hasText: /20 of 20 processed/ }).waitFor({ timeout: 120_000 });
    assert.equal((await t.deps.repositories.photos.findById(victim!.id))?.status, 'done');
  });

  it('shows the invite with its QR and prints a poster', async () => {
    await page.getByRole('link', { name: 'Invite' }).click();
    const poster = page.getByTestId('poster');
    await poster.locator('img').waitFor();
    assert.match(await page.getByLabel('Link for participants').inputValue(), /^https:\/\/t\.me\/facepass_e2e_bot\?start=/);
    await shot('06-invite');
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.top').isVisible(), false, 'print shows only the poster');
    assert.ok(await poster.getByText('Scan the code').isVisible());
    await shot('07-poster-print');
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.subarray(0, 5).toString() === '%PDF-');
    await fs.writeFile(path.join(ARTIFACTS, 'poster.pdf'), pdf);
    await page.emulateMedia({ media: 'screen' });
  });

  it('searches the event with a selfie and finds the photos of that person', async () => {
    await page.getByRole('link', { name: 'Try a selfie' }).click();
    await page.getByLabel('Selfie').setInputFiles(selfiePath);
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByTestId('search-results');
    await results.waitFor({ timeout: 120_000 });
    // Person 0 is in four of the group shots (and in none of dlib's photos).
    assert.equal(await results.locator('li').count(), 4);
    await results.getByText('4 photos found').waitFor();
    await shot('08-selfie-search');
  });

  it('shows insights with charts', async () => {
    await page.getByRole('link', { name: 'Insights' }).click();
    const insights = page.getByTestId('insights');
    await insights.waitFor();
    const stat = async (label: string) =>
      insights.locator('.stats .card').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd').textContent();
    assert.equal(await stat('Photos'), '20');
    assert.equal(await stat('Searches'), '1');
    assert.equal(await stat('Match rate'), '100 %');
    assert.ok((await insights.locator('svg.chart rect').count()) > 0);
    await shot('09-insights');
  });

  it('manages API keys, switches to Russian, fits a phone, and signs out', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Key name').fill('Lightroom');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByTestId('new-key').textContent();
    assert.match(key ?? '', /^fp_/);
    assert.equal((await fetch(`${pipeline.api}/events/`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    await shot('10-settings');

    await page.getByLabel('Language').selectOption('ru');
    await page.getByRole('link', { name: 'События' }).click();
    await page.getByRole('heading', { name: 'События', exact: true }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('11-events-ru-phone');
    const overflow = `document.documentElement.scrollWidth > window.innerWidth`;
    assert.equal(await page.evaluate(overflow), false, 'no horizontal scrolling on a phone');
    await page.getByRole('link', { name: 'Свадьба Ивана и Марии' }).click();
    await page.locator('.tile img').first().waitFor();
    await shot('12-event-ru-phone');
    assert.equal(await page.evaluate(overflow), false, 'the event page fits a phone too');
    await page.getByRole('link', { name: 'События' }).first().click();
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.getByRole('heading', { name: 'Консоль FacePass' }).waitFor();
    assert.equal(await page.evaluate(`fetch('/api/v1/events/').then((r) => r.status)`), 401);
    await page.goto(`${base}/events/${eventId}`);
    await page.getByRole('button', { name: 'Войти' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/sign-in');
  });
});

async function cookieHeader(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
}
