import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { tempDir } from './helpers/services.js';

const BIN = path.resolve('bin/facepass.js');

function run(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the first JSON log line whose msg matches; rejects if the process exits first. */
function waitForLog(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`server exited with ${code} before logging "${msg}"`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === msg) {
          child.off('exit', onExit);
          resolve(entry);
        }
      } catch {
        // not a log line
      }
    });
  });
}

describe('facepass CLI on the embedded default (PGlite, private Redis, local disk)', () => {
  let data: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;
  before(async () => {
    data = await tempDir();
    // No database, Redis or S3 settings: everything embedded.
    env = { FACEPASS_DATA_DIR: data.dir, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_MAIN_URL: '', DATABASE_VECTOR_URL: '', REDIS_URL: '', S3_BUCKET: '' };
  });
  after(() => data.remove());

  it('stops with a message naming a bad variable', async () => {
    const res = await run(['start'], { ...env, PORT: 'eighty' });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /PORT="eighty" is invalid/);
  });

  it('runs all roles, takes admin commands while running, serves the API, and shuts down gracefully', async () => {
    const server = spawn(process.execPath, [BIN, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const listening = await waitForLog(server, 'api listening');
      const base = String(listening.docs).replace(/\/docs$/, '');

      // A second server on the same data directory is refused clearly.
      const second = await run(['start'], env);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /Another FacePass process/);

      const created = await run(['photographer', 'create', '--email', 'Photo@Example.com'], env);
      assert.equal(created.code, 0, created.stderr);
      const key = /API key.*: (fp_\S+)/.exec(created.stdout)?.[1];
      assert.ok(key, created.stdout);
      const invite = /Console invite.*: (http\S+\/invite#(\S+))/.exec(created.stdout);
      assert.ok(invite?.[2], created.stdout);

      // Console sign-in: the invite link sets a password once; `photographer password` changes it.
      const login = (password: string) =>
        fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'photo@example.com', password }) });
      const accept = (password: string) =>
        fetch(`${base}/api/v1/auth/invite`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: invite[2], password }) });
      assert.equal((await accept('invited password 1')).status, 200);
      assert.equal((await accept('invited password 2')).status, 404, 'an invite works once');
      assert.equal((await login('invited password 1')).status, 200);
      const changed = await run(['photographer', 'password', '--email', 'photo@example.com', '--password-stdin'], env, 'changed password 2\n');
      assert.equal(changed.code, 0, changed.stderr);
      assert.equal((await login('invited password 1')).status, 401);
      const signedIn = await login('changed password 2');
      assert.equal(signedIn.status, 200);
      assert.match(signedIn.headers.get('set-cookie') ?? '', /facepass_session=.+HttpOnly; SameSite=Strict/);

      const duplicate = await run(['photographer', 'create', '--email', 'photo@example.com'], env);
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /already exists/);

      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const res = await fetch(`${base}/api/v1/events/`, { method: 'POST', headers, body: JSON.stringify({ name: 'Embedded' }) });
      assert.equal(res.status, 201);
      const event = (await res.json()) as { event_uuid: string };
      assert.equal((await fetch(`${base}/api/v1/events/uuid/${event.event_uuid}`)).status, 200);
      const ready = (await (await fetch(`${base}/readyz`)).json()) as { status: string };
      assert.equal(ready.status, 'ok');
      // Prometheus on its own loopback listener, not on the API port.
      assert.match(String(listening.metrics), /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.equal((await fetch(String(listening.metrics))).status, 200);
      assert.equal((await fetch(`${base}/metrics`)).status, 404);
    } finally {
      server.kill('SIGTERM');
      const [code] = (await once(server, 'exit')) as [number | null];
      assert.equal(code, 0, stderr);
    }
    assert.equal(fs.existsSync(path.join(data.dir, 'facepass.lock')), false, 'lock released');

    // With the server stopped, the CLI opens the embedded database itself.
    const list = await run(['photographer', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as { email: string; active_keys: number }[];
    assert.deepEqual(rows.map((r) => [r.email, r.active_keys]), [['photo@example.com', 1]]);
    const offline = await run(['photographer', 'password', '--email', 'photo@example.com', '--password-stdin'], env, 'offline password 3\n');
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /Console password set for photo@example.com/);
  });
});
