/**
 * Recurring visits: a bump that comes back, taught once it has recurred alike (the scorer's `teachVisits`).
 *
 * An episode keeps its owner channels' readings out of the value histogram and the reference histories
 * (censoring, docs/SCORING.md section 3). A normal event the learning period did not show, that leaves the
 * stream's range and comes back (a no-frost freezer's defrost heater every 8 h: −18 → −5 → −18 °C in an hour), is
 * then as rare at its fortieth recurrence as at its first: no step that held (teachSteps), no rest (teachRests), no
 * new normal. This module keeps, per channel, the **visits** of episodes that came back (resolved `recovered`, not a
 * new normal): where each went (its range, the side of the level before it, how long it lasted) and a sample of its
 * values. A visit is taught (the scorer adds its values to the channel's value histogram, and the resolving
 * episode's kept evidence to its histories) only when:
 *
 * - it was **reached by a walk**: no step between consecutive readings of the visit, from the reading before the
 *   episode to the one that resolved it, larger than 1 / WALK_STEPS of its reach (the farthest it went from the
 *   reading before it). A defrost creeps 0.1 °C at a time; a spike, a glitch to a sentinel (−127) or a dropout jumps
 *   there in one reading, and a burst of noise moves by its own size at every reading: never kept, never taught;
 * - and CONFIRM visits of the channel are **alike** (ALIKE): on the same side of the level before them, their ranges
 *   overlapping by at least half the smaller one, their durations within a factor DURATION of each other. The first
 *   CONFIRM − 1 are told and kept; the CONFIRM-th teaches them all; from then on the family is learnt, and every later
 *   alike visit that still opens an episode is taught when it ends.
 *
 * The price (docs/SCORING.md): a fault that recurs CONFIRM times alike and walks there (a door left ajar three times
 * over the same hour's creep) is taught at its third time; each of the first three is told as before.
 *
 * Memory per stream: at most VISITS_KEPT visits (the oldest dropped), a visit not taught yet holding at most
 * VISIT_VALUES values (a longer visit keeps every k-th reading and teaches each k times). Checkpointed (toJSON,
 * VisitMemory.fromJSON): a restart keeps what was learnt, and the open episode's visit so far.
 */

/** Visits alike (same side, overlapping ranges, durations within DURATION) that confirm a family: it is taught at the CONFIRM-th. */
export const CONFIRM = 3;
/** A visit is a walk when its largest step is at most its reach / WALK_STEPS. */
export const WALK_STEPS = 4;
/** Alike: the ranges overlap by at least this share of the smaller one. */
export const ALIKE = 0.5;
/** Alike: the longer lasted at most this many times the shorter. */
export const DURATION = 3;
/** Visits kept per stream (the oldest dropped first). */
export const VISITS_KEPT = 16;
/** Values a visit not taught yet keeps at most (every `stride`-th reading). */
export const VISIT_VALUES = 128;

/** A visit in progress: the open episode's readings of one owner channel (sensor units, epoch ms). */
interface VisitNow {
  /** The value of the reading before the episode (the walk's origin); the first reading's when none is known. */
  origin: number;
  /** The latest reading's value. */
  prev: number;
  /** The largest step between consecutive readings so far (from `origin`). */
  maxStep: number;
  /** The reading farthest from `origin` (its signed distance). */
  extreme: number;
  lo: number;
  hi: number;
  /** Its first and latest readings' times, epoch ms (NaN: unknown). */
  from: number;
  to: number;
  /** Readings so far. */
  n: number;
  /** Every stride-th reading is kept in `values`. */
  stride: number;
  values: number[];
}

/** A kept visit of channel `c`: where it went and how long, and (until taught) a sample of its values. */
export interface Visit {
  readonly c: number;
  readonly lo: number;
  readonly hi: number;
  /** +1: above the level before it, −1: below. */
  readonly side: number;
  /** How long it lasted, ms (its first to its last reading), or readings where times are unknown (`byReadings`). */
  readonly span: number;
  readonly byReadings: boolean;
  /** Its family was confirmed (CONFIRM alike): taught, `values` dropped. */
  learnt: boolean;
  /** Each of `values` stands for `stride` readings. */
  stride: number;
  values: number[];
}

