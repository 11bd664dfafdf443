/**
 * A slow drift of a cyclic stream's level (docs/SCORING.md section 2, "A slow drift off a long cycle"; tryout 27
 * finding 1, tryout 25 finding 1, tryout 18 finding 3).
 *
 * On a signal with a long cycle (a day's temperature read every 5 min) a drift of the level (a failing sensor, a
 * calibration creep: +3 °C over a day under a ±3 °C swing) is taught as it comes by every learner that adapts (the
 * running normalisation, the value histogram, the cycle's scale and profile), each a little beyond what it holds at
 * the drift's own rate, and no kind speaks. The cycle removed, the drift is plain: the seasonal difference
 * x[t] − x[t − P] (Box and Jenkins 1970; the seasonal naive forecast's error, Hyndman and Athanasopoulos, "Forecasting:
 * Principles and Practice", 3rd ed., 5.2), averaged over the last `span` readings,
 *
 *     E = mean(x[t − span + 1 … t]) − mean(x[t − P − span + 1 … t − P]),
 *
 * is how far the level moved in one period: about 0 plus noise for a stream that repeats its cycle, the daily mean's
 * own wander for a room whose level wanders, the drift's rate × P for a drift (linear in time from its start, not
 * quadratic as a mean over a whole period would be).
 *
 * Each mean is a trimmed one (the seasonal differences of the span, an eighth of the largest and of the smallest
 * left out, at least two each: Tukey's trimmed mean), so a spike now or a period back is no drift.
 *
 * E is judged against the range it has taken in the stream's own normal operation (the band [−M, M], symmetric: a
 * level that wandered by M in a period could have wandered by M the other way, and a short history shows a slow
 * wander in one direction only): seeded from the readings the cycle holds when a period is found (E at every
 * position the ring holds, at least a period of them), so a stream whose level wandered by ±1 before is judged
 * against that wander. Beyond the band, E is held aside (not taught: SPOT's censoring, Siffer et al. KDD 2017,
 * carried to the band): an excursion that comes back without having alarmed, and without an open episode of the
 * channel, widens the band to its furthest E (a wander larger than any seen was normal). E is far when it is
 * further past the band's edge than the band is wide (|E| > 3M) and the recent readings' trimmed mean residual
 * against the cycle's profile is off the same way by at least half as much (where the level stands against the
 * cycle's normal, not only against the readings a period back: a fault that ended is echoed one period later in E,
 * not in the residual). Far through half a period in a row (and at least `span` readings) is a drift: a level that
 * differs over part of the cycle only (a weekend's quieter day, the bell of a longer cycle) is the cycle's shape.
 * Once the band has been seeded (or widened again) from at least WIDE_PERIODS periods of positions, a week of a day's
 * changes, so that a weekly cycle's quieter weekend is inside it, far through a quarter of the span in a row is a
 * drift (tryout 38 finding 2: a weather sensor in the sun, +8 °C over 4 h at 5 min, was told only at its return, in
 * the wrong direction, when 12 h far were asked): told while it departs. The told drift keeps its onset (the reading
 * whose E first left the band) and its reading furthest off the profile with what the profile expected there
 * (`told`): the explanation's "expected" is the stream's normal at that phase, not the drifted level.
 * An excursion that begins inside another kind's open episode of the channel never alarms: it is that fault's echo
 * (a plug stuck on is far from the readings a period back for most of each period), and would hold the episode, and
 * its told end, up to half a period past the fault's end.
 * A drift floors the channel's `cycle` surprise while it stays far (the scorer), and the cycle's held readings of
 * the excursion are held as the profile expected them (CycleProfile.reimpute), as an episode's are. A random walk
 * or a counter has no accepted period (src/pipeline/cycle.ts): never judged here.
 *
 * The recent readings are this tracker's own (raw, an open episode's too: the drift's episode is held by the drift
 * itself), the readings one period back the cycle's held ones (an episode's readings held as the profile expected
 * them: what normal was). Only cycles of at least 8 · `minSpan` readings (span = P / 8 ≥ the short means' span): a
 * shorter cycle's level is the `cycle` kind's, and one whose period and span the cycle's ring (2,048 readings) does
 * not hold twice (a day at 10 s) is not judged. Checkpointed (toJSON / fromJSON): a restored stream goes on as one
 * never stopped.
 */
import type { CycleProfile } from './cycle.js';

