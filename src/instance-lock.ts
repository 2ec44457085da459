import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What a running embedded server leaves in its data directory for the CLI. */
export interface InstanceInfo {
  pid: number;
  /** Base URL of the running API, for admin commands. */
  url: string | null;
  adminToken: string;
}

const FILE = 'facepass.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live instance holding the data directory, if any (a stale lock from a killed process is ignored). */
export async function readInstance(dataDir: string): Promise<InstanceInfo | undefined> {
  try {
    const info = JSON.parse(await fs.readFile(path.join(dataDir, FILE), 'utf8')) as InstanceInfo;
    return info.pid !== process.pid && alive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Error when another process already holds the embedded databases. */
export class DataDirBusyError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `Another FacePass process (pid ${pid}) is using the embedded databases in ${dataDir}. ` +
        'PGlite allows one process per data directory: stop it, use another FACEPASS_DATA_DIR, or configure PostgreSQL.',
    );
    this.name = 'DataDirBusyError';
  }
}

/**
 * Takes the data directory for this process (embedded PGlite is single-process) and
 * records how the CLI can reach the running server. Returns a function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<{ token: string; publish(url: string): Promise<void>; release(): Promise<void> }> {
  const other = await readInstance(dataDir);
  if (other) throw new DataDirBusyError(dataDir, other.pid);
  await fs.mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, FILE);
  const token = crypto.randomBytes(24).toString('base64url');
  const write = (info: InstanceInfo) => fs.writeFile(file, JSON.stringify(info), { mode: 0o600 });
  await write({ pid: process.pid, url: null, adminToken: token });
  return {
    token,
    publish: (url) => write({ pid: process.pid, url, adminToken: token }),
    release: () => fs.rm(file, { force: true }),
  };
}
