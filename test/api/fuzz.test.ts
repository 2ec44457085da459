import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { HTTPMethods, RouteOptions } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { multipart, type Part } from '../helpers/raw-http.js';
import { ADMIN_TOKEN_HEADER } from '../../src/api/routes/admin.routes.js';

/** Deterministic PRNG (mulberry32): the same seed sends the same requests in the same order. */
function prng(seed: number): { next(): number; int(n: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)]!, chance: (p) => next() < p };
}

/** Requests per route (each with a fresh random path, query, auth and body). */
const PER_ROUTE = 60;

const hasErrorCode = (body: string): boolean => {
  try {
    return typeof (JSON.parse(body) as { error?: unknown }).error === 'string';
  } catch {
    return false;
  }
};

const NASTY_IDS = ['0', '-1', '1e400', '1e300', '0x34', '52e0', '52.0', '052', '%2B52', '%20', '%00', '9'.repeat(30), '2147483648', 'abc', '1.5', 'NaN', 'Infinity',
  '__proto__', 'constructor', '..%2F..%2Fetc%2Fpasswd', '%E2%80%AE', '%F0%9F%98%80', 'a'.repeat(600), '%', '%ZZ', 'null', '[]', '{}'];
const NASTY_STRINGS = ['', ' ', '\u0000', 'a\u0000b', '\u202e', '😀', 'x'.repeat(6000), '<script>alert(1)</script>', "' OR 1=1 --", '%00', '\\', '"', '\ud800',
  '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2024-02-30T00:00:00Z', '2016-12-31T23:59:60Z', '+275760-09-13T00:00:00Z', '1e400', 'true', 'null'];
const NASTY_VALUES: unknown[] = [null, true, false, 0, -1, 1e308, -1e308, 2 ** 53, 0.5, [], {}, [null], { a: { b: {} } }, ...NASTY_STRINGS];
const FIELDS = ['name', 'description', 'location', 'event_date', 'is_active', 'event_uuid', 'email', 'revoke_others', 'event_id', '__proto__', 'constructor'];
const FORM_FIELDS = ['event_id', 'event_uuid', 'threshold', 'limit', 'face_index', 'file', 'x', '__proto__'];
const QUERY_KEYS = ['skip', 'limit', 'is_active', 'status', 'event_id', 'expires', 'sig', 'x', '__proto__'];

