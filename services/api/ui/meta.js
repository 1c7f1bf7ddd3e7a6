// The system's vocabulary (`GET /api/meta`: run statuses and stages, job statuses and modes, board kinds, count
// columns), loaded once before the first page renders. The pages read it here instead of keeping lists of their own.

import { api, paths } from './api.js';

let loaded = null;

/** Fetches the vocabulary once; later calls answer the same. */
export async function loadMeta() {
  loaded ??= await api('GET', paths.meta());
  return loaded;
}

/** The vocabulary (loadMeta must have answered). */
export function meta() {
  if (!loaded) throw new Error('the vocabulary (/api/meta) is not loaded yet');
  return loaded;
}

/** Whether a run of this status is under way. */
export const runActive = (status) => meta().runs.active.includes(status);

/** Whether a job of this status is still being worked on. */
export const jobUnresolved = (status) => meta().jobs.unresolved.includes(status);
