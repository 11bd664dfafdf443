/**
 * How a sensor's checkpoint is laid out in its `sensor_state` row (format `anomalyd-checkpoint/2`): the state's
 * JSON with its numeric arrays packed, and the rings (arrays under a key `ring`: CycleProfile's held readings,
 * oldest first) written as what was appended since a base written apart (`<sensor>#base`, BASE_SUFFIX). Written by
 * Checkpoints (src/daemon/checkpoints.ts); a row of the format before it (the state's plain JSON, "format 1") is
 * read as it always was.
 *
 * Exactness. decodeCheckpoint(encodeCheckpoint(x)) is the very value JSON.parse(JSON.stringify(x)) is (every
 * number the same double, Object.is): a packed array is one whose every number JSON writes exactly (finite, not
 * -0); an array holding NaN, ±Infinity or -0 stays JSON (null, 0 as before). So a restore reads what it read
 * from format 1, bit for bit, and restarts behave as before. The packing itself (packF64 / unpackF64) is exact
 * for every double, NaN's payload aside (one NaN).
 *
 * Stored: a row's text is stored deflated (DEFLATED: raw deflate, zlib level 1), its base's too.
 *
 * Why: the periodic checkpoint (store.checkpointIntervalMs, 60 s) rewrote each 1 Hz stream's whole state, ~48 to
 * 73 kB of JSON after 3,000 readings, much of it the cycle finder's ring of 2,048 readings as decimal text (~18
 * bytes a number); as float64 in base64 a number is 10.7 bytes, of a ring only the readings appended since its
 * base are written, and deflate halves the rest (scripts/checkpoint-day.mjs, BENCHMARKS.md).
 */

import * as nodeCrypto from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** The format of a checkpoint row written by this module (the first key of its JSON). */
export const CHECKPOINT_FORMAT = 'anomalyd-checkpoint/2';
/** The format of a base row (`<sensor>#base`). */
export const BASE_FORMAT = 'anomalyd-checkpoint-base/2';
/** Where a sensor's base (its rings as of the base) is stored: the row of `<sensor>#base` (a sensor id never holds `#`). */
export const BASE_SUFFIX = '#base';

/** How every format-2 row's text begins (JSON.stringify writes keys in insertion order): tells it from a format-1 row. */
const PREFIX = `{"format":"${CHECKPOINT_FORMAT}",`;
/**
 * How a row stored compressed begins (a format-1 row is JSON text, `{`): then raw deflate (RFC 1951, zlib level 1)
 * of its text. Exact by construction; it halves a row of packed numbers (their base64 and the JSON around them).
 */
const DEFLATED = Buffer.from([0x00, 0x61, 0x63, 0x32]);

/**
 * The UTF-8 bytes of the row text being deflated (storeText): grown as needed, never shrunk (as large as the largest
 * row written, ~73 kB for a 1 Hz stream after 3,000 readings), so a checkpoint of many sensors makes no Buffer of
 * each row's text.
 */
let textBytes = Buffer.alloc(0);

/**
 * The output chunk zlib is given for a row of `n` bytes of text (bytes): half the text and a little, which holds a
 * row's deflated text (deflate halves a row of packed numbers; a larger one takes more chunks of this size, joined).
 * zlib's default is a fresh 16 kB chunk a call, which the deflated row then kept alive as a slice of it until it was
 * copied: with a Buffer of each row's text, ~38 kB of ArrayBuffers a young sensor's row (15 kB of text, 7 kB deflated)
 * for the collector, ~15 kB this way (a save of 1,000 such sensors: the main thread's malloc 1.5-2.6 MB less after it,
 * BENCHMARKS.md, branch `memheap`). The deflated bytes do not depend on the chunk's size (zlib's stream is the same
 * however its output is split).
 */
const deflateChunk = (n: number): number => Math.max(64, (n >>> 1) + 64);

/**
 * A row's stored bytes: DEFLATED and its text deflated (raw deflate, zlib level 1), in one Buffer of their size.
 * Allocates that Buffer and zlib's output chunk (deflateChunk), not a Buffer of the text.
 */
