/**
 * Which unit a stream's readings are in, for sentences and plots: configured as `pattern=unit` entries
 * (`explain.units`, e.g. `pump-*=bar` or `*temperature*=°C`), `*` matching any characters, letters matched
 * regardless of case (`*temperature*` matches Tasmota's `Room10/Temperature`; tryout 14, finding 8), the first
 * match winning. Optional: a stream without a match has no unit, and nothing says one.
 */

export interface UnitRule {
  readonly pattern: RegExp;
  readonly unit: string;
}

/** Parses `pattern=unit` entries (patterns case-insensitive). Throws on an entry without `=` or with an empty side. */
export function compileUnits(entries: readonly string[]): UnitRule[] {
  return entries.map((entry) => {
    const eq = entry.lastIndexOf('=');
    const glob = eq > 0 ? entry.slice(0, eq).trim() : '';
    const unit = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (glob === '' || unit === '') throw new Error(`unit entry ${JSON.stringify(entry)} must look like pattern=unit, e.g. pump-*=bar`);
    const source = glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return { pattern: new RegExp(`^${source}$`, 'i'), unit };
  });
}

/** The unit of `stream`, or null. */
export function unitOf(rules: readonly UnitRule[], stream: string): string | null {
  for (const r of rules) if (r.pattern.test(stream)) return r.unit;
  return null;
}
