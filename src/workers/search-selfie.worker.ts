import type { JobHandler } from '../queue/job-worker.js';
import type { SearchGate } from '../queue/search-gate.js';
import type { SelfieSearchService } from '../services/selfie-search.service.js';

/**
 * The `search-selfie` job: every answer, including "no face", is a result the API turns into a reply.
 * Counted in flight on the search gate while it runs, so photo analysis steps aside for it.
 */
export function createSearchSelfieHandler(deps: { search: SelfieSearchService; gate?: Pick<SearchGate, 'during'> }): JobHandler<'search-selfie'> {
  return async ({ data }) => {
    const run = (): ReturnType<SelfieSearchService['search']> => deps.search.search(data);
    return { status: 'success', result: await (deps.gate ? deps.gate.during(run) : run()) };
  };
}
