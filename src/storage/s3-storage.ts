import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { assertSafeKey, ObjectNotFoundError, streamToBuffer, type PhotoStorage } from './storage.js';

/** Connection settings for an S3-compatible service (AWS, MinIO, Beget, …). */
export interface S3StorageOptions {
  bucket: string;
  endpoint: string | undefined;
  /**
   * Endpoint presigned links are made for, when users reach the service at another address than
   * FacePass does (docker compose: FacePass uses http://minio:9000, browsers http://localhost:9000).
   * @defaultValue `endpoint`
   */
  publicEndpoint?: string | undefined;
  region: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  /** MinIO and most self-hosted services need path-style URLs. @defaultValue true */
  forcePathStyle: boolean;
}

/** Photos in a private S3 bucket; `url` presigns a GET. */
export function createS3Storage(options: S3StorageOptions): PhotoStorage {
  const clientFor = (endpoint: string | undefined): S3Client => new S3Client({
    region: options.region,
    endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    // Fail fast when the service is down rather than hanging an upload request.
    maxAttempts: 3,
    // Only send checksums when an operation requires them: many S3-compatible services (MinIO
    // releases, Beget, s3rver) mishandle the SDK's default aws-chunked checksum trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const client = clientFor(options.endpoint);
  // The signature covers the host, so links for another address need a client configured with it.
  // Presigning is local: this client never sends a request.
  const presigner = options.publicEndpoint && options.publicEndpoint !== options.endpoint ? clientFor(options.publicEndpoint) : client;
  const Bucket = options.bucket;

  const list = async (prefix: string): Promise<string[]> => {
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return keys.sort();
  };

  const get = async (key: string): Promise<Readable> => {
    assertSafeKey(key);
    try {
      const out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      if (!(out.Body instanceof Readable)) throw new Error(`Unexpected S3 body type for ${key}`);
      return out.Body;
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') throw new ObjectNotFoundError(key);
      throw error;
    }
  };

  return {
    kind: 's3',
    async put(key, body, contentType) {
      assertSafeKey(key);
      // lib-storage streams in parts, so a large photo is never held whole in memory.
      const upload = new Upload({ client, params: { Bucket, Key: key, Body: body, ContentType: contentType } });
      let size = Buffer.isBuffer(body) ? body.length : 0;
      upload.on('httpUploadProgress', (p) => {
        if (typeof p.loaded === 'number') size = Math.max(size, p.loaded);
      });
      await upload.done();
      return { key, size };
    },
    get,
    async getBuffer(key) {
      return streamToBuffer(await get(key));
    },
    async delete(key) {
      assertSafeKey(key);
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async deletePrefix(prefix) {
      const keys = await list(prefix);
      for (let i = 0; i < keys.length; i += 1000) {
        const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
        await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } }));
      }
      return keys.length;
    },
    list,
    async listFolders(prefix) {
      const folders: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, Delimiter: '/', ContinuationToken }));
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix.slice(prefix.length, -1));
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return folders.sort();
    },
    async url(key, ttlSeconds) {
      assertSafeKey(key);
      return getSignedUrl(presigner, new GetObjectCommand({ Bucket, Key: key }), { expiresIn: ttlSeconds });
    },
    async ping() {
      await client.send(new HeadBucketCommand({ Bucket }));
    },
    async close() {
      client.destroy();
      if (presigner !== client) presigner.destroy();
    },
  };
}
