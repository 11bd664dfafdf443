/**
 * Times and durations as people type them, one reading for the CLI and the HTTP API alike:
 * an age before now (`90s`, `30m`, `24h`, `7d`, `1.5h`), an ISO 8601 date or time (`2026-06-01`,
 * `2026-06-01T10:30`, `2026-06-01T10:30:00+02:00`; without an offset it is UTC, as in the ingest parser),
 * or epoch milliseconds.
 */

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
/** An ISO 8601 date or date-time; group 1 its offset: Z (UTC, either case), +hh:mm, +hhmm or +hh, either sign. */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const EPOCH_MS = /^\d{1,16}$/;
/** Year 275760, the largest time a Date can hold: anything beyond is a typo. */
const MAX_TS = 8.64e15;

/** Milliseconds of a duration such as `90s`, `30m`, `24h`, `7d`, `1.5h`; null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  return m === null ? null : Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/**
 * Epoch ms of an age before `now` (epoch ms), an ISO 8601 time or epoch milliseconds; null when the text
 * is none of them or out of range.
 */
export function parseSince(text: string, now: number): number | null {
  const t = text.trim();
  const age = parseDuration(t);
  if (age !== null) return now - age;
  let ms = NaN;
  if (EPOCH_MS.test(t)) ms = Number(t);
  else {
    const iso = ISO.exec(t);
    if (iso === null) return null;
    const hasTime = /[T ]\d/.test(t);
    const offset = iso[1];
    // Date.parse takes Z and ±hh:mm; an offset of whole hours (+02) or without its colon (+0200) is written so.
    const body = (offset === undefined ? t : t.slice(0, -offset.length)).replace(' ', 'T');
    const zone = offset === undefined ? (hasTime ? 'Z' : '') : offset.toUpperCase() === 'Z' ? 'Z' : `${offset.slice(0, 3)}:${offset.length > 3 ? offset.slice(-2) : '00'}`;
    ms = Date.parse(`${body}${zone}`);
  }
  return Number.isFinite(ms) && ms <= MAX_TS ? ms : null;
}

/** How the accepted forms are described in error messages and help texts. */
export const SINCE_FORMS = 'an age (90s, 30m, 24h, 7d), an ISO 8601 time (2026-01-31T12:00Z) or epoch milliseconds';