function storeText(text: string): Buffer {
  const n = Buffer.byteLength(text, 'utf8');
  if (textBytes.length < n) textBytes = Buffer.alloc(Math.max(n, 2 * textBytes.length, 4096));
  textBytes.write(text, 0, n, 'utf8');
  const deflated = deflateRawSync(textBytes.subarray(0, n), { level: 1, chunkSize: deflateChunk(n) });
  const blob = Buffer.allocUnsafe(DEFLATED.length + deflated.length);
  DEFLATED.copy(blob, 0);
  deflated.copy(blob, DEFLATED.length);
  return blob;
}

/**
 * A row's text (inflated when stored so). Throws on a malformed compressed row. zlib's output chunk is four times
 * the deflated bytes (a row's text is about twice them), not its default fresh 16 kB (see deflateChunk).
 */
function textOf(blob: Buffer): string {
  if (blob.length >= DEFLATED.length && blob.subarray(0, DEFLATED.length).equals(DEFLATED)) {
    const deflated = blob.subarray(DEFLATED.length);
    return inflateRawSync(deflated, { chunkSize: Math.max(1024, 4 * deflated.length) }).toString('utf8');
  }
  return blob.toString('utf8');
}

/** Arrays of fewer numbers stay JSON (a packed one's wrapper costs ~12 bytes). */
const PACK_MIN = 4;
/** A ring shorter than this is packed in place, not against a base (the model stage's window of 64 readings is, at 1 Hz nearly all of it new each minute). */
const RING_MIN = 256;
/** The key under which an array is a ring (appended at its end, dropped from its start). */
const RING_KEY = 'ring';

/** Whether this machine's float64s are little-endian (their bytes then are the packed bytes as they are). */
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * A scratch buffer packF64 writes through (grown as needed, never shrunk: as large as the largest array packed,
 * a ring of 2,048 readings 16 kB): a checkpoint of many sensors packs without a new ArrayBuffer per array.
 */
let scratch = Buffer.alloc(0);

/** Float64 values as base64 of their little-endian bytes: 10.7 characters a number, exact for every double. */
export function packF64(values: ArrayLike<number>): string {
  const n = values.length * 8;
  if (scratch.length < n) scratch = Buffer.alloc(Math.max(n, 2 * scratch.length, 1024));
  if (LITTLE_ENDIAN) {
    new Float64Array(scratch.buffer, scratch.byteOffset, values.length).set(values);
  } else {
    for (let i = 0; i < values.length; i++) scratch.writeDoubleLE(values[i], i * 8);
  }
  return scratch.toString('base64', 0, n);
}

/** The numbers of packF64's text. Throws when it is not whole float64s. */
export function unpackF64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0) throw new Error('checkpoint: a packed array is not whole float64s');
  if (LITTLE_ENDIAN) {
    const f = new Float64Array(bytes.length / 8);
    new Uint8Array(f.buffer).set(bytes);
    return Array.from(f);
  }
  const out = new Array<number>(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}

/** Whether JSON writes this number as itself (a finite number other than -0). */
const exactInJson = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && !Object.is(x, -0);

/** The rings of a sensor's last base, by path (`/scorer/cycles/0/ring`), and the base's id. */
export interface RingBase {
  readonly id: string;
  readonly rings: ReadonlyMap<string, Float64Array>;
}

/** One encoded checkpoint. */
export interface EncodedCheckpoint {
  /** The row's blob (its text deflated; made when first read). */
  readonly blob: Buffer;
  /** The sha1 of the row's text (rowDigest of the blob): a row the same as one written before need not be made. */
  readonly sha: string;
  /**
   * The rings found, by path, when the row was written against no base or against a new one (`rebase`); null when
   * it refers to `base` as given.
   */
  readonly rings: Map<string, Float64Array> | null;
  /** The base the row refers to (null: none, it stands alone). */
  readonly baseId: string | null;
}

/** A packed array: `$f64` the numbers (rows of `$cols` numbers when set), `$ring`/`$skip` a ring's base and readings dropped from its start. */
interface Packed {
  $f64: string;
  $cols?: number;
  $ring?: string;
  $skip?: number;
}

