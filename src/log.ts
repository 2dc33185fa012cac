import { pino } from 'pino';

/** The logger every part of authts writes to. Never pass it a password or a token. */
export type Logger = Pick<pino.Logger, 'debug' | 'info' | 'warn' | 'error' | 'child'>;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Where lines go; standard error by default. */
  readonly destination?: pino.DestinationStream;
}

/** A pino logger writing JSON lines; the level comes from `AUTHTS_LOG_LEVEL` when not given. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env['AUTHTS_LOG_LEVEL'] as LoggerOptions['level']) ?? 'info';
  return pino({ level, base: { name: 'authts' } }, options.destination ?? pino.destination(2));
}

/** A logger that writes nothing, for tests and embedding. */
export const silentLogger: Logger = pino({ level: 'silent' });
