#!/usr/bin/env node
/**
 * The process owner: the only place that calls process.exit. Parses the sub-command, hands the rest of
 * argv to it and exits with what it returns.
 */
const HELP = `anomalyd: an edge streaming anomaly detector for sensor data

Usage: anomalyd <command> [options]

Commands:
  run            start the detector daemon (default)
  demo           embedded broker + simulated sensors + detector; prints alerts as they fire
  train          train a GRU or LSTM autoencoder on recorded normal data and export it to ONNX
  replay         stream a recorded CSV through the same pipeline, in virtual time, and write the scores
  anomalies      list, show, acknowledge or mark as false alarm the stored anomalies
  models         list the models trained on this device; roll a sensor back (and pin it), unpin it, ask for a new try
  sensors        list the streams (status, last reading, open episode), or forget a stream or a device (its open episode resolved 'forgotten')
  history        export a stream's recent readings (up to 8 days) as CSV, with the expected band and the surprise
  status         ask the running daemon how it is doing (sensors by state, own models being learnt, outbox, rejections)
  check-config   validate a config file and print the effective config (secrets masked)
  help           show this help

Common options:
  --config PATH  config file (default: $ANOMALYD_CONFIG, else config/default.yaml)
  --help         help for a command

Run 'anomalyd <command> --help' for a command's options.
`;

import type { CommandContext } from './cli/context.js';

type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

const ctx: CommandContext = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  exit: (code) => process.exit(code),
};

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./cli/run.js')).runCommand,
  demo: async () => (await import('./cli/demo.js')).demoCommand,
  train: async () => {
    const { trainCommand } = await import('./cli/train.js');
    return (argv) => trainCommand(argv);
  },
  models: async () => (await import('./cli/models.js')).modelsCommand,
  anomalies: async () => (await import('./cli/anomalies.js')).anomaliesCommand,
  replay: async () => (await import('./cli/replay.js')).replayCommand,
  status: async () => (await import('./cli/status.js')).statusCommand,
  sensors: async () => (await import('./cli/sensors.js')).sensorsCommand,
  history: async () => (await import('./cli/history.js')).historyCommand,
  'check-config': async () => {
    const { checkConfigCommand } = await import('./cli/check-config.js');
    return (argv, c) => Promise.resolve(checkConfigCommand(argv, c));
  },
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  if (first === '--version' || first === 'version') {
    const { VERSION } = await import('./version.js');
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const name = first === undefined || first.startsWith('-') ? 'run' : first;
  const args = first === undefined || first.startsWith('-') ? argv : rest;
  const load = commands[name];
  if (!load) {
    process.stderr.write(`anomalyd: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  if (name !== 'run' && name !== 'demo') quietOnClosedPipe();
  const command = await load();
  return command(args, ctx);
}

/**
 * A command whose output is piped into a reader that stops early (`anomalyd models | head`) ends quietly, as
 * Unix tools do on SIGPIPE, instead of dying on an unhandled EPIPE with a stack trace. Not for `run` and `demo`:
 * the daemon's log is its stdout, and losing it is an error to report, not the end of a listing.
 */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`anomalyd: stdout: ${err.message}\n`);
    process.exit(1);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`anomalyd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
