/**
 * Loading and validating the JSON sidecar that sits beside every model graph (models/<name>.json).
 * Every problem is reported at once as `path: message`, so a hand-edited sidecar is fixed in one go.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SIDECAR_FORMAT_VERSION, type LogNormalPrior, type ModelGraphs, type ModelSidecar } from './spec.js';

export class SidecarError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly string[],
  ) {
    super(`${file}: invalid model sidecar:\n  ${issues.join('\n  ')}`);
    this.name = 'SidecarError';
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects issues while reading fields; each getter returns a usable fallback so checking continues. */
class Checker {
  readonly issues: string[] = [];

  fail(path: string, message: string): void {
    this.issues.push(`${path}: ${message}`);
  }

  object(v: unknown, path: string): Json {
    if (isObject(v)) return v;
    this.fail(path, 'must be an object');
    return {};
  }

  string(v: unknown, path: string): string {
    if (typeof v === 'string' && v.length > 0) return v;
    this.fail(path, 'must be a non-empty string');
    return '';
  }

  finite(v: unknown, path: string): number {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    this.fail(path, 'must be a finite number');
    return Number.NaN;
  }

  positive(v: unknown, path: string): number {
    const n = this.finite(v, path);
    if (Number.isFinite(n) && n <= 0) this.fail(path, `must be > 0, got ${n}`);
    return n;
  }

  integer(v: unknown, path: string, min: number): number {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min) return v;
    this.fail(path, `must be an integer >= ${min}`);
    return min;
  }

  literal<T extends string | number>(v: unknown, path: string, allowed: readonly T[]): T {
    const hit = allowed.find((a) => a === v);
    if (hit !== undefined) return hit;
    this.fail(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return allowed[0];
  }

  numbers(v: unknown, path: string, length: number, each: (n: unknown, p: string) => number): number[] {
    if (!Array.isArray(v)) {
      this.fail(path, 'must be an array of numbers');
      return [];
    }
    if (v.length !== length) this.fail(path, `must have ${length} entries (one per channel), has ${v.length}`);
    return v.map((n, i) => each(n, `${path}[${i}]`));
  }
}

function checkChannels(c: Checker, v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0) {
    c.fail('channels', 'must be a non-empty array of names');
    return [];
  }
  const names = v.map((n, i) => c.string(n, `channels[${i}]`));
  if (new Set(names).size !== names.length) c.fail('channels', 'names must be unique');
  return names;
}

function checkPrior(c: Checker, v: unknown, path: string): LogNormalPrior {
  const o = c.object(v, path);
  const quantiles: Record<string, number> = {};
  for (const [k, q] of Object.entries(c.object(o.quantiles, `${path}.quantiles`))) {
    quantiles[k] = c.finite(q, `${path}.quantiles.${k}`);
  }
  return {
    logErrMean: c.finite(o.logErrMean, `${path}.logErrMean`),
    logErrStd: c.positive(o.logErrStd, `${path}.logErrStd`),
    quantiles,
    count: c.integer(o.count, `${path}.count`, 0),
  };
}

function checkCalibration(c: Checker, v: unknown): ModelSidecar['calibration'] {
  const o = c.object(v, 'calibration');
  const threshold = c.finite(o.threshold, 'calibration.threshold');
  if (Number.isFinite(threshold) && (threshold <= 0 || threshold >= 1)) {
    c.fail('calibration.threshold', `must be in (0, 1), got ${threshold}`);
  }
  const recon = checkPrior(c, o.recon, 'calibration.recon');
  const pred = checkPrior(c, o.pred, 'calibration.pred');
  // Optional (sidecars written before it was measured have none).
  if (o.bias === undefined) return { recon, pred, threshold };
  const bias = { ...checkPrior(c, o.bias, 'calibration.bias'), span: c.integer(c.object(o.bias, 'calibration.bias').span, 'calibration.bias.span', 1) };
  return { recon, pred, bias, threshold };
}

function checkTraining(c: Checker, v: unknown): ModelSidecar['training'] {
  const o = c.object(v, 'training');
  const int = (key: string, min: number): number => c.integer(o[key], `training.${key}`, min);
  const num = (key: string): number => c.finite(o[key], `training.${key}`);
  const seconds = num('seconds');
  if (seconds < 0) c.fail('training.seconds', `must be >= 0, got ${seconds}`);
  return {
    source: c.string(o.source, 'training.source'),
    rows: int('rows', 0),
    trainWindows: int('trainWindows', 0),
    valWindows: int('valWindows', 0),
    epochs: int('epochs', 0),
    ...(o.steps === undefined ? {} : { steps: int('steps', 0) }),
    ...(o.predVsPersistence === undefined ? {} : { predVsPersistence: o.predVsPersistence === null ? null : num('predVsPersistence') }),
    finalTrainLoss: num('finalTrainLoss'),
    finalValLoss: num('finalValLoss'),
    initialValLoss: num('initialValLoss'),
    seed: int('seed', 0),
    seconds,
  };
}

function checkGraphName(c: Checker, v: unknown, path: string): string {
  const name = c.string(v, path);
  // Relative to the sidecar and inside its directory: a sidecar must not point elsewhere on disk.
  if (name !== '' && (name !== basename(name) || name === '.' || name === '..')) c.fail(path, `'${name}' must be a file name in the same directory`);
  return name;
}