/** The span is this fraction of the period. */
const SPAN_OF_PERIOD = 1 / 8;
/** The span's largest. */
const MAX_SPAN = 256;
/** E alarms once beyond the band by this many of its widths. */
const WIDTHS = 1;
/** Each mean leaves out this share of its largest and of its smallest values (at least 2 each): a trimmed mean. */
const TRIM = 1 / 8;
/**
 * The band is wide enough for the fast telling once it was seeded from at least this many periods of positions: of
 * a week's seven day-to-day differences only four in a row (Monday to Friday) stay on weekdays, so any five in a row
 * hold a weekend's change of level (a weekly cycle's days taken for the cycle, its quieter weekend), and such a band
 * has seen the week's own change of level.
 */
const WIDE_PERIODS = 5;
/**
 * A departure far beyond a wide band (WIDE_PERIODS) for this share of the span in a row is told while it departs (E is
 * itself a trimmed mean over the span, so a few far readings in a row are no spike; tryout 38 finding 2: a sensor in
 * the sun, +8 °C over 4 h or +2.9 °C over 8 h on a 5-min day, was never told while it rose when half a period, 12 h,
 * was asked).
 */
const FAST_OF_SPAN = 1 / 4;
/** Scratch for the trimmed means (MAX_SPAN values). */
const scratch = new Float64Array(MAX_SPAN);

/**
 * The trimmed mean of the first `n` values of `scratch` (sorted in place): the max(2, ⌊n · TRIM⌋) largest and as
 * many smallest left out (Tukey's trimmed mean), so a spike or two, in the readings now or a period back, is no drift.
 */
function trimmed(n: number): number {
  const view = scratch.subarray(0, n);
  view.sort();
  const k = Math.min(Math.max(2, Math.floor(n * TRIM)), Math.floor((n - 1) / 2));
  let sum = 0;
  for (let i = k; i < n - k; i++) sum += view[i];
  return sum / (n - 2 * k);
}

/** A CycleDrift's checkpoint (JSON-safe numbers; NaN and ±Infinity never stored). */
export interface DriftState {
  /** The cycle's count of cycles it was set up for (−1: none). */
  readonly cycles: number;
  /** Readings in each mean (0: not set up). */
  readonly span: number;
  /** The latest raw readings, oldest first (at most span). */
  readonly recent: number[];
  /** The band, or null before it is seeded. */
  readonly band: { readonly lo: number; readonly hi: number } | null;
  /** The narrowest band width that counts (sensor units). */
  readonly minWidth: number;
  /** The furthest E of the excursion beyond the band (null: none). */
  readonly ext: number | null;
  /** The excursion alarmed or met an open episode of the channel: it will not widen the band. */
  readonly fault: boolean;
  /** The excursion has been far (beyond the band by its width) for `span` readings in a row. */
  readonly alarmed: boolean;
  /** Readings in a row that E has been far. */
  readonly run: number;
  /** Whether the latest E was far. */
  readonly far: boolean;
  /** Readings since the excursion began. */
  readonly age: number;
  /**
   * The excursion began inside an open episode of the channel (another kind's fault: a plug stuck on): it never
   * alarms. Absent in checkpoints written before it (false).
   */
  readonly inEpisode?: boolean;
  /**
   * The band was seeded from at least WIDE_PERIODS periods of positions (a week of a daily cycle's changes): a far
   * departure is told after FAST_OF_SPAN of the span, not half a period. Absent in checkpoints written before it
   * (false: widened again from the held readings when they hold enough).
   */
  readonly wide?: boolean;
  /**
   * The told drift's onset and furthest reading (told): the time of the reading whose E first left the band, and the
   * furthest reading's time, value and what the profile expected of it (null: none). Absent in checkpoints written
   * before them (none: the furthest reading is noted again from the next one).
   */
  readonly onsetTs?: number | null;
  readonly peak?: { readonly ts: number; readonly value: number; readonly expected: number } | null;
}

/**
 * One channel's drift of its level off a long cycle (module docs). `update` after the cycle took the reading
 * (CycleProfile.advance); `drifting` before the next reading is judged.
 */
