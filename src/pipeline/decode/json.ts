/**
 * JSON as untrusted input: the nesting is measured on the bytes before JSON.parse builds anything, so a
 * payload such as `[[[[…` 100,000 deep is refused in one flat pass, and nothing that reads the parsed
 * document afterwards (field walks, previews) can be driven into deep recursion.
 */

/** Containers deeper than this are `too_deep`: no device payload nests more than a few levels. */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/**
 * The deepest nesting of `[`/`{` outside strings, counting stops once past `limit` (returns limit + 1).
 * Unbalanced or broken JSON is measured all the same; JSON.parse rejects it afterwards.
 */
export function jsonDepth(b: Buffer, limit = MAX_JSON_DEPTH): number {
  return scan(b, limit).max;
}

/**
 * One flat pass over the bytes: the deepest nesting (stops once past `limit`), and whether the brackets outside
 * strings balance and every string is closed. Balanced is necessary for JSON, not sufficient.
 */
function scan(b: Buffer, limit: number): { readonly max: number; readonly balanced: boolean } {
  let depth = 0;
  let max = 0;
  let balanced = true;
  const n = b.length;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) {
      // Skip the string; an escape hides the next byte (so \" does not end it).
      for (i++; i < n; i++) {
        const s = b[i];
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (i >= n) balanced = false;
    } else if (c === LBRACKET || c === LBRACE) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return { max, balanced: false };
      }
    } else if (c === RBRACKET || c === RBRACE) {
      if (--depth < 0) balanced = false;
    }
  }
  return { max, balanced: balanced && depth === 0 };
}

/** JSON's whitespace (RFC 8259: space, tab, LF, CR). */
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * Whether `b` may be a JSON text, by its first and last bytes other than whitespace: a JSON text starts with `{`, `[`,
 * `"`, `-`, a digit, `t`, `f` or `n` and ends with the matching `}`, `]`, `"`, or a digit, `e` (true, false) or `l`
 * (null). A payload that fails this is not JSON: told so without JSON.parse, whose SyntaxError (a stack trace and a
 * formatted message) costs 20–30 µs, fifteen times a small valid parse: a flood of junk payloads would otherwise
 * spend most of the daemon's time making errors nobody reads (tryout 18, finding 7).
 */
function mayBeJson(b: Buffer): boolean {
  let i = 0;
  let j = b.length - 1;
  while (i <= j && isSpace(b[i])) i++;
  while (j >= i && isSpace(b[j])) j--;
  if (i > j) return false;
  const first = b[i];
  const last = b[j];
  const digit = (c: number): boolean => c >= 0x30 && c <= 0x39;
  if (first === LBRACE) return last === RBRACE;
  if (first === LBRACKET) return last === RBRACKET;
  if (first === QUOTE) return last === QUOTE && j > i;
  if (first === 0x2d /* - */ || digit(first)) return digit(last);
  if (first === 0x74 /* t */ || first === 0x66 /* f */) return last === 0x65 /* e */;
  if (first === 0x6e /* n */) return last === 0x6c /* l */;
  return false;
}

export type JsonDoc = { readonly ok: true; readonly doc: unknown } | { readonly ok: false; readonly tooDeep: boolean };

const NOT_JSON: JsonDoc = Object.freeze({ ok: false, tooDeep: false });
const TOO_DEEP: JsonDoc = Object.freeze({ ok: false, tooDeep: true });

/**
 * JSON.parse of the payload, refused before parsing when nested deeper than `limit`. A payload whose bytes cannot be
 * JSON (mayBeJson, unbalanced brackets or an unclosed string) is `ok: false` without calling JSON.parse; one that
 * passes and still fails JSON.parse is parsed with no stack trace captured for its error (Error.stackTraceLimit 0
 * for the call, restored after: nothing reads that error). The result is the same as JSON.parse's either way.
 */
export function parseJson(payload: Buffer, text: string, limit = MAX_JSON_DEPTH): JsonDoc {
  const shape = scan(payload, limit);
  if (shape.max > limit) return TOO_DEEP;
  if (!shape.balanced || !mayBeJson(payload)) return NOT_JSON;
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return { ok: true, doc: JSON.parse(text) as unknown };
  } catch {
    return NOT_JSON;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Own enumerable keys of a parsed object. JSON.parse makes `__proto__` an ordinary own key (it does not
 * set the prototype), and nothing here ever assigns by a payload's key, so such keys are plain fields.
 */
export function ownKeys(o: JsonObject): string[] {
  return Object.keys(o);
}
