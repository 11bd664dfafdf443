/**
 * The CSV input flags `anomalyd train` and `anomalyd replay` share, with their help text built from the
 * reader's own lists, so the two commands, the reader and docs/CSV.md say the same thing.
 */
import { TIME_COLUMNS } from '../csv/table.js';
import { resolveTimeZone } from '../csv/time.js';

/** parseArgs options for the CSV flags. */
export const CSV_OPTIONS = {
  'timestamp-column': { type: 'string' },
  columns: { type: 'string' },
  timezone: { type: 'string' },
} as const;

/** Help lines for CSV_OPTIONS, indented like the commands' other options. */
export const CSV_INPUT_HELP = `  --timestamp-column NAME   time column: epoch s, ms or µs (told apart by size) or ISO 8601; default: the
                            first column named ${TIME_COLUMNS.join(', ')} (any case); 'none': no times
  --columns a,b             value columns, in this order (default: the column 'value' if there is one,
                            else every column holding data but the time and an index column)
  --timezone ZONE           zone of ISO 8601 times written without an offset (Z, +hh:mm, +hhmm or +hh
                            is one, as in 2026-11-30T10:00:00Z: such times need no zone): local (this
                            machine's zone), UTC, or a name such as Europe/Berlin (default: local;
                            replay takes the config's ingest.timezone when it is set)
`;

/** The CSV flags, checked. */
export interface CsvFlags {
  /** undefined = the reader's default; null = the file has no time column. */
  readonly timeColumn: string | null | undefined;
  readonly columns: string[] | undefined;
  /** 'local', 'UTC' or an IANA name. */
  readonly timeZone: string;
}

/** Reads the CSV flags from parseArgs values. Throws Error with a message for the user (an unknown zone). */
export function csvFlags(values: { 'timestamp-column'?: string; columns?: string; timezone?: string }): CsvFlags {
  const column = values['timestamp-column'];
  let timeZone: string;
  try {
    timeZone = resolveTimeZone(values.timezone ?? 'local');
  } catch (err) {
    throw new Error(`--timezone: ${(err as Error).message}`);
  }
  return {
    timeColumn: column === 'none' ? null : column,
    columns: values.columns?.split(',').map((c) => c.trim()).filter((c) => c !== ''),
    timeZone,
  };
}
