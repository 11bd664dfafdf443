/**
 * The simple Home Assistant `value_template`s of MQTT discovery configs (home-assistant.io, "MQTT Discovery" and
 * "Templating"): the Jinja2 expressions devices publish to take one value out of a state payload. Read, not run: a
 * template is accepted only when it is one source and a chain of known filters:
 *
 *   {{ value }}                       the payload's text
 *   {{ value_json.x }}, {{ value_json.x.y }}, {{ value_json['x'] }}, {{ value_json["x"][0] }}
 *                                     a value of the payload parsed as JSON
 *   … | float, | float(0), | int, | int(0), | round, | round(1), | round(1, 'floor'), | abs, | is_defined,
 *     | multiply(0.1), | string, | trim
 *
 * Anything else (arithmetic, conditions, `states(…)`, macros) is unreadable: compileValueTemplate says why, and the
 * caller rejects the entity's states (`unread_template`) rather than guess. No eval, no Jinja engine.
 */

/** What a template made of one payload. */
export type TemplateOutcome =
  /** The rendered text (a number's shortest JavaScript text; a JSON boolean as Jinja writes it, `True` / `False`). */
  | { readonly kind: 'text'; readonly text: string }
  /** The value is not there: a JSON key absent or null (Home Assistant renders nothing: the state is unknown). */
  | { readonly kind: 'missing' }
  /** `value_json` of a payload that is not JSON, or a filter that cannot apply (round of a text): `detail` says which. */
  | { readonly kind: 'error'; readonly detail: string };

/** A readable template, compiled. */
export interface ValueTemplate {
  /** The template's text, as the config gave it. */
  readonly source: string;
  /** Whether it reads `value_json` (the payload must be JSON). */
  readonly json: boolean;
  /** The value's path in the JSON payload (`['BME280', 'Temperature']`), [] for `value` or the whole document. */
  readonly path: readonly (string | number)[];
  /** Whether it applies filters besides the path (a `float` or `is_defined` changes nothing a reading is read as). */
  readonly changesValue: boolean;
  /**
   * Renders the template on one payload's text (`doc`: the payload parsed as JSON when it is JSON, else undefined;
   * parsed by the caller once for all the entities of one topic). Never throws.
   */
  apply(text: string, doc: unknown): TemplateOutcome;
}

type Filter = (v: unknown) => unknown;

/** A filter's failure, carried as a value through the chain. */
class FilterError {
  constructor(readonly detail: string) {}
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A number from a value as Jinja's `float` takes it (a number, a decimal text, a boolean), or null. */
function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const t = v.trim();
    return DECIMAL.test(t) ? Number(t) : null;
  }
  return null;
}

/** A value rendered as text, as Jinja renders it (`True`, `False`; a number's shortest text; an object as JSON). */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** Rounds `n` to `digits` decimals by Jinja's `round` method (common: half away from zero). */
function roundTo(n: number, digits: number, method: string): number {
  const f = 10 ** digits;
  const x = n * f;
  const r = method === 'floor' ? Math.floor(x) : method === 'ceil' ? Math.ceil(x) : Math.sign(x) * Math.round(Math.abs(x));
  return r / f;
}

/** One filter's arguments: numbers or quoted texts, comma-separated; null when any is neither. */
function parseArgs(text: string): (number | string)[] | null {
  const t = text.trim();
  if (t === '') return [];
  const out: (number | string)[] = [];
  for (const raw of t.split(',')) {
    const a = raw.trim();
    const q = /^'([^']*)'$|^"([^"]*)"$/.exec(a);
    if (q !== null) out.push(q[1] ?? q[2]);
    else if (DECIMAL.test(a)) out.push(Number(a));
    else return null;
  }
  return out;
}