export class CycleDrift {
  private cycles = -1;
  private span = 0;
  private recent: Float64Array | null = null;
  private pos = 0;
  private n = 0;
  private lo = Number.NaN;
  private hi = Number.NaN;
  private minWidth = 0;
  private ext = Number.NaN;
  private fault = false;
  private alarmed = false;
  private run = 0;
  private far = false;
  private age = 0;
  private inEpisode = false;
  private wide = false;
  private onsetTs = Number.NaN;
  private peakTs = Number.NaN;
  private peakValue = Number.NaN;
  private peakExpected = Number.NaN;

  /** Whether the tracker is set up (a long cycle; else it holds nothing and need not be checkpointed). */
  get active(): boolean {
    return this.span > 0;
  }

  /**
   * Whether the stream is drifting now: the latest E far beyond the band, and far through half a period in a row since
   * its excursion began (a quarter of the span once the band is wide: WIDE_PERIODS).
   */
  get drifting(): boolean {
    return this.alarmed && this.far;
  }

  /**
   * The told drift, for its explanation (null unless it alarmed): `since`, the time of the reading whose E first left
   * the band (epoch ms; NaN when not known, as after a restore); `up`; the reading furthest off the cycle's profile
   * the drift's way since it alarmed (`at`, its time; `value`, sensor units) and what the profile expected of it
   * there (`expected`: the stream's normal at that phase, not the drifted level); `band`, the band's half-width (how
   * far the level moves in a period in normal operation, sensor units).
   */
  get told(): { readonly since: number; readonly up: boolean; readonly at: number; readonly value: number; readonly expected: number; readonly band: number } | null {
    if (!this.alarmed || Number.isNaN(this.ext) || !Number.isFinite(this.peakValue) || !Number.isFinite(this.peakExpected)) return null;
    return { since: this.onsetTs, up: this.ext > this.hi, at: this.peakTs, value: this.peakValue, expected: this.peakExpected, band: this.hi };
  }

  private reset(cycles: number, span: number): void {
    this.cycles = cycles;
    this.span = span;
    this.recent = span > 0 ? new Float64Array(span) : null;
    this.pos = 0;
    this.n = 0;
    this.lo = Number.NaN;
    this.hi = Number.NaN;
    this.minWidth = 0;
    this.wide = false;
    this.clearExcursion();
  }

  private clearExcursion(): void {
    this.ext = Number.NaN;
    this.fault = false;
    this.alarmed = false;
    this.run = 0;
    this.far = false;
    this.age = 0;
    this.inEpisode = false;
    this.onsetTs = Number.NaN;
    this.peakTs = Number.NaN;
    this.peakValue = Number.NaN;
    this.peakExpected = Number.NaN;
  }

  /**
   * Takes one reading. `cy`: the channel's cycle, after it took this reading (advance); `x` the raw reading (sensor
   * units; not finite: the last one held), `filled` the steps filled before it (each holds the reading before);
   * `normal`: the reading is no open episode's of the channel; `quantum`: the channel's resolution (0: none known);
   * `minSpan`: the short means' span (readings), the least span judged; `ts` the reading's time (epoch ms; NaN: not
   * known), for the told drift's onset and furthest reading (told).
   */
  update(cy: CycleProfile, x: number, filled: number, normal: boolean, quantum: number, minSpan: number, ts = Number.NaN): void {
    const P = cy.period;
    const span = Math.min(MAX_SPAN, Math.round(P * SPAN_OF_PERIOD));
    if (P <= 0 || span < minSpan) {
      if (this.span !== 0 || this.cycles !== cy.cycles) this.reset(cy.cycles, 0);
      return;
    }
    if (cy.cycles !== this.cycles || this.span === 0) this.reset(cy.cycles, span);
    const ring = this.recent as Float64Array;
    const S = this.span;
    const prev = this.n > 0 ? ring[(this.pos - 1 + S) % S] : x;
    const v = Number.isFinite(x) ? x : prev;
    for (let k = 0; k < Math.min(filled, S); k++) this.put(prev);
    this.put(v);
    if (this.n < S || P + S > cy.heldCount) return;
    // The seasonal differences of the span, newest first (ring oldest first from pos), their trimmed mean.
    for (let i = 0; i < S; i++) scratch[i] = ring[(this.pos + S - 1 - i) % S] - cy.back(P + i);
    const e = trimmed(S);
    if (!Number.isFinite(e)) return;
    if (Number.isNaN(this.lo)) {
      if (!this.seed(cy, P, quantum)) return;
    } else if (!this.wide && Number.isNaN(this.ext) && normal && cy.heldCount - P - S + 1 >= WIDE_PERIODS * P) {
      // The held readings now hold a week of the cycle's positions: the band widened to every E they show (never
      // narrowed: what came back before was normal too).
      this.seed(cy, P, quantum);
    }
    this.judge(e, normal, cy, ts);
    // The told drift's furthest reading off the profile, the drift's way, and what the profile expected of it.
    if (this.alarmed && this.far && Number.isFinite(v)) {
      const expected = cy.expectedAt(-1);
      const up = this.ext > this.hi;
      if (Number.isFinite(expected) && (Number.isNaN(this.peakValue) || (up ? v - expected > this.peakValue - this.peakExpected : v - expected < this.peakValue - this.peakExpected))) {
        this.peakTs = ts;
        this.peakValue = v;
        this.peakExpected = expected;
      }
    }
  }

