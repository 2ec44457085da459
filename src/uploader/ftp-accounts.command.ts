import type { Command } from 'commander';
import type { FtpAccountAnswer } from './facepass.client.js';
import { apiClientFor, explainApiErrors, idArgument as id, withApiOptions, type ApiCommandOptions, type CommandIo } from './api-command.js';

interface Common extends ApiCommandOptions {
  event: number;
}

/**
 * `facepass ftp create|list|revoke --event <id>`: a photographer's camera FTP accounts, through the
 * API with their key (FACEPASS_URL, FACEPASS_API_KEY), like `facepass upload`.
 */
export function registerFtpCommand(program: Command, env: Record<string, string | undefined>, io: Pick<CommandIo, 'stdout'> = { stdout: process.stdout }): Command {
  const ftp = program.command('ftp').description("camera FTP accounts of an event (files a camera stores go into the event's photos)");
  const withCommon = (cmd: Command): Command => withApiOptions(cmd.requiredOption('--event <id>', 'event id', id));
  const clientFor = (opts: Common) => apiClientFor(opts, env);
  const explained = explainApiErrors;
  const line = (a: FtpAccountAnswer): string =>
    `#${a.id}\t${a.username}\t${a.label ?? ''}\t${a.revoked_at ? `revoked ${a.revoked_at}` : a.last_login_at ? `last login ${a.last_login_at}` : 'never used'}`;

  withCommon(ftp.command('create').description('create an FTP account for a camera (the password is shown once)'))
    .option('--label <text>', 'which camera or photographer it is for')
    .action(async (opts: Common & { label?: string }) => {
      const a = await explained(() => clientFor(opts).ftpAccounts.create(opts.event, opts.label));
      if (opts.json) return void io.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
      io.stdout.write(
        [
          `FTP account #${a.id} for event ${a.event_id}${a.label ? ` (${a.label})` : ''}. Type into the camera:`,
          `  server:   ${a.server?.host}`,
          `  port:     ${a.server?.port}`,
          `  passive:  on`,
          `  security: ${a.server?.tls ? 'FTPS (explicit TLS) if the camera offers it, else plain FTP' : 'plain FTP (the server has no TLS certificate)'}`,
          `  user:     ${a.username}`,
          `  password: ${a.password}   (shown once)`,
          `  folder:   any (leave the default)`,
        ].join('\n') + '\n',
      );
    });
  withCommon(ftp.command('list').description("list the event's FTP accounts")).action(async (opts: Common) => {
    const rows = await explained(() => clientFor(opts).ftpAccounts.list(opts.event));
    if (opts.json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else io.stdout.write(rows.length ? `${rows.map(line).join('\n')}\n` : `No FTP accounts: facepass ftp create --event ${opts.event}\n`);
  });
  withCommon(ftp.command('revoke').description('revoke an FTP account: the camera can no longer log in'))
    .requiredOption('--id <accountId>', 'account id (from list)', id)
    .action(async (opts: Common & { id: number }) => {
      await explained(() => clientFor(opts).ftpAccounts.revoke(opts.event, opts.id));
      io.stdout.write(`FTP account #${opts.id} revoked.\n`);
    });
  return ftp;
}
