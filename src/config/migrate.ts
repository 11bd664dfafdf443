/**
 * Config file versions. A file without `version` is taken as the current version. When a setting
 * is renamed or changes meaning, bump CURRENT_VERSION and add MIGRATIONS[old] that rewrites an
 * old file's tree into the next version, so existing devices keep working after an upgrade.
 */
import { CURRENT_VERSION } from './schema.js';
import { isPlainObject } from './validate.js';

export type Migration = (raw: Record<string, unknown>) => Record<string, unknown>;

/**
 * MIGRATIONS[n] turns a version n tree into version n + 1.
 * 1 -> 2: durations become counts of readings (issue 10). The millisecond settings sized for 1 Hz
 * (window.gapResetMs, alerts.maxEpisodeMs, alerts.staleAfterMs, cooldownMs, minDurationMs, update*) and the
 * per-window score settings (score.shortWindow, longWindow, priorWeight, window.maxFillSteps) have no
 * faithful translation: they are dropped, and their successors (window.resetAfter, alerts.newNormalAfter,
 * alerts.staleAfter, score.*) take their defaults. Everything else keeps its meaning.
 */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  1: (raw) => {
    const dropped: Record<string, readonly string[]> = {
      window: ['maxFillSteps', 'gapResetMs'],
      score: ['shortWindow', 'longWindow', 'priorWeight'],
      alerts: ['minDurationMs', 'cooldownMs', 'updateIntervalMs', 'updateMinDelta', 'maxEpisodeMs', 'staleAfterMs'],
    };
    const out: Record<string, unknown> = { ...raw };
    for (const [section, keys] of Object.entries(dropped)) {
      const v = out[section];
      if (!isPlainObject(v)) continue;
      const copy: Record<string, unknown> = { ...v };
      for (const k of keys) delete copy[k];
      out[section] = copy;
    }
    return out;
  },
};

export interface MigrationResult {
  readonly value: unknown;
  readonly errors: readonly string[];
}

export function migrate(raw: unknown, current: number = CURRENT_VERSION, migrations = MIGRATIONS): MigrationResult {
  if (!isPlainObject(raw)) return { value: raw, errors: [] };
  const version = raw.version ?? current;
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return { value: raw, errors: [`version: must be an integer, got ${JSON.stringify(version)}`] };
  }
  if (version > current) {
    return { value: raw, errors: [`version: ${version} is newer than this anomalyd understands (${current}); upgrade anomalyd`] };
  }
  if (version < 1) return { value: raw, errors: [`version: must be at least 1, got ${version}`] };
  let tree: Record<string, unknown> = { ...raw, version };
  for (let v = version; v < current; v++) {
    const step = migrations[v];
    if (step === undefined) return { value: raw, errors: [`version: no migration from version ${v}; this file cannot be read`] };
    tree = { ...step(tree), version: v + 1 };
  }
  return { value: tree, errors: [] };
}