/** A filter by name and arguments, or a reason it is not read. */
function filterOf(name: string, args: (number | string)[]): Filter | string {
  const numArg = (i: number): number | null => (typeof args[i] === 'number' ? (args[i]) : null);
  switch (name) {
    case 'float':
    case 'int': {
      if (args.length > 1 || (args.length === 1 && numArg(0) === null)) return `${name} takes one number at most`;
      const fallback = numArg(0);
      const int = name === 'int';
      return (v) => {
        const n = toNumber(v);
        // Home Assistant's float without a default fails on a text; the text goes on, read (or not) as a state is.
        if (n === null) return fallback ?? v;
        return int ? Math.trunc(n) : n;
      };
    }
    case 'round': {
      const digits = args.length === 0 ? 0 : numArg(0);
      const method = args.length > 1 ? args[1] : 'common';
      if (digits === null || !Number.isInteger(digits) || digits < 0 || digits > 15 || args.length > 2 || !['common', 'floor', 'ceil'].includes(String(method))) return 'round takes (digits[, common|floor|ceil])';
      return (v) => {
        const n = toNumber(v);
        return n === null ? new FilterError(`round of "${renderValue(v).slice(0, 40)}", not a number`) : roundTo(n, digits, String(method));
      };
    }
    case 'multiply': {
      const k = numArg(0);
      if (k === null || args.length !== 1) return 'multiply takes one number';
      return (v) => {
        const n = toNumber(v);
        return n === null ? new FilterError(`multiply of "${renderValue(v).slice(0, 40)}", not a number`) : n * k;
      };
    }
    case 'abs':
      if (args.length > 0) return 'abs takes no argument';
      return (v) => {
        const n = toNumber(v);
        return n === null ? new FilterError(`abs of "${renderValue(v).slice(0, 40)}", not a number`) : Math.abs(n);
      };
    case 'is_defined':
    case 'string':
      if (args.length > 0) return `${name} takes no argument`;
      return (v) => v;
    case 'trim':
      if (args.length > 0) return 'trim takes no argument';
      return (v) => (typeof v === 'string' ? v.trim() : v);
    default:
      return `the filter "${name}" is not read`;
  }
}

/**
 * Reads a `value_template`. Returns the compiled template, or `{ error }` saying why it is not read (the template is
 * then one anomalyd does not take: its entity's states are rejected, not guessed at).
 */
export function compileValueTemplate(source: string): ValueTemplate | { readonly error: string } {
  const m = /^\s*\{\{(.*)\}\}\s*$/s.exec(source);
  if (m === null || m[1].includes('{{') || m[1].includes('{%')) return { error: 'not one {{ … }} expression' };
  const parts = m[1].split('|');
  let head = parts[0].trim();
  let json: boolean;
  if (/^value_json(?![A-Za-z0-9_])/.test(head)) {
    json = true;
    head = head.slice('value_json'.length);
  } else if (/^value(?![A-Za-z0-9_])/.test(head)) {
    json = false;
    head = head.slice('value'.length);
  } else {
    return { error: 'it reads neither value nor value_json' };
  }
  const path: (string | number)[] = [];
  while (head.length > 0) {
    head = head.trimStart();
    if (head.startsWith('.')) {
      const id = IDENT.exec(head.slice(1).trimStart());
      if (id === null) return { error: `a path step "${head.slice(0, 20)}" not read` };
      path.push(id[0]);
      head = head.slice(1).trimStart().slice(id[0].length);
    } else if (head.startsWith('[')) {
      const step = /^\[\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*\]/.exec(head);
      if (step === null) return { error: `a path step "${head.slice(0, 20)}" not read` };
      path.push(step[3] !== undefined ? Number(step[3]) : (step[1] ?? step[2]));
      head = head.slice(step[0].length);
    } else {
      return { error: `"${head.trim().slice(0, 30)}" after the value is not read` };
    }
  }
  if (!json && path.length > 0) return { error: 'a path on value (not value_json)' };
  const filters: Filter[] = [];
  let changesValue = false;
  for (const raw of parts.slice(1)) {
    const f = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$/s.exec(raw);
    if (f === null) return { error: `the filter "${raw.trim().slice(0, 30)}" is not read` };
    const args = parseArgs(f[2] ?? '');
    if (args === null) return { error: `the arguments of ${f[1]} are not read` };
    const filter = filterOf(f[1], args);
    if (typeof filter === 'string') return { error: filter };
    if (!['float', 'is_defined', 'string', 'trim'].includes(f[1]) || args.length > 0) changesValue = true;
    filters.push(filter);
  }
  return {
    source,
    json,
    path,
    changesValue,
    apply(text: string, doc: unknown): TemplateOutcome {
      let v: unknown = text;
      if (json) {
        if (doc === undefined) return { kind: 'error', detail: 'value_json of a payload that is not JSON' };
        v = doc;
        for (const step of path) {
          if (v === null || typeof v !== 'object') return { kind: 'missing' };
          const next: unknown = Array.isArray(v) ? (typeof step === 'number' ? v[step] : undefined) : Object.hasOwn(v, step) ? (v as Record<string, unknown>)[String(step)] : undefined;
          if (next === undefined) return { kind: 'missing' };
          v = next;
        }
        if (v === null) return { kind: 'missing' };
      }
      for (const f of filters) {
        v = f(v);
        if (v instanceof FilterError) return { kind: 'error', detail: v.detail };
      }
      return { kind: 'text', text: renderValue(v) };
    },
  };
}
