import fs from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import type { TestApp } from '../helpers/app.js';
import { startPipeline } from '../helpers/pipeline.js';
import { registerUploadCommand } from '../../src/uploader/upload.command.js';
import type { CommandIo } from '../../src/uploader/api-command.js';
import type { UploadProgress, UploadReporter, UploadSummary } from '../../src/uploader/folder.uploader.js';

/** Starts the test app on loopback and returns its base URL (without /api/v1). */
export async function listen(t: TestApp): Promise<string> {
  return (await startPipeline(t)).api.replace(/\/api\/v1$/, '');
}

/** A photographer's raw API key (the test app hands out Authorization headers). */
export const keyOf = (p: { headers: { authorization: string } }): string => p.headers.authorization.replace(/^Bearer /, '');

export async function newEvent(t: TestApp, owner: { headers: { authorization: string } }, body: Record<string, unknown> = { name: 'Upload' }): Promise<number> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: body });
  return res.json<{ id: number }>().id;
}

/** A small, distinct image: a solid colour with a gradient stripe, so every seed has different bytes. */
export async function writeImage(file: string, seed: number, format: 'jpeg' | 'png'): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const width = 64 + seed;
  const height = 48;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    pixels[i * 3] = (seed * 37 + i) % 256;
    pixels[i * 3 + 1] = (seed * 91) % 256;
    pixels[i * 3 + 2] = (i * 7) % 256;
  }
  const img = sharp(pixels, { raw: { width, height, channels: 3 } });
  await (format === 'jpeg' ? img.jpeg({ quality: 90 }) : img.png()).toFile(file);
}

/** Records every reporter call. */
export function recordingReporter(): UploadReporter & { updates: UploadProgress[]; retries: string[]; finished: UploadSummary[] } {
  const updates: UploadProgress[] = [];
  const retries: string[] = [];
  const finished: UploadSummary[] = [];
  return {
    updates,
    retries,
    finished,
    start: (p) => updates.push(p),
    update: (p) => updates.push(p),
    retrying: (file, attempt, reason) => retries.push(`${path.basename(file)}#${attempt}: ${reason}`),
    finish: (s) => finished.push(s),
  };
}

/** Runs `facepass upload …` in-process, capturing its output and exit code. */
export function runUpload(
  args: string[],
  env: Record<string, string | undefined>,
  /** Stands for Ctrl-C in `--watch` runs. */
  interrupt: AbortSignal = new AbortController().signal,
): Promise<CommandRun> {
  return runCommand(registerUploadCommand, ['upload', ...args], env, interrupt);
}

/** What a command run in-process printed, its exit code, and the error it ended with (if any). */
export interface CommandRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  error?: Error;
}

/** Runs one `facepass` command in-process (registered by `register`), capturing its output and exit code. */
export async function runCommand(
  register: (program: Command, env: Record<string, string | undefined>, io: CommandIo) => unknown,
  argv: string[],
  env: Record<string, string | undefined>,
  interrupt: AbortSignal = new AbortController().signal,
): Promise<CommandRun> {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  const io: CommandIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    setExitCode: (code) => (exitCode = code),
    interrupted: () => interrupt,
  };
  const program = new Command('facepass').exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  register(program, env, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    return { stdout, stderr, exitCode: 1, error: error as Error };
  }
  return { stdout, stderr, exitCode };
}
