import type { Command } from 'commander';
import type { EventCoverage as Coverage } from './services/insights.service.js';

interface Person {
  id: number;
  hidden: boolean;
  face_count: number;
  photo_count: number;
  representative: { photo_id: number; thumbnail_url: string | null } | null;
}

/**
 * Adds `facepass people --event <id> [--json]`: the event's persons and its coverage, read from
 * the API with the photographer's key (FACEPASS_URL / FACEPASS_API_KEY, like `facepass upload`),
 * so it works against any running server, embedded database included.
 */
export function registerPeopleCommand(program: Command, env: Record<string, string | undefined>): void {
  program
    .command('people')
    .description("list an event's persons (face clusters) and its coverage")
    .requiredOption('--event <id>', 'event id', (v) => {
      if (!/^[1-9][0-9]{0,9}$/.test(v)) throw new Error(`--event must be an event id, got ${JSON.stringify(v)}`);
      return Number(v);
    })
    .option('--url <base>', 'server URL (default: FACEPASS_URL or http://localhost:8000)')
    .option('--key <apiKey>', 'photographer API key (default: FACEPASS_API_KEY)')
    .option('--json', 'print JSON')
    .action(async (opts: { event: number; url?: string; key?: string; json?: boolean }) => {
      const base = (opts.url || env.FACEPASS_URL || 'http://localhost:8000').replace(/\/$/, '');
      const key = opts.key || env.FACEPASS_API_KEY;
      if (!key) throw new Error('No API key: pass --key <apiKey> or set FACEPASS_API_KEY (facepass photographer create prints one)');
      const get = async <T>(path: string): Promise<T> => {
        const res = await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
        const json = (await res.json()) as T & { message?: string };
        if (!res.ok) throw new Error(json.message ?? `HTTP ${res.status}`);
        return json;
      };
      const [{ items }, { coverage }] = await Promise.all([get<{ items: Person[] }>(`/events/${opts.event}/persons`), get<{ coverage: Coverage }>(`/events/${opts.event}/insights`)]);
      if (opts.json) {
        console.log(JSON.stringify({ event_id: opts.event, coverage, persons: items }, null, 2));
        return;
      }
      console.log(
        `Event ${opts.event}: ${coverage.persons} persons — ${coverage.single_photo} in one photo only, ${coverage.many_photos} in 10+ photos, ` +
          `${coverage.hidden} hidden; ${coverage.unassigned_faces} faces unassigned; ${coverage.participants_without_photos} participants without a photo yet`,
      );
      if (items.length === 0) console.log('No persons yet (the clustering runs shortly after photos are processed).');
      for (const p of items) console.log(`#${p.id}\tphotos ${p.photo_count}\tfaces ${p.face_count}${p.hidden ? '\thidden' : ''}${p.representative ? `\tbest face in photo ${p.representative.photo_id}` : ''}`);
    });
}
