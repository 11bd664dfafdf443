import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import type { ModelStore } from '../contract/store.js';
import { loadConfigOrReport } from './run.js';
import type { CommandContext } from './context.js';

export const MODELS_USAGE = `Usage: anomalyd models [list] [--config PATH | --db PATH] [--json]
       anomalyd models rollback SENSOR [shared | MODEL_ID] [--config PATH | --db PATH]

Lists the models trained on this device, which model each sensor uses (sensors not listed use the
shared model from model.cell / model.name) and the new models the quality gate did not let in (each was
worse than the model in use on the sensor's newest normal readings, kept apart from its training).

rollback puts a sensor back on the model it used before: its previous own model, or the shared model when
it had none before ('shared' or 'generic' asks for the shared model, a model id for that model). A running
daemon picks a rollback up within a few seconds, with the state reset as at any model swap. After a
rollback to the shared model the daemon learns the sensor again only after learning.minReadings more normal
readings, and the new model must pass the gate. Models still being learnt are not listed here:
'anomalyd status' says how far each sensor is with its own.

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
  const [action = 'list', sensor, target, ...extra] = positionals;
  if ((action !== 'list' && action !== 'rollback') || (action === 'rollback' && sensor === undefined) || extra.length > 0 || (action === 'list' && (sensor !== undefined || target !== undefined))) {
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
    if (action === 'rollback') return rollback(store, sensor, target, ctx);
    const all = store.models();
    const assignments = store.assignments();
    const checks = store.modelChecks();
    const rejected = checks.filter((c) => !c.accepted);
    if (values.json) {
      ctx.stdout(`${JSON.stringify({ models: all, assignments, checks }, null, 2)}\n`);
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
    const onShared = assignments.filter((a) => a.modelId === null).map((a) => a.sensor);
    if (onShared.length > 0) ctx.stdout(`Rolled back to the shared model: ${onShared.join(', ')}\n`);
    // The newest rejection of each scope: what the gate kept out, and why.
    const shown = new Set<string>();
    for (const c of rejected) {
      if (shown.has(c.scope)) continue;
      shown.add(c.scope);
      ctx.stdout(
        `rejected ${c.candidate} (not used)\n  scope ${c.scope}, judged ${new Date(c.at).toISOString()} against ${c.current ?? '(none)'}\n  ${c.reason}\n` +
          `  tries again after ${c.retryAfter ?? '?'} more normal readings\n`,
      );
    }
    // What this database cannot say: how far the running daemon is with the models it is learning.
    ctx.stdout("Sensors still learning their own model, and how far each is: 'anomalyd status'.\n");
    return 0;
  } finally {
    store.close();
  }
}

/** Words that name the shared model (model.cell / model.name) as a rollback target. */
const SHARED_TARGETS = new Set(['shared', 'generic']);

/**
 * Puts `sensor` on `target` (a model id, 'shared' / 'generic' for the shared model) or, without one, on the
 * model it used before its current one: its previous own model, else the shared model (what it used before
 * its first own model). A sensor on the shared model can be put on a model by id. Recorded as a new
 * assignment with reason 'rollback'. 1 when there is nothing to do or no such model.
 */
function rollback(store: ModelStore, sensor: string, target: string | undefined, ctx: CommandContext): number {
  const history = store.assignmentHistory(sensor);
  const current = history[0];
  const name = (id: string | null): string => id ?? 'the shared model';
  const now = current?.modelId ?? null;
  const shared = target !== undefined && SHARED_TARGETS.has(target.toLowerCase());
  if (now === null && (target === undefined || shared)) {
    ctx.stderr(`anomalyd models: sensor ${sensor} has no model of its own (it uses the shared model)\n`);
    return 1;
  }
  let to: string | null;
  if (target === undefined) {
    to = history.find((a) => a.modelId !== now)?.modelId ?? null;
  } else if (shared) {
    to = null;
  } else {
    if (!store.models().some((m) => m.id === target)) {
      ctx.stderr(`anomalyd models: no model ${target} on this device ('anomalyd models' lists them; 'shared' is the shared model)\n`);
      return 1;
    }
    if (target === now) {
      ctx.stderr(`anomalyd models: sensor ${sensor} already uses ${target}\n`);
      return 1;
    }
    to = target;
  }
  store.assignModel(sensor, to, 'rollback');
  ctx.stdout(`${sensor}: ${name(now)} -> ${name(to)}\n`);
  return 0;
}
