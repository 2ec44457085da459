import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { johns, selfie } from '../helpers/dev-event.js';
import { createSearchGate, type SearchGate } from '../../src/queue/search-gate.js';
import { createJobHandlers } from '../../src/workers/index.js';
import { createFaceEngine, type FaceEngine } from '../../src/vision/index.js';
import { testModelDir } from '../vision/fixtures.js';

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('search gate: photo analysis steps aside while selfie searches run', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let engine: FaceEngine;
  let gate: SearchGate;
  /** What happened when, in order: searches start/end, analysis enters a pause point / runs on. */
  const timeline: { what: 'search-start' | 'search-end' | 'yield-enter' | 'run'; at: number }[] = [];
  let seq = 0;
  let firstRun!: () => void;
  const analysing = new Promise<void>((resolve) => (firstRun = resolve));
  let searching = false;
  let pausedDuringSearch!: () => void;
  const paused = new Promise<void>((resolve) => (pausedDuringSearch = resolve));
  /** Analysis sits at a pause point now: its last mark is an entered pause not run on yet. */
  const atPause = (): boolean => timeline.filter((e) => e.what === 'yield-enter' || e.what === 'run').at(-1)?.what === 'yield-enter';
  const mark = (what: (typeof timeline)[number]['what']): void => {
    timeline.push({ what, at: ++seq });
    if (what === 'run') firstRun();
    if (searching && atPause()) pausedDuringSearch();
  };

  before(async () => {
    t = await createTestApp({ storage: 'local' });
    engine = await createFaceEngine({ modelDir: testModelDir() });
    // Long enough never to run out during the test: the pause must end because the search did.
    gate = createSearchGate(t.deps.redis, { prefix: t.deps.config.queue.prefix, maxWaitMs: 60_000 });
    const observed = {
      during: <T>(search: () => Promise<T>): Promise<T> =>
        gate.during(async () => {
          mark('search-start');
          searching = true;
          if (atPause()) pausedDuringSearch();
          try {
            const result = await search();
            // The search stays in flight until analysis has reached a pause point (a search may
            // otherwise fall in a gap between photos): what follows must then wait for it.
            await withTimeout(paused, 120_000, 'analysis never paused during the search');
            return result;
          } finally {
            searching = false;
            mark('search-end');
          }
        }),
      yieldToSearches: async (): Promise<void> => {
        mark('yield-enter');
        await gate.yieldToSearches();
        mark('run');
      },
    };
    pipeline = await startPipeline(t, { handlers: createJobHandlers(t.deps, { engine, searchGate: observed }) });
  });
  after(async () => {
    await pipeline?.close();
    await engine?.close();
    if (t) {
      await t.deps.jobs.queue('photos').obliterate({ force: true });
      await t.close();
    }
  });

  it('no detector run starts while a search is in flight, and analysis goes on after it', async () => {
    const owner = await t.photographer();
    const eventId = (await t.deps.services.events.create(owner.id, { name: 'Gate' })).id;
    const people = await johns();
    // A burst of large photos (many tiles each), so analysis is running when the search comes.
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const face = await sharp(people[i]!.files[0]!).resize(300, 300).toBuffer();
      const photo = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: { r: 90 + 30 * i, g: 120, b: 140 } } })
        .composite([{ input: face, left: 400 + 200 * i, top: 600 }])
        .jpeg({ quality: 90 })
        .toBuffer();
      const form = new FormData();
      form.append('event_id', String(eventId));
      form.append('file', new Blob([photo]), `burst-${i}.jpg`);
      const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
      assert.equal(res.status, 201);
      ids.push(((await res.json()) as { face_id: number }).face_id);
    }
    // Analysis is under way: wait for its first detector run.
    await withTimeout(analysing, 120_000, 'analysis never started');
    const out = await t.deps.services.search.search({ kind: 'photographer', photographerId: owner.id, eventId }, [await selfie(people[0]!.files[3]!)], { threshold: 0.7, limit: 10 });
    assert.ok(out.task_id);
    for (const id of ids) await pipeline.waitForJob('photos', `process-photo-${id}`);

    const start = timeline.find((e) => e.what === 'search-start')!;
    const end = timeline.find((e) => e.what === 'search-end')!;
    // One photo job at a time: pause points and runs alternate (enter, run, enter, run, …). A check
    // answered just before the search's mark reached Redis may still run on; a pause point reached
    // after the search started must wait for its end.
    const pauses = timeline.filter((e) => e.what === 'yield-enter');
    const runs = timeline.filter((e) => e.what === 'run');
    const pairs = pauses.map((enter, i) => ({ enter, run: runs[i] }));
    const ranThrough = pairs.filter((p) => p.enter.at > start.at && p.run !== undefined && p.run.at < end.at);
    assert.deepEqual(ranThrough, [], 'no pause point reached during the search let analysis run on before its end');
    const held = pairs.filter((p) => p.enter.at < end.at && p.run !== undefined && p.run.at > end.at);
    assert.equal(held.length, 1, 'analysis was held at a pause point until the search was done, then went on');
    assert.equal(await gate.inFlight(), 0);
  });

  it('a search that died (expired mark) holds nothing; a flood of searches holds analysis at most maxWaitMs', async () => {
    const key = `${t.deps.config.queue.prefix}:search-gate`;
    await t.deps.redis.zadd(key, Date.now() - 1, 'crashed-search');
    assert.equal(await gate.inFlight(), 0, 'expired marks are not counted');
    const short = createSearchGate(t.deps.redis, { prefix: t.deps.config.queue.prefix, maxWaitMs: 200 });
    let release!: () => void;
    const held = short.during(() => new Promise<void>((resolve) => (release = resolve)));
    const started = performance.now();
    await short.yieldToSearches();
    assert.ok(performance.now() - started >= 190, 'waited for the search');
    assert.equal(await short.inFlight(), 1, 'and went on while it still ran: never starved');
    release();
    await held;
    assert.equal(await short.inFlight(), 0);
  });
});
