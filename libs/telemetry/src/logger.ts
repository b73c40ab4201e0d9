// JSON logs on stdout in the shape operators expect (timestamp, level, message, ids), with secrets
// removed twice: by field name, and by value from the finished line before it is written.
import pino from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Levels as operators write them (`INFO`, `WARNING`, …) mapped to pino's. */
const LEVEL_ALIASES: Record<string, pino.LevelWithSilent> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  silent: 'silent',
};

export const LOG_LEVELS = Object.keys(LEVEL_ALIASES);

/** Maps `LOG_LEVEL` (any case, Python's names included) to a pino level, or undefined if unknown. */
export function toPinoLevel(level: string): pino.LevelWithSilent | undefined {
  return LEVEL_ALIASES[level.trim().toLowerCase()];
}

/** Field names whose values never reach a log line. */
const REDACT_PATHS = [
  'token',
  'access_token',
  'authorization',
  'password',
  'secret',
  'apiKey',
  'api_key',
  'jwt_secret',
  'openai_api_key',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.access_token',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.api_key',
];

const CENSOR = '[REDACTED]';
/** A compact JWS (three base64url parts, the first a JSON header): a launch token in any field. */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
/** `token=` in a URL's query string. */
const TOKEN_PARAM = /([?&]token=)[^&\s"]+/g;

export interface LoggerOptions {
  /** pino level; see `toPinoLevel`. @default 'info' */
  level?: pino.LevelWithSilent;
  /** The service name, on every line. */
  service: string;
  /** Secret values (keys, signing secrets) removed from every line wherever they appear. */
  secrets?: readonly (string | undefined)[];
  /** Where lines go. @default stdout */
  destination?: DestinationStream;
}

/** Removes launch tokens, `token=` parameters and the given secret values from a string. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(JWT_SHAPE, CENSOR).replace(TOKEN_PARAM, `$1${CENSOR}`);
  for (const secret of secrets) out = out.split(secret).join(CENSOR);
  return out;
}

/** Values shorter than this are not treated as secrets: they would censor ordinary words; real secrets are long. */
export const MIN_SECRET_LENGTH = 8;

export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter(
    (s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH,
  );
  return pino(
    {
      level: options.level ?? 'info',
      messageKey: 'message',
      base: { service: options.service },
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      hooks: { streamWrite: (line) => scrubSecrets(line, secrets) },
    },
    // Asynchronous writes: a slow log reader must not stall the event loop. Call `flushLogger`
    // before exiting so the last lines are not lost.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Waits until every line written so far has left the process. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
