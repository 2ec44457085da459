import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mainMigrations } from '../migrations/main/index.js';
import { vectorMigrations } from '../migrations/vector/index.js';
import { devDataDir } from './vision/fixtures.js';
import { createTestDatabases, tempDir } from './helpers/services.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT_CLI = path.join(root, 'dist', 'src', 'bin.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end. Plain `node`: no tsx loader reaches the child (NODE_OPTIONS is dropped). */
function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const { NODE_OPTIONS: _, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? root, env: { ...env, LOG_LEVEL: 'silent', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const node = (args: string[], options?: Parameters<typeof run>[2]): Promise<Run> => run(process.execPath, args, options);

describe('npm run build: the compiled service', () => {
  // The real build command, as users and the Docker image run it.
  before(async () => {
    const build = await run('npm', ['run', 'build']);
    assert.equal(build.code, 0, `npm run build failed:\n${build.stdout}\n${build.stderr}`);
  });

  it('runs the command line on plain node', async () => {
    const help = await node([BUILT_CLI, '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ['start', 'migrate', 'photographer', 'faces', 'upload', 'models']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    const info = JSON.parse(await fs.readFile(path.join(root, 'dist', 'build-info.json'), 'utf8')) as { builtAt: string };
    assert.ok(Date.now() - Date.parse(info.builtAt) < 3_600_000, 'the build stamp is this build');
  });

  it('applies every migration of the sources to PostgreSQL, once', async () => {
    const dbs = await createTestDatabases();
    try {
      const env = { DATABASE_MAIN_URL: dbs.mainUrl, DATABASE_VECTOR_URL: dbs.vectorUrl };
      const first = await node([BUILT_CLI, 'migrate'], { env });
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, `db_main: applied ${Object.keys(mainMigrations).sort().join(', ')}\ndb_vector: applied ${Object.keys(vectorMigrations).sort().join(', ')}\n`);
      const second = await node([BUILT_CLI, 'migrate'], { env });
      assert.equal(second.stdout, 'db_main: up to date\ndb_vector: up to date\n');
    } finally {
      await dbs.drop();
    }
  });

  it('carries the bot locales: the compiled bot speaks both languages without the sources', async () => {
    const { createI18n } = (await import(pathToFileURL(path.join(root, 'dist', 'src', 'bot', 'i18n.js')).href)) as typeof import('../src/bot/i18n.js');
    const i18n = createI18n();
    const en = i18n.t('en', 'event-unavailable');
    const ru = i18n.t('ru', 'event-unavailable');
    assert.match(en, /event link is unknown/);
    assert.match(ru, /Ссылка на мероприятие/);
    // The copy is byte for byte the sources' file.
    assert.equal(
      await fs.readFile(path.join(root, 'dist', 'src', 'bot', 'locales', 'ru.ftl'), 'utf8'),
      await fs.readFile(path.join(root, 'src', 'bot', 'locales', 'ru.ftl'), 'utf8'),
    );
  });

  it('generates the default ONNX pack into an empty MODEL_DIR and finds a face', async () => {
    const photo = path.join(await devDataDir(), 'faces', '2008_002079.jpg');
    const models = await tempDir('facepass-build-models-');
    try {
      const res = await node([BUILT_CLI, 'faces', 'analyze', photo, '--json'], { env: { MODEL_DIR: models.dir } });
      assert.equal(res.code, 0, res.stderr);
      const analysis = JSON.parse(res.stdout) as { packId: string; faces: { embedding: number[] }[] };
      assert.ok(analysis.faces.length >= 1, 'a face is found');
      const embedding = analysis.faces[0]?.embedding ?? [];
      assert.ok(embedding.length > 0 && embedding.every(Number.isFinite), 'with an embedding');
      assert.ok((await fs.readdir(path.join(models.dir, analysis.packId))).some((f) => f.endsWith('.onnx')), 'the pack was built in MODEL_DIR');
    } finally {
      await models.remove();
    }
  });
});

describe('bin/facepass.js: the build when current, else the sources', () => {
  let layout: { dir: string; remove(): Promise<void> };
  const source = (...parts: string[]) => path.join(layout.dir, ...parts);
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
  const facepass = () => node([source('bin', 'facepass.js')], { cwd: layout.dir });

  // A checkout in miniature: the real launcher, sources and a build that each say which one ran.
  before(async () => {
    layout = await tempDir('facepass-launcher-');
    await fs.mkdir(source('bin'));
    await fs.mkdir(source('src'));
    await fs.mkdir(source('dist', 'src'), { recursive: true });
    await fs.copyFile(path.join(root, 'bin', 'facepass.js'), source('bin', 'facepass.js'));
    await fs.writeFile(source('package.json'), '{"type":"module"}\n');
    await fs.symlink(path.join(root, 'node_modules'), source('node_modules'));
    await fs.writeFile(source('src', 'bin.ts'), "const from: string = 'sources';\nconsole.log(from);\n");
    await fs.writeFile(source('dist', 'src', 'bin.js'), "console.log('build');\n");
    await fs.writeFile(source('dist', 'build-info.json'), '{}\n');
  });
  after(() => layout.remove());

  const setTimes = async (sources: number, stamp: number) => {
    await fs.utimes(source('src', 'bin.ts'), at(sources), at(sources));
    await fs.utimes(source('dist', 'build-info.json'), at(stamp), at(stamp));
  };

  it('runs the build when no source is newer than its stamp', async () => {
    await setTimes(0, 100);
    assert.equal((await facepass()).stdout, 'build\n');
  });

  it('runs the sources through tsx once one is edited after the build', async () => {
    await setTimes(200, 100);
    assert.equal((await facepass()).stdout, 'sources\n');
  });

  it('runs the sources when the build has no stamp (it failed half-way)', async () => {
    await fs.rename(source('dist', 'build-info.json'), source('dist', 'stamp.bak'));
    try {
      assert.equal((await facepass()).stdout, 'sources\n');
    } finally {
      await fs.rename(source('dist', 'stamp.bak'), source('dist', 'build-info.json'));
    }
  });

  it('without tsx (production install) runs a stale build with a warning, and explains a missing one', async () => {
    await fs.rm(source('node_modules'));
    try {
      await setTimes(200, 100);
      const stale = await facepass();
      assert.equal(stale.stdout, 'build\n');
      assert.match(stale.stderr, /older than the sources.*npm run build/);
      await fs.rename(source('dist'), source('dist.bak'));
      const missing = await facepass();
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no build in dist\/ and tsx is not installed/);
    } finally {
      await fs.rename(source('dist.bak'), source('dist')).catch(() => undefined);
      await fs.symlink(path.join(root, 'node_modules'), source('node_modules'));
    }
  });

  it('runs the build where there are no sources (the Docker image)', async () => {
    await fs.rename(source('src'), source('src.bak'));
    try {
      assert.equal((await facepass()).stdout, 'build\n');
    } finally {
      await fs.rename(source('src.bak'), source('src'));
    }
  });
});
