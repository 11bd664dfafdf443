/**
 * The evidence an open episode keeps of its readings, for a new normal to teach (src/pipeline/scorer.ts,
 * `episodeEvidence`): per reading and per kind of evidence, one value per channel, or nothing (the kind said
 * nothing at that reading). An episode keeps up to `alerts.newNormalAfter` readings (default 1,000).
 *
 * Memory. One buffer per stream of readings × kinds × C doubles, grown by doubling (from 16 readings), and a mask
 * of the kinds present per reading; released when the episode ends. A record of ten arrays per reading cost about
 * 1 kB for one channel (each typed array ~100 bytes of objects besides its values): 1 MB per stream at 1,000
 * readings. Here it is 80 bytes (10 kinds × 8) and 2 for the mask: 82 kB.
 */

const EMPTY = new Float64Array(0);
/** The packed form's tag (KeptEvidence.pack). */
const PACKED_FORMAT = 'f64le/1';

/** What KeptEvidence.pack gives: a checkpoint's compact form of the kept readings. */
export interface PackedEvidence {
  readonly packed: typeof PACKED_FORMAT;
  /** Readings kept. */
  readonly readings: number;
  /** Base64 of one little-endian uint16 per reading: bit k set when kind k is present. */
  readonly mask: string;
  /** Base64 of little-endian float64: the present kinds' C values per reading, in reading, kind, channel order. */
  readonly values: string;
}

/** Set bits of a 16-bit mask. */
function popcount(x: number): number {
  let n = 0;
  for (let b = x; b !== 0; b &= b - 1) n++;
  return n;
}
const EMPTY_MASK = new Uint16Array(0);
/** Readings the buffer holds when first made. */
const START = 16;

export class KeptEvidence {
  private data: Float64Array = EMPTY;
  /** Per reading, bit k set when kind k is present. */
  private mask: Uint16Array = EMPTY_MASK;
  private n = 0;

  /**
   * @param kinds kinds of evidence per reading (at most 16)
   * @param C channels: every kind present at a reading has C values
   * @throws RangeError when kinds is not in [1, 16] or C < 1
   */
  constructor(
    readonly kinds: number,
    readonly C: number,
  ) {
    if (!(kinds >= 1 && kinds <= 16) || !(C >= 1)) throw new RangeError(`kept evidence: kinds must be in [1, 16] and C >= 1, got ${kinds}, ${C}`);
  }

  /** Readings kept. */
  get length(): number {
    return this.n;
  }

  /** Readings the buffer has room for (memory; 0 when nothing is kept). */
  get capacity(): number {
    return this.mask.length;
  }

  /**
   * Keeps a copy of one reading's evidence: `kind(k)` is kind k's C values, or null. Returns the reading's index.
   * @throws RangeError when a kind's values are not C long
   */
  push(kind: (k: number) => ArrayLike<number> | null): number {
    const i = this.n;
    if (i === this.mask.length) this.grow();
    const stride = this.kinds * this.C;
    let bits = 0;
    for (let k = 0; k < this.kinds; k++) {
      const v = kind(k);
      if (v === null) continue;
      if (v.length !== this.C) throw new RangeError(`kept evidence: kind ${k} has ${v.length} values, not ${this.C}`);
      bits |= 1 << k;
      const at = i * stride + k * this.C;
      for (let c = 0; c < this.C; c++) this.data[at + c] = v[c];
    }
    this.mask[i] = bits;
    this.n = i + 1;
    return i;
  }

  /** Kind k's values at reading i (a view of the buffer, valid until the next push or clear), or null. */
  view(i: number, k: number): Float64Array | null {
    if (!(i >= 0 && i < this.n) || (this.mask[i] & (1 << k)) === 0) return null;
    const at = (i * this.kinds + k) * this.C;
    return this.data.subarray(at, at + this.C);
  }

  /**
   * The kept readings in a compact form for a checkpoint: `mask` is each reading's kinds present (base64 of
   * little-endian uint16, one per reading), `values` the present kinds' C values per reading in reading, kind,
   * channel order (base64 of little-endian float64, NaN kept as NaN). About 1.33 × (2 + 8 · present kinds · C)
   * bytes a reading, where numbers as JSON text took about 300 for one channel.
   */
  pack(): PackedEvidence {
    let present = 0;
    for (let i = 0; i < this.n; i++) present += popcount(this.mask[i]);
    const mask = Buffer.alloc(2 * this.n);
    const values = Buffer.alloc(8 * present * this.C);
    let at = 0;
    for (let i = 0; i < this.n; i++) {
      mask.writeUInt16LE(this.mask[i], 2 * i);
      for (let k = 0; k < this.kinds; k++) {
        if ((this.mask[i] & (1 << k)) === 0) continue;
        const from = (i * this.kinds + k) * this.C;
        for (let c = 0; c < this.C; c++, at += 8) values.writeDoubleLE(this.data[from + c], at);
      }
    }
    return { packed: PACKED_FORMAT, readings: this.n, mask: mask.toString('base64'), values: values.toString('base64') };
  }

  /**
   * Replaces what is kept by a packed form (pack).
   * @throws Error when it is not a PackedEvidence of this buffer's kinds and channels (its lengths disagree)
   */
  unpack(p: unknown): void {
    if (typeof p !== 'object' || p === null) throw new Error('kept evidence: not a packed form');
    const v = p as Record<string, unknown>;
    if (v.packed !== PACKED_FORMAT || typeof v.mask !== 'string' || typeof v.values !== 'string' || !Number.isInteger(v.readings)) throw new Error('kept evidence: not a packed form');
    const n = v.readings as number;
    const mask = Buffer.from(v.mask, 'base64');
    const values = Buffer.from(v.values, 'base64');
    if (mask.length !== 2 * n) throw new Error(`kept evidence: the mask holds ${mask.length / 2} readings, not ${n}`);
    let present = 0;
    for (let i = 0; i < n; i++) {
      const bits = mask.readUInt16LE(2 * i);
      if (bits >>> this.kinds !== 0) throw new Error(`kept evidence: reading ${i} names a kind beyond ${this.kinds}`);
      present += popcount(bits);
    }
    if (values.length !== 8 * present * this.C) throw new Error(`kept evidence: ${values.length} bytes of values, not ${8 * present * this.C}`);
    this.clear();
    let at = 0;
    const one = new Float64Array(this.C);
    for (let i = 0; i < n; i++) {
      const bits = mask.readUInt16LE(2 * i);
      const row: (Float64Array | null)[] = [];
      for (let k = 0; k < this.kinds; k++) {
        if ((bits & (1 << k)) === 0) {
          row.push(null);
          continue;
        }
        for (let c = 0; c < this.C; c++, at += 8) one[c] = values.readDoubleLE(at);
        row.push(Float64Array.from(one));
      }
      this.push((k) => row[k]);
    }
  }

  /** Forgets every reading and releases the buffer. */
  clear(): void {
    this.n = 0;
    this.data = EMPTY;
    this.mask = EMPTY_MASK;
  }

  private grow(): void {
    const cap = this.mask.length === 0 ? START : 2 * this.mask.length;
    const data = new Float64Array(cap * this.kinds * this.C);
    data.set(this.data);
    const mask = new Uint16Array(cap);
    mask.set(this.mask);
    this.data = data;
    this.mask = mask;
  }
}
