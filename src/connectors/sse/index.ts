import { ConfigError } from '../../core/errors.js';
import type { StreamBinding } from '../binding.js';
import { PositionFile } from '../position-file.js';
import { readSseSourceOptions } from './options.js';
import { parsePosition } from './position.js';
import { loadPosition, SseSource, type SseSourceDeps } from './source.js';

export { SSE_SOURCE_OPTIONS } from './options.js';

/** The EventStreams source of a `connector: sse` binding. */
export function createSseSource(binding: StreamBinding, deps: SseSourceDeps): SseSource {
  return new SseSource(readSseSourceOptions(binding.options), deps);
}

/**
 * The saved position, if any, must be a position of this stream: checked before the run (and by
 * `--check`), so that a wrong file is a configuration error and not a failure after the start.
 */
export async function checkSsePosition(binding: StreamBinding): Promise<void> {
  const options = readSseSourceOptions(binding.options);
  try {
    await loadPosition(new PositionFile(options.positionFile, parsePosition), options.url);
  } catch (err) {
    throw new ConfigError(binding.options.key('position_file'), (err as Error).message, err);
  }
}
