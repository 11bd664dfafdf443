import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { waivedExposure, type Config } from '../config/schema.js';
import { maskSecrets } from '../config/mask.js';
import { createLogger, logSharesStderr, type Logger } from '../log.js';
import { Daemon, sharedModelHop } from '../daemon.js';
import type { CommandContext } from './context.js';
import { SystemdNotifier, watchdogLoop, progressCheck, type Heartbeat } from '../adapters/sd-notify.js';
import { EXIT_STORAGE_FAULT } from '../daemon/faults.js';
import { learningWarnings } from '../learn/learner.js';
import { learnReadingsWarnings } from '../pipeline/learning-period.js';
import { likelyMistakes } from '../config/mistakes.js';
import { onnxruntimeTelemetry, ORT_TELEMETRY_VARIABLE } from '../adapters/onnxruntime-env.js';

/**
 * After a second signal, the most a forced stop (Daemon.hurry) may take before the process exits anyway (ms), saying how
 * many readings it drops. Its final write (the checkpoint and the readings kept, one synchronous SQLite transaction: a
 * few hundred ms for 1,000 sensors) is not cut: the exit comes after it, whatever it takes.
 */
export const FORCED_EXIT_MS = 1_000;

/** The pipeline counts as stalled when work waits and nothing finishes for this long (the watchdog stops pinging). */
const STALL_MS = 20_000;

export const RUN_USAGE = `Usage: anomalyd run [--config PATH]

Starts the detector: subscribes to the configured MQTT topics, scores every reading of every stream as it
arrives (one step of the stateful autoencoder per reading, and model-free evidence), stores anomalies in
SQLite and publishes alerts.

Options:
  -c, --config PATH   config file (default: $ANOMALYD_CONFIG, else config/default.yaml)
  -h, --help          this help

Signals: SIGTERM or SIGINT stop gracefully within shutdown.deadlineMs (exit 0). A second signal stops at once
(exit 1): the drain is cut short and the readings taken in and not scored are kept with the final checkpoint
(scored first at the next start); the exit follows that write within a second. A third signal exits at once,
logging how many readings it drops.
Exit status: 0 stopped cleanly, 1 failed to start or stop cleanly (e.g. the data directory is in use by
another anomalyd, or the HTTP or embedded broker port cannot be bound), 2 invalid configuration, 3 stopped
on a storage fault (database read-only, disk full, file deleted or replaced; see docs/DEPLOY.md).
`;

/** Loads and validates the config, printing every error; null when invalid. */
export function loadConfigOrReport(path: string | undefined, ctx: CommandContext): Config | null {
  return loadConfigFileOrReport(path, ctx)?.config ?? null;
}

/**
 * loadConfigOrReport with the file the configuration came from (`--config`, else ANOMALYD_CONFIG, else the package's
 * config/default.yaml; null: the built-in defaults only), for a command that says where a setting came from.
 * Null (after reporting every problem on stderr) when the configuration is invalid.
 */
export function loadConfigFileOrReport(path: string | undefined, ctx: CommandContext): { readonly config: Config; readonly file: string | null } | null {
  const res = loadConfig({ env: ctx.env, ...(path !== undefined ? { path } : {}) });
  if (!res.ok) {
    ctx.stderr(`anomalyd: invalid configuration${res.file ? ` (${res.file})` : ''}:\n`);
    for (const e of res.errors) ctx.stderr(`  ${e}\n`);
    return null;
  }
  return { config: res.config, file: res.file };
}

/**
 * What a client command (status, sensors) says after its question found no daemon at the address its own
 * configuration gives (`file`: where that came from, null for the built-in defaults): a daemon started with
 * `--config FILE` listens where FILE says, which a command run without the same FILE does not know (tryout 23,
 * finding 7: `anomalyd status` asked 8080 beside a daemon on another port). One line, ending in a newline.
 */
export function sameConfigHint(file: string | null): string {
  const from = file !== null ? file : 'the built-in defaults';
  return `  that address is http.host and http.port of ${from}; a daemon started with --config FILE answers where FILE says: pass the same --config FILE (or set ANOMALYD_CONFIG=FILE), or --url http://HOST:PORT\n`;
}

export async function runCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    ctx.stderr(`anomalyd run: ${(err as Error).message}\n\n${RUN_USAGE}`);
    return 2;
  }
  if (values.help) {
    ctx.stdout(RUN_USAGE);
    return 0;
  }
  const config = loadConfigOrReport(values.config, ctx);
  if (!config) return 2;
  const logger = createLogger(config.log.level, undefined, config.log.format);
  logger.debug({ config: maskSecrets(config) }, 'effective config');
  // insecure: true starts anyway, but never quietly: each waived problem, every start (docs/SECURITY.md).
  if (config.insecure) logger.warn({ insecure: true }, 'INSECURE: insecure: true is set, unsafe exposure is not refused; never use it outside a lab');
  for (const [setting, problem] of waivedExposure(config)) logger.warn({ setting, insecure: true }, `INSECURE (insecure: true): ${setting} ${problem}`);
  for (const [setting, why] of learningWarnings(config, sharedModelHop(config))) logger.warn({ setting }, `${setting}: ${why}`);
  for (const [setting, why] of learnReadingsWarnings(config)) logger.warn({ setting }, `${setting}: ${why}`);
  for (const [setting, why] of likelyMistakes(config)) logger.warn({ setting }, `${setting}: ${why}`);
  // anomalyd turns onnxruntime's telemetry off unless the environment says otherwise: then it is said (docs/SECURITY.md).
  if (onnxruntimeTelemetry === 'on by the environment') {
    logger.warn({ [ORT_TELEMETRY_VARIABLE]: process.env[ORT_TELEMETRY_VARIABLE] }, `onnxruntime telemetry is on: ${ORT_TELEMETRY_VARIABLE} is set to "${process.env[ORT_TELEMETRY_VARIABLE] ?? ''}" in the environment, so onnxruntime reports to Microsoft (docs/SECURITY.md, "No telemetry"); unset it or set it to 1 to turn it off`);
  }
  return runDaemonUntilSignal(new Daemon({ config, logger }), logger, ctx);
}

