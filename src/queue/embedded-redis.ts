import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';

/** A private redis-server under the data directory, for the embedded default. */
export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

export class RedisMissingError extends Error {
  constructor() {
    super(
      'REDIS_URL is not set and redis-server is not on PATH. Either install Redis ' +
        '(Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`, ' +
        'or run `scripts/setup-services.sh`) or set REDIS_URL=redis://host:6379.',
    );
    this.name = 'RedisMissingError';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts redis-server with append-only persistence (queued jobs survive a restart); stops it on `stop()`. */
export async function startEmbeddedRedis(dataDir: string, logger: Logger): Promise<EmbeddedRedis> {
  if (spawnSync('redis-server', ['--version']).error) throw new RedisMissingError();
  const dir = path.join(dataDir, 'redis');
  await fs.mkdir(dir, { recursive: true });
  const pidFile = path.join(dir, 'redis.pid');
  // A previous run killed hard may have left its redis behind; it would hold the append-only file.
  const stale = Number(await fs.readFile(pidFile, 'utf8').catch(() => ''));
  if (stale > 0 && alive(stale)) process.kill(stale, 'SIGTERM');

  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--pidfile', pidFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${output.slice(-500)}`)));
    child.once('error', reject);
  });
  await fs.writeFile(pidFile, String(child.pid));
  logger.info({ port, dir }, 'embedded redis-server started');
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
