import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { FtpSrv, type FtpConnection } from 'ftp-srv';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { DomainError } from '../errors.js';
import type { PhotoService } from '../services/photo.service.js';
import type { FtpAccount, FtpCredentialService } from '../services/ftp-credential.service.js';
import { ACCEPTED_FORMATS } from '../services/image-format.js';
import { checkCompleteness } from './image-completeness.js';
import { IngestFileSystem } from './ingest.filesystem.js';
import { createLoginLimiter } from './login-limiter.js';

/** What became of one file a camera stored (tests, the bench and logs follow these). */
export type FtpFileOutcome =
  | { kind: 'ingested'; credentialId: number; eventId: number; file: string; photoId: number; duplicate: boolean }
  | { kind: 'rejected'; credentialId: number; eventId: number; file: string; reason: string }
  /** Not whole yet (connection lost, or closed early): kept under its name for a resume. */
  | { kind: 'partial'; credentialId: number; eventId: number; file: string; bytes: number; reason: string };

/** The running FTP role. */
export interface FtpIngestServer {
  /** `ftp://host:port` as listened on. */
  url: string;
  port: number;
  /** Emits `file` with an {@link FtpFileOutcome} for every stored file. */
  events: EventEmitter<{ file: [FtpFileOutcome] }>;
  close(): Promise<void>;
}

const LOGIN_WINDOW_MS = 15 * 60_000;
/** Partial files (transfers never resumed) older than this are removed at start. */
const STALE_PARTIAL_MS = 24 * 3600_000;

const plainAddress = (address: string | undefined): string => (address ?? '').replace(/^::ffff:/, '');

