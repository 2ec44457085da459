import type { Command } from 'commander';
import { apiClientFor, explainApiErrors, idArgument, withApiOptions, type ApiCommandOptions } from './api-command.js';

/**
 * Adds `facepass people --event <id> [--json]`: the event's persons and its coverage, read from
 * the API with the photographer's key (FACEPASS_URL / FACEPASS_API_KEY, like `facepass upload`),
 * so it works against any running server, embedded database included.
 */
export function registerPeopleCommand(program: Command, env: Record<string, string | undefined>): void {
  withApiOptions(program.command('people').description("list an event's persons (face clusters) and its coverage").requiredOption('--event <id>', 'event id', idArgument)).action(
    async (opts: ApiCommandOptions & { event: number }) => {
      const client = apiClientFor(opts, env);
      const [items, coverage] = await explainApiErrors(() => Promise.all([client.persons(opts.event), client.coverage(opts.event)]));
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
    },
  );
}
