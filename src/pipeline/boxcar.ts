/**
 * Per-channel means of the last `n` values pushed (a boxcar, or simple moving average): the short means
 * behind the scorer's shift, bias and spread evidence (src/pipeline/scorer.ts).
 *
 * Why a boxcar and not an exponential mean: a value leaves a boxcar exactly `n` pushes later, however extreme
 * it was, so a fault's readings stop weighing on the short means `n` readings after the fault ends. An
 * exponential mean of weight 1/n remembers a jump of k standard deviations for about n·ln(k²) readings: on a
 * DS18B20 probe, the squared change of one -127 reading (or of the 70 °C step back from a stuck 85.0) kept
 * the spread rare for some 200 readings, and the alarm of a one-reading fault open for half an hour.
 *
 * The sums run in O(1) per push and are recomputed exactly from the held values once every `n` pushes, so
 * rounding cannot build up (a sum of squared changes that returns to exactly 0 when a signal freezes stays
 * near 0, not at the rounding error of a large value that left).
 */
export class Boxcar {
  /**
   * Held values, [slot * C + channel] (slot `pos` is the next to be written), then the running sums per
   * channel at [n * C + channel]: one buffer, so a stream's boxcar costs one typed array, made at its first push
   * (a sensor that sends one reading and stops, such as the junk of a hostile flood, costs none: null until then,
   * which reads as all zeros).
   */
  private store: Float64Array | null = null;
  /** Where the sums start in `ring`: n * C. */
  private readonly S: number;
  private held = 0;
  private pos = 0;
  private sinceExact = 0;
  /**
   * trimmedMean(c, 2)'s extremes kept between pushes: per channel, at [4c .. 4c + 3], the two largest and the two
   * smallest values held (t0 >= t1, b0 <= b1), as its walk over the held values finds them, while `kept[c]` is 1.
   * The walk keeps, of equal values, the first it meets (which decides between -0 and +0): its extremes are the first
   * two of the held values in a stable sort. A push keeps them when the value that leaves lies strictly between b1
   * and t1 (not among those first two, nor equal to them: they stay first), and the value that enters goes in as the
   * walk's step for the newest value does. Anything else (an extreme, a value equal to one, or a NaN leaving; clear,
   * dropNewest, load) leaves the next call to walk. Made at the first trimmedMean(c, 2) (a boxcar never asked for it
   * costs nothing).
   */
  private extremes: Float64Array | null = null;
  private kept: Uint8Array | null = null;

