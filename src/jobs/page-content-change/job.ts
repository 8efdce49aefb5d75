import type { Logger } from 'pino';
import { compileProjection } from '../../core/event.js';
import type { Metrics } from '../../core/metrics.js';
import type { SchemaRepository } from '../../core/schema-repository.js';
import { schemaUriFor, type StreamConfigs } from '../../core/stream-config.js';
import type { Validator } from '../../core/validator.js';
import { compileDomainAllowlist, DEFAULT_ALLOWED_DOMAINS } from '../../mediawiki/domain-allowlist.js';
import { createRevisionFetcher } from '../../mediawiki/fetcher.js';
import type { RevisionFetcher } from '../../mediawiki/types.js';
import type { JobConfig } from '../../runtime/config.js';
import { PageContentChangeHandler } from './handler.js';
import { UnavailableSchemas } from './input.js';

export interface PageContentChangeJob {
  handler: PageContentChangeHandler;
  fetcher: RevisionFetcher;
}

/** Wiring only: schemas from the stream config, the Action API fetcher, the handler. */
export async function createPageContentChangeJob(deps: {
  config: JobConfig;
  streams: StreamConfigs;
  repository: SchemaRepository;
  validator: Validator;
  logger: Logger;
  metrics: Metrics;
}): Promise<PageContentChangeJob> {
  const { config, streams, repository, validator, logger, metrics } = deps;
  const sourceSettings = streams.get(config.source.stream);
  const sinkSettings = streams.get(config.sink.stream);
  const sourceUri = schemaUriFor(sourceSettings, config.source.version);
  const sinkUri = schemaUriFor(sinkSettings, config.sink.version);
  // Compile at start: a missing or broken schema is a configuration error, not a per-event one.
  const [sourceSchema, sinkSchema, sourceValidate, sinkValidate] = await Promise.all([
    repository.get(sourceUri),
    repository.get(sinkUri),
    validator.forSchema(sourceUri),
    validator.forSchema(sinkUri),
  ]);
  const sinkSchemaId = typeof sinkSchema.$id === 'string' ? sinkSchema.$id : sinkUri;
  const sourceSchemaId = typeof sourceSchema.$id === 'string' ? sourceSchema.$id : sourceUri;
  const { enrich } = config;
  const allowedDomains = enrich.allowedDomains ?? DEFAULT_ALLOWED_DOMAINS;
  const fetcher = createRevisionFetcher({ ...enrich, httpRoutes: config.httpRoutes, allowedDomains }, { metrics, logger });
  const handler = new PageContentChangeHandler({
    jobName: config.jobName,
    input: {
      validator,
      title: sourceSettings.schema_title.replace(/^\/+|\/+$/g, ''),
      pinned: { uri: sourceSchemaId, validate: sourceValidate, projection: compileProjection(sourceSchema) },
      unknown: new Set(),
      unavailable: new UnavailableSchemas({
        onUnavailable: (uri, err) =>
          logger.warn({ err, schema_uri: uri }, 'input schema unavailable; its events are projected onto the pinned one for now'),
      }),
    },
    output: { stream: config.sink.stream, schemaUri: sinkSchemaId, projection: compileProjection(sinkSchema), validate: sinkValidate },
    errorStream: config.errorSink.stream,
    fetcher,
    isAllowedDomain: compileDomainAllowlist([...allowedDomains]),
    limits: { maxRecordBytes: config.runtime.maxRecordBytes, maxJsonDepth: config.runtime.maxJsonDepth },
    metrics,
    logger,
  });
  return { handler, fetcher };
}
