import type { OptionReader } from '../core/options.js';

/** The connectors a source or a sink may name. */
export const CONNECTORS = {
  source: ['file', 'stdin', 'kafka'],
  sink: ['file', 'stdout', 'kafka'],
} as const;

/** A stream bound to a connector: `stream_manager.source`, `.sink` or `.error_sink`. */
export interface StreamBinding {
  /** Stream name without the version, e.g. `mediawiki.page_change.v1`. */
  readonly stream: string;
  /** Pinned schema version (`1.2.0`), when given after a colon. */
  readonly version: string | undefined;
  readonly connector: string;
  /** The connector's own options; the connector reads (and so validates) them. */
  readonly options: OptionReader;
  /** Config key of this binding, for messages. */
  readonly key: string;
}
