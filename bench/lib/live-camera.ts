import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
/**
 * A camera for `bench:live` that posts each shot to the upload API with `live=true`, as the
 * camera FTP role and the hot folder do after receiving a file. The FTP camera
 * (`bench/lib/ftp-camera.ts`, from the live-ingest work) implements the same `LiveCamera` shape.
 */
export interface LiveCamera {
  /** Delivers one shot; resolves with the photo id once the server has it (the shot is "taken" when called). */
  shoot(bytes: Buffer, name: string): Promise<number>;
  close(): Promise<void>;
}

export function createHttpCamera(options: { api: string; authorization: string; eventId: number }): LiveCamera {
  return {
    async shoot(bytes, name) {
      const form = new FormData();
      form.append('event_id', String(options.eventId));
      form.append('live', 'true');
      form.append('file', new Blob([bytes]), name);
      const res = await fetch(`${options.api}/faces/upload`, { method: 'POST', headers: { authorization: options.authorization }, body: form });
      if (res.status !== 201) throw new Error(`camera upload failed: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { face_id: number }).face_id;
    },
    async close() {},
  };
}

/**
 * The same camera over FTP, as a camera body in FTP-transfer mode: each shot is stored into the
 * account's folder over one passive-mode connection; FacePass's ftp role answers 226 once the
 * photo is recorded, and the photo is then looked up by its SHA-256 (the server's dedupe key).
 */
export async function createFtpCamera(options: {
  host: string;
  port: number;
  user: string;
  password: string;
  findByHash: (sha256: string) => Promise<number | undefined>;
}): Promise<LiveCamera> {
  const client = new Client(30_000);
  await client.access({ host: options.host, port: options.port, user: options.user, password: options.password });
  // One shot at a time on the control connection, as a camera sends them.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    shoot(bytes, name) {
      const sent = queue.then(async () => {
        await client.uploadFrom(Readable.from(bytes), name);
        const id = await options.findByHash(createHash('sha256').update(bytes).digest('hex'));
        if (id === undefined) throw new Error(`camera upload of ${name} was not recorded`);
        return id;
      });
      queue = sent.catch(() => undefined);
      return sent;
    },
    async close() {
      client.close();
    },
  };
}