/** The flat numbers of an array of numbers, or of an array of equal-length arrays of numbers; null when neither (or one JSON would not write exactly). */
function numbersOf(a: readonly unknown[]): { flat: number[]; cols: number } | null {
  if (a.length === 0) return null;
  if (Array.isArray(a[0])) {
    const cols = (a[0] as unknown[]).length;
    if (cols === 0 || cols > 16) return null;
    const flat = new Array<number>(a.length * cols);
    for (let i = 0; i < a.length; i++) {
      const row = a[i];
      if (!Array.isArray(row) || row.length !== cols) return null;
      for (let j = 0; j < cols; j++) {
        const x: unknown = row[j];
        if (!exactInJson(x)) return null;
        flat[i * cols + j] = x;
      }
    }
    return { flat, cols };
  }
  for (const x of a) if (!exactInJson(x)) return null;
  return { flat: a as number[], cols: 0 };
}

/**
 * Whether JSON writes these numbers in at least `limit` characters (what packing must beat); it stops counting
 * once there.
 */
function jsonAtLeast(flat: readonly number[], rows: number, cols: number, limit: number): boolean {
  let n = 2 + Math.max(0, rows - 1);
  if (cols > 0) n += rows * (2 + cols - 1);
  for (let i = 0; i < flat.length && n < limit; i++) n += String(flat[i]).length;
  return n >= limit;
}

/**
 * How many readings `ring` dropped from the start of `base` (what stays is its start, what follows was appended):
 * the smallest such count, or -1 when `ring` is not `base` moved on.
 */
function ringSkip(base: Float64Array, ring: readonly number[]): number {
  const L = base.length;
  // The drop is at most L; try each start where ring[0] sits in base (a ring of one repeated value matches at 0).
  let tries = 0;
  for (let s = 0; s <= L; s++) {
    if (s < L && base[s] !== ring[0]) continue;
    if (L - s > ring.length) continue;
    if (++tries > 16) return -1;
    let same = true;
    for (let i = s; i < L && same; i++) same = base[i] === ring[i - s];
    if (same) return s;
  }
  return -1;
}

/**
 * Encodes a sensor's state (any JSON-serialisable value: JSON.stringify's rules) as a format-2 row. Its rings of
 * at least RING_MIN numbers are written against `base` (the sensor's last base, null for none): a ring that is
 * its base's moved on as the readings appended since (and how many it dropped), another packed whole. Once that
 * writes more than half the numbers the base holds, or without a base, the row is written against a new one
 * (id `newBaseId`) of the rings found, returned in `rings`: the caller writes it (baseRow) in the same
 * transaction. With `rings: 'inline'` every ring is packed in place: a row that stands alone (an evicted
 * sensor's). Returns null when the state holds an object keyed `$f64` (it could not be told from a packed
 * array): the caller writes format 1.
 */
