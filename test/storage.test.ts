import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createS3Storage } from '../src/storage/s3-storage.js';
import { createLocalStorage } from '../src/storage/local-storage.js';
import { createUrlSigner } from '../src/storage/url-signer.js';
import { createStorage, ObjectNotFoundError, streamToBuffer, type PhotoStorage } from '../src/storage/index.js';
import { loadConfig } from '../src/config.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { startS3, tempDir } from './helpers/services.js';

/**
 * Checks a presigned GET's AWS Signature V4 (query form) for the host in its URL. s3rver does not check
 * query signatures, so this is how a test sees which host a link was signed for (MinIO and S3 refuse
 * a link whose Host differs from the signed one).
 */
function signatureValid(link: string, secretAccessKey: string): boolean {
  const url = new URL(link);
  const q = url.searchParams;
  const amzDate = q.get('X-Amz-Date') ?? '';
  const [, day, region, service] = (q.get('X-Amz-Credential') ?? '').split('/');
  assert.equal(q.get('X-Amz-SignedHeaders'), 'host', 'only the host is signed');
  const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join('&');
  const canonical = ['GET', url.pathname, query, `host:${url.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: crypto.BinaryLike, data: string) => crypto.createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day ?? ''), region ?? ''), service ?? ''), 'aws4_request');
  return crypto.createHmac('sha256', key).update(toSign).digest('hex') === q.get('X-Amz-Signature');
}

/** The contract every storage must keep, run against S3 (s3rver) and the local disk. */
function storageContract(name: string, open: () => Promise<{ storage: PhotoStorage; cleanup(): Promise<void> }>): void {
  describe(`${name} storage`, () => {
    let storage: PhotoStorage;
    let cleanup: () => Promise<void>;
    before(async () => ({ storage, cleanup } = await open()));
    after(async () => {
      await storage.close();
      await cleanup();
    });

    it('stores a stream and reads it back byte for byte', async () => {
      // 7 MiB: large enough that S3 uploads go multipart.
      const data = crypto.randomBytes(7 * 1024 * 1024);
      const chunks = Array.from({ length: 7 }, (_, i) => data.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      const put = await storage.put('events/1/big.jpg', Readable.from(chunks), 'image/jpeg');
      assert.equal(put.key, 'events/1/big.jpg');
      const back = await streamToBuffer(await storage.get('events/1/big.jpg'));
      assert.ok(back.equals(data));
      assert.ok((await storage.getBuffer('events/1/big.jpg')).equals(data));
    });

    it('lists, deletes one, deletes by prefix, and treats missing objects as gone', async () => {
      for (const key of ['events/2/a.jpg', 'events/2/b.jpg', 'events/20/c.jpg']) await storage.put(key, Buffer.from(key), 'image/jpeg');
      assert.deepEqual(await storage.list('events/2/'), ['events/2/a.jpg', 'events/2/b.jpg']);
      await storage.delete('events/2/a.jpg');
      await storage.delete('events/2/a.jpg');
      await assert.rejects(storage.get('events/2/a.jpg'), ObjectNotFoundError);
      assert.equal(await storage.deletePrefix('events/2/'), 1);
      assert.deepEqual(await storage.list('events/2/'), []);
      assert.deepEqual(await storage.list('events/20/'), ['events/20/c.jpg'], 'a prefix does not spill into a sibling');
    });

    it('lists the folders directly under a prefix (the orphan sweep reads event ids this way)', async () => {
      for (const key of ['events/31/a.jpg', 'events/31/previews/a.jpg', 'events/32/b.jpg']) await storage.put(key, Buffer.from(key), 'image/jpeg');
      const folders = await storage.listFolders('events/');
      assert.ok(folders.includes('31') && folders.includes('32'), JSON.stringify(folders));
      assert.ok(!folders.some((f) => f.includes('/')), 'only direct children');
      assert.deepEqual(await storage.listFolders('events/31/'), ['previews']);
      assert.deepEqual(await storage.listFolders('nothing-here/'), []);
      // A deleted event's folder is gone with its objects: the sweep would read it as an orphan forever.
      assert.equal(await storage.deletePrefix('events/31/'), 2);
      assert.ok(!(await storage.listFolders('events/')).includes('31'));
      assert.ok((await storage.listFolders('events/')).includes('32'));
    });

    it('refuses keys that could escape their namespace', async () => {
      for (const key of ['../etc/passwd', '/abs.jpg', 'events//x.jpg', 'events/../x.jpg', '']) {
        await assert.rejects(storage.put(key, Buffer.from('x'), 'image/jpeg'), /Unsafe storage key/, key);
      }
    });

    it('answers ping', async () => {
      await storage.ping();
    });
  });
}

storageContract('S3', async () => {
  const s3 = await startS3();
  const storage = createS3Storage({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
  return { storage, cleanup: () => s3.stop() };
});

storageContract('local-disk', async () => {
  const tmp = await tempDir();
  const storage = createLocalStorage({ dir: tmp.dir, publicUrl: 'http://localhost:1', signer: createUrlSigner('x'.repeat(32)) });
  return { storage, cleanup: () => tmp.remove() };
});

describe('local disk: photo files are private to the service user', () => {
  it('writes files 0600 in folders 0700, whatever the umask lets through', async () => {
    const tmp = await tempDir();
    // The most permissive umask: the modes must come from the storage itself, not the environment.
    const previous = process.umask(0);
    try {
      const root = path.join(tmp.dir, 'photos');
      const storage = createLocalStorage({ dir: root, publicUrl: 'http://localhost:1', signer: createUrlSigner('x'.repeat(32)) });
      await storage.ping();
      await storage.put('events/7/p.jpg', Buffer.from('photo'), 'image/jpeg');
      await storage.put('events/7/previews/p.jpg', Readable.from([Buffer.from('preview')]), 'image/jpeg');
      const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
      for (const dir of [root, path.join(root, 'events'), path.join(root, 'events', '7'), path.join(root, 'events', '7', 'previews')]) {
        assert.equal((await mode(dir)).toString(8), '700', dir);
      }
      for (const file of [path.join(root, 'events', '7', 'p.jpg'), path.join(root, 'events', '7', 'previews', 'p.jpg')]) {
        assert.equal((await mode(file)).toString(8), '600', file);
      }
    } finally {
      process.umask(previous);
      await tmp.remove();
    }
  });
});

describe('time-limited image URLs', () => {
  it('S3: a presigned, expiring URL downloads the object', async () => {
    const s3 = await startS3();
    const storage = createS3Storage({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
    try {
      await storage.put('events/5/p.jpg', Buffer.from('photo-bytes'), 'image/jpeg');
      const url = await storage.url('events/5/p.jpg', 300);
      assert.match(url, /X-Amz-Expires=300/);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'photo-bytes');
      assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
      // s3rver neither enforces bucket privacy nor checks query signatures, so refusal of a
      // forged link can only be shown against real S3/MinIO; the local-disk route below checks it.
    } finally {
      await storage.close();
      await s3.stop();
    }
  });

  describe('S3_PUBLIC_ENDPOINT: links for the address users reach', () => {
    it('links name and are signed for the public host, and download through it', async () => {
      const s3 = await startS3();
      // One server, two names, as with docker compose: FacePass reaches it as 127.0.0.1 ("minio"),
      // users as localhost.
      const publicEndpoint = `http://localhost:${new URL(s3.endpoint).port}`;
      const env = { S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint, S3_PUBLIC_ENDPOINT: publicEndpoint, S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey, URL_SIGNING_SECRET: 'x'.repeat(32) };
      const { storage } = await createStorage(loadConfig(env));
      try {
        await storage.put('events/5/p.jpg', Buffer.from('photo-bytes'), 'image/jpeg');
        const link = await storage.url('events/5/p.jpg', 300);
        assert.equal(new URL(link).origin, publicEndpoint);
        assert.equal(new URL(link).pathname, `/${s3.bucket}/events/5/p.jpg`);
        assert.ok(signatureValid(link, s3.secretAccessKey), 'signed for the public host');
        const internal = new URL(link);
        internal.host = new URL(s3.endpoint).host;
        assert.equal(signatureValid(internal.toString(), s3.secretAccessKey), false, 'not for the internal one');
        const res = await fetch(link);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'photo-bytes');

        // Without it, links are made for S3_ENDPOINT.
        const plain = (await createStorage(loadConfig({ ...env, S3_PUBLIC_ENDPOINT: '' }))).storage;
        const plainLink = await plain.url('events/5/p.jpg', 300);
        await plain.close();
        assert.equal(new URL(plainLink).origin, s3.endpoint);
        assert.ok(signatureValid(plainLink, s3.secretAccessKey));
      } finally {
        await storage.close();
        await s3.stop();
      }
    });

    it('is used for presigning only: storage traffic goes to S3_ENDPOINT', async () => {
      const s3 = await startS3();
      // Nothing listens on port 1: any request sent to the public endpoint would fail.
      const storage = createS3Storage({ bucket: s3.bucket, endpoint: s3.endpoint, publicEndpoint: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
      try {
        await storage.ping();
        await storage.put('events/6/a.jpg', Buffer.from('a'), 'image/jpeg');
        assert.equal((await storage.getBuffer('events/6/a.jpg')).toString(), 'a');
        assert.deepEqual(await storage.list('events/6/'), ['events/6/a.jpg']);
        assert.equal(new URL(await storage.url('events/6/a.jpg', 60)).origin, 'http://127.0.0.1:1');
        assert.equal(await storage.deletePrefix('events/6/'), 1);
      } finally {
        await storage.close();
        await s3.stop();
      }
    });
  });

  describe('local disk: signed links served by the API', () => {
    let t: TestApp;
    before(async () => (t = await createTestApp({ storage: 'local' })));
    after(() => t.close());

    it('serves a valid link and refuses tampered, foreign or expired ones', async () => {
      await t.deps.storage.put('events/7/p.jpg', Buffer.from('jpeg-bytes'), 'image/jpeg');
      await t.deps.storage.put('events/8/q.jpg', Buffer.from('other'), 'image/jpeg');
      const url = new URL(await t.deps.storage.url('events/7/p.jpg', 300));
      const path = `${url.pathname}${url.search}`;
      const ok = await t.app.inject({ method: 'GET', url: path });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.body, 'jpeg-bytes');
      assert.equal(ok.headers['content-type'], 'image/jpeg');

      const other = path.replace('events/7/p.jpg', 'events/8/q.jpg');
      assert.equal((await t.app.inject({ method: 'GET', url: other })).statusCode, 403, 'signature is bound to the key');
      const tampered = path.replace(/sig=[^&]+/, 'sig=AAAA');
      assert.equal((await t.app.inject({ method: 'GET', url: tampered })).statusCode, 403);
      const expires = Math.floor(Date.now() / 1000) - 1;
      const expired = `/api/v1/files/events/7/p.jpg?expires=${expires}&sig=${t.deps.signer.sign('events/7/p.jpg', expires)}`;
      assert.equal((await t.app.inject({ method: 'GET', url: expired })).statusCode, 403);
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/files/events/7/p.jpg' })).statusCode, 400);
      const traversal = `/api/v1/files/../../etc/passwd?expires=${expires + 1000}&sig=${t.deps.signer.sign('../../etc/passwd', expires + 1000)}`;
      assert.notEqual((await t.app.inject({ method: 'GET', url: traversal })).statusCode, 200);
    });
  });
});