/** What a resolved episode's visit of channel `c` teaches: `values`, each `stride` times (all from the visits of its family not taught yet). */
export interface VisitLesson {
  readonly c: number;
  readonly values: readonly { readonly values: readonly number[]; readonly stride: number }[];
}

/** A stream's visits (one per stream, C channels). */
export class VisitMemory {
  private now: (VisitNow | null)[];
  private kept: Visit[] = [];

  constructor(private readonly C: number) {
    this.now = new Array<VisitNow | null>(C).fill(null);
  }

  /** The kept visits, oldest first (read only; for tests and the checkpoint). */
  visits(): readonly Visit[] {
    return this.kept;
  }

  /** An episode's visit so far is dropped (it opened anew, ended as a new normal, or resolved). */
  clearNow(): void {
    for (let c = 0; c < this.C; c++) this.now[c] = null;
  }

  /**
   * One reading of owner channel `c` of the open episode: value `v` (sensor units) at `ts` (epoch ms; NaN: unknown);
   * `pre`: the value of the reading before the episode (Episode.pre; NaN: none), used at its first reading.
   */
  note(c: number, v: number, ts: number, pre: number): void {
    if (!Number.isFinite(v)) return;
    let w = this.now[c];
    if (w === null) {
      const origin = Number.isFinite(pre) ? pre : v;
      w = { origin, prev: origin, maxStep: 0, extreme: 0, lo: v, hi: v, from: ts, to: ts, n: 0, stride: 1, values: [] };
      this.now[c] = w;
    }
    w.maxStep = Math.max(w.maxStep, Math.abs(v - w.prev));
    w.prev = v;
    if (Math.abs(v - w.origin) > Math.abs(w.extreme)) w.extreme = v - w.origin;
    w.lo = Math.min(w.lo, v);
    w.hi = Math.max(w.hi, v);
    w.to = ts;
    if (w.n % w.stride === 0) {
      w.values.push(v);
      // Full: keep every other value, and every (2 × stride)-th reading from now on.
      if (w.values.length >= VISIT_VALUES) {
        w.values = w.values.filter((_, i) => i % 2 === 0);
        w.stride *= 2;
      }
    }
    w.n++;
  }

  /**
   * The open episode came back (resolved, not a new normal): judges each owner channel's visit (`owners[c]`) and
   * returns what is to be taught (the channels whose visit was a walk and whose family is confirmed: CONFIRM alike,
   * this one included, or alike to a learnt one). Keeps the walks not taught yet; drops the visit in progress.
   */
  settle(owners: readonly boolean[]): VisitLesson[] {
    const lessons: VisitLesson[] = [];
    for (let c = 0; c < this.C; c++) {
      const w = this.now[c];
      if (w === null || !owners[c]) continue;
      const reach = Math.abs(w.extreme);
      // Reached by a walk: at least WALK_STEPS steps to its extreme, none larger than a WALK_STEPS-th of it.
      if (!(reach > 0) || w.n < WALK_STEPS || w.maxStep > reach / WALK_STEPS) continue;
      const byReadings = !(Number.isFinite(w.from) && Number.isFinite(w.to));
      const visit: Visit = { c, lo: w.lo, hi: w.hi, side: Math.sign(w.extreme), span: byReadings ? w.n : w.to - w.from, byReadings, learnt: false, stride: w.stride, values: w.values };
      const family = this.kept.filter((x) => alike(x, visit));
      if (family.some((x) => x.learnt) || family.length + 1 >= CONFIRM) {
        const taught = [...family.filter((x) => !x.learnt), visit].map((x) => ({ values: x.values, stride: x.stride }));
        lessons.push({ c, values: taught });
        for (const x of family) {
          x.learnt = true;
          x.values = [];
        }
        visit.learnt = true;
        visit.values = [];
        // A learnt family keeps its newest CONFIRM − 1 members (with this one: CONFIRM), enough to recognise it.
        const older = family.slice(0, Math.max(0, family.length - (CONFIRM - 1)));
        this.kept = this.kept.filter((x) => !older.includes(x));
      }
      this.kept.push(visit);
      if (this.kept.length > VISITS_KEPT) this.kept.shift();
    }
    this.clearNow();
    return lessons;
  }

