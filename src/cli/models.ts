import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import type { ModelStore } from '../contract/store.js';
import { loadConfigOrReport } from './run.js';
import type { CommandContext } from './context.js';

export const MODELS_USAGE = `Usage: anomalyd models [list] [--config PATH | --db PATH] [--json]
       anomalyd models rollback SENSOR [--config PATH | --db PATH]

Lists the models trained on this device and which model each sensor uses (sensors not listed use the
shared model from model.cell / model.name), or rolls a sensor back to the model it used before. A running
daemon picks a rollback up within a few seconds (the sensor's hidden state is reset at the swap). Models
still being learnt are not listed here: 'anomalyd status' says how far each sensor is with its own.

Options:
  -c, --config PATH   config file (its dataDir holds the database)
      --db PATH       the database file itself (default <dataDir>/anomalyd.db)
      --json          machine-readable output
  -h, --help          this help
`;

export function modelsCommand(argv: string[], ctx: CommandContext): Promise<number> {
  return Promise.resolve(models(argv, ctx));
}

function models(argv: string[], ctx: CommandContext): number {
  let parsed: { values: { config?: string; db?: string; json?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    ctx.stderr(`anomalyd models: ${(err as Error).message}\n\n${MODELS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout(MODELS_USAGE);
    return 0;
  }
  const [action = 'list', sensor, ...extra] = positionals;
  if ((action !== 'list' && action !== 'rollback') || (action === 'rollback' && sensor === undefined) || extra.length > 0 || (action === 'list' && sensor !== undefined)) {
    ctx.stderr(`anomalyd models: unexpected arguments: ${positionals.join(' ')}\n\n${MODELS_USAGE}`);
    return 2;
  }
  let dbPath = values.db;
  if (dbPath === undefined) {
    const config = loadConfigOrReport(values.config, ctx);
    if (!config) return 2;
    dbPath = join(resolve(config.dataDir), DB_FILE);
  }
  let store: SqliteStore;
  try {
    store = SqliteStore.open(dbPath, { commitIntervalMs: 0, outboxMax: 1_000_000, logger: pino({ level: 'silent' }) });
  } catch (err) {
    ctx.stderr(`anomalyd models: cannot open ${dbPath}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    if (action === 'rollback') return rollback(store, sensor, ctx);
    const all = store.models();
    const assignments = store.assignments();
    if (values.json) {
      ctx.stdout(`${JSON.stringify({ models: all, assignments }, null, 2)}\n`);
      return 0;
    }
    if (all.length === 0) ctx.stdout('No models trained on this device yet; every sensor uses the shared model.\n');
    for (const m of all) {
      const users = assignments.filter((a) => a.modelId === m.id).map((a) => a.sensor);
      ctx.stdout(
        `${m.id}\n  scope ${m.scope}, ${m.cell}, trained ${new Date(m.createdAt).toISOString()} on ${m.rows} readings, validation loss ${m.valLoss.toPrecision(4)}\n` +
          `  used by: ${users.length > 0 ? users.join(', ') : '(none)'}\n`,
      );
    }
    // What this database cannot say: how far the running daemon is with the models it is learning.
    ctx.stdout("Sensors still learning their own model, and how far each is: 'anomalyd status'.\n");
    return 0;
  } finally {
    store.close();
  }
}

function rollback(store: ModelStore, sensor: string, ctx: CommandContext): number {
  const history = store.assignmentHistory(sensor);
  const current = history[0];
  if (!current) {
    ctx.stderr(`anomalyd models: sensor ${sensor} has no model of its own (it uses the shared model)\n`);
    return 1;
  }
  const previous = history.find((a) => a.modelId !== current.modelId);
  if (!previous) {
    ctx.stderr(`anomalyd models: sensor ${sensor} has used only ${current.modelId}; nothing to roll back to\n`);
    return 1;
  }
  store.assignModel(sensor, previous.modelId, 'rollback');
  ctx.stdout(`${sensor}: ${current.modelId} -> ${previous.modelId}\n`);
  return 0;
}
