import { dotted, leaves, type Fields, type Section } from './dsl.js';
import { closest } from './suggest.js';

/** Turns a setting's path into the error prefix: `window.length` for a file, `env ANOMALYD_...` for env. */
export type Labeler = (path: readonly string[]) => string;

export interface LayerResult {
  /** Only the settings that passed their checks, as a partial tree. */
  readonly values: Record<string, unknown>;
  readonly errors: readonly string[];
  /** Dotted paths of the settings that were reported, so rules over them can be skipped. */
  readonly invalid: readonly string[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return JSON.stringify(value) ?? typeof value;
}

function unknownKeyMessage(root: Section<Fields>, section: Section<Fields>, path: readonly string[]): string {
  const key = path[path.length - 1];
  const sibling = closest(key, Object.keys(section.fields));
  if (sibling !== null) return `unknown key; did you mean "${sibling}"?`;
  // A setting put under the wrong section: window.threshold -> score.threshold.
  const elsewhere = leaves(root).find((e) => e.path[e.path.length - 1].toLowerCase() === key.toLowerCase());
  if (elsewhere !== undefined) return `unknown key; did you mean "${dotted(elsewhere.path)}"?`;
  return `unknown key (valid keys: ${Object.keys(section.fields).join(', ')})`;
}

/**
 * Checks one source of settings (a file, the environment, overrides) against the schema and keeps
 * what is valid, so that every problem of every source can be reported in one go.
 */
export function validateLayer(root: Section<Fields>, raw: unknown, label: Labeler): LayerResult {
  const errors: string[] = [];
  const invalid: string[] = [];
  const walk = (section: Section<Fields>, value: unknown, path: readonly string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    // A section whose keys are all commented out is `null` in YAML: nothing to override.
    if (value === null || value === undefined) return out;
    if (!isPlainObject(value)) {
      errors.push(`${path.length === 0 ? '(root)' : label(path)}: must be a mapping of settings, got ${kindOf(value)}`);
      invalid.push(...leaves(section, path).map((e) => dotted(e.path)));
      return out;
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      const node = Object.hasOwn(section.fields, key) ? section.fields[key] : undefined;
      if (node === undefined) {
        errors.push(`${label(childPath)}: ${unknownKeyMessage(root, section, childPath)}`);
      } else if (node.kind === 'section') {
        out[key] = walk(node, child, childPath);
      } else if (child !== undefined) {
        const problem = node.check(child);
        if (problem === null) {
          out[key] = child;
        } else {
          errors.push(`${label(childPath)}: ${problem}`);
          invalid.push(dotted(childPath));
        }
      }
    }
    return out;
  };
  const values = walk(root, raw, []);
  return { values, errors, invalid };
}

/** Lays `top` over `base`; lists and scalars replace, mappings merge. */
export function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const below = out[key];
    out[key] = isPlainObject(below) && isPlainObject(value) ? deepMerge(below, value) : value;
  }
  return out;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
