import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';
import { DEFAULT_MAX_TILES } from '../src/vision/ssd-detector.js';
import fs from 'node:fs';

describe('config', () => {
  it('defaults to the embedded setup: PGlite, local storage, private Redis', () => {
    const config = loadConfig({});
    assert.equal(config.databases.main.kind, 'pglite');
    assert.equal(config.databases.vector.kind, 'pglite');
    assert.equal(config.storage.kind, 'local');
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.http.port, 8000);
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.faceMaxTiles, DEFAULT_MAX_TILES);
    assert.equal(config.search.indexMinFaces, 8000);
    assert.equal(loadConfig({ FACE_MAX_TILES: '400' }).faceMaxTiles, 400);
    assert.throws(() => loadConfig({ FACE_MAX_TILES: '0' }), /FACE_MAX_TILES=/);
  });

  it('uses PostgreSQL, S3 and Redis when configured', () => {
    const config = loadConfig({
      DATABASE_MAIN_URL: 'postgres://u@db/main',
      DATABASE_VECTOR_URL: 'postgresql://u@db/vector',
      REDIS_URL: 'redis://r:6379',
      S3_BUCKET: 'photos',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY_ID: 'a',
      S3_SECRET_ACCESS_KEY: 'b',
      S3_FORCE_PATH_STYLE: 'false',
      PORT: '9000',
    });
    assert.deepEqual(config.databases.main, { kind: 'postgres', url: 'postgres://u@db/main', poolSize: 10 });
    assert.equal(config.databases.vector.kind, 'postgres');
    assert.equal(config.storage.kind, 's3');
    assert.equal(config.storage.kind === 's3' && config.storage.forcePathStyle, false);
    assert.equal(config.http.port, 9000);
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', S3_FORCE_PATH_STYLE: 'maybe', DATABASE_MAIN_URL: 'mysql://x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['PORT', 'LOG_LEVEL', 'S3_FORCE_PATH_STYLE', 'DATABASE_MAIN_URL']) {
          assert.match(error.message, new RegExp(`${name}=`), `${name} is named`);
        }
        return true;
      },
    );
  });

  it('rejects half-configured S3 credentials', () => {
    assert.throws(() => loadConfig({ S3_BUCKET: 'bkt', S3_ACCESS_KEY_ID: 'a' }), /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
    assert.throws(() => loadConfig({ S3_ENDPOINT: 'http://minio:9000' }), /S3_BUCKET is required/);
  });

  it('takes S3_PUBLIC_ENDPOINT for presigned links only with a bucket, as a URL', () => {
    const config = loadConfig({ S3_BUCKET: 'photos', S3_ENDPOINT: 'http://minio:9000', S3_PUBLIC_ENDPOINT: 'https://photos.example.com' });
    assert.equal(config.storage.kind === 's3' && config.storage.endpoint, 'http://minio:9000');
    assert.equal(config.storage.kind === 's3' && config.storage.publicEndpoint, 'https://photos.example.com');
    const unset = loadConfig({ S3_BUCKET: 'photos' }).storage;
    assert.equal(unset.kind === 's3' && unset.publicEndpoint, undefined, 'unset: links use S3_ENDPOINT');
    assert.throws(() => loadConfig({ S3_PUBLIC_ENDPOINT: 'http://localhost:9000' }), /S3_BUCKET is required/);
    assert.throws(() => loadConfig({ S3_BUCKET: 'photos', S3_PUBLIC_ENDPOINT: 'localhost:9000' }), /S3_PUBLIC_ENDPOINT=/);
  });

  it('treats empty variables as unset', () => {
    assert.equal(loadConfig({ PORT: '', REDIS_URL: ' ' }).http.port, 8000);
  });

  it('documents every variable in the README', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const name of CONFIG_VARIABLES) assert.match(readme, new RegExp(`\\| \`${name}\``), `${name} is in README's table`);
  });
});
