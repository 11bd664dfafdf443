import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths redacted wherever they appear in a log object. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'config.mqtt.password',
  'config.broker.password',
  'key',
  '*.key',
];

/**
 * The one root logger. Modules take `logger.child({ module })`. JSON lines to stdout (journald keeps
 * them on a Pi, sparing the SD card from a second log file); tests pass their own stream.
 */
export function createLogger(level: LevelWithSilent, stream?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return stream ? pino(options, stream) : pino(options, pino.destination({ fd: 1, sync: false }));
}