  /**
   * The mean residual of the recent readings against the cycle's profile (NaN without one): where the level stands
   * against the cycle's normal, not against the readings a period back (which may be a fault's that has ended: its
   * echo one period later is no drift).
   */
  private offProfile(cy: CycleProfile): number {
    const ring = this.recent as Float64Array;
    const S = this.span;
    // The newest held reading is at −1 from the next (expectedAt); ring oldest first from pos.
    for (let i = 0; i < S; i++) scratch[i] = ring[(this.pos + i) % S] - cy.expectedAt(-S + i);
    return trimmed(S);
  }

  private put(v: number): void {
    const ring = this.recent as Float64Array;
    ring[this.pos] = v;
    this.pos = (this.pos + 1) % ring.length;
    if (this.n < ring.length) this.n++;
  }

  /**
   * The band from the held readings: E at every position they hold a period and a span behind (at least a period of
   * positions, else false: not yet).
   */
  private seed(cy: CycleProfile, P: number, quantum: number): boolean {
    const S = this.span;
    const positions = Math.floor(cy.heldCount - P - S + 1);
    if (positions < P) return false;
    const d = new Float64Array(positions + S - 1);
    for (let j = 0; j < d.length; j++) d[j] = cy.back(j) - cy.back(j + P);
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < positions; k++) {
      for (let i = 0; i < S; i++) scratch[i] = d[k + i];
      const e = trimmed(S);
      if (e < lo) lo = e;
      if (e > hi) hi = e;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return false;
    // Symmetric: a level that wandered by m in a period could have wandered by m the other way (a short history
    // shows a slow wander in one direction only).
    const m = Math.max(-lo, hi, 0, Number.isNaN(this.hi) ? 0 : this.hi);
    if (positions >= WIDE_PERIODS * P) this.wide = true;
    this.lo = -m;
    this.hi = m;
    this.minWidth = 2 * (quantum > 0 ? quantum : 0);
    return true;
  }

  private judge(e: number, normal: boolean, cy: CycleProfile, ts: number): void {
    const w = Math.max(this.hi - this.lo, this.minWidth);
    if (e >= this.lo && e <= this.hi) {
      // Back within the band: a normal excursion was the stream's own wander.
      if (!Number.isNaN(this.ext) && !this.fault) {
        const m = Math.max(this.hi, Math.abs(this.ext));
        this.lo = -m;
        this.hi = m;
      }
      this.clearExcursion();
      return;
    }
    const up = e > this.hi;
    // An excursion that crosses to the other side is a new one.
    if (!Number.isNaN(this.ext) && this.ext > this.hi !== up) this.clearExcursion();
    // An excursion that begins inside another kind's open episode is that fault's echo, not a drift: a state held off
    // its cycle (a plug stuck on) is far from the readings a period back for most of each period, and would hold
    // the episode, and tell its end, up to half a period past the fault (test/pipeline/dwell.test.ts).
    if (Number.isNaN(this.ext)) {
      this.inEpisode = !normal;
      this.onsetTs = ts;
    }
    this.ext = Number.isNaN(this.ext) ? e : up ? Math.max(this.ext, e) : Math.min(this.ext, e);
    if (!normal) this.fault = true;
    this.age++;
    // Far: beyond the band by its width, and the level off the cycle's profile the same way by at least half as much.
    let far = w > 0 && (up ? e > this.hi + WIDTHS * w : e < this.lo - WIDTHS * w);
    if (far) {
      const off = this.offProfile(cy);
      far = up ? off >= e / 2 : off <= e / 2;
    }
    this.far = far;
    this.run = far ? this.run + 1 : 0;
    // Far through half a period (a quarter of the span once the band holds a week of the cycle's changes, a weekend's
    // among them: WIDE_PERIODS): a level that differs over part of the cycle only (a weekend's quieter day, the bell
    // of a longer cycle) is the cycle's shape, not a drift.
    const needed = this.wide ? Math.max(2, Math.ceil(this.span * FAST_OF_SPAN)) : Math.max(this.span, Math.ceil(cy.period / 2));
    if (this.run >= needed && !this.alarmed && !this.inEpisode) {
      this.alarmed = true;
      this.fault = true;
      // The drift's readings, held by the cycle as they came, are a fault's: held as the profile expected them (as an
      // episode's are), so the readings a period back stand for normal, and no rebuilt profile takes the drift in.
      cy.reimpute(this.age + this.span);
    }
  }

