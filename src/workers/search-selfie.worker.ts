import type { JobHandler } from '../queue/job-worker.js';
import type { SelfieSearchService } from '../services/selfie-search.service.js';

/** The `search-selfie` job: every answer, including "no face", is a result the API turns into a reply. */
export function createSearchSelfieHandler(deps: { search: SelfieSearchService }): JobHandler<'search-selfie'> {
  return async ({ data }) => ({ status: 'success', result: await deps.search.search(data) });
}
