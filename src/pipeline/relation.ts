/**
 * A stream whose behaviour follows another stream's state, judged by that relation (docs/SCORING.md, "A stream that
 * follows another's state"; tryout 39, finding 2). A workshop motor's bearing temperature rises while the motor runs
 * and cools while it is off, with a lag: 9 °C of rise while the motor is off is within the temperature's own range
 * (each stream judged alone says nothing), yet it breaks what the two streams do together.
 *
 * The leader: a one-channel stream that is a duty cycle, as DwellTracker (src/pipeline/dwell.ts) recognises one (its
 * last 2 · MIN_DWELLS segments alternated between two levels), its present state 0 (the lower level) or 1 (the
 * higher). Its switches are kept with their times (LeaderTimeline), so a follower's reading is set against the
 * leader's state at the follower's own time, whatever order their readings arrive in.
 *
 * The follower: another one-channel stream of the same device. Its rate of change is measured over SPAN of its own
 * readings (so the span is a count of readings, the same at 10 s as at 5 min), and only where the leader held one
 * state over that span and the SPAN readings before it (the lag after a switch left out). Per leader state, the rates
 * are fitted against the follower's level over the span by least squares (exponentially forgotten over HORIZON
 * spans): rate = a + b · level, a first-order lag's law (Newton's cooling: a bearing off cools faster the hotter it
 * is, dT/dt = −(T − T_room) / τ; on, it warms toward its running temperature). A plain per-state distribution of the
 * rates was tried first, as the brief proposed: with the lag its spread is as wide as the fault (tryout 39's data,
 * off state: median −48 °C/h, robust spread 26 °C/h; the fault's +13 °C/h is z 2.4, ordinary readings reach z 15 just
 * after a switch). The residual of each span against its state's fit is judged by a robust z: its distance from the
 * median of the state's last RESIDUALS residuals over 1.4826 times their median absolute deviation (at least the
 * follower's quantum over the span: one step of its resolution), both computed again every RESTAT residuals taught. A state is judged once it has MIN_SPANS residuals.
 *
 * Model-free: two running fits and two rings of residuals per pair, no training. The verdict of one reading is its
 * z and the rate against the rate its state's fit expected; opening and resolving an episode are the caller's
 * (src/daemon/relations.ts). A span judged beyond `censor` (the caller's: at its opening z, or its holding z while
 * an episode is open) is not taught.
 */
import { DwellTracker } from './dwell.js';

/** Readings of the follower in one rate (its span); the leader's state must also have held for as many before it. */
export const SPAN = 6;
/** Spans a leader state's fit must have taught (residuals) before a rate in that state is judged. */
export const MIN_SPANS = 64;
/** Residuals kept per state for the robust centre and spread. */
export const RESIDUALS = 512;
/** Memory of a state's fit, in spans (exponential forgetting). */
export const HORIZON = 2000;
/** The leader's dwell memory (dwells; DwellTracker's horizon). */
const DWELL_HORIZON = 64;
/** Leader switches kept with their times (enough for the follower's 2 · SPAN readings of any cadence pairing in practice). */
const TIMELINE = 256;
/**
 * Follower readings kept waiting for the leader's readings to reach their time; older ones are dropped (a gap). Live,
 * a few wait (the leader's next reading); in a history sent at once the daemon scores each stream's backlog at its own
 * pace, and a 10 s follower ran 3 h (1,080 readings) ahead of its 2 s leader (test/e2e/relation.test.ts): up to
 * PENDING wait (16 bytes each), beyond that the oldest are not judged.
 */
export const PENDING = 8192;
/** A gap in the follower's readings larger than this many times its median gap in the window breaks its span. */
const GAP_FACTOR = 3;

/** The leader's state over time: its DwellTracker, and its switches with their times. */
export class LeaderTimeline {
  private readonly dwell = new DwellTracker();
  /** Running mean of ln of the squared non-zero changes (the stream's typical change, as the scorer's switchLog). */
  private logD2 = Number.NaN;
  private changes = 0;
  private last = Number.NaN;
  /** The latest reading's time (epoch ms; −∞ before any). */
  latestTs = Number.NEGATIVE_INFINITY;
  /** (time, state) at each change of the state the dwell tracker tells (null: no duty cycle then), oldest first. */
  private readonly marks: { ts: number; state: 0 | 1 | null }[] = [];

