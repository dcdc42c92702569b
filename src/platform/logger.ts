/**
 * The one root logger. Everything else logs through child loggers of it (with requestId,
 * submissionId, …), so redaction of personal data is decided here, once.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths of personal data that must never reach a log line, wherever they appear in a logged
 * object. National ids, names and contact details of patients and training contacts.
 */
export const REDACTED_PATHS: readonly string[] = [
  // Whole objects that describe a person: nothing in them is needed to operate the service.
  'patient',
  '*.patient',
  'trainingContact',
  '*.trainingContact',
  // The same fields wherever else they turn up.
  ...['nationalId', 'givenName', 'familyName', 'phone', 'email'].flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerOptions {
  readonly level: string;
  readonly pretty: boolean;
  /** Where lines go; default stdout. Tests pass a stream and parse the JSON lines. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: { service: 'hit-bridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
