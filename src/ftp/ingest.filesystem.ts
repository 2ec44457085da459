import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { FileSystem, type FtpConnection } from 'ftp-srv';

/** An error ftp-srv turns into a reply (its handlers use `code` where the command allows one). */
const ftpError = (message: string, code: number): Error => Object.assign(new Error(message), { code });

/** What happens to a file the client has finished sending, and to one it has not. */
export interface IngestHandlers {
  /**
   * The data connection ended normally: ingest the file (and remove it), or throw; the error's
   * message is the client's error reply (ftp-srv answers a failed STOR with 550).
   */
  complete(file: string, clientPath: string): Promise<void>;
  /** The transfer broke off (connection reset): the partial file stays for a resume (REST/APPE). */
  broken(file: string, clientPath: string, error: Error): void;
}

/** ftp-srv's path resolution (kept inside the root: `..` cannot climb out). Not in its typings. */
type ResolvePath = (fileName?: string) => { fsPath: string; clientPath: string };

/**
 * One FTP account's private folder: what the camera stores is written under `root` while it
 * arrives, then handed to {@link IngestHandlers.complete}. Nothing can be downloaded (the folder is
 * an inbox, not an archive); directories can be made and entered freely because cameras insist on
 * their own (`/DCIM/100MSDCF`, a configured path).
 */
export class IngestFileSystem extends FileSystem {
  constructor(
    connection: FtpConnection,
    root: string,
    private readonly options: { maxBytes: number; handlers: IngestHandlers },
  ) {
    super(connection, { root, cwd: '/' });
  }

  private resolve(fileName: string): { fsPath: string; clientPath: string } {
    return (this as unknown as { _resolvePath: ResolvePath })._resolvePath(fileName);
  }

  override async chdir(dir = '.'): Promise<string> {
    await fsp.mkdir(this.resolve(dir).fsPath, { recursive: true });
    return super.chdir(dir);
  }

  override read(): Promise<never> {
    return Promise.reject(ftpError('Files cannot be downloaded from FacePass', 550));
  }

  /**
   * STOR, APPE and REST+STOR. ftp-srv's own write() opens a restarted file with 'w+', which empties
   * it: a resume must keep the bytes before the restart point, so the file is truncated to that point
   * and written from there instead.
   */
  override async write(fileName: string, { append = false, start }: { append?: boolean; start?: number } = {}): Promise<{ stream: Writable; clientPath: string }> {
    const { fsPath, clientPath } = this.resolve(fileName);
    const { maxBytes, handlers } = this.options;
    await fsp.mkdir(path.dirname(fsPath), { recursive: true });
    const existing = (await fsp.stat(fsPath).catch(() => undefined))?.size;
    let offset = 0;
    if (append) offset = existing ?? 0;
    else if (start) {
      if (existing === undefined || start > existing) {
        throw ftpError(`Cannot restart at byte ${start}: ${existing ?? 0} bytes of ${clientPath} are here`, 554);
      }
      await fsp.truncate(fsPath, start);
      offset = start;
    }
    const out = fs.createWriteStream(fsPath, { flags: offset > 0 ? 'r+' : 'w', start: offset });
    let size = offset;
    let tooLarge = false;
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) {
          tooLarge = true;
          return done(new Error(`${clientPath} exceeds the upload limit of ${Math.round(maxBytes / 1024 / 1024)} MB`));
        }
        out.write(chunk, (error) => done(error ?? null));
      },
      final(done) {
        out.end();
        finished(out)
          .then(() => handlers.complete(fsPath, clientPath))
          .then(() => done(), done);
      },
      destroy(error, done) {
        if (!out.closed) out.destroy();
        if (tooLarge) void fsp.rm(fsPath, { force: true });
        else if (error) handlers.broken(fsPath, clientPath, error);
        done(error);
      },
    });
    // ftp-srv ends the stream by emitting 'close' on it when anything listens for 'close' (pipe()
    // does), as its own fs does; a real 'close' after destroy must not end it again.
    stream.once('close', () => {
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    });
    // ftp-srv listens once; a second error (e.g. the data socket failing too) must not be unhandled.
    stream.on('error', () => undefined);
    return { stream, clientPath };
  }
}
