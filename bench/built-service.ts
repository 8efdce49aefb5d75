/**
 * The service as it ships: the modules of the compiled `dist/` (compiled first when missing or
 * older than `src/`), not the TypeScript sources through tsx, whose transform wraps every function
 * the service creates per record in a naming helper the compiled code does not have.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as JobModule from '../src/jobs/page-content-change/job.js';
import type * as MainModule from '../src/runtime/main.js';
import { ensureBuilt } from '../test/helpers/cli.js';
import { REPO_ROOT } from './job-config.js';

export interface BuiltService {
  main: typeof MainModule;
  job: typeof JobModule;
}

export async function builtService(): Promise<BuiltService> {
  await ensureBuilt();
  return serviceIn(join(REPO_ROOT, 'dist'));
}

/** The service compiled into `dist` (this checkout's or another commit's, as it is). */
export async function serviceIn(dist: string): Promise<BuiltService> {
  const load = (path: string) => import(pathToFileURL(join(resolve(dist), path)).href);
  return {
    main: (await load('runtime/main.js')) as typeof MainModule,
    job: (await load('jobs/page-content-change/job.js')) as typeof JobModule,
  };
}
