import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';

/**
 * Security headers on every response, files and errors included (@fastify/helmet): `nosniff`,
 * `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, and a Content-Security-Policy that lets
 * the `/docs` Swagger UI run from its own files (its styles are inline) and nothing else.
 * HSTS is left to the TLS-terminating proxy: this server usually speaks plain HTTP behind it.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'object-src': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}
