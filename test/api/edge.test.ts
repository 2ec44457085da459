import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabases, tempDir, testConfig } from '../helpers/services.js';
import { pngDeclaring } from '../helpers/png-header.js';
import { GET_HEALTHZ, multipart, postHead, RawConnection, type Part } from '../helpers/raw-http.js';
import { startMetricsServer } from '../../src/observability/metrics-server.js';
import { startService } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';

type Json = Record<string, unknown>;
type Caller = { id: number; headers: { authorization: string } };

describe('HTTP edge: connections, client mistakes, exposure, refusal order', () => {
  let t: TestApp;
  let port: number;
  let owner: Caller;
  let stranger: Caller;
  let active: { id: number; event_uuid: string };
  let inactive: { id: number; event_uuid: string };
  let jpeg: Buffer;

  before(async () => {
    // 1 MB uploads: bodies up to 2 MB are drained after a refusal, longer ones close the connection.
    t = await createTestApp({ env: { UPLOAD_MAX_MB: '1', SEARCH_RATE_LIMIT_PER_MINUTE: '10000' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
    owner = await t.photographer();
    stranger = await t.photographer();
    const create = async (name: string) =>
      (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name } })).json<{ id: number; event_uuid: string }>();
    active = await create('Open');
    inactive = await create('Closed');
    assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${inactive.id}`, headers: owner.headers, payload: { is_active: false } })).statusCode, 200);
    jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  });
  after(() => t.close());

  const noise = (bytes: number, seed = 1): Buffer => {
    const out = Buffer.alloc(bytes);
    let x = seed;
    for (let i = 0; i < bytes; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      out[i] = x >>> 24;
    }
    return out;
  };
  const uploadForm = (eventId: string, content: Buffer, filename = 'x.jpg'): ReturnType<typeof multipart> =>
    multipart([{ name: 'event_id', value: eventId }, { name: 'file', filename, content, type: 'image/jpeg' }]);
  const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, options: { headers?: Json; payload?: unknown } = {}) =>
    t.app.inject({ method, url, headers: options.headers as Record<string, string>, payload: options.payload as string });
  const injectForm = (url: string, form: { body: Buffer; contentType: string }, headers: Json = owner.headers) =>
    t.app.inject({ method: 'POST', url, headers: { ...(headers as Record<string, string>), 'content-type': form.contentType }, payload: form.body });
  const photoCount = async (eventId: number): Promise<number> =>
    Number((await t.deps.dbs.main.selectFrom('faces').select((eb) => eb.fn.countAll().as('n')).where('event_id', '=', eventId).executeTakeFirstOrThrow()).n);

  describe('a refused request leaves the keep-alive connection usable', () => {
    // Each refusal comes after the first part, with ~300 KB of the file still to read.
    const cases: [string, () => { headers: Record<string, string>; form: ReturnType<typeof multipart> }, number][] = [
      ['409 inactive event', () => ({ headers: owner.headers, form: uploadForm(String(inactive.id), Buffer.concat([jpeg, noise(300_000)])) }), 409],
      ['404 foreign event', () => ({ headers: stranger.headers, form: uploadForm(String(active.id), Buffer.concat([jpeg, noise(300_000)])) }), 404],
      ['415 not an image', () => ({ headers: owner.headers, form: uploadForm(String(active.id), noise(300_000, 7)) }), 415],
      ['413 a 900 MP image', () => ({ headers: owner.headers, form: uploadForm(String(active.id), pngDeclaring(30_000, noise(300_000, 3)), 'bomb.png') }), 413],
      ['400 malformed event_id', () => ({ headers: owner.headers, form: uploadForm('0x1', noise(300_000)) }), 400],
      ['401 revoked key', () => ({ headers: { authorization: 'Bearer fp_nope' }, form: uploadForm(String(active.id), noise(300_000)) }), 401],
    ];
    for (const [name, make, status] of cases) {
      it(`upload answered ${name}, then GET /healthz on the same socket is answered`, async () => {
        const { headers, form } = make();
        const connection = await RawConnection.open(port);
        try {
          await connection.write(postHead('/api/v1/faces/upload', { ...headers, 'Content-Type': form.contentType }, form.body.length) );
          await connection.write(form.body);
          const refused = await connection.read();
          assert.equal(refused.status, status, refused.body);
          await connection.write(GET_HEALTHZ);
          const health = await connection.read();
          assert.equal(health.status, 200);
          assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
        } finally {
          connection.destroy();
        }
      });
    }

    it('search refused before its selfie is read, then GET /healthz on the same socket is answered', async () => {
      const form = multipart([{ name: 'event_uuid', value: crypto.randomUUID() }, { name: 'file', filename: 's.jpg', content: Buffer.concat([jpeg, noise(300_000)]) }]);
      const connection = await RawConnection.open(port);
      try {
        await connection.write(postHead('/api/v1/faces/search', { 'Content-Type': form.contentType }, form.body.length));
        await connection.write(form.body);
        assert.equal((await connection.read()).status, 404);
        await connection.write(GET_HEALTHZ);
        assert.equal((await connection.read()).status, 200);
      } finally {
        connection.destroy();
      }
    });

    it('a refused body longer than the drain limit closes the connection instead of hanging it', async () => {
      const form = uploadForm(String(active.id), Buffer.concat([jpeg, noise(3 * 1024 * 1024)]));
      const connection = await RawConnection.open(port);
      try {
        await connection.write(postHead('/api/v1/faces/upload', { ...stranger.headers, 'Content-Type': form.contentType }, form.body.length));
        const first = multipart([{ name: 'event_id', value: String(active.id) }], undefined, { close: false }).body;
        await connection.write(form.body.subarray(0, first.length + 1000));
        const refused = await connection.read();
        assert.equal(refused.status, 404);
        assert.equal(refused.headers.connection, 'close');
        void connection.write(form.body.subarray(first.length + 1000));
        assert.equal(await connection.closesWithin(10_000), true, 'the server closes the connection');
      } finally {
        connection.destroy();
      }
    });
  });

  describe('refusal order: key and event are checked before the body is read', () => {
    // Only the head and the fields before the file are sent: the answer must come without the rest.
    const early = async (path: string, headers: Record<string, string>, fields: Part[]): Promise<{ status: number; json: Json }> => {
      const file = Buffer.concat([jpeg, noise(500_000)]);
      const form = multipart([...fields, { name: 'file', filename: 'x.jpg', content: file, type: 'image/jpeg' }]);
      const connection = await RawConnection.open(port);
      try {
        await connection.write(postHead(path, { ...headers, 'Content-Type': form.contentType }, form.body.length));
        await connection.write(form.body.subarray(0, form.body.length - file.length + 1024));
        const res = await connection.read();
        // The rest of the body follows the answer and the connection stays usable.
        await connection.write(form.body.subarray(form.body.length - file.length + 1024));
        await connection.write(GET_HEALTHZ);
        assert.equal((await connection.read()).status, 200);
        return { status: res.status, json: JSON.parse(res.body) as Json };
      } finally {
        connection.destroy();
      }
    };

    it('JSON routes: a request without a valid key is answered before its body arrives', async () => {
      const body = Buffer.from(JSON.stringify({ name: 'x', description: 'd'.repeat(4000) }));
      for (const [method, path] of [['POST', '/api/v1/events/'], ['PATCH', `/api/v1/events/${active.id}`]] as const) {
        for (const headers of [{}, { authorization: 'Bearer fp_forged' }] as Record<string, string>[]) {
          const connection = await RawConnection.open(port);
          try {
            const head = postHead(path, { ...headers, 'Content-Type': 'application/json' }, body.length).replace(/^POST/, method);
            await connection.write(head);
            await connection.write(body.subarray(0, 100));
            assert.equal((await connection.read()).status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
            await connection.write(body.subarray(100));
            await connection.write(GET_HEALTHZ);
            assert.equal((await connection.read()).status, 200);
          } finally {
            connection.destroy();
          }
        }
      }
    });

    it('upload: a bad key, a foreign event and an inactive event are answered before the file arrives', async () => {
      assert.equal((await early('/api/v1/faces/upload', { authorization: 'Bearer fp_forged' }, [{ name: 'event_id', value: String(active.id) }])).status, 401);
      assert.equal((await early('/api/v1/faces/upload', stranger.headers, [{ name: 'event_id', value: String(active.id) }])).status, 404);
      assert.equal((await early('/api/v1/faces/upload', owner.headers, [{ name: 'event_id', value: String(inactive.id) }])).status, 409);
    });

    it('search: a bad key, a foreign event_id and an unknown or inactive event_uuid are answered before the selfie arrives', async () => {
      assert.equal((await early('/api/v1/faces/search', { authorization: 'Bearer fp_forged' }, [{ name: 'event_id', value: String(active.id) }])).status, 401);
      assert.equal((await early('/api/v1/faces/search', stranger.headers, [{ name: 'event_id', value: String(active.id) }])).status, 404);
      assert.equal((await early('/api/v1/faces/search', {}, [{ name: 'event_uuid', value: crypto.randomUUID() }])).status, 404);
      assert.equal((await early('/api/v1/faces/search', {}, [{ name: 'event_uuid', value: inactive.event_uuid }])).status, 404);
    });
  });

  describe('client mistakes are 4xx, never 5xx', () => {
    it('refuses an image whose header declares more pixels than the engine decodes, storing nothing', async () => {
      // An event of its own: the other tests here count the photos of theirs.
      const own = (await inject('POST', '/api/v1/events/', { headers: owner.headers, payload: { name: 'Pixels' } })).json<{ id: number }>().id;
      const res = await injectForm('/api/v1/faces/upload', uploadForm(String(own), pngDeclaring(30_000, noise(300_000, 3)), 'bomb.png'));
      assert.equal(res.statusCode, 413, res.body);
      const body = res.json<{ error: string; message: string; details: { width: number; height: number } }>();
      assert.equal(body.error, 'payload_too_large');
      assert.match(body.message, /30000×30000 pixels \(900 MP\).*at most 268 MP/);
      assert.deepEqual([body.details.width, body.details.height], [30_000, 30_000]);
      assert.equal(await photoCount(own), 0);
      // Just under the limit is taken (it is stored; processing it is the worker's business).
      const ok = await injectForm('/api/v1/faces/upload', uploadForm(String(own), pngDeclaring(16_000, noise(300_000, 3)), 'big.png'));
      assert.equal(ok.statusCode, 201, ok.body);
    });

    it('refuses a NUL character in JSON strings with 400 naming the field', async () => {
      const cases: ['POST' | 'PATCH', string, Json, string][] = [
        ['POST', '/api/v1/events/', { name: 'a\u0000b' }, 'body.name'],
        ['POST', '/api/v1/events/', { name: 'ok', description: 'x\u0000' }, 'body.description'],
        ['PATCH', `/api/v1/events/${active.id}`, { location: '\u0000' }, 'body.location'],
        ['PATCH', `/api/v1/events/${active.id}`, { name: 'n\u0000' }, 'body.name'],
      ];
      for (const [method, url, payload, field] of cases) {
        const res = await inject(method, url, { headers: owner.headers, payload });
        assert.equal(res.statusCode, 400, `${method} ${JSON.stringify(payload)}: ${res.body}`);
        const body = res.json<{ error: string; details: { field: string }[] }>();
        assert.equal(body.error, 'validation_error');
        assert.ok(body.details.some((d) => d.field === field), res.body);
      }
      const search = await inject('GET', '/api/v1/events/?skip=%00', { headers: owner.headers });
      assert.equal(search.statusCode, 400);
      const unchanged = await inject('GET', `/api/v1/events/${active.id}`, { headers: owner.headers });
      assert.equal(unchanged.json<Json>().name, 'Open');
    });

    it('refuses out-of-range and non-decimal paging with 400', async () => {
      for (const url of ['/api/v1/events/', `/api/v1/faces/event/${active.id}`]) {
        for (const q of ['skip=99999999999999999999', 'skip=1e300', 'limit=1e300', 'skip=1e2', 'skip=0x10', 'skip=%2B1', 'skip=1.0', 'skip=2147483648', 'limit=01', 'skip=1&skip=2']) {
          const res = await inject('GET', `${url}?${q}`, { headers: owner.headers });
          assert.equal(res.statusCode, 400, `${url}?${q}: ${res.body}`);
        }
        assert.equal((await inject('GET', `${url}?skip=2147483647&limit=1`, { headers: owner.headers })).statusCode, 200, 'the largest skip is fine');
      }
    });

    it('takes ids only in plain decimal: 0x34, 52e0, 52.0, 052, +52, 1e400 never resolve to event 52', async () => {
      const n = active.id;
      const aliases = ['1e400', `0x${n.toString(16)}`, `${n}e0`, `${n}.0`, `0${n}`, `%2B${n}`, `%20${n}`, `${n}%20`, '2147483648', '99999999999999999999'];
      const templates: ['GET' | 'DELETE', (id: string) => string][] = [
        ['GET', (id) => `/api/v1/events/${id}`],
        ['GET', (id) => `/api/v1/events/${id}/invite`],
        ['GET', (id) => `/api/v1/events/${id}/progress`],
        ['GET', (id) => `/api/v1/faces/event/${id}`],
        ['GET', (id) => `/api/v1/faces/event/${id}/hashes`],
        ['DELETE', (id) => `/api/v1/faces/${id}`],
        ['DELETE', (id) => `/api/v1/events/${id}`],
      ];
      for (const [method, url] of templates) {
        for (const alias of aliases) {
          const res = await inject(method, url(alias), { headers: owner.headers });
          assert.equal(res.statusCode, 400, `${method} ${url(alias)}: ${res.body}`);
        }
      }
      const patched = await inject('PATCH', `/api/v1/events/0${n}`, { headers: owner.headers, payload: { name: 'Hijacked' } });
      assert.equal(patched.statusCode, 400);
      assert.equal((await inject('GET', `/api/v1/events/${n}`, { headers: owner.headers })).json<Json>().name, 'Open');

      // The same rule in multipart fields and the upload's query string.
      for (const alias of ['1e400', `0x${n.toString(16)}`, `${n}e0`, `${n}.0`, `0${n}`, `+${n}`, ` ${n}`]) {
        const upload = await injectForm('/api/v1/faces/upload', uploadForm(alias, jpeg));
        assert.equal(upload.statusCode, 400, `upload event_id=${alias}: ${upload.body}`);
        const search = await injectForm('/api/v1/faces/search', multipart([{ name: 'event_id', value: alias }, { name: 'file', filename: 's.jpg', content: jpeg }]));
        assert.equal(search.statusCode, 400, `search event_id=${alias}: ${search.body}`);
      }
      const byQuery = await injectForm(`/api/v1/faces/upload?event_id=0x${n.toString(16)}`, multipart([{ name: 'file', filename: 'x.jpg', content: jpeg }]));
      assert.equal(byQuery.statusCode, 400, byQuery.body);
      assert.equal(await photoCount(n), 0);
    });

    it('refuses dates outside years 1000–9999 and ones a Date cannot hold', async () => {
      for (const event_date of ['0000-01-01T00:00:00Z', '0999-12-31T23:59:59Z', '2016-12-31T23:59:60Z', '+275760-09-13T00:00:00Z']) {
        const created = await inject('POST', '/api/v1/events/', { headers: owner.headers, payload: { name: 'Dated', event_date } });
        assert.equal(created.statusCode, 400, `${event_date}: ${created.body}`);
        const patched = await inject('PATCH', `/api/v1/events/${active.id}`, { headers: owner.headers, payload: { event_date } });
        assert.equal(patched.statusCode, 400, `${event_date}: ${patched.body}`);
      }
      const fine = await inject('POST', '/api/v1/events/', { headers: owner.headers, payload: { name: 'Dated', event_date: '1000-01-01T00:00:00Z' } });
      assert.equal(fine.statusCode, 201, fine.body);
    });

    it('takes JSON bodies as typed: null is not false, 5 is not "5"', async () => {
      for (const payload of [{ is_active: null }, { is_active: 'false' }, { is_active: 0 }, { name: 5 }, { name: ['x'] }]) {
        const res = await inject('PATCH', `/api/v1/events/${active.id}`, { headers: owner.headers, payload });
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
      }
      const event = (await inject('GET', `/api/v1/events/${active.id}`, { headers: owner.headers })).json<Json>();
      assert.equal(event.is_active, true, 'still active');
      assert.equal(event.name, 'Open');
    });

    it('answers malformed multipart bodies with 400 and oversized forms with 413', async () => {
      const boundaryless = { body: Buffer.from('--x\r\n\r\n'), contentType: 'multipart/form-data' };
      const emptyBoundary = { body: Buffer.from('--\r\n'), contentType: 'multipart/form-data; boundary=' };
      const longBoundary = multipart([{ name: 'event_id', value: String(active.id) }], 'b'.repeat(300));
      const full = uploadForm(String(active.id), Buffer.concat([jpeg, noise(20_000)]));
      const truncated = { body: full.body.subarray(0, full.body.length - 5_000), contentType: full.contentType };
      const truncatedInHeader = { body: full.body.subarray(0, 60), contentType: full.contentType };
      const searchFull = multipart([{ name: 'event_id', value: String(active.id) }, { name: 'file', filename: 's.jpg', content: Buffer.concat([jpeg, noise(20_000)]) }]);
      const searchTruncated = { body: searchFull.body.subarray(0, searchFull.body.length - 5_000), contentType: searchFull.contentType };
      const manyFields = multipart(Array.from({ length: 11 }, () => ({ name: 'threshold', value: '0.5' })));
      const manyParts = multipart([...Array.from({ length: 8 }, () => ({ name: 'threshold', value: '0.5' })), ...Array.from({ length: 6 }, (_, i) => ({ name: 'file', filename: `${i}.jpg`, content: jpeg }))]);
      const cases: [string, string, { body: Buffer; contentType: string }, number, string][] = [
        ['upload without boundary', '/api/v1/faces/upload', boundaryless, 400, 'invalid_multipart'],
        ['upload with an empty boundary', '/api/v1/faces/upload', emptyBoundary, 400, 'invalid_multipart'],
        ['upload with a 300-character boundary', '/api/v1/faces/upload', longBoundary, 400, 'invalid_multipart'],
        ['upload cut off in the file', '/api/v1/faces/upload', truncated, 400, 'invalid_multipart'],
        ['upload cut off in a header', '/api/v1/faces/upload', truncatedInHeader, 400, 'invalid_multipart'],
        ['search without boundary', '/api/v1/faces/search', boundaryless, 400, 'invalid_multipart'],
        ['search cut off in the file', '/api/v1/faces/search', searchTruncated, 400, 'invalid_multipart'],
        ['upload with too many fields', '/api/v1/faces/upload', manyFields, 413, 'payload_too_large'],
        ['search with too many fields', '/api/v1/faces/search', manyFields, 413, 'payload_too_large'],
        // Up to three selfies make one search; a fourth file is refused as such, before it is read.
        ['search with more selfies than it takes', '/api/v1/faces/search', manyParts, 400, 'invalid_input'],
      ];
      for (const [name, url, form, status, code] of cases) {
        const res = await injectForm(url, form);
        assert.equal(res.statusCode, status, `${name}: ${res.body}`);
        assert.equal(res.json<Json>().error, code, name);
      }
      assert.equal(await photoCount(active.id), 0, 'nothing stored from a broken body');
    });

    it('stores an upload whose file name holds a NUL without the NUL (no 503 for the uploader to retry)', async () => {
      const own = (await inject('POST', '/api/v1/events/', { headers: owner.headers, payload: { name: 'Names' } })).json<{ id: number }>();
      const res = await injectForm('/api/v1/faces/upload', uploadForm(String(own.id), jpeg, 'we\u0000dding\u0001.jpg'));
      assert.equal(res.statusCode, 201, res.body);
      const photo = await t.deps.repositories.photos.findById(res.json<{ face_id: number }>().face_id);
      assert.equal(photo?.original_name, 'wedding.jpg');
    });
  });

  describe('exposure', () => {
    it('serves /metrics only on the metrics listener, not on the API port', async () => {
      assert.equal((await inject('GET', '/metrics')).statusCode, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
      const metrics = await startMetricsServer(t.app.metrics, { host: '127.0.0.1', port: 0 });
      try {
        const res = await fetch(metrics.url);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        const text = await res.text();
        assert.match(text, /facepass_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/events\/:event_id"/);
        assert.match(text, /facepass_process_cpu_seconds_total/);
        assert.equal((await fetch(metrics.url.replace(/\/metrics$/, '/healthz'))).status, 404);
      } finally {
        await metrics.close();
      }
    });

    it('sends security headers on API answers, errors and the docs, with a CSP the docs run under', async () => {
      const responses = [
        await inject('GET', '/api/v1/events/', { headers: owner.headers }),
        await inject('GET', '/api/v1/events/1', {}),
        await inject('GET', '/nope'),
        await inject('GET', '/healthz'),
        await inject('GET', '/docs/'),
      ];
      for (const res of responses) {
        assert.equal(res.headers['x-content-type-options'], 'nosniff', res.raw.req.url);
        assert.equal(res.headers['x-frame-options'], 'DENY');
        assert.equal(res.headers['referrer-policy'], 'no-referrer');
        const csp = String(res.headers['content-security-policy']);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.match(csp, /default-src 'self'/);
        assert.match(csp, /object-src 'none'/);
        assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'plain-HTTP deployments keep their docs');
      }
      // The Swagger UI page loads only same-origin scripts (script-src 'self' admits them; no inline code).
      const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
      assert.equal(docs.statusCode, 200);
      const scripts = [...docs.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [, attributes, code] of scripts) {
        assert.match(attributes ?? '', /src="\.\/[^"]+"/, 'a same-origin script file');
        assert.equal(code?.trim(), '', 'no inline script');
      }
    });
  });
});

describe('HTTP edge: local files, rate limit, metrics listener in the service', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ storage: 'local', env: { SEARCH_RATE_LIMIT_PER_MINUTE: '2' } });
  });
  after(() => t.close());

  it('serves local photos with nosniff and CSP, embeddable cross-origin', async () => {
    const key = `events/1/${crypto.randomUUID()}.jpg`;
    await t.deps.storage.put(key, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer(), 'image/jpeg');
    const url = new URL(await t.deps.services.photos.url(key));
    const res = await t.app.inject({ method: 'GET', url: url.pathname + url.search });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
    const forged = await t.app.inject({ method: 'GET', url: `${url.pathname}?expires=${url.searchParams.get('expires')}&sig=forged` });
    assert.equal(forged.statusCode, 403);
    assert.equal(forged.headers['x-content-type-options'], 'nosniff');
  });

  it('answers the public search limit with 429 rate_limited and Retry-After', async () => {
    const form = multipart([{ name: 'event_uuid', value: crypto.randomUUID() }, { name: 'file', filename: 's.jpg', content: Buffer.from('x') }]);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof t.app.inject>> | undefined;
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/faces/search', headers: { 'content-type': form.contentType }, payload: form.body });
      statuses.push(res.statusCode);
      limited = res;
    }
    assert.deepEqual(statuses, [404, 404, 429]);
    assert.equal(limited?.json<Json>().error, 'rate_limited');
    const retryAfter = Number(limited?.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${limited?.headers['retry-after']}`);
  });

  it('startService serves metrics on METRICS_HOST:METRICS_PORT and not on the API port', async () => {
    const dbs = await createTestDatabases();
    const data = await tempDir();
    try {
      const service = await startService(
        testConfig({ FACEPASS_DATA_DIR: data.dir, DATABASE_MAIN_URL: dbs.mainUrl, DATABASE_VECTOR_URL: dbs.vectorUrl, HOST: '127.0.0.1', METRICS_HOST: '127.0.0.1', METRICS_PORT: '0' }),
        ['api'],
        createLogger('silent'),
      );
      try {
        assert.match(service.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        assert.notEqual(new URL(service.metricsUrl!).port, new URL(service.apiUrl!).port);
        assert.equal((await fetch(`${service.apiUrl}/healthz`)).status, 200);
        assert.equal((await fetch(`${service.apiUrl}/metrics`)).status, 404);
        const res = await fetch(service.metricsUrl!);
        assert.equal(res.status, 200);
        assert.match(await res.text(), /facepass_http_request_duration_seconds_count\{[^}]*route="\/healthz"/);
      } finally {
        await service.stop();
      }
      // Stopped with the service: the port no longer answers.
      await assert.rejects(fetch(service.metricsUrl!));
    } finally {
      await dbs.drop();
      await data.remove();
    }
  });
});
