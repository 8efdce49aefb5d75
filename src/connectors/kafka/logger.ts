/**
 * The part of a pino logger the Kafka connectors write to; pino's `Logger` satisfies it, so the
 * runtime passes its own and tests may pass nothing.
 */
export interface KafkaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: KafkaLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** librdkafka log events carry syslog severities (3 error … 7 debug). */
export function logLibrdkafka(
  logger: KafkaLogger,
  client: string,
  event: { severity?: number; fac?: string; message?: string },
): void {
  const fields = { client, facility: event.fac };
  const message = `librdkafka: ${event.message ?? ''}`;
  const severity = event.severity ?? 6;
  if (severity <= 3) logger.error(fields, message);
  else if (severity === 4) logger.warn(fields, message);
  else if (severity <= 6) logger.info(fields, message);
  else logger.debug(fields, message);
}
