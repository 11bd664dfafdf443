/**
 * Loads the configuration: defaults < file < environment < overrides. Reports every problem of
 * every source at once and returns a deeply frozen Config. Its only I/O is reading the file (and
 * checking that files named by settings such as mqtt.ca exist), so the daemon can refuse a bad
 * config before it opens anything.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { defaultsOf, dotted, leaves, type DeepPartial } from './dsl.js';
import { envLayer } from './env.js';
import { migrate } from './migrate.js';
import { crossRules, schema, type Config } from './schema.js';
import { deepFreeze, deepMerge, validateLayer, type LayerResult } from './validate.js';

export interface LoadOptions {
  /** Config file; else env ANOMALYD_CONFIG; else the package's config/default.yaml if present; else defaults only. */
  readonly path?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Applied last, e.g. from command-line flags. */
  readonly overrides?: DeepPartial<Config>;
  /** Base for relative file paths (config file, mqtt.ca, ...). Defaults to process.cwd(). */
  readonly cwd?: string;
}

export type LoadResult =
  | { readonly ok: true; readonly config: Config; readonly file: string | null }
  | { readonly ok: false; readonly errors: readonly string[]; readonly file: string | null };

/** The package's own default file, found relative to this module in both src/ and dist/. */
export const PACKAGE_DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

function chooseFile(opts: LoadOptions, cwd: string): string | null {
  const named = opts.path ?? (opts.env.ANOMALYD_CONFIG || undefined);
  if (named !== undefined) return resolve(cwd, named);
  return existsSync(PACKAGE_DEFAULT_CONFIG) ? PACKAGE_DEFAULT_CONFIG : null;
}

interface FileRead {
  readonly raw: unknown;
  readonly errors: readonly string[];
}

function readYaml(file: string): FileRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { raw: {}, errors: [`${file}: cannot read config file: ${(err as Error).message}`] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    return {
      raw: {},
      errors: doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        return `${file}:${at.line}:${at.col}: YAML ${e.message}`;
      }),
    };
  }
  return { raw: doc.toJS() as unknown, errors: [] };
}

/** When the file cannot be used at all, rules over several settings would only add noise. */
function unusable(errors: readonly string[]): LayerResult {
  return { values: {}, errors, invalid: leaves(schema).map((e) => dotted(e.path)) };
}

function fileLayer(file: string | null): LayerResult {
  if (file === null) return { values: {}, errors: [], invalid: [] };
  const read = readYaml(file);
  if (read.errors.length > 0) return unusable(read.errors);
  const migrated = migrate(read.raw);
  if (migrated.errors.length > 0) return unusable(migrated.errors);
  return validateLayer(schema, migrated.value, dotted);
}

function crossErrors(config: Config, invalid: ReadonlySet<string>): string[] {
  return crossRules
    .filter((rule) => rule.inputs.every((p) => !invalid.has(p)))
    .flatMap((rule) => rule.check(config).map(([path, message]) => `${path}: ${message}`));
}

function missingFileErrors(config: Config, cwd: string): string[] {
  const errors: string[] = [];
  for (const { path, leaf } of leaves(schema)) {
    if (!leaf.file) continue;
    let value: unknown = config;
    for (const key of path) value = (value as Record<string, unknown>)[key];
    if (typeof value !== 'string') continue;
    const full = resolve(cwd, value);
    let isFile = false;
    try {
      isFile = statSync(full).isFile();
    } catch {
      // Missing or unreadable directory: reported below as not found.
    }
    if (!isFile) errors.push(`${dotted(path)}: file not found: ${full}`);
  }
  return errors;
}

export function loadConfig(opts: LoadOptions): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const file = chooseFile(opts, cwd);
  const layers = [
    fileLayer(file),
    envLayer(schema, opts.env),
    validateLayer(schema, opts.overrides ?? {}, (path) => `override ${dotted(path)}`),
  ];
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer.values), defaultsOf(schema));
  // Copy so that freezing never touches the caller's overrides or the schema's default lists.
  const config = structuredClone(merged) as Config;
  const invalid = new Set(layers.flatMap((l) => l.invalid));
  const errors = [...layers.flatMap((l) => l.errors), ...crossErrors(config, invalid), ...missingFileErrors(config, cwd)];
  return errors.length > 0 ? { ok: false, errors, file } : { ok: true, config: deepFreeze(config), file };
}
