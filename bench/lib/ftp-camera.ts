/**
 * A simulated camera for live-event benchmarks: it "shoots" every `intervalMs` and pushes each
 * shot to FacePass's ftp role over one FTP connection, as Sony/Canon/Nikon bodies do in FTP transfer
 * mode (passive mode, one file after the other; shots taken while a transfer runs wait in the
 * camera's buffer). Each shot records when it was taken (`shotAt`) and when the server confirmed
 * it with 226 (`storedAt`): the live bench measures shot → album from `shotAt`.
 *
 * ```ts
 * const jpegs = await makeCameraJpegs(['faces/a.jpg', 'faces/b.jpg']);            // 12 MP by default
 * const camera = startFtpCamera({ host: '127.0.0.1', port, user, password, jpegs, intervalMs: 3000, count: 200 });
 * camera.on('stored', (shot) => …);                                                 // every confirmed shot
 * const shots = await camera.done;                                                  // or: await camera.stop()
 * ```
 *
 * Every shot has distinct bytes (a JPEG comment segment naming it is inserted after the SOI marker,
 * so the server's dedupe by hash never merges two shots, and no 12 MP re-encode is needed per shot).
 * Connection errors are retried on a new connection with REST-free full re-sends, as cameras do.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { Client, enterPassiveModeIPv4 } from 'basic-ftp';

/** One shot of the simulated camera. */
export interface CameraShot {
  /** 1, 2, … in shooting order. */
  index: number;
  /** File name on the FTP side, e.g. `DSC00001.JPG`. */
  name: string;
  bytes: number;
  /** When the shot was taken (epoch ms): the start of shot → album. */
  shotAt: number;
  /** When the server answered 226 (FacePass has recorded the photo); undefined if never stored. */
  storedAt?: number;
  /** Transfers tried (more than 1 after a connection error). */
  attempts: number;
  /** The last error when the shot could not be stored. */
  error?: string;
}

/** Options of {@link startFtpCamera}. */
export interface FtpCameraOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Camera JPEGs (see {@link makeCameraJpegs}), used in turn. */
  jpegs: Buffer[];
  /** Time between shots. */
  intervalMs: number;
  /** Stop after this many shots… */
  count?: number;
  /** …or after this long (whichever comes first; one of them is required). */
  durationMs?: number;
  /** Name prefix. @defaultValue 'DSC' */
  prefix?: string;
  /** Explicit FTPS (AUTH TLS); certificates are not verified (self-signed test servers). @defaultValue false */
  secure?: boolean;
  /** Tries per shot before giving up on it. @defaultValue 3 */
  attempts?: number;
}

/** A running camera. */
export interface FtpCamera extends EventEmitter<{ shot: [CameraShot]; stored: [CameraShot]; failed: [CameraShot] }> {
  /** Every shot so far, in order. */
  readonly shots: CameraShot[];
  /** Resolves when the last shot is stored (or given up) after `count`/`durationMs`. */
  readonly done: Promise<CameraShot[]>;
  /** Stops shooting now; shots already taken are still sent. */
  stop(): Promise<CameraShot[]>;
}

/**
 * Camera-like JPEGs from source photos: each is resized to `megapixels` (4:3, letterboxed so every
 * face stays in the frame) and encoded at `quality`. 12 MP at quality 90 is 2–5 MB, as a camera's.
 */
export async function makeCameraJpegs(sources: string[], options: { megapixels?: number; quality?: number } = {}): Promise<Buffer[]> {
  const mp = options.megapixels ?? 12;
  const width = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
  const height = Math.round((width * 3) / 4);
  const out: Buffer[] = [];
  for (const source of sources) {
    out.push(
      await sharp(source)
        .rotate()
        .resize(width, height, { fit: 'contain', background: { r: 40, g: 40, b: 40 }, kernel: 'lanczos3' })
        .jpeg({ quality: options.quality ?? 90 })
        .toBuffer(),
    );
  }
  return out;
}

/** The JPEG with a comment segment (FF FE) naming the shot right after SOI: distinct bytes, same picture. */
export function uniqueShot(jpeg: Buffer, label: string): Buffer {
  const text = Buffer.from(`facepass-bench ${label}`, 'latin1');
  const segment = Buffer.alloc(4 + text.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(text.length + 2, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** Starts shooting at once (the first shot is taken immediately). */
export function startFtpCamera(options: FtpCameraOptions): FtpCamera {
  if (options.count === undefined && options.durationMs === undefined) throw new Error('give count or durationMs');
  if (options.jpegs.length === 0) throw new Error('no JPEGs to shoot');
  const emitter = new EventEmitter<{ shot: [CameraShot]; stored: [CameraShot]; failed: [CameraShot] }>();
  const shots: CameraShot[] = [];
  const buffer: { shot: CameraShot; data: Buffer }[] = [];
  const started = Date.now();
  const prefix = options.prefix ?? 'DSC';
  const maxAttempts = options.attempts ?? 3;
  let shooting = true;
  let wake: (() => void) | undefined;

  const shoot = (): void => {
    const index = shots.length + 1;
    const name = `${prefix}${String(index).padStart(5, '0')}.JPG`;
    const data = uniqueShot(options.jpegs[(index - 1) % options.jpegs.length]!, `${started}-${index}`);
    const shot: CameraShot = { index, name, bytes: data.length, shotAt: Date.now(), attempts: 0 };
    shots.push(shot);
    buffer.push({ shot, data });
    emitter.emit('shot', shot);
    wake?.();
    const more = (options.count === undefined || index < options.count) && (options.durationMs === undefined || Date.now() - started + options.intervalMs < options.durationMs);
    if (!more) stopShooting();
  };
  const timer = setInterval(shoot, options.intervalMs);
  const stopShooting = (): void => {
    shooting = false;
    clearInterval(timer);
    wake?.();
  };

  let client: Client | undefined;
  const connect = async (): Promise<Client> => {
    if (client && !client.closed) return client;
    const c = new Client(60_000);
    c.prepareTransfer = enterPassiveModeIPv4;
    await c.access({ host: options.host, port: options.port, user: options.user, password: options.password, secure: options.secure ?? false, secureOptions: { rejectUnauthorized: false } });
    client = c;
    return c;
  };

  const sender = (async (): Promise<CameraShot[]> => {
    for (;;) {
      const next = buffer.shift();
      if (!next) {
        if (!shooting) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const { shot, data } = next;
      while (shot.storedAt === undefined && shot.attempts < maxAttempts) {
        shot.attempts++;
        try {
          await (await connect()).uploadFrom(Readable.from([data]), shot.name);
          shot.storedAt = Date.now();
          delete shot.error;
          emitter.emit('stored', shot);
        } catch (error) {
          shot.error = (error as Error).message;
          client?.close();
        }
      }
      if (shot.storedAt === undefined) emitter.emit('failed', shot);
    }
    client?.close();
    return shots;
  })();

  shoot();
  return Object.assign(emitter, {
    shots,
    done: sender,
    async stop() {
      stopShooting();
      return sender;
    },
  });
}
