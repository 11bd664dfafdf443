import { fstatSync } from 'node:fs';
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** How log lines are written: `json` lines (journald, pipes, tests), `pretty` lines for people, `auto` = pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Paths redacted wherever they appear in a log object. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'config.mqtt.password',
  'config.broker.password',
  'key',
  '*.key',
  'token',
  '*.token',
  'config.http.token',
  'config.broker.operator.password',
];

/**
 * The one root logger. Modules take `logger.child({ module })`. JSON lines to stdout by default (journald
 * keeps them on a Pi, sparing the SD card from a second log file); tests pass their own stream. With
 * `pretty` (or `auto` when the output is a terminal) each line is made for people by pino-pretty:
 * `12:00:01 INFO daemon: alert open: pump/pressure 4.1 bar, expected … (score 0.9993, id …)` with the
 * other fields after it on the same line. `fd` picks stdout (1) or stderr (2) when no stream is given.
 */
export function createLogger(level: LevelWithSilent, stream?: DestinationStream, format: LogFormat = 'json', fd: 1 | 2 = 1): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const isTty = fd === 1 ? process.stdout.isTTY === true : process.stderr.isTTY === true;
  if (format === 'pretty' || (format === 'auto' && stream === undefined && isTty)) {
    return pino(
      options,
      pretty({
        destination: stream ?? fd,
        sync: true,
        colorize: stream === undefined && isTty,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,module',
        messageFormat: '{if module}{module}: {end}{msg}',
      }),
    );
  }
  return stream ? pino(options, stream) : pino(options, pino.destination({ fd, sync: false }));
}

/**
 * Whether log lines written to `fd` (1 stdout, 2 stderr: createLogger's) land where stderr does: fd 2 itself, or
 * stdout when both are the same file, pipe, socket or terminal (`2>&1`, a terminal, journald's one stream). A
 * message meant for stderr as one plain line is then said twice if also logged. False when either cannot be told.
 */
export function logSharesStderr(fd: 1 | 2): boolean {
  if (fd === 2) return true;
  try {
    const out = fstatSync(1);
    const err = fstatSync(2);
    return out.dev === err.dev && out.ino === err.ino && out.rdev === err.rdev;
  } catch {
    return false;
  }
}
