/**
 * A small typed schema DSL: each leaf carries its default, its check, how to read it from an
 * environment variable and how to describe it in the docs, so `schema.ts` is the single place
 * where a setting is defined. The TypeScript type of the config is inferred from the schema.
 *
 * Why not zod/ajv: we need four things from one definition (type, validation, env parsing, docs)
 * and a hundred lines cover them without a dependency on the Pi.
 */

export type EnvParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

export interface Leaf<T> {
  readonly kind: 'leaf';
  readonly default: T;
  readonly doc: string;
  /** For the docs: "integer", "string | null", "`gru` \| `lstm`", ... */
  readonly type: string;
  /** For the docs: "2 … 4096", "" when any value of the type is fine. */
  readonly range: string;
  /** Masked as `***` by maskSecrets. */
  readonly secret: boolean;
  /** A path to a file that must exist when set (only existence is checked). */
  readonly file: boolean;
  /** A short, conventional env variable name in addition to the derived `ANOMALYD__SECTION__KEY`. */
  readonly envAlias: string | null;
  /** Null when the value is fine, else a message without the path. */
  check(value: unknown): string | null;
  parseEnv(text: string): EnvParse;
  /** What maskSecrets shows instead of the value. */
  mask(value: T): T;
}

// `any` for the leaf's value type only: a section holds leaves of different value types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = Leaf<any> | Section<Fields>;
export type Fields = { readonly [key: string]: Node };

export interface Section<F extends Fields> {
  readonly kind: 'section';
  readonly doc: string;
  readonly fields: F;
}

/** The config value type a schema node describes, deeply readonly. */
export type Infer<N> =
  N extends Leaf<infer T> ? T : N extends Section<infer F> ? { readonly [K in keyof F]: Infer<F[K]> } : never;

/** What callers may override (CLI flags, tests): any subset of the tree. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

interface LeafOptions<T> {
  readonly default: T;
  readonly doc: string;
  readonly secret?: boolean;
  readonly env?: string;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value) ?? typeof value;
}

function leaf<T>(
  opts: LeafOptions<T>,
  spec: Pick<Leaf<T>, 'type' | 'range' | 'check' | 'parseEnv'> & { file?: boolean; mask?: (v: T) => T },
): Leaf<T> {
  const secret = opts.secret ?? false;
  const maskValue = spec.mask ?? ((v: T) => (secret && v !== null ? ('***' as T) : v));
  return {
    kind: 'leaf',
    default: opts.default,
    doc: opts.doc,
    type: spec.type,
    range: spec.range,
    secret,
    file: spec.file ?? false,
    envAlias: opts.env ?? null,
    check: spec.check,
    parseEnv: spec.parseEnv,
    mask: maskValue,
  };
}

function parseNumberText(text: string): number | null {
  const t = text.trim();
  // Number('') is 0 and Number('0x10') is 16: accept only plain decimal notation from env.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  return Number(t);
}

/**
 * An integer setting in [min, max]; `rule`, when given, is checked after the range and returns a message (without
 * the setting's name) or null (e.g. a value that is surely a unit mistake).
 */
export function int(opts: LeafOptions<number> & { readonly min: number; readonly max: number; readonly rule?: (v: number) => string | null }): Leaf<number> {
  const check = (v: unknown): string | null => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return `must be an integer, got ${describe(v)}`;
    if (v < opts.min || v > opts.max) return `must be between ${opts.min} and ${opts.max}, got ${v}`;
    return opts.rule ? opts.rule(v) : null;
  };
  return leaf(opts, {
    type: 'integer',
    range: `${opts.min} … ${opts.max}`,
    check,
    parseEnv: (text) => {
      const n = parseNumberText(text);
      return n === null ? { ok: false, message: `must be an integer, got ${JSON.stringify(text)}` } : { ok: true, value: n };
    },
  });
}

