import { contentHistoryReconcile } from './content-history-reconcile/job.js';
import type { JobDefinition } from './contract.js';
import { pageContentChange } from './page-content-change/job.js';

/** Every job the CLI can run, in the order `--help` lists them. */
export const JOBS: readonly JobDefinition[] = [pageContentChange, contentHistoryReconcile];

export function findJob(name: string): JobDefinition | undefined {
  return JOBS.find((job) => job.name === name);
}
