import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import type { ModelCheck, ModelStore, ReadingStore } from '../contract/store.js';
import { loadConfigOrReport } from './run.js';
import type { CommandContext } from './context.js';

export const MODELS_USAGE = `Usage: anomalyd models [list] [--config PATH | --db PATH] [--json]
       anomalyd models rollback SENSOR [shared | MODEL_ID] [--no-pin] [--config PATH | --db PATH]
       anomalyd models unpin SENSOR [--config PATH | --db PATH]
       anomalyd models retrain SENSOR [--config PATH | --db PATH]

Lists the models trained on this device, which model each sensor uses (sensors not listed use the
shared model from model.cell / model.name; 'pinned' marks the operator's choice) and, for each sensor or
group, its tries since its last accepted model, newest first: the new models the quality gate did not let in
(each was not measurably better than the model in use on the sensor's newest normal readings, kept apart
from its training), and trainings that made no new model (fine-tuning kept the shared model's weights).

rollback puts a sensor back on the model it used before: its previous own model, or the shared model when
it had none before ('shared' or 'generic' asks for the shared model, a model id for that model; 'shared'
for a sensor still on the shared model, e.g. one still learning, keeps it there), and pins it there: the daemon does not learn the sensor again (no readings stored, no training, no swap) until
'unpin'. A running daemon picks a rollback up within a few seconds, logs it (sensor, from, to, reason) and
resets the sensor's state as at any model swap. With --no-pin the sensor is learnt again: after a rollback
to the shared model, once it has learning.minReadings more normal readings, and the new model must pass
the gate.
unpin lets a pinned sensor be learnt again, as after 'rollback --no-pin' (it keeps its model until then).
retrain asks for a new try at once, from the sensor's newest stored readings, for a sensor without a model
of its own: after 5 rejected models in a row (or sooner, when the next wait would exceed
learning.maxReadings) the daemon stops trying until this; it also cuts a wait short.
Models still being learnt are not listed here: 'anomalyd status' says how far each sensor is with its own.

Options:
  -c, --config PATH   config file (its dataDir holds the database)
      --db PATH       the database file itself (default <dataDir>/anomalyd.db)
      --no-pin        rollback: do not pin the sensor (the daemon learns it again)
      --json          machine-readable output
  -h, --help          this help
`;

export function modelsCommand(argv: string[], ctx: CommandContext): Promise<number> {
  return Promise.resolve(models(argv, ctx));
}