export function encodeCheckpoint(state: unknown, base: RingBase | null, newBaseId: string, rings: 'base' | 'inline' = 'base'): EncodedCheckpoint | null {
  const found = new Map<string, { flat: readonly number[]; slot: Packed }>();
  let clash = false;
  // The keys from the state down to the value walked: a ring's path is made of them (`/scorer/cycles/0/ring`), no
  // other path is made.
  const keys: string[] = [];
  // The state with its arrays of numbers packed and its rings as slots filled below, by JSON.stringify's rules
  // (toJSON called with its key; what JSON leaves out or writes as null is kept as it is, and JSON does the same
  // to it): then one JSON.stringify without a replacer (a replacer is several times slower). Only what changes is
  // copied: an object or array none of whose values changed (nothing packed, no toJSON below it) is the state's
  // own, which JSON.stringify writes as it would have (a checkpoint of thousands of young sensors allocates a
  // fraction of a copy per sensor: BENCHMARKS.md, branch `ckptmem`).
  const walk = (value: unknown, key: string): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const withJson = value as { toJSON?: unknown };
    if (typeof withJson.toJSON === 'function') return walk((withJson.toJSON as (k: string) => unknown).call(value, key), key);
    if (Array.isArray(value)) {
      const nums = value.length >= PACK_MIN ? numbersOf(value) : null;
      if (nums === null) {
        let out: unknown[] | null = null;
        for (let i = 0; i < value.length; i++) {
          const x: unknown = value[i];
          if (typeof x !== 'object' || x === null) continue;
          const k = String(i);
          keys.push(k);
          const y = walk(x, k);
          keys.pop();
          if (y !== x) (out ??= value.slice())[i] = y;
        }
        return out ?? value;
      }
      if (rings === 'base' && key === RING_KEY && nums.cols === 0 && nums.flat.length >= RING_MIN) {
        const slot: Packed = { $f64: '' };
        found.set(`/${keys.join('/')}`, { flat: nums.flat, slot });
        return slot;
      }
      const wrapper = nums.cols === 0 ? 12 : 22;
      const packedLength = 4 * Math.ceil((nums.flat.length * 8) / 3);
      if (!jsonAtLeast(nums.flat, value.length, nums.cols, packedLength + wrapper + 1)) return value;
      const text = packF64(nums.flat);
      return nums.cols === 0 ? ({ $f64: text } satisfies Packed) : ({ $f64: text, $cols: nums.cols } satisfies Packed);
    }
    if (Object.prototype.hasOwnProperty.call(value, '$f64')) clash = true;
    let out: Record<string, unknown> | null = null;
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
      const x = obj[k];
      if (typeof x !== 'object' || x === null) continue;
      keys.push(k);
      const y = walk(x, k);
      keys.pop();
      if (y !== x) (out ??= { ...obj })[k] = y;
    }
    return out ?? value;
  };
  const copy = walk(state, '');
  if (clash) return null;
  // The rings against the base: how many readings each dropped from its base's start (-1: not its base's moved on).
  let written = 0;
  const skips = new Map<string, number>();
  for (const [path, { flat }] of found) {
    const was = base?.rings.get(path);
    const skip = was === undefined ? -1 : ringSkip(was, flat);
    skips.set(path, skip);
    written += skip < 0 ? flat.length : flat.length - (was!.length - skip);
  }
  // A new base once writing the rings against the old one costs half of writing them whole: with 60 of a 2,048
  // readings' ring appended a save, every 17 saves.
  let held = 0;
  for (const ring of base?.rings.values() ?? []) held += ring.length;
  const rebase = found.size > 0 && (base === null || written > held / 2);
  const against = rebase || rings === 'inline' ? null : base;
  for (const [path, { flat, slot }] of found) {
    const skip = rebase ? 0 : skips.get(path)!;
    if (skip < 0) {
      slot.$f64 = packF64(flat);
      continue;
    }
    const kept = rebase ? flat.length : base!.rings.get(path)!.length - skip;
    slot.$f64 = packF64(flat.slice(kept));
    slot.$ring = path;
    slot.$skip = skip;
  }
  const baseId = rebase ? newBaseId : (against?.id ?? null);
  const text = JSON.stringify({ format: CHECKPOINT_FORMAT, base: baseId, state: copy });
  const newRings = rebase ? new Map([...found].map(([path, { flat }]) => [path, Float64Array.from(flat)])) : null;
  return new EncodedRow(text, newRings, baseId);
}

/**
 * An encoded checkpoint whose blob is made when first read (a row found unchanged is never deflated). A class, so
 * that the lazy blob is one getter on its prototype. An object literal with its own `get blob()` per row (as
 * before) is made by V8 in dictionary mode, and what it held (the row's text, its closure) was promoted to old
 * space instead of dying young: a save of 20,000 one-reading sensors promoted 50 MB (main 17 MB), freed only by
 * mark-compacts; under the hostile flood that was the daemon's transient peak (BENCHMARKS.md, branch `ckptmem`;
 * a micro-benchmark of 200,000 such rows of 3 kB: 44 mark-compacts, with this class 1).
 */
class EncodedRow implements EncodedCheckpoint {
  readonly sha: string;
  private made: Buffer | null = null;

  constructor(
    private readonly text: string,
    readonly rings: Map<string, Float64Array> | null,
    readonly baseId: string | null,
  ) {
    this.sha = sha1(text);
  }

  get blob(): Buffer {
    return (this.made ??= storeText(this.text));
  }
}

/** The base row of rings (the second half of a rebase). */
export function baseRow(id: string, rings: ReadonlyMap<string, Float64Array>): Buffer {
  const packed: Record<string, string> = {};
  for (const [path, ring] of rings) packed[path] = packF64(ring);
  return storeText(JSON.stringify({ format: BASE_FORMAT, id, rings: packed }));
}