  /** The checkpoint (DriftState). */
  toJSON(): DriftState {
    const recent: number[] = [];
    if (this.recent !== null) for (let i = 0; i < this.n; i++) recent.push(this.recent[(this.pos - this.n + i + this.recent.length) % this.recent.length]);
    return {
      cycles: this.cycles,
      span: this.span,
      recent,
      band: Number.isNaN(this.lo) ? null : { lo: this.lo, hi: this.hi },
      minWidth: this.minWidth,
      ext: Number.isNaN(this.ext) ? null : this.ext,
      fault: this.fault,
      alarmed: this.alarmed,
      run: this.run,
      far: this.far,
      age: this.age,
      inEpisode: this.inEpisode,
      wide: this.wide,
      onsetTs: Number.isFinite(this.onsetTs) ? this.onsetTs : null,
      peak: Number.isFinite(this.peakTs) && Number.isFinite(this.peakValue) && Number.isFinite(this.peakExpected) ? { ts: this.peakTs, value: this.peakValue, expected: this.peakExpected } : null,
    };
  }

  /**
   * A tracker from its checkpoint.
   * @throws Error when a field is missing or of the wrong type, or `recent` holds more than `span` readings
   */
  static fromJSON(v: DriftState): CycleDrift {
    const num = (x: unknown, name: string): number => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`drift: ${name} must be a finite number`);
      return x;
    };
    const d = new CycleDrift();
    const span = num(v.span, 'span');
    if (!Number.isInteger(span) || span < 0 || span > MAX_SPAN) throw new Error(`drift: span must be an integer 0 … ${MAX_SPAN}`);
    d.reset(num(v.cycles, 'cycles'), span);
    if (!Array.isArray(v.recent) || v.recent.length > span) throw new Error('drift: recent must hold at most span readings');
    for (const [i, x] of v.recent.entries()) d.put(num(x, `recent[${i}]`));
    if (v.band !== null) {
      if (typeof v.band !== 'object') throw new Error('drift: band must be an object or null');
      d.lo = num(v.band.lo, 'band.lo');
      d.hi = num(v.band.hi, 'band.hi');
    }
    d.minWidth = num(v.minWidth, 'minWidth');
    d.ext = v.ext === null ? Number.NaN : num(v.ext, 'ext');
    if (typeof v.fault !== 'boolean' || typeof v.alarmed !== 'boolean' || typeof v.far !== 'boolean') throw new Error('drift: fault, alarmed and far must be booleans');
    d.fault = v.fault;
    d.alarmed = v.alarmed;
    d.far = v.far;
    d.run = num(v.run, 'run');
    d.age = num(v.age, 'age');
    if (v.inEpisode !== undefined && typeof v.inEpisode !== 'boolean') throw new Error('drift: inEpisode must be a boolean');
    d.inEpisode = v.inEpisode === true;
    if (v.wide !== undefined && typeof v.wide !== 'boolean') throw new Error('drift: wide must be a boolean');
    d.wide = v.wide === true;
    if (v.onsetTs !== undefined && v.onsetTs !== null) d.onsetTs = num(v.onsetTs, 'onsetTs');
    if (v.peak !== undefined && v.peak !== null) {
      if (typeof v.peak !== 'object') throw new Error('drift: peak must be an object or null');
      d.peakTs = num(v.peak.ts, 'peak.ts');
      d.peakValue = num(v.peak.value, 'peak.value');
      d.peakExpected = num(v.peak.expected, 'peak.expected');
    }
    return d;
  }
}
