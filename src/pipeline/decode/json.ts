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
  let depth = 0;
  let max = 0;
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
    } else if (c === LBRACKET || c === LBRACE) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === RBRACKET || c === RBRACE) {
      depth--;
    }
  }
  return max;
}

export type JsonDoc = { readonly ok: true; readonly doc: unknown } | { readonly ok: false; readonly tooDeep: boolean };

/** JSON.parse of the payload, refused before parsing when nested deeper than `limit`. */
export function parseJson(payload: Buffer, text: string, limit = MAX_JSON_DEPTH): JsonDoc {
  if (jsonDepth(payload, limit) > limit) return { ok: false, tooDeep: true };
  try {
    return { ok: true, doc: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, tooDeep: false };
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
