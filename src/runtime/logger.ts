import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino, destination as pinoDestination, type Logger } from 'pino';

/**
 * JSON logs in Elastic Common Schema, as Wikimedia's log pipeline expects, on standard error so that
 * standard output can carry events. Synchronous writes: a log line must not be lost when the process
 * exits right after an error.
 */
export function createLogger(level: string, name: string, destination: number = 2): Logger {
  return pino(
    { ...ecsFormat({ convertErr: true }), level, base: { 'service.name': name } },
    pinoDestination({ fd: destination, sync: true }),
  );
}
