import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { ROLES, rolesOfAll, startService, stopOnSignals, type Role } from './main.js';
import { openDatabases } from './db/databases.js';
import { migrateDownAll, migrateToLatest } from './db/migrator.js';
import type { Kysely } from 'kysely';
import { readInstance } from './instance-lock.js';
import { ADMIN_TOKEN_HEADER } from './api/routes/admin.routes.js';
import { createPhotographerRepository } from './repositories/photographer.repository.js';
import { createPhotographerService } from './services/photographer.service.js';
import { createAccountRepository } from './repositories/account.repository.js';
import { createAccountService } from './services/account.service.js';
import { DomainError } from './errors.js';
import { registerVisionCommands } from './vision/cli.js';
import { registerUploadCommand } from './uploader/upload.command.js';
import { registerPeopleCommand } from './uploader/people.command.js';
import { registerFtpCommand } from './uploader/ftp-accounts.command.js';
import { registerRetryCommand } from './uploader/retry.command.js';

/** Photographer administration, either directly on the database or through the running embedded server. */
interface PhotographerAdmin {
  create(email: string, name: string | undefined): Promise<{ id: number; email: string; apiKey: string; inviteUrl?: string }>;
  setPassword(email: string, password: string): Promise<void>;
  issueKey(email: string, revokeOthers: boolean): Promise<{ id: number; email: string; apiKey: string }>;
  list(): Promise<{ id: number; email: string; name: string | null; created_at: string; active_keys: number }[]>;
  close(): Promise<void>;
}

async function photographerAdmin(config: Config): Promise<PhotographerAdmin> {
  const running = config.databases.main.kind === 'pglite' ? await readInstance(config.dataDir) : undefined;
  if (running?.url) {
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${running.url}/internal/admin${path}`, {
        method,
        headers: { [ADMIN_TOKEN_HEADER]: running.adminToken, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await res.json()) as T & { message?: string };
      if (!res.ok) throw new Error(json.message ?? `HTTP ${res.status}`);
      return json;
    };
    type Issued = { photographer: { id: number; email: string }; api_key: string; invite_url?: string };
    const issued = (r: Issued) => ({ id: r.photographer.id, email: r.photographer.email, apiKey: r.api_key, inviteUrl: r.invite_url });
    return {
      create: async (email, name) => issued(await call<Issued>('POST', '/photographers', { email, name })),
      setPassword: async (email, password) => {
        await call('POST', '/photographers/password', { email, password });
      },
      issueKey: async (email, revoke) => issued(await call<Issued>('POST', '/photographers/keys', { email, revoke_others: revoke })),
      list: () => call('GET', '/photographers'),
      close: async () => {},
    };
  }
  if (running) throw new Error(`FacePass (pid ${running.pid}) is starting on ${config.dataDir}; try again in a moment.`);
  const dbs = await openDatabases(config);
  await migrateToLatest(dbs.main as Kysely<unknown>, 'main');
  const photographers = createPhotographerRepository(dbs.main);
  const service = createPhotographerService({ photographers });
  const accounts = createAccountService({
    accounts: createAccountRepository(dbs.main),
    photographers,
    publicUrl: config.http.publicUrl,
    sessionTtlMs: config.console.sessionTtlMs,
  });
  const issued = (r: { photographer: { id: number; email: string }; apiKey: string }) => ({ id: r.photographer.id, email: r.photographer.email, apiKey: r.apiKey });
  return {
    create: async (email, name) => {
      const created = await service.create({ email, name });
      return { ...issued(created), inviteUrl: (await accounts.createInvite(created.photographer.id)).url };
    },
    setPassword: async (email, password) => {
      await accounts.setPassword(email, password);
    },
    issueKey: async (email, revoke) => issued(await service.issueKey(email, { revokeOthers: revoke })),
    list: async () => (await service.list()).map((p) => ({ ...p, created_at: p.created_at.toISOString() })),
    close: () => dbs.close(),
  };
}

function printKey(title: string, r: { id: number; email: string; apiKey: string; inviteUrl?: string }): void {
  console.log(`${title}: #${r.id} ${r.email}`);
  console.log(`API key (shown once, store it now): ${r.apiKey}`);
  console.log(`Use it as: curl -H "Authorization: Bearer ${r.apiKey}" …/api/v1/events/`);
  if (r.inviteUrl) console.log(`Console invite (one use, 7 days; choose a password there): ${r.inviteUrl}`);
}

/** Reads a password from stdin (`--password-stdin`) or asks for it on the terminal without echo. */
async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    // A synchronous read of fd 0: reading through process.stdin leaves a stream handle behind, and the
    // embedded database (PGlite, opened next when no server runs) then never finishes starting.
    return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  }
  const ask = (prompt: string): Promise<string> =>
    new Promise((resolve, reject) => {
      process.stdout.write(prompt);
      const stdin = process.stdin;
      stdin.setRawMode(true);
      stdin.resume();
      let value = '';
      const onData = (data: Buffer) => {
        for (const ch of data.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.setRawMode(false);
            stdin.pause();
            stdin.off('data', onData);
            process.stdout.write('\n');
            return resolve(value);
          }
          if (ch === '\u0003') {
            stdin.setRawMode(false);
            stdin.off('data', onData);
            return reject(new Error('cancelled'));
          }
          value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
        }
      };
      stdin.on('data', onData);
    });
  const first = await ask('New console password: ');
  if ((await ask('Repeat it: ')) !== first) throw new Error('The passwords differ');
  return first;
}

