/**
 * Environment overrides, derived from the schema: every setting can be set as
 * `ANOMALYD__SECTION__KEY` (camelCase keys in SCREAMING_SNAKE_CASE, e.g. `ANOMALYD__WINDOW__INTERVAL_MS`),
 * and a few common ones also by a short alias declared in the schema (e.g. `ANOMALYD_MQTT_URL`).
 */
import { dotted, leaves, type Fields, type LeafEntry, type Section } from './dsl.js';
import { closest } from './suggest.js';
import { validateLayer, type LayerResult } from './validate.js';

export const ENV_PREFIX = 'ANOMALYD__';

export function envNameOf(path: readonly string[]): string {
  return ENV_PREFIX + path.map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}

/** Settings that env vars may change: everything except the file format version. */
function envLeaves(root: Section<Fields>): LeafEntry[] {
  return leaves(root).filter((e) => dotted(e.path) !== 'version');
}

function setIn(tree: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/**
 * Reads overrides from `env`. An empty variable counts as unset (as with `VAR=` in unit files and
 * compose files); the literal `null` unsets a nullable setting.
 */
export function envLayer(root: Section<Fields>, env: NodeJS.ProcessEnv): LayerResult {
  const errors: string[] = [];
  const invalid: string[] = [];
  const raw: Record<string, unknown> = {};
  const nameOfPath = new Map<string, string>();
  const entries = envLeaves(root);
  const derivedNames = entries.map((e) => envNameOf(e.path));

  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && !derivedNames.includes(name)) {
      const guess = closest(name.slice(ENV_PREFIX.length), derivedNames.map((n) => n.slice(ENV_PREFIX.length)));
      errors.push(`env ${name}: unknown setting${guess === null ? '' : `; did you mean ${ENV_PREFIX}${guess}?`}`);
    }
  }

  for (const entry of entries) {
    const derived = envNameOf(entry.path);
    const names = [derived, entry.leaf.envAlias].filter((n): n is string => n !== null && (env[n] ?? '') !== '');
    if (names.length === 0) continue;
    if (names.length > 1 && env[names[0]] !== env[names[1]]) {
      errors.push(`env ${names[1]}: conflicts with ${names[0]}; set only one of them`);
      invalid.push(dotted(entry.path));
      continue;
    }
    const name = names[0];
    const parsed = entry.leaf.parseEnv(env[name] ?? '');
    if (!parsed.ok) {
      errors.push(`env ${name}: ${parsed.message}`);
      invalid.push(dotted(entry.path));
      continue;
    }
    setIn(raw, entry.path, parsed.value);
    nameOfPath.set(dotted(entry.path), name);
  }

  const checked = validateLayer(root, raw, (path) => `env ${nameOfPath.get(dotted(path)) ?? envNameOf(path)}`);
  return { values: checked.values, errors: [...errors, ...checked.errors], invalid: [...invalid, ...checked.invalid] };
}