/** Addresses where FTP without TLS is tolerated: loopback and private LANs (a camera on the venue's Wi-Fi). */
function isLocalNetwork(address: string): boolean {
  if (address === '::1' || /^f[cd]/i.test(address) || /^fe80:/i.test(address)) return true;
  const parts = address.split('.').map(Number);
  if (parts.length !== 4) return false;
  const [a, b] = parts as [number, number, number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

async function removeStalePartials(dir: string, maxAgeMs: number): Promise<number> {
  let removed = 0;
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const cutoff = Date.now() - maxAgeMs;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const stat = await fsp.stat(file).catch(() => undefined);
    if (stat && stat.mtimeMs < cutoff) {
      await fsp.rm(file, { force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * The `ftp` role: cameras and sync tools log in with an event's FTP account and store files; each
 * complete file goes through the same upload path as the API (format from the bytes, size limit,
 * dedupe by hash, storage, processing job), marked live, and is removed from the FTP side. The reply
 * to STOR comes after the photo is recorded, so a 226 means FacePass has it; a refused file gets an
 * error reply with the reason. Files cut short stay (under the account's inbox in the data
 * directory) so the client can resume them with REST+STOR or APPE.
 */
export async function startFtpServer(deps: {
  config: Config;
  logger: Logger;
  photos: PhotoService;
  accounts: FtpCredentialService;
}): Promise<FtpIngestServer> {
  const { config, photos, accounts } = deps;
  const ftp = config.ftp;
  const logger = deps.logger.child({ role: 'ftp' });
  const inbox = path.join(config.dataDir, 'ftp-inbox');
  await fsp.mkdir(inbox, { recursive: true });
  const stale = await removeStalePartials(inbox, STALE_PARTIAL_MS);
  if (stale > 0) logger.info({ removed: stale }, 'removed partial FTP uploads older than a day');

  const events = new EventEmitter<{ file: [FtpFileOutcome] }>();
  const outcome = (o: FtpFileOutcome): void => {
    if (o.kind === 'ingested') logger.info(o, 'ftp file ingested');
    else logger.warn(o, o.kind === 'partial' ? 'ftp file incomplete: kept for resume' : 'ftp file refused');
    events.emit('file', o);
  };
  const limiter = createLoginLimiter({ maxFailures: ftp.loginFailuresPerAddress, windowMs: LOGIN_WINDOW_MS });
  // The address each client reached us on, for PASV replies when no public host is configured.
  const localAddressOf = new Map<string, string>();
  const tls = ftp.tls ? { cert: await fsp.readFile(ftp.tls.certFile), key: await fsp.readFile(ftp.tls.keyFile) } : false;

  // ftp-srv exits the process on SIGINT/SIGTERM from its constructor; FacePass shuts down in order itself.
  const signals = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const verbose = logger.isLevelEnabled('debug');
  const server = new FtpSrv({
    url: `ftp://${ftp.host}:${ftp.port ?? 21}`,
    pasv_min: ftp.passivePorts.min,
    pasv_max: ftp.passivePorts.max,
    pasv_url: ((clientIp: string) => {
      const client = plainAddress(clientIp);
      if (ftp.publicHost && !(client.startsWith('127.') || client === '::1')) return ftp.publicHost;
      return localAddressOf.get(client) ?? '127.0.0.1';
    }) as unknown as string,
    tls,
    anonymous: false,
    greeting: ['FacePass camera ingest'],
    // Downloads and SITE commands (CHMOD…) have no meaning for an inbox.
    blacklist: ['RETR', 'SITE'],
    // ftp-srv logs every refused command as an error: its own log is kept for debugging only.
    log: logger.child({ component: 'ftp-srv' }, { level: verbose ? 'debug' : 'silent' }),
    timeout: 0,
  });
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }

  // Connections open now: ftp-srv's close() can leave a passive data socket and its server behind.
  const open = new Set<FtpConnection>();
  type Connector = { dataSocket?: net.Socket | null; dataServer?: net.Server | null };
  /**
   * Ends a connection's passive data socket and listener. ftp-srv leaves them open when the control
   * connection goes away mid-transfer (a camera losing Wi-Fi): the paused data socket never sees
   * its end, and each such drop would keep a port and a socket for good.
   */
  const dropData = (connection: FtpConnection): void => {
    const c = connection as unknown as { connector?: Connector };
    c.connector?.dataSocket?.destroy();
    c.connector?.dataServer?.close();
  };
  // 'connect' is emitted by ftp-srv but missing from its typings.
  (server as EventEmitter).on('connect', ({ connection, newConnectionCount }: { connection: FtpConnection; newConnectionCount: number }) => {
    const socket = (connection as unknown as { commandSocket: net.Socket }).commandSocket;
    open.add(connection);
    socket.once('close', () => {
      open.delete(connection);
      dropData(connection);
    });
    localAddressOf.set(plainAddress(socket.remoteAddress), plainAddress(socket.localAddress));
    if (newConnectionCount > ftp.maxConnections) {
      logger.warn({ address: plainAddress(socket.remoteAddress), limit: ftp.maxConnections }, 'ftp connection refused: too many connections');
      void connection.close(421, 'Too many connections: try again later' as unknown as number);
    }
  });
  server.on('client-error', ({ context, error }) => logger.debug({ context, err: error.message }, 'ftp client error'));

  const handlersFor = (account: FtpAccount, connection: FtpConnection) => ({
    broken(file: string, clientPath: string, error: Error) {
      const bytes = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
      outcome({ kind: 'partial', credentialId: account.credentialId, eventId: account.eventId, file: clientPath, bytes, reason: error.message });
    },
    async complete(file: string, clientPath: string): Promise<void> {
      const base = { credentialId: account.credentialId, eventId: account.eventId, file: clientPath };
      const keepPartial = async (reason: string): Promise<never> => {
        const bytes = (await fsp.stat(file).catch(() => undefined))?.size ?? 0;
        outcome({ ...base, kind: 'partial', bytes, reason });
        throw new Error(`${reason}: resume it with REST and STOR, or APPE`);
      };
      const refuse = async (reason: string): Promise<never> => {
        await fsp.rm(file, { force: true });
        outcome({ ...base, kind: 'rejected', reason });
        throw new Error(reason);
      };
      // A client that vanished closes the data connection like one that finished: without its control
      // connection, nobody can say the file was whole.
      const control = (connection as unknown as { commandSocket?: net.Socket }).commandSocket;
      if (!control || control.destroyed) return keepPartial('The control connection closed during the transfer');
      const check = await checkCompleteness(file);
      if (check.kind === 'not_image') return refuse(`Not a supported image: send ${ACCEPTED_FORMATS}`);
      if (check.kind === 'incomplete') return keepPartial('The image is cut short');
      if (!(await accounts.isLive(account.credentialId))) return refuse('This FTP account was revoked or its event deleted');
      try {
        const result = await photos.upload(account.photographerId, account.eventId, {
          stream: fs.createReadStream(file),
          filename: path.posix.basename(clientPath).slice(0, 255),
          limitBytes: config.uploadMaxBytes,
          truncated: () => false,
        }, { live: true });
        await fsp.rm(file, { force: true });
        outcome({ ...base, kind: 'ingested', photoId: result.photo.id, duplicate: result.duplicate });
      } catch (error) {
        const reason = error instanceof DomainError ? error.message : 'FacePass could not store the photo: send it again';
        if (!(error instanceof DomainError)) logger.error({ err: error, ...base }, 'ftp ingest failed');
        return refuse(reason);
      }
    },
  });

  server.on('login', ({ connection, username, password }, resolve, reject) => {
    const address = plainAddress(connection.ip);
    if (!limiter.allowed(address)) {
      logger.warn({ address }, 'ftp login refused: too many failed logins from this address');
      return reject(new Error('Too many failed logins from your address: try again later'));
    }
    accounts.authenticate(username, password).then(
      async (account) => {
        if (!account) {
          limiter.fail(address);
          logger.warn({ address, username: username.slice(0, 64) }, 'ftp login failed');
          return reject(new Error('Wrong user name or password'));
        }
        if (!connection.secure && !isLocalNetwork(address)) {
          logger.warn({ address, username }, 'ftp login without TLS from outside the local network: the password and photos crossed the network in clear');
        }
        const root = path.join(inbox, String(account.credentialId));
        await fsp.mkdir(root, { recursive: true });
        logger.info({ address, username, eventId: account.eventId, tls: connection.secure }, 'ftp login');
        resolve({ fs: new IngestFileSystem(connection, root, { maxBytes: config.uploadMaxBytes, handlers: handlersFor(account, connection) }) });
      },
      (error: unknown) => {
        logger.error({ err: error }, 'ftp login could not be checked');
        reject(new Error('Login is unavailable right now: try again'));
      },
    );
  });

  await server.listen();
  const address = (server as unknown as { server: net.Server }).server.address();
  const port = typeof address === 'object' && address ? address.port : (ftp.port ?? 21);
  const url = `ftp://${ftp.host}:${port}`;
  if (!tls) {
    logger.warn({ url }, 'FTP without TLS (set FTP_TLS_CERT and FTP_TLS_KEY for FTPS): use it only on loopback or a trusted local network');
  }
  logger.info({ url, passivePorts: `${ftp.passivePorts.min}-${ftp.passivePorts.max}`, tls: Boolean(tls), publicHost: ftp.publicHost }, 'ftp listening');
  return {
    url,
    port,
    events,
    close: async () => {
      for (const connection of open) {
        dropData(connection);
        (connection as unknown as { commandSocket?: net.Socket }).commandSocket?.destroy();
      }
      await server.close();
    },
  };
}