function models(argv: string[], ctx: CommandContext): number {
  let parsed: { values: { config?: string; db?: string; json?: boolean; help?: boolean; 'no-pin'?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, db: { type: 'string' }, json: { type: 'boolean' }, 'no-pin': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
  const onSensor = action === 'unpin' || action === 'retrain';
  if (
    !['list', 'rollback', 'unpin', 'retrain'].includes(action) ||
    (action !== 'list' && sensor === undefined) ||
    extra.length > 0 ||
    (action === 'list' && (sensor !== undefined || target !== undefined)) ||
    (onSensor && target !== undefined) ||
    (values['no-pin'] === true && action !== 'rollback')
  ) {
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
    if (action === 'rollback') return rollback(store, sensor, target, values['no-pin'] !== true, ctx);
    if (action === 'unpin') return unpin(store, sensor, ctx);
    if (action === 'retrain') return retrain(store, sensor, ctx);
    const all = store.models();
    const assignments = store.assignments();
    const checks = store.modelChecks();
    if (values.json) {
      ctx.stdout(`${JSON.stringify({ models: all, assignments, checks }, null, 2)}\n`);
      return 0;
    }
    if (all.length === 0) ctx.stdout('No models trained on this device yet; every sensor uses the shared model.\n');
    const user = (a: { sensor: string; pinned: boolean }): string => `${a.sensor}${a.pinned ? ' (pinned)' : ''}`;
    for (const m of all) {
      const users = assignments.filter((a) => a.modelId === m.id).map(user);
      ctx.stdout(
        `${m.id}\n  scope ${m.scope}, ${m.cell}, trained ${new Date(m.createdAt).toISOString()} on ${m.rows} readings, validation loss ${m.valLoss.toPrecision(4)}\n` +
          `  used by: ${users.length > 0 ? users.join(', ') : '(none)'}\n`,
      );
    }
    // On the shared model by the operator's rollback (a retrain request alone is no rollback).
    const onShared = assignments.filter((a) => a.modelId === null && store.assignmentHistory(a.sensor).some((h) => h.modelId !== null)).map(user);
    if (onShared.length > 0) ctx.stdout(`Rolled back to the shared model: ${onShared.join(', ')}\n`);
    // Each scope's tries since its last accepted model, newest first: what the gate kept out (or a training that
    // made no new model), and why. The newest says when it tries again (tryout 26: only the newest was listed).
    const byScope = new Map<string, ModelCheck[]>();
    const closed = new Set<string>();
    for (const c of checks) {
      if (closed.has(c.scope)) continue;
      if (c.accepted) {
        closed.add(c.scope);
        continue;
      }
      const run = byScope.get(c.scope) ?? [];
      run.push(c);
      byScope.set(c.scope, run);
    }
    for (const run of byScope.values()) {
      const [newest] = run;
      const gaveUp = (newest.figures as { gaveUp?: unknown } | null)?.gaveUp === true;
      const tries = (newest.figures as { tries?: unknown } | null)?.tries;
      run.forEach((c, i) => {
        const judged = new Date(c.at).toISOString();
        ctx.stdout(
          isUnchanged(c)
            ? `no new model for ${c.scope}, trained ${judged} (the sensors keep ${c.current ?? 'the shared model'})\n  ${c.reason}\n`
            : `rejected ${c.candidate} (not used)\n  scope ${c.scope}, judged ${judged} against ${c.current ?? '(none)'}\n  ${c.reason}\n`,
        );
        if (i > 0) return;
        ctx.stdout(
          gaveUp
            ? `  stopped trying after ${typeof tries === 'number' ? tries : '?'} rejected models: 'anomalyd models retrain ${c.sensors[0] ?? c.scope}' asks for a new try\n`
            : c.retryAfter !== null
              ? `  tries again after ${c.retryAfter} more normal readings\n`
              : '',
        );
      });
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
function rollback(store: ModelStore & ReadingStore, sensor: string, target: string | undefined, pin: boolean, ctx: CommandContext): number {
  const history = store.assignmentHistory(sensor);
  const current = history[0];
  const name = (id: string | null): string => id ?? 'the shared model';
  const now = current?.modelId ?? null;
  const shared = target !== undefined && SHARED_TARGETS.has(target.toLowerCase());
  if (now === null && shared && pin) {
    // A sensor on the shared model can be pinned there too: it is not learnt (no readings stored, no training).
    if (current?.pinned === true) {
      ctx.stderr(`anomalyd models: sensor ${sensor} is already pinned to the shared model\n`);
      return 1;
    }
    const newest = newestReading(store, sensor);
    if (current === undefined && newest === null) {
      ctx.stderr(`anomalyd models: no sensor ${sensor} on this device (no stored readings, no model assignments; 'anomalyd status' lists the sensors)\n`);
      return 1;
    }
    store.assignModel(sensor, null, 'rollback', { pinned: true, dataTs: newest });
    ctx.stdout(`${sensor}: stays on the shared model (pinned: not learnt again until 'anomalyd models unpin ${sensor}')\n`);
    return 0;
  }
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
  store.assignModel(sensor, to, 'rollback', { pinned: pin, dataTs: newestReading(store, sensor) });
  ctx.stdout(`${sensor}: ${name(now)} -> ${name(to)}${pin ? ` (pinned: not learnt again until 'anomalyd models unpin ${sensor}')` : ''}\n`);
  return 0;
}

/** Data time (epoch ms) of the sensor's newest stored reading, or null: readings after it count towards the next try. */
function newestReading(store: ReadingStore, sensor: string): number | null {
  const { ts } = store.readReadings(sensor, undefined, undefined, 1, true);
  return ts.length > 0 ? ts[0] : null;
}

/** Unpins a sensor pinned by a rollback: it keeps its model and is learnt again (recorded as an assignment, reason 'unpin'). 1 when it is not pinned. */
function unpin(store: ModelStore & ReadingStore, sensor: string, ctx: CommandContext): number {
  const [current] = store.assignmentHistory(sensor);
  if (current === undefined || !current.pinned) {
    ctx.stderr(`anomalyd models: sensor ${sensor} is not pinned\n`);
    return 1;
  }
  store.assignModel(sensor, current.modelId, 'unpin', { dataTs: newestReading(store, sensor) });
  ctx.stdout(`${sensor}: unpinned, keeps ${current.modelId ?? 'the shared model'} until its own model passes the gate\n`);
  return 0;
}

/**
 * Asks the daemon for a new try at the sensor's own model, at once (recorded as an assignment of its current
 * model, reason 'retrain'): the back-off after rejected models, and a stop after too many, are forgotten.
 * 1 when the sensor is pinned or has a model of its own.
 */
function retrain(store: ModelStore & ReadingStore, sensor: string, ctx: CommandContext): number {
  const [current] = store.assignmentHistory(sensor);
  if (current?.pinned === true) {
    ctx.stderr(`anomalyd models: sensor ${sensor} is pinned to ${current.modelId ?? 'the shared model'}: 'anomalyd models unpin ${sensor}' first\n`);
    return 1;
  }
  if (current !== undefined && current.modelId !== null) {
    ctx.stderr(`anomalyd models: sensor ${sensor} has a model of its own (${current.modelId}); learning.retrainIntervalMs retrains it\n`);
    return 1;
  }
  store.assignModel(sensor, null, 'retrain', { dataTs: newestReading(store, sensor) });
  ctx.stdout(`${sensor}: a new try at its own model asked for (the daemon trains it from its stored readings)\n`);
  return 0;
}

/** True for a check that records a training which kept the shared model's weights (no new model; src/learn/learner.ts). */
function isUnchanged(c: ModelCheck): boolean {
  return (c.figures as { unchanged?: unknown } | null)?.unchanged === true;
}