/**
 * Starts the daemon and waits for SIGTERM/SIGINT; stops gracefully and resolves to the exit code.
 * A second signal cuts the stop short (Daemon.hurry: the readings not scored kept with the final checkpoint) and exits 1
 * through the context once that is done, or FORCED_EXIT_MS after the signal; a third signal exits 1 at once. Either way
 * no exit while an onnxruntime model call runs (Daemon.abandon), and a reading dropped is counted in the log (warn).
 */
export async function runDaemonUntilSignal(
  daemon: Daemon,
  logger: Logger,
  ctx: CommandContext,
  onReady?: () => Promise<void>,
  /** The caller's own names for config settings a start-up error may name (the demo's flags), e.g. {'broker.port': '--port'}. */
  flagOf: Readonly<Record<string, string>> = {},
  /** The file descriptor `logger` writes to (createLogger's `fd`: 1 for `run`, 2 for the demo). */
  logFd: 1 | 2 = 1,
): Promise<number> {
  let stopRequested: (signal: NodeJS.Signals) => void = () => undefined;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    stopRequested = resolve;
  });
  let signals = 0;
  let exiting = false;
  /** Exits 1 through the context, once, after the log is written. */
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    logger.flush(() => ctx.exit(1));
  };
  /** The forced stop could not finish (a third signal, or FORCED_EXIT_MS passed): exit now, saying what is dropped. */
  const exitNow = async (why: string): Promise<void> => {
    if (exiting) return;
    // Never while onnxruntime runs a model call (an exit then could abort the process, status 134): bounded.
    await daemon.abandon();
    if (exiting) return;
    // What the exit drops, counted right before it (the hurried stop may have written the readings meanwhile).
    const dropped = daemon.unsavedReadings;
    logger.warn(
      { dropped },
      dropped > 0
        ? `${why}: exiting now; ${dropped} readings taken in and not scored are dropped (neither scored nor kept in the database)`
        : `${why}: exiting now; nothing taken in is dropped (the final checkpoint with the readings kept is written)`,
    );
    exit();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      logger.info({ signal }, 'stopping');
      stopRequested(signal);
    } else if (signals === 2) {
      logger.warn(
        { signal, unscored: daemon.unsavedReadings },
        'second signal: stopping at once (the drain is cut short; readings taken in and not scored are kept with the final checkpoint), then exit 1',
      );
      const bound = setTimeout(() => void exitNow(`the forced stop did not end within ${FORCED_EXIT_MS} ms`), FORCED_EXIT_MS);
      void daemon.hurry().then(() => {
        clearTimeout(bound);
        exit();
      });
    } else {
      void exitNow(`signal ${signals === 3 ? 'three' : signals}`);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // systemd (Type=notify): READY once the model is loaded and MQTT connected; watchdog pings while the
  // pipeline makes progress. Without NOTIFY_SOCKET all of this is a no-op.
  const notifier = new SystemdNotifier({ logger: logger.child({ module: 'systemd' }), timeoutMs: 2000 });
  let heartbeat: Heartbeat | null = null;
  try {
    let started: boolean;
    try {
      started = await Promise.race([daemon.start().then(() => true), stopSignal.then(() => false)]);
    } catch (err) {
      // One plain line on stderr, whatever the log format (a port taken, the data directory in use, ...). The log
      // has it with its stack, unless the log is written where that line goes (the demo's stderr, `run` with
      // 2>&1, a terminal, journald): there the log line is at debug, so the reason is said once, on one line
      // (tryout 14 #9: a JSON line with the stack came first).
      if (logSharesStderr(logFd)) logger.debug({ err }, 'could not start');
      else logger.fatal({ err }, 'could not start');
      let message = err instanceof Error ? err.message : String(err);
      for (const [setting, flag] of Object.entries(flagOf)) message = message.replace(`change ${setting}`, `use ${flag}`);
      ctx.stderr(`anomalyd: could not start: ${message}\n`);
      notifier.status(`start failed: ${(err as Error).message}`);
      await daemon.stop();
      return 1;
    }
    // A stop requested while starting must not be announced as READY.
    if (started) notifier.ready('detecting');
    const interval = notifier.watchdogIntervalMs;
    if (started && interval !== null) {
      const c = daemon.counters;
      heartbeat = watchdogLoop(
        notifier,
        progressCheck({
          backlog: () => c.received - c.messages + (c.intoModel - c.modelDone),
          progress: () => c.messages + c.modelDone,
          stallMs: STALL_MS,
        }),
        interval,
        { logger: logger.child({ module: 'watchdog' }) },
      );
    }
    // A storage fault ends the run like a signal, but with its own exit code, so systemd restarts it.
    const fault = daemon.failed;
    if (started && onReady) await Promise.race([onReady(), stopSignal, fault]);
    const faulted = await Promise.race([stopSignal.then(() => null), fault]);
    heartbeat?.stop();
    if (faulted !== null) notifier.status(`storage fault: ${faulted.message}`);
    notifier.stopping();
    const clean = await daemon.stop();
    if (faulted !== null) return EXIT_STORAGE_FAULT;
    return clean ? 0 : 1;
  } finally {
    heartbeat?.stop();
    await notifier.settled();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}
