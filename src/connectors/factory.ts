import type { Logger } from 'pino';
import type { Metrics } from '../core/metrics.js';
import type { HttpRoutes } from '../core/http-routes.js';
import type { Waits } from '../core/waits.js';
import type { StreamConfigs } from '../core/stream-config.js';
import type { StreamBinding } from './binding.js';
import { FileSink, readFileSinkOptions } from './file/file-sink.js';
import { resumePoint } from './file/file-position.js';
import { FileSource, readFileSourceOptions } from './file/file-source.js';
import {
  checkDistinctPaths,
  checkPositionPath,
  checkResumableSink,
  checkSinkPath,
  checkSourcePath,
} from './file/path-checks.js';
import { checkSsePosition, createSseSource } from './sse/index.js';
import { readRecentChangesOptions } from './recentchanges/options.js';
import { RecentChangesSource } from './recentchanges/source.js';
import { StdinSource, StdoutSink } from './stdio/stdio.js';
import type { Sink, Source } from './types.js';

export interface Connectors {
  source: Source;
  sink: Sink;
  errorSink: Sink;
}

/** Builds the source and sinks the config names; each connector reads (and so checks) its own options. */
export async function createConnectors(deps: {
  source: StreamBinding;
  sink: StreamBinding;
  errorSink: StreamBinding;
  streams: StreamConfigs;
  clientId: string;
  /** Largest input line a file or stdin source assembles (`runtime.max_record_bytes`). */
  maxRecordBytes: number;
  logger: Logger;
  metrics: Metrics;
  /** Told while a connector waits for something it cannot reach. */
  waits?: Waits;
  /** `stream_manager.http_client_routes`, for the connectors that make HTTP requests. */
  httpRoutes?: HttpRoutes;
}): Promise<Connectors> {
  const { source, sink, errorSink } = deps;
  await checkFilePaths(source, sink, errorSink);
  const usesKafka = [source, sink, errorSink].some((b) => b.connector === 'kafka');
  const kafka = usesKafka ? await createKafka(deps) : {};
  return {
    source:
      kafka.source ??
      (source.connector === 'sse'
        ? createSseSource(source, deps)
        : source.connector === 'mediawiki_recentchanges'
          ? recentChangesSource(deps)
          : await localSource(source, deps.maxRecordBytes, deps.logger)),
    sink: kafka.sink ?? localSink(sink),
    errorSink: kafka.errorSink ?? localSink(errorSink),
  };
}

/**
 * For `--check`: builds the Kafka clients the config names without connecting them, so that what
 * only librdkafka can judge (its property names and values) is refused now rather than at the start
 * of a run; then releases them. File connectors are not built: a file sink would create its file.
 */
export async function checkKafkaClients(deps: Parameters<typeof createConnectors>[0]): Promise<void> {
  const { source, sink, errorSink } = deps;
  if (![source, sink, errorSink].some((b) => b.connector === 'kafka')) return;
  const kafka = await createKafka(deps);
  await Promise.all([kafka.source?.close(), kafka.sink?.close(), kafka.errorSink?.close()]);
}

/** Every file path is checked, and against the others, before any connector is built. */
export async function checkFilePaths(
  source: StreamBinding,
  sink: StreamBinding,
  errorSink: StreamBinding,
): Promise<void> {
  const files: Array<{ key: string; path: string }> = [];
  if (source.connector === 'file') {
    const key = source.options.key('path');
    const { path } = readFileSourceOptions(source.options);
    await checkSourcePath(key, path);
    files.push({ key, path });
  }
  for (const binding of [sink, errorSink]) {
    if (binding.connector !== 'file') continue;
    const key = binding.options.key('path');
    const { path } = readFileSinkOptions(binding.options);
    await checkSinkPath(key, path);
    files.push({ key, path });
  }
  // A source that keeps its committed position in a file, whatever its connector.
  const position = source.options.has('position_file')
    ? { key: source.options.key('position_file'), path: source.options.string('position_file') }
    : undefined;
  if (position) {
    await checkPositionPath(position.key, position.path);
    files.push(position);
    for (const binding of [sink, errorSink]) {
      if (binding.connector !== 'file') continue;
      checkResumableSink(position.key, {
        ...readFileSinkOptions(binding.options),
        pathKey: binding.options.key('path'),
        appendKey: binding.options.key('append'),
      });
    }
  }
  await checkDistinctPaths(files);
  // The saved position must be this input's (checked here too for `--check`).
  if (position && source.connector === 'file') {
    await resumePoint(readFileSourceOptions(source.options).path, position);
  }
  if (source.connector === 'sse') await checkSsePosition(source);
}

async function localSource(binding: StreamBinding, maxRecordBytes: number, logger: Logger): Promise<Source> {
  if (binding.connector === 'stdin') return new StdinSource(process.stdin, maxRecordBytes);
  const options = { ...readFileSourceOptions(binding.options), maxRecordBytes };
  const resume = options.positionFile && (await resumePoint(options.path, options.positionFile));
  return new FileSource(options, resume, logger);
}

function recentChangesSource(deps: Parameters<typeof createConnectors>[0]): Source {
  return new RecentChangesSource(readRecentChangesOptions(deps.source.options), {
    stream: deps.source.stream,
    routes: deps.httpRoutes ?? {},
    logger: deps.logger,
    metrics: deps.metrics,
    ...(deps.waits && { waits: deps.waits }),
  });
}

function localSink(binding: StreamBinding): Sink {
  if (binding.connector === 'stdout') return new StdoutSink(process.stdout, `${binding.key}.connector`);
  return new FileSink(readFileSinkOptions(binding.options));
}

async function createKafka(deps: Parameters<typeof createConnectors>[0]): Promise<Partial<Connectors>> {
  const { createKafkaConnectors } = await import('./kafka/index.js');
  const pick = (b: StreamBinding) => b.connector === 'kafka';
  return createKafkaConnectors({
    ...(pick(deps.source)
      ? {
          source: {
            options: deps.source.options,
            defaultTopics: deps.streams.get(deps.source.stream).topics,
          },
        }
      : {}),
    ...(pick(deps.sink) ? { sink: { options: deps.sink.options, stream: deps.sink.stream } } : {}),
    ...(pick(deps.errorSink)
      ? { errorSink: { options: deps.errorSink.options, stream: deps.errorSink.stream } }
      : {}),
    clientId: deps.clientId,
    logger: deps.logger,
    metrics: deps.metrics,
    ...(deps.waits && { waits: deps.waits }),
  });
}
