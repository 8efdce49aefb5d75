/**
 * The page-content-change job configuration the benchmarks run: file source, file sink and file
 * error sink, the example stream config and the repository's schemas, the Action API at `endpoint`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SCHEMA_DIR = join(REPO_ROOT, 'schemas/primary/jsonschema');

export interface FileJobPaths {
  input: string;
  output: string;
  errors: string;
}

export function filePaths(dir: string): FileJobPaths {
  return {
    input: join(dir, 'in.ndjson'),
    output: join(dir, 'out.ndjson'),
    errors: join(dir, 'err.ndjson'),
  };
}

/** `enrich` and `runtime` are merged over the job's defaults (only the endpoint is set here). */
export function fileJobConfig(
  paths: FileJobPaths,
  endpoint: string,
  overrides: { enrich?: Record<string, unknown>; runtime?: Record<string, unknown> } = {},
) {
  return {
    stream_manager: {
      job_name: 'bench',
      stream_config_uri: join(REPO_ROOT, 'examples/stream-config.yaml'),
      schema_uris: [SCHEMA_DIR],
      source: { stream: 'mediawiki.page_change.v1:1.2.0', connector: 'file', options: { path: paths.input } },
      sink: {
        stream: 'mediawiki.page_content_change.v1:1.2.0',
        connector: 'file',
        options: { path: paths.output },
      },
      error_sink: {
        stream: 'mw-page-content-change-enrich.error:2.1.0',
        connector: 'file',
        options: { path: paths.errors },
      },
    },
    enrich: { mediawiki_api_endpoint_template: endpoint, ...overrides.enrich },
    runtime: { ...overrides.runtime },
  };
}
