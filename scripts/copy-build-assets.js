#!/usr/bin/env node
// Last step of `npm run build:server`: copies what the compiled code reads at run time besides
// JavaScript (the bot's Fluent locales today: every file under src/ that is neither TypeScript nor
// a README) next to the compiled modules, so dist/ runs without the sources (the Docker image).
// Then stamps the build: bin/facepass.js runs dist/ only while no source is newer than this stamp.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const from = path.join(root, 'src');
const to = path.join(root, 'dist', 'src');
const isAsset = (file) => !file.endsWith('.ts') && path.basename(file) !== 'README.md';

mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true, filter: (source) => isAsset(source) });
writeFileSync(path.join(root, 'dist', 'build-info.json'), `${JSON.stringify({ builtAt: new Date().toISOString(), node: process.version }, null, 2)}\n`);
