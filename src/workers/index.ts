import type { Dependencies } from '../dependencies.js';
import type { JobHandlers } from '../queue/job-worker.js';
import { createDeleteEventHandler } from './delete-event.worker.js';

/** Every job handler, wired to its dependencies. */
export function createJobHandlers(deps: Dependencies): JobHandlers {
  return {
    'delete-event': createDeleteEventHandler({ cleanup: deps.services.eventCleanup }),
  };
}
