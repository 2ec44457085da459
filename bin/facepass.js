#!/usr/bin/env node
// Entry point of the `facepass` command. Runs the TypeScript sources through tsx, so a clone
// works without a build step; `npm run build` output is used instead when present.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const built = path.join(root, 'dist', 'src', 'cli.js');
let cli;
if (existsSync(built)) {
  cli = await import(pathToFileURL(built).href);
} else {
  const { tsImport } = await import('tsx/esm/api');
  cli = await tsImport(pathToFileURL(path.join(root, 'src', 'cli.ts')).href, import.meta.url);
}
await cli.runCli(process.argv, process.env);
