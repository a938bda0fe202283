import { Writable } from 'node:stream';
import bunyan from 'bunyan';
import type { Config } from '../config/config.js';
import { currentCorrelationId } from './correlation.js';

export type Logger = bunyan;

export interface LoggerOptions {
  level: Config['logLevel'];
  /** Tests pass a stream to read the lines back; the default is stdout, one JSON object per line. */
  stream?: NodeJS.WritableStream;
}

/** Fields that hold secrets wherever they appear at the top of a log record. */
const SECRET_FIELDS = ['password', 'token', 'accessToken', 'refreshToken', 'authorization', 'secret'];
const redact = () => '[redacted]';
/** A signed JWT (header.payload.signature) anywhere in a line, e.g. inside an error message. */
const JWT = /eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]+/g;

/**
 * Every line passes through here on its way out: a token that found its way into a message or a nested
 * field is cut out, whatever logged it. The named fields are redacted before serialising.
 */
function redacting(target: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      target.write(String(chunk).replace(JWT, '[redacted jwt]'));
      done();
    },
  });
}

export function createLogger({ level, stream }: LoggerOptions): Logger {
  return bunyan.createLogger({
    name: 'parley',
    level,
    streams: [{ level, stream: redacting(stream ?? process.stdout) }],
    serializers: {
      err: bunyan.stdSerializers.err,
      ...Object.fromEntries(SECRET_FIELDS.map((field) => [field, redact])),
    },
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
