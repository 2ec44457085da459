import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger; entry points derive a child per request, update or job. */
export function createLogger(level: string, name = 'facepass'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