/** Reads a base row (baseRow); throws on a malformed one. */
export function readBase(blob: Buffer): RingBase {
  const o = JSON.parse(textOf(blob)) as unknown;
  if (typeof o !== 'object' || o === null) throw new Error('checkpoint base: not an object');
  const { format, id, rings } = o as { format?: unknown; id?: unknown; rings?: unknown };
  if (format !== BASE_FORMAT || typeof id !== 'string' || typeof rings !== 'object' || rings === null) throw new Error(`checkpoint base: not an ${BASE_FORMAT} row`);
  const out = new Map<string, Float64Array>();
  for (const [path, text] of Object.entries(rings)) {
    if (typeof text !== 'string') throw new Error('checkpoint base: a ring is not packed');
    out.set(path, Float64Array.from(unpackF64(text)));
  }
  return { id, rings: out };
}

/** The sha1 (hex) of a row's text, whatever its format: a row made again of an unchanged state has the same. */
export function rowDigest(blob: Buffer): string {
  return sha1(textOf(blob));
}

/** crypto.hash (Node ≥ 20.12): a one-shot digest without a Hash object per row. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha1 = (text: string): string => (oneShot !== undefined ? oneShot('sha1', text, 'hex') : nodeCrypto.createHash('sha1').update(text).digest('hex'));

/** Whether a row is format 2 (else it is a format-1 row: the state's plain JSON). Throws on a malformed compressed row. */
export function isFormat2(blob: Buffer): boolean {
  return textOf(blob).startsWith(PREFIX);
}

/**
 * Whether a row holds an evicted sensor's checkpoint (`{ evicted, state }`: checkpoints.ts saveEvicted), told from
 * the start of its text without parsing the state: a daemon that evicted thousands of junk streams read and parsed
 * every one of them at each start (tryout 18: 8.5 s for 5,184). Format 2 rows are written by one JSON.stringify of
 * `{ format, base, state }`, and an evicted state's first key is `evicted`; a format-1 row is the state's JSON.
 * Throws on a malformed compressed row.
 */
export function isEvictedRow(blob: Buffer): boolean {
  const text = textOf(blob);
  if (!text.startsWith(PREFIX)) return text.startsWith('{"evicted":');
  const at = text.indexOf(',"state":');
  return at >= 0 && at < 128 && text.startsWith('{"evicted":', at + ',"state":'.length);
}

/** The base id a format-2 row refers to (null: it stands alone, or it is format 1). Throws on a malformed row. */
export function baseIdOf(blob: Buffer): string | null {
  const text = textOf(blob);
  if (!text.startsWith(PREFIX)) return null;
  const o = JSON.parse(text) as { base?: unknown };
  return typeof o.base === 'string' ? o.base : null;
}

/**
 * A row's state: a format-2 row decoded (its rings from `base`, the sensor's base row, which must be the one it
 * names), a format-1 row parsed as it is. Throws on anything malformed, and on a row whose base is missing or
 * another.
 */
export function decodeCheckpoint(blob: Buffer, base: RingBase | null = null): unknown {
  const text = textOf(blob);
  if (!text.startsWith(PREFIX)) return JSON.parse(text) as unknown;
  const o = JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, '$f64')) return value;
    const p = value as Partial<Packed>;
    if (typeof p.$f64 !== 'string') throw new Error('checkpoint: a packed array is not text');
    const flat = unpackF64(p.$f64);
    if (p.$ring !== undefined) {
      const was = base?.rings.get(p.$ring);
      if (was === undefined) throw new Error(`checkpoint: the base of ring ${p.$ring} is missing`);
      const skip = p.$skip;
      if (typeof skip !== 'number' || !Number.isInteger(skip) || skip < 0 || skip > was.length) throw new Error('checkpoint: a ring skips what its base does not hold');
      return [...Array.from(was.subarray(skip)), ...flat];
    }
    if (p.$cols === undefined) return flat;
    const cols = p.$cols;
    if (!Number.isInteger(cols) || cols < 1 || flat.length % cols !== 0) throw new Error('checkpoint: a packed table is not whole rows');
    const rows: number[][] = [];
    for (let i = 0; i < flat.length; i += cols) rows.push(flat.slice(i, i + cols));
    return rows;
  }) as { format?: unknown; base?: unknown; state?: unknown };
  if (o.base !== null && o.base !== (base?.id ?? null)) throw new Error(`checkpoint: it refers to base ${JSON.stringify(o.base)}, the stored base is ${base?.id ?? 'none'}`);
  return o.state;
}
