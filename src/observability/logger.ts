import bunyan from 'bunyan';
import type { Config } from '../config/config.js';
import { currentCorrelationId } from './correlation.js';

export type Logger = bunyan;

export interface LoggerOptions {
  level: Config['logLevel'];
  /** Tests pass a stream to read the lines back; the default is stdout, one JSON object per line. */
  stream?: NodeJS.WritableStream;
}

export function createLogger({ level, stream }: LoggerOptions): Logger {
  return bunyan.createLogger({
    name: 'parley',
    level,
    streams: [{ level, stream: stream ?? process.stdout }],
    serializers: { err: bunyan.stdSerializers.err },
  });
}

/**
 * A child carrying the correlation id of the async context it is called in, so that work started by a
 * request (jobs, LLM calls, subscription events) logs with the request's id.
 */
export function contextLogger(base: Logger, fields: Record<string, unknown> = {}): Logger {
  const correlationId = currentCorrelationId();
  return base.child(correlationId ? { correlationId, ...fields } : fields, true);
}