  /**
   * Takes the leader's next reading (`ts` epoch ms, later than the one before; `x` sensor units). A reading not later
   * than the latest is ignored (false).
   */
  step(ts: number, x: number): boolean {
    if (!(ts > this.latestTs) || !Number.isFinite(x)) return false;
    if (this.last === this.last) {
      const d = Math.abs(x - this.last);
      if (d > 0) {
        this.changes++;
        const l = Math.log(d * d);
        this.logD2 = this.changes === 1 ? l : this.logD2 + (l - this.logD2) / Math.min(this.changes, HORIZON);
      }
    }
    this.last = x;
    const scale = this.changes > 0 ? Math.exp(this.logD2 / 2) : 0;
    this.dwell.step(x, 0, scale, DWELL_HORIZON, ts);
    const state = this.dwell.dutyState;
    const prev = this.marks.length > 0 ? this.marks[this.marks.length - 1].state : undefined;
    if (prev !== state) {
      this.marks.push({ ts, state });
      if (this.marks.length > TIMELINE) this.marks.shift();
    }
    this.latestTs = ts;
    return true;
  }

  /** The present state (0 lower, 1 higher) or null (DwellTracker.dutyState). */
  get state(): 0 | 1 | null {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1].state : null;
  }

  /** The level of state `s`, sensor units (NaN while unknown). */
  level(s: 0 | 1): number {
    return this.dwell.dutyLevel(s);
  }

  /**
   * The state held from `from` to `to` (epoch ms, from ≤ to ≤ latestTs): the state of the leader's latest reading
   * at or before `from`, when no change of state came after it up to `to`; null otherwise (a switch in between,
   * no duty cycle then, or times before the kept switches).
   */
  heldOver(from: number, to: number): 0 | 1 | null {
    if (to > this.latestTs || this.marks.length === 0 || from < this.marks[0].ts) return null;
    let i = this.marks.length - 1;
    while (i > 0 && this.marks[i].ts > from) i--;
    if (this.marks[i].ts > from) return null;
    if (i + 1 < this.marks.length && this.marks[i + 1].ts <= to) return null;
    return this.marks[i].state;
  }
}

/** One follower reading's verdict (Follower.step). */
export interface RelationVerdict {
  /** The follower reading's time, epoch ms, and value, sensor units. */
  readonly ts: number;
  readonly value: number;
  /** The leader's state held over the span (0 lower, 1 higher), null when the reading was not judged. */
  readonly state: 0 | 1 | null;
  /** The rate over the span and the rate the state's fit expected at its level, sensor units per hour (NaN: none). */
  readonly rate: number;
  readonly expected: number;
  /** The residual's robust spread (1.4826 · MAD, floored), units per hour (NaN: not judged). */
  readonly spread: number;
  /** Robust z of the residual (NaN: not judged: too few spans taught in the state, no state held, a gap). */
  readonly z: number;
}

/** Per leader state: the forgotten least-squares sums of rate on level, and the ring of residuals. */
interface StateFit {
  n: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
  readonly residuals: number[];
  next: number;
  /** The residuals' median and median absolute deviation, as of `stale` residuals ago (recomputed every RESTAT). */
  centre: number;
  mad: number;
  stale: number;
}

/** Residuals taught between two computations of a state's median and MAD (each a sort of up to RESIDUALS). */
const RESTAT = 8;

const newFit = (): StateFit => ({ n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0, residuals: [], next: 0, centre: Number.NaN, mad: Number.NaN, stale: RESTAT });