/** Builds the `facepass` command line. `env` is the process environment, parsed by commands that need it. */
export function buildCli(env: Record<string, string | undefined>): Command {
  const config = (): Config => loadConfig(env);
  const program = new Command('facepass').description('FacePass: find yourself in event photos by selfie').showHelpAfterError();

  program
    .command('start')
    .description('run the service (all roles by default; ftp only when FTP_PORT is set)')
    .addOption(new Option('--role <role>', 'which role to run').choices(['all', ...ROLES]).default('all'))
    .action(async (opts: { role: 'all' | Role }) => {
      const cfg = config();
      const logger = createLogger(cfg.logLevel);
      const roles = opts.role === 'all' ? rolesOfAll(cfg) : [opts.role];
      const service = await startService(cfg, roles, logger);
      stopOnSignals(service, logger, cfg.shutdownTimeoutMs);
    });

  program
    .command('migrate')
    .description('apply pending migrations to db_main and db_vector')
    .option('--down', 'revert every migration instead (destroys data)')
    .action(async (opts: { down?: boolean }) => {
      const dbs = await openDatabases(config());
      try {
        const run = opts.down ? migrateDownAll : migrateToLatest;
        for (const [name, db] of [['main', dbs.main], ['vector', dbs.vector]] as const) {
          const outcome = await run(db as Kysely<unknown>, name);
          console.log(`db_${name}: ${outcome.applied.length ? `${opts.down ? 'reverted' : 'applied'} ${outcome.applied.join(', ')}` : 'up to date'}`);
        }
      } finally {
        await dbs.close();
      }
    });

  const photographer = program.command('photographer').description('manage photographer accounts');
  photographer
    .command('create')
    .description('create a photographer and print their API key (once)')
    .requiredOption('--email <email>', 'login email')
    .option('--name <name>', 'display name')
    .action(async (opts: { email: string; name?: string }) => {
      const admin = await photographerAdmin(config());
      try {
        printKey('Created photographer', await admin.create(opts.email, opts.name));
      } finally {
        await admin.close();
      }
    });
  photographer
    .command('key')
    .description('issue a new API key for a photographer')
    .requiredOption('--email <email>', 'login email')
    .option('--revoke-others', 'revoke every older key')
    .action(async (opts: { email: string; revokeOthers?: boolean }) => {
      const admin = await photographerAdmin(config());
      try {
        printKey('New key for photographer', await admin.issueKey(opts.email, opts.revokeOthers ?? false));
      } finally {
        await admin.close();
      }
    });
  photographer
    .command('password')
    .description("set a photographer's console password (asked on the terminal, or read from stdin)")
    .requiredOption('--email <email>', 'login email')
    .option('--password-stdin', 'read the password from stdin (one line)')
    .action(async (opts: { email: string; passwordStdin?: boolean }) => {
      const password = await readPassword(opts.passwordStdin ?? false);
      const admin = await photographerAdmin(config());
      try {
        await admin.setPassword(opts.email, password);
        console.log(`Console password set for ${opts.email.trim().toLowerCase()}; their other console sessions are signed out.`);
      } finally {
        await admin.close();
      }
      // Everything is written and closed; after a scrypt hash next to the embedded database, Node's
      // event loop has been seen to stay alive with no handle left, so the one-shot command ends here.
      process.exit(0);
    });
  photographer
    .command('list')
    .description('list photographers')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const admin = await photographerAdmin(config());
      try {
        const rows = await admin.list();
        if (opts.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) console.log('No photographers yet: facepass photographer create --email you@example.com');
        else for (const r of rows) console.log(`#${r.id}\t${r.email}\t${r.name ?? ''}\tkeys: ${r.active_keys}\tsince ${r.created_at}`);
      } finally {
        await admin.close();
      }
    });
  registerVisionCommands(program, () => config().modelDir);
  registerUploadCommand(program, env);
  registerRetryCommand(program, env);
  registerPeopleCommand(program, env);
  registerFtpCommand(program, env);
  return program;
}

/** Runs the CLI; user-facing failures print one clear line and exit 1. */
export async function runCli(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  try {
    await buildCli(env).parseAsync(argv);
  } catch (error) {
    const known = error instanceof ConfigError || error instanceof DomainError || error instanceof Error;
    console.error(known ? `facepass: ${(error as Error).message}` : error);
    process.exitCode = 1;
  }
}