describe('fuzz: malformed input to every route, with and without auth, never a 5xx', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let base: string;
  let owner: { id: number; headers: { authorization: string } };
  let stranger: { id: number; headers: { authorization: string } };
  let eventIds: number[];
  let eventUuid: string;
  const adminToken = crypto.randomBytes(16).toString('hex');
  // Every route as it is added, plugins' included: a new route is fuzzed without being listed here.
  const routes: { method: HTTPMethods; url: string }[] = [];
  const onRoute = (route: RouteOptions): void => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  };

  before(async () => {
    // One attempt per job: fuzzed uploads that pass the format sniff are garbage to the engine.
    t = await createTestApp({ storage: 'local', env: { SEARCH_RATE_LIMIT_PER_MINUTE: '100000', JOB_ATTEMPTS: '1', UPLOAD_MAX_MB: '1' }, api: { adminToken, onRoute } });
    // Real workers: a search of a real event must get its answer (a fuzzed selfie is "no face"), not time out.
    pipeline = await startPipeline(t, { workers: true });
    base = pipeline.api.replace(/\/api\/v1$/, '');
    owner = await t.photographer();
    stranger = await t.photographer();
    // Several events: the fuzz may delete or deactivate some, and the rest keep deeper paths reachable.
    const events: { id: number; event_uuid: string }[] = [];
    for (let i = 0; i < 4; i++) {
      events.push((await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: `Fuzz ${i}` } })).json<{ id: number; event_uuid: string }>());
    }
    eventIds = events.map((e) => e.id);
    eventUuid = events[0]!.event_uuid;
  });
  after(async () => {
    await pipeline.close();
    await t.close();
  });

  it('answers every fuzzed request with a status below 500 and an error body for every 4xx', async () => {
    const started = Date.now();
    const urls = routes.map((r) => `${r.method} ${r.url}`);
    for (const known of ['POST /api/v1/faces/upload', 'POST /api/v1/faces/search', 'PATCH /api/v1/events/:event_id', 'GET /api/v1/files/*', 'POST /internal/admin/photographers']) {
      assert.ok(urls.includes(known), `${known} is enumerated (${urls.join(', ')})`);
    }
    // One stream per route (seeded by the route itself): adding a route does not change what the others are sent.
    let random = prng(0x5eed);
    const jpegHead = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => random.int(256)));

    const idValue = (): string => random.pick([...eventIds.map(String), '1', ...NASTY_IDS]);
    const pathFor = (url: string): string =>
      url
        .replace(/:[a-z_]+/g, (param) => (param === ':event_uuid' ? random.pick([eventUuid, crypto.randomUUID(), eventUuid.toUpperCase(), ...NASTY_IDS]) : idValue()))
        .replace(/\*$/, () => random.pick(['events/1/x.jpg', '../../etc/passwd', '%2e%2e/%2e%2e/x', 'a/b/c', '%00', '', 'x'.repeat(3000)]));
    const queryString = (): string => {
      if (random.chance(0.3)) return '';
      const pairs: string[] = [];
      for (let i = random.int(4) + 1; i > 0; i--) {
        const key = random.pick(QUERY_KEYS);
        const value = random.pick([...NASTY_IDS, 'true', 'false', 'pending', 'done', '1', '200', '201', String(eventIds[0])]);
        pairs.push(random.chance(0.1) ? key : `${key}=${value}`);
      }
      if (random.chance(0.1)) pairs.push(random.pick(['a[b]=c', '=', '&&', '%', 'skip[]=1', 'limit=1&limit=2']));
      return `?${pairs.join('&')}`;
    };
    const jsonValue = (depth = 0): unknown => {
      if (depth < 2 && random.chance(0.15)) return Object.fromEntries(Array.from({ length: random.int(3) }, () => [random.pick(FIELDS), jsonValue(depth + 1)]));
      return random.pick(NASTY_VALUES);
    };
    const body = (): { payload: string | Buffer | undefined; contentType: string | undefined } => {
      switch (random.int(6)) {
        case 0:
          return { payload: undefined, contentType: undefined };
        case 1: {
          const raw = random.pick(['{', '{"name":', '[', 'null', '"x"', '1e999', '{"name":"\\u0000"}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}',
            `${'['.repeat(3000)}${']'.repeat(3000)}`, `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`, '{"name":"a","name":"b"}', '\ufeff{"name":"x"}', '{"name":"\ud800"}']);
          return { payload: raw, contentType: random.pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded']) };
        }
        case 2: {
          const object: Record<string, unknown> = { name: 'fuzz' };
          for (let i = random.int(4); i > 0; i--) object[random.pick(FIELDS)] = jsonValue();
          return { payload: JSON.stringify(object), contentType: 'application/json' };
        }
        case 3:
          return { payload: bytes(random.int(2000)), contentType: random.pick(['application/octet-stream', 'image/jpeg', 'multipart/form-data', 'multipart/form-data; boundary=', `multipart/form-data; boundary=${'b'.repeat(300)}`, 'application/json']) };
        default: {
          // Half the forms start plausible (a real event, then a file) so the fuzz gets past the first check.
          const parts: Part[] = [];
          const file = (): Part => {
            const content = random.chance(0.05) ? Buffer.concat([jpegHead, bytes(1200 * 1024)]) : random.chance(0.5) ? Buffer.concat([jpegHead, bytes(random.int(3000))]) : bytes(random.int(3000));
            return { name: random.chance(0.9) ? 'file' : random.pick(FORM_FIELDS), filename: random.pick(['x.jpg', 'a\u0000b.jpg', '../../x.jpg', '😀.png', 'x'.repeat(400), '', '"']), content, type: random.pick(['image/jpeg', 'text/plain', '']) };
          };
          if (random.chance(0.5)) parts.push(random.chance(0.7) ? { name: 'event_id', value: String(random.pick(eventIds)) } : { name: 'event_uuid', value: eventUuid }, file());
          for (let i = random.int(4) + (random.chance(0.1) ? 11 : 0); i > 0; i--) {
            const name = random.pick(FORM_FIELDS);
            if (name === 'file' || random.chance(0.1)) parts.push(file());
            else parts.push({ name, value: random.pick([String(eventIds[0]), eventUuid, '0.5', '3', ...NASTY_IDS, ...NASTY_STRINGS.slice(0, 12)]) });
          }
          // Shuffled a little: a field after the file, a file before the event.
          if (random.chance(0.3)) parts.reverse();
          const form = multipart(parts, random.chance(0.1) ? 'x'.repeat(70) : undefined, { close: !random.chance(0.15) });
          const cut = random.chance(0.15) ? form.body.subarray(0, random.int(form.body.length)) : form.body;
          const contentType = random.chance(0.05) ? 'multipart/form-data; boundary=other' : form.contentType;
          return { payload: cut, contentType };
        }
      }
    };
    const authHeaders = (): Record<string, string> =>
      random.pick<Record<string, string>>([
        {},
        owner.headers,
        owner.headers,
        stranger.headers,
        { authorization: 'Bearer ' },
        { authorization: 'Bearer fp_forged' },
        { authorization: 'Basic Zm9vOmJhcg==' },
        { authorization: `Bearer ${'a'.repeat(5000)}` },
        { [ADMIN_TOKEN_HEADER]: adminToken },
        { [ADMIN_TOKEN_HEADER]: 'wrong' },
      ]);

    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let sent = 0;
    for (const route of routes) {
      random = prng([...`${route.method} ${route.url}`].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 0x5eed));
      for (let i = 0; i < PER_ROUTE; i++) {
        const url = pathFor(route.url) + queryString();
        const headers = authHeaders();
        const { payload, contentType } = route.method === 'GET' ? (random.chance(0.2) ? body() : { payload: undefined, contentType: undefined }) : body();
        const res = await t.app.inject({ method: route.method, url, headers: { ...headers, ...(contentType && { 'content-type': contentType }) }, ...(payload !== undefined && { payload }) });
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const described = `${route.method} ${url.slice(0, 200)} [${contentType ?? '-'}, ${Object.keys(headers).join(',') || 'no auth'}] → ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (res.statusCode >= 500) failures.push(described);
        else if (res.statusCode >= 400 && !hasErrorCode(res.body)) failures.push(`no error code: ${described}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${sent} fuzzed requests failed`);
    assert.ok(sent >= routes.length * PER_ROUTE);
    // The fuzz reaches past validation: successes and the deeper refusals (not only 400s) happen.
    // (A 422 needs a plausible search that also drew the owner's key and a live event: too rare to
    // count on for every seed and route list; test/search covers those answers.)
    for (const status of [200, 201, 401, 404, 415]) assert.ok(statuses.has(status), `some request answered ${status}: ${JSON.stringify([...statuses])}`);

    // Still ready, over a real socket.
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    console.log(`# fuzz: ${sent} requests in ${Date.now() - started} ms over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});