function median(xs: readonly number[]): number {
  const a = [...xs].sort((p, q) => p - q);
  const m = a.length >> 1;
  return a.length % 2 === 1 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** A follower stream's relation to one leader (see the module comment). */
export class Follower {
  /** The follower's latest 2 · SPAN + 1 processed readings (times epoch ms, values sensor units), oldest first. */
  private readonly ts: number[] = [];
  private readonly ys: number[] = [];
  /** Readings waiting for the leader to reach their time: times (epoch ms) and values from `head` on. */
  private readonly pendingTs: number[] = [];
  private readonly pendingY: number[] = [];
  private head = 0;
  private readonly fits: [StateFit, StateFit] = [newFit(), newFit()];
  /** The smallest non-zero change seen between two readings (the follower's quantum, sensor units). */
  private quantum = Number.POSITIVE_INFINITY;

  /**
   * Takes the follower's reading (`ts` epoch ms, `y` sensor units); it waits until the leader's readings reach its
   * time. Returns the verdicts of the readings that could be judged now, oldest first (the leader's step then
   * `drain` judges the rest). `censor`: a span whose |z| reaches it is not taught (the caller's opening or holding z).
   */
  step(ts: number, y: number, leader: LeaderTimeline, censor: () => number): RelationVerdict[] {
    if (!Number.isFinite(y)) return [];
    const waiting = this.pendingTs.length - this.head;
    const lastTs = waiting > 0 ? this.pendingTs[this.pendingTs.length - 1] : this.ts.length > 0 ? this.ts[this.ts.length - 1] : Number.NEGATIVE_INFINITY;
    if (!(ts > lastTs)) return [];
    this.pendingTs.push(ts);
    this.pendingY.push(y);
    if (waiting + 1 > PENDING) {
      // The leader has fallen far behind (or silent): the oldest waiting reading is dropped and the span starts over.
      this.head++;
      this.ts.length = 0;
      this.ys.length = 0;
    }
    return this.drain(leader, censor);
  }

  /** Judges the waiting readings the leader's readings now reach (step). */
  drain(leader: LeaderTimeline, censor: () => number): RelationVerdict[] {
    const out: RelationVerdict[] = [];
    while (this.head < this.pendingTs.length && this.pendingTs[this.head] <= leader.latestTs) {
      out.push(this.judge(this.pendingTs[this.head], this.pendingY[this.head], leader, censor()));
      this.head++;
    }
    if (this.head === this.pendingTs.length) {
      this.pendingTs.length = 0;
      this.pendingY.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      this.pendingTs.splice(0, this.head);
      this.pendingY.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }

  /** Readings waiting for the leader. */
  get waiting(): number {
    return this.pendingTs.length - this.head;
  }

  private judge(ts: number, y: number, leader: LeaderTimeline, censor: number): RelationVerdict {
    if (this.ys.length > 0) {
      const d = Math.abs(y - this.ys[this.ys.length - 1]);
      if (d > 0 && d < this.quantum) this.quantum = d;
    }
    this.ts.push(ts);
    this.ys.push(y);
    if (this.ts.length > 2 * SPAN + 1) {
      this.ts.shift();
      this.ys.shift();
    }
    const none: RelationVerdict = { ts, value: y, state: null, rate: Number.NaN, expected: Number.NaN, spread: Number.NaN, z: Number.NaN };
    const n = this.ts.length;
    if (n < 2 * SPAN + 1) return none;
    // No gap among the window's readings: each gap within GAP_FACTOR of their median.
    const gaps: number[] = [];
    for (let i = 1; i < n; i++) gaps.push(this.ts[i] - this.ts[i - 1]);
    const typical = median(gaps);
    if (!(typical > 0) || gaps.some((g) => g > GAP_FACTOR * typical)) return none;
    // The leader held one state over the span and the SPAN readings before it.
    const state = leader.heldOver(this.ts[0], ts);
    if (state === null) return none;
    const from = n - 1 - SPAN;
    const hours = (ts - this.ts[from]) / 3_600_000;
    const rate = (y - this.ys[from]) / hours;
    let level = 0;
    for (let i = from; i < n; i++) level += this.ys[i];
    level /= SPAN + 1;
    const fit = this.fits[state];
    let expected = Number.NaN;
    let spread = Number.NaN;
    let z = Number.NaN;
    let residual = Number.NaN;
    if (fit.n > 0) {
      const mx = fit.sx / fit.n;
      const my = fit.sy / fit.n;
      const vx = fit.sxx / fit.n - mx * mx;
      const b = vx > 1e-12 * Math.max(1, mx * mx) ? (fit.sxy / fit.n - mx * my) / vx : 0;
      expected = my + b * (level - mx);
      residual = rate - expected;
      if (fit.residuals.length >= MIN_SPANS) {
        if (fit.stale >= RESTAT) {
          fit.centre = median(fit.residuals);
          fit.mad = median(fit.residuals.map((r) => Math.abs(r - fit.centre)));
          fit.stale = 0;
        }
        const centre = fit.centre;
        const mad = fit.mad;
        const floor = Number.isFinite(this.quantum) ? this.quantum / hours : 0;
        spread = Math.max(1.4826 * mad, floor);
        if (spread > 0) {
          z = (residual - centre) / spread;
          expected += centre;
        }
      }
    }
    if (!(Math.abs(z) >= censor)) {
      const keep = 1 - 1 / HORIZON;
      fit.n = fit.n * keep + 1;
      fit.sx = fit.sx * keep + level;
      fit.sy = fit.sy * keep + rate;
      fit.sxx = fit.sxx * keep + level * level;
      fit.sxy = fit.sxy * keep + level * rate;
      if (residual === residual) {
        if (fit.residuals.length < RESIDUALS) fit.residuals.push(residual);
        else fit.residuals[fit.next] = residual;
        fit.next = (fit.next + 1) % RESIDUALS;
        fit.stale++;
      }
    }
    return { ts, value: y, state, rate, expected, spread, z };
  }
}