export function num(opts: LeafOptions<number> & { readonly min: number; readonly max: number }): Leaf<number> {
  const check = (v: unknown): string | null => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return `must be a number, got ${describe(v)}`;
    if (v < opts.min || v > opts.max) return `must be between ${opts.min} and ${opts.max}, got ${v}`;
    return null;
  };
  return leaf(opts, {
    type: 'number',
    range: `${opts.min} … ${opts.max}`,
    check,
    parseEnv: (text) => {
      const n = parseNumberText(text);
      return n === null ? { ok: false, message: `must be a number, got ${JSON.stringify(text)}` } : { ok: true, value: n };
    },
  });
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export function bool(opts: LeafOptions<boolean>): Leaf<boolean> {
  return leaf(opts, {
    type: 'boolean',
    range: '',
    check: (v) => (typeof v === 'boolean' ? null : `must be true or false, got ${describe(v)}`),
    parseEnv: (text) => {
      const t = text.trim().toLowerCase();
      if (TRUE_WORDS.has(t)) return { ok: true, value: true };
      if (FALSE_WORDS.has(t)) return { ok: true, value: false };
      return { ok: false, message: `must be true or false, got ${JSON.stringify(text)}` };
    },
  });
}

interface StringRules {
  /** Checked after the type; returns a message or null. */
  readonly rule?: (v: string) => string | null;
  /** For the docs. */
  readonly range?: string;
  readonly file?: boolean;
  readonly mask?: (v: string) => string;
}

function stringCheck(rules: StringRules, nullable: boolean) {
  return (v: unknown): string | null => {
    if (nullable && v === null) return null;
    if (typeof v !== 'string') return `must be a string${nullable ? ' or null' : ''}, got ${describe(v)}`;
    if (v.length === 0) return `must not be empty${nullable ? ' (use null to unset)' : ''}`;
    return rules.rule ? rules.rule(v) : null;
  };
}

export function str(opts: LeafOptions<string> & StringRules): Leaf<string> {
  return leaf(opts, {
    type: 'string',
    range: opts.range ?? '',
    file: opts.file,
    check: stringCheck(opts, false),
    parseEnv: (text) => ({ ok: true, value: text }),
    mask: opts.mask,
  });
}

/** A string that may be null (= not set / derived). The literal env value `null` unsets it. */
export function optStr(opts: Omit<LeafOptions<string | null>, 'default'> & StringRules): Leaf<string | null> {
  const mask = opts.mask;
  return leaf<string | null>(
    { ...opts, default: null },
    {
      type: 'string | null',
      range: opts.range ?? '',
      file: opts.file,
      check: stringCheck(opts, true),
      parseEnv: (text) => ({ ok: true, value: text === 'null' ? null : text }),
      mask: mask ? (v) => (v === null ? v : mask(v)) : undefined,
    },
  );
}

export function oneOf<const V extends readonly (string | number)[]>(
  values: V,
  opts: LeafOptions<V[number]>,
): Leaf<V[number]> {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return leaf(opts, {
    type: values.map((v) => `\`${v}\``).join(' | '),
    range: '',
    check: (v) =>
      (values as readonly unknown[]).includes(v) ? null : `must be one of ${list}, got ${describe(v)}`,
    parseEnv: (text) => {
      const found = values.find((v) => String(v) === text.trim());
      return found === undefined
        ? { ok: false, message: `must be one of ${list}, got ${JSON.stringify(text)}` }
        : { ok: true, value: found };
    },
  });
}

