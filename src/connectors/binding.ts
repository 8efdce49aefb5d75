import { section, type ConfigSchema } from '../core/config-schema.js';
import type { OptionReader } from '../core/options.js';
import { FILE_SINK_OPTIONS } from './file/file-sink.js';
import { FILE_SOURCE_OPTIONS } from './file/file-source.js';
import { KAFKA_SINK_OPTIONS, KAFKA_SOURCE_OPTIONS } from './kafka/options.js';
import { RECENTCHANGES_SOURCE_OPTIONS } from './recentchanges/options.js';
import { SSE_SOURCE_OPTIONS } from './sse/options.js';

const NO_OPTIONS = section({});

/** The connectors a source or a sink may name, each with its options, declared. */
export const CONNECTOR_OPTIONS = {
  source: {
    file: FILE_SOURCE_OPTIONS,
    stdin: NO_OPTIONS,
    kafka: KAFKA_SOURCE_OPTIONS,
    sse: SSE_SOURCE_OPTIONS,
    mediawiki_recentchanges: RECENTCHANGES_SOURCE_OPTIONS,
  },
  sink: { file: FILE_SINK_OPTIONS, stdout: NO_OPTIONS, kafka: KAFKA_SINK_OPTIONS },
} as const satisfies Record<'source' | 'sink', Record<string, ConfigSchema>>;

/** A stream bound to a connector: `stream_manager.source`, `.sink` or `.error_sink`. */
export interface StreamBinding {
  /** Stream name without the version, e.g. `mediawiki.page_change.v1`. */
  readonly stream: string;
  /** Pinned schema version (`1.2.0`), when given after a colon. */
  readonly version: string | undefined;
  readonly connector: string;
  /** The connector's options, checked against its declaration and with its defaults filled in. */
  readonly options: OptionReader;
  /** Config key of this binding, for messages. */
  readonly key: string;
}