  /** The state as JSON (a checkpoint): the kept visits and the visit in progress. */
  toJSON(): VisitMemoryJson {
    return {
      kept: this.kept.map((x) => ({ c: x.c, lo: x.lo, hi: x.hi, side: x.side, span: x.span, ...(x.byReadings ? { byReadings: true } : {}), learnt: x.learnt, stride: x.stride, values: x.values })),
      now: this.now.map((w) => (w === null ? null : { ...w, from: finiteOrNull(w.from), to: finiteOrNull(w.to) })),
    };
  }

  /**
   * A stream's visits from a checkpoint (toJSON) of `C` channels.
   * @throws Error when the state is malformed (the caller lets the stream start over)
   */
  static fromJSON(json: unknown, C: number): VisitMemory {
    const m = new VisitMemory(C);
    if (typeof json !== 'object' || json === null) throw new Error('visits: not an object');
    const v = json as { kept?: unknown; now?: unknown };
    if (!Array.isArray(v.kept) || !Array.isArray(v.now) || v.now.length !== C) throw new Error('visits: kept and now must be arrays (now: one per channel)');
    m.kept = v.kept.slice(-VISITS_KEPT).map((x: unknown) => {
      const k = x as Record<string, unknown>;
      const c = channelOf(k.c, C);
      const nums = [k.lo, k.hi, k.side, k.span, k.stride];
      if (!nums.every(isFiniteNumber) || typeof k.learnt !== 'boolean' || !finiteArray(k.values) || !(Number(k.stride) >= 1)) throw new Error('visits: malformed visit');
      return { c, lo: Number(k.lo), hi: Number(k.hi), side: Number(k.side), span: Number(k.span), byReadings: k.byReadings === true, learnt: k.learnt, stride: Number(k.stride), values: k.values.slice(0, VISIT_VALUES) };
    });
    m.now = v.now.map((x: unknown) => {
      if (x === null) return null;
      const w = x as Record<string, unknown>;
      const nums = [w.origin, w.prev, w.maxStep, w.extreme, w.lo, w.hi, w.n, w.stride];
      if (!nums.every(isFiniteNumber) || !finiteArray(w.values) || !(Number(w.stride) >= 1)) throw new Error('visits: malformed visit in progress');
      const time = (t: unknown): number => (t === null || t === undefined ? Number.NaN : isFiniteNumber(t) ? t : Number.NaN);
      return { origin: Number(w.origin), prev: Number(w.prev), maxStep: Number(w.maxStep), extreme: Number(w.extreme), lo: Number(w.lo), hi: Number(w.hi), from: time(w.from), to: time(w.to), n: Number(w.n), stride: Number(w.stride), values: w.values.slice(0, VISIT_VALUES) };
    });
    return m;
  }

  /** Nothing kept and no visit in progress (the checkpoint leaves the field out). */
  get empty(): boolean {
    return this.kept.length === 0 && this.now.every((w) => w === null);
  }
}

/** A VisitMemory as a checkpoint holds it (times unknown: null). */
export interface VisitMemoryJson {
  readonly kept: readonly { c: number; lo: number; hi: number; side: number; span: number; byReadings?: boolean; learnt: boolean; stride: number; values: number[] }[];
  readonly now: readonly ({ origin: number; prev: number; maxStep: number; extreme: number; lo: number; hi: number; from: number | null; to: number | null; n: number; stride: number; values: number[] } | null)[];
}

/** Two visits of one channel alike: same side, ranges overlapping by ALIKE of the smaller, durations within DURATION. */
function alike(a: Visit, b: Visit): boolean {
  if (a.c !== b.c || a.side !== b.side || a.byReadings !== b.byReadings) return false;
  const overlap = Math.min(a.hi, b.hi) - Math.max(a.lo, b.lo);
  if (!(overlap >= ALIKE * Math.min(a.hi - a.lo, b.hi - b.lo))) return false;
  const long = Math.max(a.span, b.span);
  const short = Math.min(a.span, b.span);
  return long <= DURATION * Math.max(short, 1);
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function finiteArray(x: unknown): x is number[] {
  return Array.isArray(x) && x.every(isFiniteNumber);
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function channelOf(x: unknown, C: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= C) throw new Error('visits: bad channel');
  return x;
}