  /**
   * @param C channels
   * @param n length of the boxcar, in pushes (readings); an integer >= 1
   * @throws RangeError when C or n is not a positive integer
   */
  constructor(
    readonly C: number,
    readonly n: number,
  ) {
    if (!Number.isInteger(C) || C < 1) throw new RangeError(`boxcar: C must be an integer >= 1, got ${C}`);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`boxcar: n must be an integer >= 1, got ${n}`);
    this.S = C * n;
  }

  /** The buffer, made (zeros) when first needed. */
  private get ring(): Float64Array {
    return (this.store ??= new Float64Array(this.S + this.C));
  }

  /** Values held (at most n). */
  get count(): number {
    return this.held;
  }

  /** Forgets every value. */
  clear(): void {
    this.held = 0;
    this.pos = 0;
    this.sinceExact = 0;
    if (this.store !== null) this.store.fill(0, this.S);
    this.kept?.fill(0);
  }

  /** Pushes one value per channel (`values[c]`), dropping the oldest when n are held. */
  push(values: ArrayLike<number>): void {
    const { C, n } = this;
    const base = this.pos * C;
    const full = this.held === n;
    const ring = this.ring;
    const kept = this.kept;
    for (let c = 0; c < C; c++) {
      if (kept !== null && kept[c] === 1) this.keepExtremes(c, full ? ring[base + c] : Number.NaN, full, values[c]);
      if (full) ring[this.S + c] -= ring[base + c];
      ring[base + c] = values[c];
      ring[this.S + c] += values[c];
    }
    this.pos = (this.pos + 1) % n;
    if (!full) this.held++;
    if (++this.sinceExact >= n) this.exact();
  }

  /**
   * Forgets the `k` values pushed last (all of them when k >= count), as if they had never been pushed: the
   * values pushed before them stay, and the next push follows them (censoring: the scorer leaves a closed
   * episode's readings out of a short mean, src/pipeline/scorer.ts). The sums are recomputed exactly from what
   * is left. O(n·C). With `keepPhase`, the next exact recomputation still comes when the pushes since the last one
   * reach n (not n pushes after this drop): once the dropped values would have left, the sums are then the very bits
   * of a boxcar that had them pushed and left (censorOnset: a checkpoint written before it restores to the same
   * answers as the stream never stopped).
   *
   * @throws RangeError when k is not an integer >= 0
   */
  dropNewest(k: number, keepPhase = false): void {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`boxcar: k must be an integer >= 0, got ${k}`);
    const drop = Math.min(k, this.held);
    if (drop === 0) return;
    this.held -= drop;
    this.pos = (this.pos - drop + this.n) % this.n;
    this.kept?.fill(0);
    const since = this.sinceExact;
    this.exact();
    if (keepPhase) this.sinceExact = since;
  }

  /** Mean of channel c's held values (0 when none is held). */
  mean(c: number): number {
    return this.held === 0 ? 0 : this.ring[this.S + c] / this.held;
  }

  /**
   * Mean of channel c's held values less the `k` largest and the `k` smallest (a symmetric trimmed mean, Tukey's
   * robust location; the plain mean when 2k or fewer are held). O(n·k) per call.
   */
  trimmedMean(c: number, k: number): number {
    if (this.held <= 2 * k) return this.mean(c);
    if (k === 2) return this.trimmedMean2(c);
    // Module scratch (no allocation per call): only its first k slots are used.
    if (TOP.length < k) {
      TOP = new Float64Array(k);
      BOTTOM = new Float64Array(k);
    }
    const top = TOP.fill(-Infinity, 0, k);
    const bottom = BOTTOM.fill(Infinity, 0, k);
    // Oldest first, the slot wrapping at n (no modulo per value).
    let slot = (this.pos - this.held + this.n) % this.n;
    const ring = this.ring;
    for (let j = 0; j < this.held; j++) {
      const v = ring[slot * this.C + c];
      if (++slot === this.n) slot = 0;
      // Keep the k largest in `top` (largest first) and the k smallest in `bottom` (smallest first).
      let x = v;
      for (let t = 0; t < k; t++) {
        if (x > top[t]) {
          const y = top[t];
          top[t] = x;
          x = y;
        }
      }
      x = v;
      for (let t = 0; t < k; t++) {
        if (x < bottom[t]) {
          const y = bottom[t];
          bottom[t] = x;
          x = y;
        }
      }
    }
    let dropped = 0;
    for (let t = 0; t < k; t++) dropped += top[t] + bottom[t];
    return (this.ring[this.S + c] - dropped) / (this.held - 2 * k);
  }

  /**
   * trimmedMean(c, 2) (the scorer's: SPREAD_TRIM), the same comparisons and the same sums in the same order, with
   * the two largest and two smallest in locals rather than the scratch arrays (it runs several times a reading).
   */
  private trimmedMean2(c: number): number {
    const C = this.C;
    const n = this.n;
    const held = this.held;
    const ring = this.ring;
    const ex = (this.extremes ??= new Float64Array(4 * C));
    const kept = (this.kept ??= new Uint8Array(C));
    let t0 = -Infinity;
    let t1 = -Infinity;
    let b0 = Infinity;
    let b1 = Infinity;
    if (kept[c] === 1) {
      t0 = ex[4 * c];
      t1 = ex[4 * c + 1];
      b0 = ex[4 * c + 2];
      b1 = ex[4 * c + 3];
    } else {
      let i = ((this.pos - held + n) % n) * C + c;
      const end = n * C;
      for (let j = 0; j < held; j++) {
        const v = ring[i];
        i += C;
        if (i >= end) i -= end;
        // As trimmedMean's insertion: a value above t0 moves t0 down to t1 when it beats t1.
        if (v > t0) {
          const y = t0;
          t0 = v;
          if (y > t1) t1 = y;
        } else if (v > t1) t1 = v;
        if (v < b0) {
          const y = b0;
          b0 = v;
          if (y < b1) b1 = y;
        } else if (v < b1) b1 = v;
      }
      ex[4 * c] = t0;
      ex[4 * c + 1] = t1;
      ex[4 * c + 2] = b0;
      ex[4 * c + 3] = b1;
      kept[c] = 1;
    }
    let dropped = 0;
    dropped += t0 + b0;
    dropped += t1 + b1;
    return (ring[this.S + c] - dropped) / (held - 4);
  }

  /**
   * A push's effect on channel c's kept extremes (see `extremes`): `old` leaves (when `full`), `v` enters. The
   * entering value's step is the walk's, so the extremes are those a walk over the new held values finds.
   */
  private keepExtremes(c: number, old: number, full: boolean, v: number): void {
    const ex = this.extremes!;
    let t0 = ex[4 * c];
    let t1 = ex[4 * c + 1];
    let b0 = ex[4 * c + 2];
    let b1 = ex[4 * c + 3];
    if (full && !(old > b1 && old < t1)) {
      this.kept![c] = 0;
      return;
    }
    // The walk's step for a value read from the ring (a Float64Array: `v` as it is stored).
    const x = +v;
    if (x > t0) {
      const y = t0;
      t0 = x;
      if (y > t1) t1 = y;
    } else if (x > t1) t1 = x;
    if (x < b0) {
      const y = b0;
      b0 = x;
      if (y < b1) b1 = y;
    } else if (x < b1) b1 = x;
    ex[4 * c] = t0;
    ex[4 * c + 1] = t1;
    ex[4 * c + 2] = b0;
    ex[4 * c + 3] = b1;
  }


  /**
   * How often channel c's held values took `v` before its latest run of it: the newest values equal to v (the run
   * going on) are passed over, and of the older ones (out[1] of them, at most n − 1) out[0] equal v exactly. Fills
   * `out` ([2]) and returns it; O(n).
   */
  seenBeforeRun(c: number, v: number, out: Float64Array): Float64Array {
    let slot = (this.pos - 1 + this.n) % this.n;
    let k = 0;
    const ring = this.ring;
    while (k < this.held && ring[slot * this.C + c] === v) {
      k++;
      slot = (slot - 1 + this.n) % this.n;
    }
    let seen = 0;
    for (let i = k; i < this.held; i++) {
      if (ring[slot * this.C + c] === v) seen++;
      slot = (slot - 1 + this.n) % this.n;
    }
    out[0] = seen;
    out[1] = this.held - k;
    return out;
  }

  /** The held values, oldest first, one array of C per push. */
  values(): number[][] {
    const out: number[][] = [];
    const first = (this.pos - this.held + this.n) % this.n;
    for (let k = 0; k < this.held; k++) {
      const slot = (first + k) % this.n;
      out.push(Array.from(this.ring.subarray(slot * this.C, (slot + 1) * this.C)));
    }
    return out;
  }

  /**
   * The state as JSON (checkpoints): the held values, oldest first, and the running sums with the pushes since
   * they were last recomputed, so that a restored boxcar rounds exactly as the one it was saved from.
   */
  toJSON(): BoxcarState {
    const sums = this.store === null ? new Array<number>(this.C).fill(0) : Array.from(this.store.subarray(this.S));
    return { values: this.values(), sums, sinceExact: this.sinceExact };
  }

  /**
   * Replaces the state with `state` (from toJSON; the newest n values are kept), or with bare `values`
   * (oldest first), whose sums are then computed afresh.
   *
   * @throws Error when a value row does not have C finite numbers, or the sums do not match C
   */
  load(state: BoxcarState | readonly (readonly number[])[]): void {
    const values = Array.isArray(state) ? (state as readonly (readonly number[])[]) : (state as BoxcarState).values;
    for (const v of values) {
      if (v.length !== this.C || !v.every(Number.isFinite)) throw new Error(`boxcar: each value row must have ${this.C} finite numbers`);
    }
    this.clear();
    for (const v of values.slice(-this.n)) this.push(v);
    this.exact();
    if (!Array.isArray(state)) {
      const { sums, sinceExact } = state as BoxcarState;
      if (sums.length !== this.C || !sums.every(Number.isFinite)) throw new Error(`boxcar: sums must be ${this.C} finite numbers`);
      if (!Number.isInteger(sinceExact) || sinceExact < 0 || sinceExact >= this.n) throw new Error(`boxcar: sinceExact must be an integer in [0, ${this.n})`);
      if (this.store !== null || sums.some((x) => x !== 0)) this.ring.set(sums, this.S);
      this.sinceExact = sinceExact;
    }
  }

  private exact(): void {
    this.sinceExact = 0;
    if (this.store === null) return;
    this.store.fill(0, this.S);
    const first = (this.pos - this.held + this.n) % this.n;
    for (let k = 0; k < this.held; k++) {
      const slot = (first + k) % this.n;
      for (let c = 0; c < this.C; c++) this.ring[this.S + c] += this.ring[slot * this.C + c];
    }
  }
}

/** A boxcar's state as JSON. */
export interface BoxcarState {
  /** Held values, oldest first, C per push. */
  readonly values: readonly (readonly number[])[];
  /** Running sum per channel. */
  readonly sums: readonly number[];
  /** Pushes since the sums were last recomputed exactly, in [0, n). */
  readonly sinceExact: number;
}

/** trimmedMean's scratch: the k largest and the k smallest values seen (grown to the largest k asked). */
let TOP = new Float64Array(4);
let BOTTOM = new Float64Array(4);
