/**
 * Text helpers of the decoders: numbers as devices write them, and payload previews for rejection details.
 * Nothing here recurses or walks a parsed document: a preview is cut from the payload's own text.
 */

export const PREVIEW_CHARS = 64;

const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const DECIMAL_COMMA = /^\s*[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?\s*$/;
const NON_FINITE_TOKEN = /^\s*[+-]?(?:nan|inf|infinity)\s*$/i;

import type { DecimalSeparator } from '../../contract/ingest.js';

export type { DecimalSeparator } from '../../contract/ingest.js';

/** True for text that says "a number, but not a finite one" (`NaN`, `-inf`, `Infinity`). */
export function isNonFiniteToken(text: string): boolean {
  return text.length <= 16 && NON_FINITE_TOKEN.test(text);
}

/**
 * The largest magnitude a reading may have (sensor units): 10^15. No sensor reads more (an energy counter in mWh
 * of a large plant stays below 10^13); beyond it a value is a glitch (1e308 from a broken firmware), and kept
 * in it would overflow a stream's statistics (its square is infinite) and the dashboard's float32 series. Such a
 * reading is rejected `out_of_range`, counted like any other bad input.
 */
export const MAX_ABS_VALUE = 1e15;

/** Whether a finite reading lies beyond ±MAX_ABS_VALUE. */
export function outOfRange(v: number): boolean {
  return Math.abs(v) > MAX_ABS_VALUE;
}

/**
 * A string as a number: decimal notation with `decimal` as the separator (`21,5` with ','), NaN when it
 * is not a number at all, Infinity for a non-finite token. No thousands separators, no hex.
 */
export function numberFromText(text: string, decimal: DecimalSeparator): number {
  if (text.length > 64) return NaN;
  if (decimal === '.') {
    if (DECIMAL.test(text)) return Number(text);
  } else if (DECIMAL_COMMA.test(text)) {
    return Number(text.replace(',', '.'));
  }
  return isNonFiniteToken(text) ? Number.POSITIVE_INFINITY : NaN;
}

/** Whether a JSON value is meant as a number (a number, or a string that reads as one, finite or not). */
export function looksNumeric(v: unknown, decimal: DecimalSeparator): boolean {
  if (typeof v === 'number') return true;
  return typeof v === 'string' && !Number.isNaN(numberFromText(v, decimal));
}

/**
 * A payload as it may appear in a log line: at most 64 characters, control characters, quotes and
 * backslashes escaped, '…' when cut. Looks at no more than the first few hundred characters.
 */
export function preview(text: string): string {
  let out = '';
  let cut = 0; // length of `out` at the last piece boundary that still leaves room for '…'
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += needsEscape(code) ? escapeCode(code) : text[i];
    if (out.length > PREVIEW_CHARS) return `${out.slice(0, cut)}…`;
    if (out.length < PREVIEW_CHARS) cut = out.length;
  }
  return out;
}

/** preview() of a payload's first bytes, decoding no more of the buffer than a preview can show. */
export function previewBytes(payload: Buffer): string {
  return preview(payload.toString('utf8', 0, Math.min(payload.length, 4 * PREVIEW_CHARS)));
}

/** A short, bounded text of a JSON value for a rejection detail: scalars as JSON, containers by kind only. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return preview(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function needsEscape(code: number): boolean {
  return code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff) || code === 0x2028 || code === 0x2029;
}

function escapeCode(code: number): string {
  switch (code) {
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    default:
      return `\\u${code.toString(16).padStart(4, '0')}`;
  }
}
