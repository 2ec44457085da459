/**
 * The web console's budgets: first-load compressed JS (≤ 250 KB) and time-to-usable on loopback
 * (≤ 1.5 s: from navigation to the events list of a signed-in photographer with 50 events, in Debian's
 * Chromium), median of `--runs` cold loads (a fresh browser context each, so nothing is cached).
 *
 *   npm run build:web && npm run bench:console -- [--runs 5]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { createTestApp } from '../test/helpers/app.js';
import { startPipeline } from '../test/helpers/pipeline.js';
import { findConsoleDir } from '../src/api/routes/console.routes.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;

async function main(): Promise<void> {
  const dir = findConsoleDir();
  if (!dir) throw new Error('Build the console first: npm run build:web');
  const html = await fs.readFile(path.join(dir, 'index.html'), 'utf8');
  let gzip = 0;
  let raw = 0;
  for (const [, src] of html.matchAll(/<script[^>]+src="([^"]+)"/g)) {
    const bytes = await fs.readFile(path.join(dir, src!));
    raw += bytes.length;
    gzip += zlib.gzipSync(bytes, { level: 9 }).length;
  }
  console.log(`first-load JS: ${(raw / 1024).toFixed(1)} KB, ${(gzip / 1024).toFixed(1)} KB gzip (budget 250 KB)`);

  const t = await createTestApp();
  const pipeline = await startPipeline(t);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const base = pipeline.api.replace(/\/api\/v1$/, '');
    const email = 'bench@example.com';
    const p = await t.photographer(email);
    await t.deps.services.accounts.setPassword(email, 'bench password 1');
    for (let i = 0; i < 50; i++) await t.deps.services.events.create(p.id, { name: `Event ${i}`, description: null, location: null, event_date: null });
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext({ locale: 'en-US' });
      const login = await context.request.post(`${pipeline.api}/auth/login`, { data: { email, password: 'bench password 1' } });
      if (!login.ok()) throw new Error(`login: ${login.status()}`);
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${base}/events`);
      // Usable: the list is rendered with its counts.
      await page.locator('.event-list .counts dd', { hasText: /^\d+$/ }).first().waitFor();
      times.push(performance.now() - started);
      await context.close();
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`time to usable (events list, ${RUNS} cold loads): median ${median.toFixed(0)} ms, max ${times[times.length - 1]!.toFixed(0)} ms (budget 1500 ms)`);
  } finally {
    await browser.close();
    await pipeline.close();
    await t.close();
  }
}

await main();
