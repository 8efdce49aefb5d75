import type { Logger } from 'pino';
import type { Metrics } from '../core/metrics.js';
import type { StreamConfigs } from '../core/stream-config.js';
import type { StreamBinding } from '../runtime/config.js';
import { FileSink, readFileSinkOptions } from './file/file-sink.js';
import { FileSource, readFileSourceOptions } from './file/file-source.js';
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
  logger: Logger;
  metrics: Metrics;
}): Promise<Connectors> {
  const { source, sink, errorSink } = deps;
  const usesKafka = [source, sink, errorSink].some((b) => b.connector === 'kafka');
  const kafka = usesKafka ? await createKafka(deps) : {};
  return {
    source: kafka.source ?? (await localSource(source)),
    sink: kafka.sink ?? localSink(sink),
    errorSink: kafka.errorSink ?? localSink(errorSink),
  };
}

async function localSource(binding: StreamBinding): Promise<Source> {
  if (binding.connector === 'stdin') return new StdinSource();
  const source = new FileSource(readFileSourceOptions(binding.options));
  await source.check(binding.options.key('path'));
  return source;
}

function localSink(binding: StreamBinding): Sink {
  if (binding.connector === 'stdout') return new StdoutSink();
  return new FileSink(readFileSinkOptions(binding.options));
}

async function createKafka(deps: Parameters<typeof createConnectors>[0]): Promise<Partial<Connectors>> {
  const { createKafkaConnectors } = await import('./kafka/index.js');
  const pick = (b: StreamBinding) => b.connector === 'kafka';
  return createKafkaConnectors({
    ...(pick(deps.source) ? { source: { options: deps.source.options, defaultTopics: deps.streams.get(deps.source.stream).topics } } : {}),
    ...(pick(deps.sink) ? { sink: { options: deps.sink.options, stream: deps.sink.stream } } : {}),
    ...(pick(deps.errorSink) ? { errorSink: { options: deps.errorSink.options, stream: deps.errorSink.stream } } : {}),
    clientId: deps.clientId,
    logger: deps.logger,
    metrics: deps.metrics,
  });
}