/** A list of strings. From env: a JSON array, or comma-separated items. */
export function strList(
  opts: LeafOptions<readonly string[]> & { readonly minItems: number; readonly item?: (v: string) => string | null },
): Leaf<readonly string[]> {
  const check = (v: unknown): string | null => {
    if (!Array.isArray(v)) return `must be a list of strings, got ${describe(v)}`;
    if (v.length < opts.minItems) return `must have at least ${opts.minItems} item(s)`;
    for (const [i, item] of v.entries()) {
      if (typeof item !== 'string' || item.length === 0) return `item ${i} must be a non-empty string, got ${describe(item)}`;
      const bad = opts.item?.(item) ?? null;
      if (bad !== null) return `item ${i} (${JSON.stringify(item)}) ${bad}`;
    }
    return null;
  };
  return leaf(opts, {
    type: 'list of strings',
    range: opts.minItems > 0 ? `≥ ${opts.minItems} item(s)` : '',
    check,
    parseEnv: (text) => {
      const t = text.trim();
      if (!t.startsWith('[')) return { ok: true, value: t.split(',').map((s) => s.trim()) };
      try {
        return { ok: true, value: JSON.parse(t) as unknown };
      } catch {
        return { ok: false, message: `must be a JSON array or comma-separated items, got ${JSON.stringify(text)}` };
      }
    },
  });
}

/**
 * A list of mappings (e.g. `ingest.rules`), each checked by `item`, which returns a message (without the
 * path) or null. The value is kept as written; the code that uses it fills in each item's defaults. From
 * env: a JSON array.
 */
export function mapList<T>(opts: LeafOptions<readonly T[]> & { readonly itemType: string; readonly item: (v: unknown) => string | null }): Leaf<readonly T[]> {
  const check = (v: unknown): string | null => {
    if (!Array.isArray(v)) return `must be a list of ${opts.itemType}, got ${describe(v)}`;
    for (const [i, item] of v.entries()) {
      const bad = opts.item(item);
      if (bad !== null) return `item ${i}: ${bad}`;
    }
    return null;
  };
  return leaf(opts, {
    type: `list of ${opts.itemType}`,
    range: '',
    check,
    parseEnv: (text) => {
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, message: `must be a JSON array of ${opts.itemType}, got ${JSON.stringify(text)}` };
      }
    },
  });
}

/** A fixed value (used for `version`, which migrations bring to the current number before checks). */
export function literal<const V extends number>(value: V, doc: string): Leaf<V> {
  return leaf<V>(
    { default: value, doc },
    {
      type: 'integer',
      range: String(value),
      check: (v) => (v === value ? null : `must be ${value}, got ${describe(v)}`),
      parseEnv: () => ({ ok: false, message: 'cannot be set from the environment' }),
    },
  );
}

export function section<const F extends Fields>(doc: string, fields: F): Section<F> {
  return { kind: 'section', doc, fields };
}

export interface LeafEntry {
  /** Keys from the root, e.g. ['window', 'length']. */
  readonly path: readonly string[];
  // Heterogeneous leaves: each is checked by its own check() before its value is used.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly leaf: Leaf<any>;
}

export interface SectionEntry {
  readonly path: readonly string[];
  readonly section: Section<Fields>;
}

/** Every leaf of a schema, depth first in declaration order. */
export function leaves(root: Section<Fields>, prefix: readonly string[] = []): LeafEntry[] {
  const out: LeafEntry[] = [];
  for (const [key, node] of Object.entries(root.fields)) {
    const path = [...prefix, key];
    if (node.kind === 'leaf') out.push({ path, leaf: node });
    else out.push(...leaves(node, path));
  }
  return out;
}

/** Every section below the root, depth first in declaration order. */
export function sections(root: Section<Fields>, prefix: readonly string[] = []): SectionEntry[] {
  const out: SectionEntry[] = [];
  for (const [key, node] of Object.entries(root.fields)) {
    if (node.kind === 'section') {
      const path = [...prefix, key];
      out.push({ path, section: node }, ...sections(node, path));
    }
  }
  return out;
}

/** The default value tree of a schema. */
export function defaultsOf<F extends Fields>(root: Section<F>): Infer<Section<F>> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(root.fields)) {
    out[key] = node.kind === 'leaf' ? node.default : defaultsOf(node);
  }
  return out as Infer<Section<F>>;
}

export function dotted(path: readonly string[]): string {
  return path.join('.');
}
