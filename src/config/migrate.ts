/**
 * Config file versions. A file without `version` is taken as the current version. When a setting
 * is renamed or changes meaning, bump CURRENT_VERSION and add MIGRATIONS[old] that rewrites an
 * old file's tree into the next version, so existing devices keep working after an upgrade.
 */
import { CURRENT_VERSION } from './schema.js';
import { isPlainObject } from './validate.js';

export type Migration = (raw: Record<string, unknown>) => Record<string, unknown>;

/** MIGRATIONS[n] turns a version n tree into version n + 1. None yet: version 1 is the first. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {};

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
