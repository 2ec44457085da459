import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Client-side routes of the console: each answers index.html (the API, docs, health and files keep theirs). */
export const CONSOLE_ROUTES = ['/', '/sign-in', '/invite', '/settings', '/events', '/events/*'];

/** The built console (`npm run build:web`): web/dist from the sources (src/api/routes) or from a build (dist/src/api/routes). */
export function findConsoleDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../../../..']) {
    const dir = path.resolve(here, up, 'web', 'dist');
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>FacePass</title>
<p>The web console is not built. Run <code>npm run build:web</code> (or <code>npm start</code>, which builds it when missing) and reload.</p>`;

/**
 * Serves the photographer console on `/`: hashed assets under /assets/ (cached for a year: their
 * names change with their content) and index.html for every client route (never cached, so a new
 * build is picked up at once).
 */
export async function consoleRoutes(app: FastifyInstance, deps: { dir: string | undefined }): Promise<void> {
  const { dir } = deps;
  const index = dir ? fs.readFileSync(path.join(dir, 'index.html'), 'utf8') : NOT_BUILT;
  if (dir && fs.existsSync(path.join(dir, 'assets'))) {
    await app.register(fastifyStatic, {
      root: path.join(dir, 'assets'),
      prefix: '/assets/',
      immutable: true,
      maxAge: '365d',
      index: false,
      wildcard: true,
    });
  }
  const page = (_: unknown, reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      // The console loads only its own scripts and styles; images come from storage (presigned S3 or /files).
      .header('content-security-policy', "default-src 'self'; img-src 'self' data: blob: http: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(index);
  for (const url of CONSOLE_ROUTES) app.get(url, { schema: { hide: true } }, page);
}