function checkGraphs(c: Checker, v: unknown): ModelGraphs {
  const o = c.object(v, 'graphs');
  return {
    window: checkGraphName(c, o.window, 'graphs.window'),
    step: checkGraphName(c, o.step, 'graphs.step'),
    decode: checkGraphName(c, o.decode, 'graphs.decode'),
  };
}

/** The message for a sidecar of a format this version no longer runs. */
export function retrainMessage(formatVersion: unknown): string {
  return (
    `formatVersion: ${JSON.stringify(formatVersion)} is an older model format (one window graph, no step or decode graph) ` +
    `that this version cannot run; re-train the model (\`anomalyd train\`; a model learnt on the device is re-learnt by the learner)`
  );
}

/** Validates a parsed sidecar; throws SidecarError listing every problem. */
export function parseSidecar(value: unknown, file: string): ModelSidecar {
  const c = new Checker();
  const o = c.object(value, '(root)');
  // An old format is one clear message, not a list of fields that moved.
  if (o.format === 'anomalyd-model' && typeof o.formatVersion === 'number' && o.formatVersion < SIDECAR_FORMAT_VERSION) {
    throw new SidecarError(file, [retrainMessage(o.formatVersion)]);
  }
  const channels = checkChannels(c, o.channels);
  const createdAt = c.string(o.createdAt, 'createdAt');
  if (createdAt !== '' && Number.isNaN(Date.parse(createdAt))) c.fail('createdAt', `'${createdAt}' is not an ISO date`);
  const normalisation = c.object(o.normalisation, 'normalisation');
  const sidecar: ModelSidecar = {
    format: c.literal(o.format, 'format', ['anomalyd-model'] as const),
    formatVersion: c.literal(o.formatVersion, 'formatVersion', [SIDECAR_FORMAT_VERSION] as const),
    name: c.string(o.name, 'name'),
    cell: c.literal(o.cell, 'cell', ['gru', 'lstm'] as const),
    hidden: c.integer(o.hidden, 'hidden', 1),
    channels,
    window: c.integer(o.window, 'window', 1),
    hop: c.integer(o.hop, 'hop', 1),
    normalisation: {
      mean: c.numbers(normalisation.mean, 'normalisation.mean', channels.length, (n, p) => c.finite(n, p)),
      std: c.numbers(normalisation.std, 'normalisation.std', channels.length, (n, p) => c.positive(n, p)),
    },
    calibration: checkCalibration(c, o.calibration),
    training: checkTraining(c, o.training),
    anomalydVersion: c.string(o.anomalydVersion, 'anomalydVersion'),
    createdAt,
    graphs: checkGraphs(c, o.graphs),
  };
  if (c.issues.length > 0) throw new SidecarError(file, c.issues);
  return sidecar;
}

/** Reads and validates `<dir>/<name>.json`. */
export function loadSidecar(path: string): ModelSidecar {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SidecarError(path, [`(file): ${message}`]);
  }
  return parseSidecar(value, path);
}

/** Paths of a sidecar's graphs, resolved against the sidecar's directory. */
export function graphPathsOf(sidecarPath: string, sidecar: ModelSidecar): ModelGraphs {
  const dir = dirname(sidecarPath);
  return { window: join(dir, sidecar.graphs.window), step: join(dir, sidecar.graphs.step), decode: join(dir, sidecar.graphs.decode) };
}

/** Path of a sidecar's window graph (the engine of one call per window). */
export function onnxPathOf(sidecarPath: string, sidecar: ModelSidecar): string {
  return graphPathsOf(sidecarPath, sidecar).window;
}

export interface FoundModel {
  readonly sidecarPath: string;
  /** The window graph. */
  readonly onnxPath: string;
  readonly sidecar: ModelSidecar;
}

export interface FindModelsResult {
  /** Valid models, sorted by name. */
  readonly models: readonly FoundModel[];
  /** Files that claim to be model sidecars but are broken, or whose graph is missing. */
  readonly problems: readonly { readonly path: string; readonly message: string }[];
}

function claimsToBeSidecar(path: string): boolean {
  try {
    const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return isObject(v) && v.format === 'anomalyd-model';
  } catch {
    // Unparseable .json: report it rather than silently skipping a model someone meant to ship.
    return true;
  }
}

/**
 * Every `*.json` in `dir` whose `format` is 'anomalyd-model'. Other JSON files are ignored; broken
 * sidecars are returned as problems, not thrown, so one bad file does not hide the good ones.
 */
export function findModels(dir: string): FindModelsResult {
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { models: [], problems: [{ path: dir, message }] };
  }
  const models: FoundModel[] = [];
  const problems: { path: string; message: string }[] = [];
  for (const file of entries) {
    const sidecarPath = join(dir, file);
    if (!claimsToBeSidecar(sidecarPath)) continue;
    try {
      const sidecar = loadSidecar(sidecarPath);
      const paths = graphPathsOf(sidecarPath, sidecar);
      const missing = (['window', 'step', 'decode'] as const).filter((role) => !existsSync(paths[role]));
      if (missing.length > 0) problems.push({ path: sidecarPath, message: missing.map((role) => `graphs.${role}: ${paths[role]} does not exist`).join('; ') });
      else models.push({ sidecarPath, onnxPath: paths.window, sidecar });
    } catch (err) {
      problems.push({ path: sidecarPath, message: err instanceof Error ? err.message : String(err) });
    }
  }
  models.sort((a, b) => a.sidecar.name.localeCompare(b.sidecar.name));
  return { models, problems };
}
