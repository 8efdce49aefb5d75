import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../core/errors.js';
import { compileProjection } from '../../core/event.js';
import { schemaUriFor } from '../../core/stream-config.js';
import { compileDomainAllowlist, DEFAULT_ALLOWED_DOMAINS } from '../../mediawiki/domain-allowlist.js';
import { createRevisionFetcher } from '../../mediawiki/fetcher.js';
import type { RevisionFetcher } from '../../mediawiki/types.js';
import { defineJob, type JobDefinition, type JobInstance, type JobParts } from '../contract.js';
import { ENRICH_SCHEMA, resolveEnrichSection, withConfigKey, type EnrichConfig } from './config.js';
import { PageContentChangeHandler } from './handler.js';
import { UnavailableSchemas } from './input.js';

/**
 * Wiring only: schemas from the stream config, the Action API fetcher, the handler. Shared by every
 * job that enriches page_change-shaped events with revision content. `given` replaces the Action
 * API fetcher (the stage benchmark measures the rest of the job without it); the job closes it.
 */
export async function createEnrichmentJob(
  parts: JobParts,
  enrich: EnrichConfig,
  given?: RevisionFetcher,
): Promise<JobInstance> {
  const { streams, repository, validator, logger, metrics } = parts;
  const sourceSettings = streams.get(parts.source.stream);
  const sinkSettings = streams.get(parts.sink.stream);
  const sourceUri = schemaUriFor(sourceSettings, parts.source.version);
  const sinkUri = schemaUriFor(sinkSettings, parts.sink.version);
  const errorUri = schemaUriFor(streams.get(parts.errorSink.stream), parts.errorSink.version);
  // Compile at start: a missing or broken schema is a configuration error, not a per-event one.
  const [sourceSchema, sinkSchema, errorSchema, sourceValidate, sinkValidate] = await Promise.all([
    repository.get(sourceUri),
    repository.get(sinkUri),
    repository.get(errorUri),
    validator.forSchema(sourceUri),
    validator.forSchema(sinkUri),
  ]).catch((err: unknown) => {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('stream_manager.schema_uris', (err as Error).message, err);
  });
  const idOf = (schema: { $id?: unknown }, uri: string) =>
    typeof schema.$id === 'string' ? schema.$id : uri;
  const allowedDomains = enrich.allowedDomains ?? DEFAULT_ALLOWED_DOMAINS;
  const caCertificates = await readCaBundle(enrich.caBundlePath);
  let fetcher: RevisionFetcher;
  let isAllowedDomain;
  try {
    fetcher =
      given ??
      createRevisionFetcher(
        {
          ...enrich,
          httpRoutes: parts.httpRoutes,
          allowedDomains,
          ...(caCertificates ? { caCertificates } : {}),
        },
        { metrics, logger },
      );
    isAllowedDomain = compileDomainAllowlist([...allowedDomains], 'allowedDomains');
  } catch (err) {
    throw err instanceof ConfigError ? withConfigKey(err) : err;
  }
  const handler = new PageContentChangeHandler({
    jobName: parts.jobName,
    input: {
      validator,
      title: sourceSettings.schema_title.replace(/^\/+|\/+$/g, ''),
      pinned: {
        uri: idOf(sourceSchema, sourceUri),
        validate: sourceValidate,
        projection: compileProjection(sourceSchema),
      },
      unknown: new Set(),
      unavailable: new UnavailableSchemas({
        onUnavailable: (uri, err) =>
          logger.warn(
            { err, schema_uri: uri },
            'input schema unavailable; its events are projected onto the pinned one for now',
          ),
      }),
    },
    output: {
      stream: parts.sink.stream,
      schemaUri: idOf(sinkSchema, sinkUri),
      projection: compileProjection(sinkSchema),
      validate: sinkValidate,
    },
    errorStream: parts.errorSink.stream,
    errorSchemaUri: idOf(errorSchema, errorUri),
    fetcher,
    isAllowedDomain,
    limits: parts.limits,
    maxContentBytes: enrich.maxContentBytes,
    metrics,
    logger,
  });
  return { handler, counts: () => handler.counts(), close: () => fetcher.close() };
}

/** `enrich.ssl_ca_bundle_path`, read at start: a missing or empty file is a configuration error. */
async function readCaBundle(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('enrich.ssl_ca_bundle_path', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError('enrich.ssl_ca_bundle_path', `${path} holds no PEM certificate`);
  }
  return pem;
}

/** A job that enriches page_change-shaped events with revision content; only its name and streams differ. */
export function defineEnrichmentJob(name: string, description: string): JobDefinition {
  return defineJob<EnrichConfig>({
    name,
    description,
    section: { key: 'enrich', schema: ENRICH_SCHEMA, resolve: resolveEnrichSection },
    userAgent: (enrich) => enrich.userAgent,
    create: createEnrichmentJob,
  });
}

export const pageContentChange = defineEnrichmentJob(
  'page-content-change',
  "mediawiki.page_change events in, mediawiki.page_content_change events out, with each revision's content fetched from the MediaWiki Action API",
);
