#!/usr/bin/env node
// Entry point of the `facepass` command. Runs the compiled build (`npm run build` → dist/) while it is
// current; in a checkout whose sources were never built, or were edited after the last build, runs the
// sources through tsx (a dev dependency) instead, so a stale build never shadows an edit.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const built = path.join(root, 'dist', 'src', 'bin.js');
// Written as the build's last step: a build that failed half-way has none and is not used.
const stamp = path.join(root, 'dist', 'build-info.json');
const sources = path.join(root, 'src', 'bin.ts');

/** Newest modification time of the files the build reads (READMEs aside); 0 without sources. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name !== 'README.md') newest = Math.max(newest, statSync(file).mtimeMs);
    }
  };
  for (const dir of ['src', 'models', 'migrations']) if (existsSync(path.join(root, dir))) walk(path.join(root, dir));
  return newest;
}

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

const hasBuild = existsSync(built) && existsSync(stamp);
const current = hasBuild && (!existsSync(sources) || newestSource() <= statSync(stamp).mtimeMs);
const tsx = current ? undefined : existsSync(sources) ? await loadTsx() : undefined;
if (tsx) {
  await tsx.tsImport(pathToFileURL(sources).href, import.meta.url);
} else if (hasBuild) {
  if (!current) console.error('facepass: dist/ is older than the sources and tsx is not installed; running the old build (run `npm run build`)');
  await import(pathToFileURL(built).href);
} else {
  console.error('facepass: no build in dist/ and tsx is not installed: run `npm ci && npm run build`');
  process.exitCode = 1;
}
