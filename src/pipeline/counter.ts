/**
 * Cumulative counters (energy meters, water and gas meters, event counts): recognised from a stream's own
 * readings; their holds are no stuck value, and a step back is a reset, told once, the count going on from it.
 *
 * Real hubs publish the running total of a meter (Shelly Gen2 `aenergy.total` in Wh, Tasmota `ENERGY.Total` in
 * kWh, zigbee2mqtt `energy`, Home Assistant's `total_increasing` sensors). Judged as any level, its normal
 * behaviour looks faulty: at 0 W it repeats one value for hours (a stuck value), and a reset (a power cut's
 * rollback, Shelly's `Switch.ResetCounters`, a replaced meter) is a step back that the level calls a level shift,
 * which then "recovers" while still below (tryout 14, finding 5).
 *
 * Recognition (CounterTrack.observe), from the readings alone (a field's name is no evidence: `total` may be a
 * sum of anything): a one-channel stream whose value has not gone down for MONOTONE_READINGS readings in a row
 * (a long run, in the stream's own readings, so the same at any sampling rate), in which it went up at least
 * MIN_RISES times (a counter moves; a constant or a setpoint raised once or twice is no counter), and that has
 * never been negative (a count is never negative: MSL's T-13, a ramp from -1 to 1, scaled as every MSL channel is,
 * rises at every reading for thousands of readings and is no meter; a meter that can go negative, a net
 * import/export one, is not monotone either). A slowly rising temperature dips by its resolution now and then
 * (noise, quantisation flicker); a random walk or a quantised level goes down about as often as up: none of them
 * holds a run that long. A stream that was recognised and then goes down again within MONOTONE_READINGS readings
 * of its previous decrease, or below zero, is no counter after all (a level that rose for a long while, then
 * fell): it is judged as a level again, from its own readings.
 *
 * What a counter is judged as: its total, continued across resets (Home Assistant's long-term statistics keep
 * such a `sum` of a `total_increasing` sensor across its meter cycles). At a step back the increment of that
 * reading is not known: the continued total goes on by the increment of the reading before (CounterState.step: a
 * meter counting at its rate goes one step on at it, one holding holds; a held total in a meter that never idles is a
 * change of its increments, told as a lasting shift: tryout 29, finding 3), and the count goes on from the new value (the
 * offset between the two is added to every later reading: CounterStep.value). So nothing but the reset itself
 * (CounterStep.reset: the scorer tells it once, as one episode) sees the step; a step back whose first move
 * returns to the old total or beyond was a misread (a sentinel 0 between two readings of the real total): told as
 * it was seen, then the count goes on as before it (the offset undone); a step back to the total before the latest
 * rise or above, when that rise was larger than any before it, undoes an overshoot (a sentinel 2^32 − 1, judged as
 * the level it was), and is no reset; after a rise of a size the counter has made before, the same step back is a
 * rollback (a zigbee2mqtt plug's total one increment back after a power cut: tryout 22, finding 4), a reset. And its holds: a counter repeats
 * its value for as long as nothing is consumed, so for a counter that has been seen holding its value and moving on
 * (at least MIN_RISES readings equal to the one before, in holds that a rise ended, since its monotone run began:
 * as often as a counter must move to be one; a hold still going on is not counted, so a counter's own freeze
 * never makes its holds normal) a run of one value is no evidence of a stuck sensor (CounterStep.holds, StepItem.counter; the scorer
 * judges only its silences as runs). A counter that moves at nearly every reading (a running process's count, a
 * meter that never idles) has not: its first hold is as telling as any stream's, and `stuck` judges it as before.
 *
 * A counter frozen (CounterStep.frozen): a counter whose holds are normal is still measured by its own idles. An idle
 * is a hold a rise ended; its length is counted in readings equal to the one before (the same at any sampling rate:
 * a DSMR 5 gas meter's 25 min idle is 5 readings, a DSMR 4 one's 6 h idle 6). A hold going on longer than
 * FROZEN_TIMES times the longest idle the counter ended, and longer than FROZEN_FLOOR readings, is a frozen total (a
 * meter whose register or reader stopped while the heating runs: tryout 40, finding 4: a 5 min gas total frozen 144
 * readings, its longest idle in 13 days 5, was never told), judged only once the counter has ended MIN_IDLES idles
 * and a whole day of readings came before the hold began (a household's longest idle is its night's: a water meter
 * idle all night, seen only for an afternoon, is not judged by its afternoon's idles). A counter whose idles are
 * long and varied (a water meter at night, a sparse meter with days of no use) makes its own bound long. A hold
 * that was judged frozen is not taught as an idle when a rise ends it (censored, as a rare run and a rare dwell are:
 * src/pipeline/dwell.ts), so one freeze does not make the next one ordinary. Needs the readings' times (observe's
 * `ts`); without them, no freeze is judged.
 *
 * A counter that never rests (CounterStep.busy): the mirror of a frozen total. A counter whose increments come in
 * bursts with rests between (a water meter's taps, showers and washing machine, a gas meter's burner runs) is measured
 * by its own busy runs. A rest is a stretch of at least REST_PERIODS of the stream's report periods without an
 * increment: for a stream that reports on change (every reading an increment: Home Assistant's statestream, a pulse
 * counter) its silence; for one read at a fixed period (its holds normal: CounterStep.holds) its readings that held,
 * from the increment before them to the last of them (a silence of such a stream is no rest of the meter's: a broker
 * outage, a reader down). The report period is the median of the gaps between the stream's readings over its whole
 * history (a histogram, 4 bins an octave: a meter that reports every 10 s while water flows, however long its
 * nights; a long run of slow readings, a leak's every 2 min, does not move it as the cadence's median of its last 31
 * gaps would). A busy run is the time from its first increment after a rest to its latest increment, counted in
 * time, not readings (a slow leak sends fewer readings than a tap: tryout 40, finding 5: 1 L every 2 min all night).
 * A run going on longer than BUSY_TIMES times the longest busy run the counter ended, and longer than BUSY_FLOOR
 * report periods, is a counter that does not rest (a leak, a tap left open, a burner that never stops), judged only
 * once the counter has ended MIN_BUSY_RUNS runs and a whole day of readings came before the run began (a household's
 * longest run is its evening's or its washing machine's, not its morning's). A counter that never rests (a P1 energy
 * total, a server's request count) ends no busy run: the kind does not apply to it, and it is never told. A run that
 * was judged busy is not taught when a rest ends it (censored, as a frozen hold is). A flow slower than one
 * increment a rest (a drip of 0.1 L/min on a 1 L meter reporting every 10 s: an increment every 10 min, a rest of
 * 5 min between) rests between its increments and is not told. Needs the readings' times (observe's `ts`).
 *
 * Stated by its hub (CounterTrack.declare): where the hub says a stream is a counter (Home Assistant's
 * `state_class: total_increasing`, a Shelly's `aenergy.total`, Tasmota's `ENERGY.Total`, zigbee2mqtt's `energy`:
 * MappingRuleSpec.counters), it is one from its first reading, whatever its readings did before, and for good: a
 * step back, however soon after the one before (a meter reset twice in a day, a sparse one), is a reset (Home
 * Assistant: for a `total_increasing` sensor "a decreasing value is interpreted as the start of a new meter cycle
 * or the replacement of the meter"), never a reason to judge it as a level again; a misread (a sentinel 0 between
 * two readings of the real total) and an overshoot are told apart from a reset as for any counter. Its holds are
 * normal only once it has been seen holding, as any counter's. A stream without the hub's word is untouched by it.
 *
 * A meter's own cycle (CounterStep.reset.cycle): Home Assistant's utility meters (`utility_meter` with a `cycle`:
 * quarter-hourly, hourly, daily, weekly, monthly, quarterly, yearly) and many hubs' "today" totals go back to zero
 * at the start of each calendar period, on purpose: a counter_reset told every midnight is an alert the operator
 * learns to ignore. A reset is the meter's cycle, told to nobody, when (1) it goes to near zero (at most a tenth
 * of the total before it: a new cycle starts from nothing, where a power cut's rollback keeps most of the total),
 * (2) it is heard within CYCLE_SLACK_MS after a quarter hour of UTC (:00, :15, :30, :45: a calendar period of any
 * time zone starts on one, since every zone's offset is a multiple of 15 minutes), and (3) it is the third such
 * reset in a row with the two intervals between them within CYCLE_SPREAD of each other (23 to 25 hours across a
 * daylight-saving change, 28 to 31 days a month). The first two resets of a cycle are told as any reset; a reset
 * off the cycle (a reboot at 14:07, a rollback) is told whenever it comes; a watchdog's reboot loop, however
 * regular, does not start on quarter hours. Needs the reading's time (observe's `ts`); without it, no cycle.
 *
 * Considered, not followed: Home Assistant's statistics take a `total_increasing` sensor's decrease of less than
 * 10 % as a dip, not a new cycle. A dip is still told here as the step back it is (a power cut's rollback of a
 * Shelly's total is a few per cent, and "went back from 17.703 to 17.600 kWh" says what happened; judged as a
 * level instead, it would open an episode whose sentence hides it).
 *
 * How the scorer judges a counter (src/pipeline/scorer.ts judgeCounter): by its rate, never by its total's level (a
 * total rises above anything seen whenever it counts, and holds for hours while nothing is consumed: tryout 31); a
 * rate at least twice the fastest it had counted at is told. Tried, not kept: the rate as the evidence judges a level
 * (BENCHMARKS.md, branch `rate`: a kettle's start is a rare step of the rate; a coarse counter's rate is quantised
 * into a few values). State: JSON (snapshot / restore), carried by the detector's checkpoint.
 */

/** Readings in a row without a decrease that make a stream a counter (with MIN_RISES rises among them). */
export const MONOTONE_READINGS = 1024;
/** Rises (readings that moved the total up) a counter makes in its monotone run before it is recognised. */
export const MIN_RISES = 64;
/** A meter cycle's reset is heard at most this long after a quarter hour of UTC (ms): a hub's report delay. */
export const CYCLE_SLACK_MS = 120_000;
/** The two intervals between three cycle resets differ by at most this fraction of the first (a month: 28 to 31 days). */
export const CYCLE_SPREAD = 0.12;
/** A quarter hour (ms): every time zone's offset from UTC is a multiple of it, so every calendar period starts on one. */
const QUARTER_HOUR_MS = 900_000;
/**
 * A counter's hold is a frozen total beyond this many times the longest idle it ended (CounterStep.frozen): beyond the
 * idles' own spread (the longest of n idles is their sample maximum; four times it is far out in any tail that the
 * household's routine makes), and a freeze is told a bounded count of readings (three times the longest idle) after
 * it outlasted every idle.
 */
export const FROZEN_TIMES = 4;
/** Readings a hold must last beyond before it is judged frozen, however short the counter's idles (a quantised slow hour's holds). */
export const FROZEN_FLOOR = 16;
/** Idles (holds a rise ended) a counter must have ended before a hold of it is judged frozen. */
export const MIN_IDLES = 8;
/** The readings' time before a hold began, since the counter's idles were first counted, before it is judged frozen (ms): a day. */
export const FROZEN_SEEN_MS = 86_400_000;

/**
 * A rest of a counter (CounterStep.busy) lasts at least this many of its report periods without an increment: 5 min
 * at 10 s. A leak of 0.5 L/min on a 1 L meter moves it every 12 periods (2 min) and rests never; a household's uses
 * of water are mostly further apart than this.
 */
export const REST_PERIODS = 30;
/**
 * A counter's busy run is one that does not rest beyond this many times the longest busy run it ended
 * (CounterStep.busy): far out in the tail of its own runs, and a leak is told a bounded time (twice the longest run)
 * after it outlasted every run.
 */
export const BUSY_TIMES = 3;
/** Report periods a busy run must last beyond before it is judged, however short the counter's runs (1 h at 10 s). */
export const BUSY_FLOOR = 360;
/** Busy runs (ended by a rest) a counter must have ended before a run of it is judged. */
export const MIN_BUSY_RUNS = 8;
/** The readings' time before a busy run began, since its runs were first counted, before it is judged (ms): a day. */
export const BUSY_SEEN_MS = 86_400_000;
/** Gaps between readings counted before the report period is known (CounterStep.busy). */
const PERIOD_GAPS = 32;
/** The gaps' histogram is halved beyond this many, so the report period follows a lasting change slowly. */
const PERIOD_GAPS_MAX = 8192;
/** Bins of the gaps' histogram per octave. */
const PERIOD_BINS = 4;

/** What the counter stage makes of one reading of a one-channel stream. */
export interface CounterStep {
  /** The value to judge: the reading's own, or for a counter its total continued across resets (sensor units). */
  readonly value: number;
  /** True when the stream is judged as a counter at this reading. */
  readonly counter: boolean;
  /** A counter that has been seen holding its value (MIN_RISES holds since its run began): its holds are normal. */
  readonly holds: boolean;
  /**
   * A counter's step back at this reading: the previous total and the new one, as the sensor sent them; `cycle`
   * when it is the meter's own calendar cycle (a utility meter's daily reset: see the module's notes), told to nobody.
   */
  readonly reset: { readonly from: number; readonly to: number; readonly cycle?: true } | null;
  /**
   * A counter whose holds are normal holds its value far longer than every idle it ended (see the module's notes):
   * the hold's first reading's time (`since`, epoch ms), its length in readings equal to the one before
   * (`readings`), and the longest idle before it (`longest` readings, `longestMs` ms from its first reading to its
   * last). Null otherwise.
   */
  readonly frozen: CounterFrozen | null;
  /**
   * A counter whose increments come in runs with rests between has counted without a rest far longer than every
   * busy run it ended (see the module's notes): the run's first increment's time (`since`, epoch ms), its length so
   * far (`ms`, to this reading), the longest busy run before it (`longestMs`), what it counted since it began
   * (`rise`, sensor units of the continued total) and the rest it is measured by (`restMs`: REST_PERIODS report
   * periods). Null otherwise.
   */
  readonly busy: CounterBusy | null;
}

/** A counter counting without a rest (CounterStep.busy). */
export interface CounterBusy {
  readonly since: number;
  readonly ms: number;
  readonly longestMs: number;
  readonly rise: number;
  readonly restMs: number;
}

/** A counter's frozen total (CounterStep.frozen). */
export interface CounterFrozen {
  readonly since: number;
  readonly readings: number;
  readonly longest: number;
  readonly longestMs: number;
}

/** A counter stage's state (JSON). */
export interface CounterState {
  readonly format: 'anomalyd-counter/1';
  readonly counter: boolean;
  readonly negative: boolean;
  readonly last: number | null;
  readonly run: number;
  readonly rises: number;
  /** Readings equal to the one before since the monotone run began (absent in a state written before: 0). */
  readonly holds?: number;
  /** Readings equal to the one before in the hold going on (absent: 0). */
  readonly holding?: number;
  /** Readings since the counter's last decrease; -1: none since it was recognised. */
  readonly sinceDrop: number;
  readonly offset: number;
  readonly back?: { readonly from: number; readonly offset: number } | null;
  readonly beforeRise?: number | null;
  /** The counter's latest rise and the largest rise before it, sensor units (absent in a state written before: 0). */
  readonly latestRise?: number;
  readonly riseBefore?: number;
  /** The latest reading's increment (sensor units; 0 at a hold): the reset reading's (absent in a state written before: 0). */
  readonly step?: number;
  /** The hub states it is a counter (CounterTrack.declare); absent: it does not (a state written before: not). */
  readonly stated?: true;
  /** Times (ms) of the latest resets to near zero heard on a quarter hour, oldest first, at most 2 (absent: none). */
  readonly cycleAt?: number[];
  /**
   * The counter's idles (CounterStep.frozen): how many ended, the longest in readings and in ms, since when (ms) they
   * are counted, the present hold's first reading's time (ms) and the latest reading's (ms). Absent in a state written
   * before (none counted: counted from the next reading on).
   */
  readonly idles?: number;
  readonly longestIdle?: number;
  readonly longestIdleMs?: number;
  readonly idleSeenSince?: number;
  readonly holdSince?: number;
  readonly lastTs?: number;
  /**
   * The counter's busy runs (CounterStep.busy): the gaps' histogram ([bin, count] pairs, bin = round(4 log2 gap ms)),
   * how many runs ended, the longest (ms), since when (ms) they are counted, the present run's first increment's time
   * (ms), the continued total before it, the latest increment's time (ms) and whether the present run was judged
   * busy. Absent in a state written before (none counted: counted from the next reading on).
   */
  readonly gaps?: [number, number][];
  readonly busyRuns?: number;
  readonly longestBusyMs?: number;
  readonly busySeenSince?: number;
  readonly busySince?: number;
  readonly busyBase?: number;
  readonly lastIncTs?: number;
  readonly busyJudged?: true;
  /** The first reading's time (ms) after the latest silence of a rest's length (absent: none). */
  readonly heardSince?: number;
}

/**
 * One stream's counter stage: observe() each reading (not duplicates) of a one-channel stream, in order.
 * Pure arithmetic; no clock (the readings' own times, for a meter's cycle).
 */
export class CounterTrack {
  /** Judged as a counter. */
  counter = false;
  /** The stream has been negative: no count (a count is never negative), for good. */
  private negative = false;
  /** The previous reading's value as sent, or null before the first. */
  private last: number | null = null;
  /** Readings in a row without a decrease (the current monotone run), and the rises among them. */
  private run = 0;
  private rises = 0;
  /** Readings equal to the one before, in holds a rise ended, since the monotone run began (kept while a counter). */
  private holds = 0;
  /** Readings equal to the one before in the hold going on now (counted in `holds` when a rise ends it). */
  private holding0 = 0;
  /** Readings since the counter's last decrease (Infinity: none since it was recognised). */
  private sinceDrop = Number.POSITIVE_INFINITY;
  /** What the resets took off the total: added to a counter's readings (sensor units). */
  private offset = 0;
  /**
   * After a step back, until the counter next moves: the total before it and the offset before it. A first move
   * back to at least that total was a misread (a sentinel 0, a 2^32 − 1 read as 0): the offset is undone.
   */
  private back: { readonly from: number; readonly offset: number } | null = null;
  /** The total before the counter's latest rise (as sent): a step back to it or above undoes that rise, no reset. */
  private beforeRise: number | null = null;
  /**
   * The latest rise (sensor units) and the largest rise before it: a step back undoes an overshoot only when the
   * rise it undoes was larger than any before it (a sentinel), not one of the counter's usual size (a rollback).
   */
  private latestRise = 0;
  private riseBefore = 0;
  /**
   * The latest reading's increment of the continued total (sensor units; 0 at a hold, and at a reset its own): what
   * a reset's reading counts on by, its own increment not being known.
   */
  private step = 0;
  /** The hub states the stream is a counter (declare): one from its first reading, and never a level again. */
  private stated = false;
  /** Times (ms) of the latest resets that could be a meter's cycle (to near zero, on a quarter hour): at most 2. */
  private cycleAt: number[] = [];
  /** Idles (holds a rise ended) since they were counted, the longest in readings and in ms (CounterStep.frozen). */
  private idles = 0;
  private longestIdle = 0;
  private longestIdleMs = 0;
  /** Time (ms) from which the idles are counted (NaN: from the next reading's). */
  private idleSeenSince = Number.NaN;
  /** Time (ms) of the first reading of the present value (the hold's start; NaN: not known). */
  private holdSince = Number.NaN;
  /** Time (ms) of the latest reading (NaN: not known). */
  private lastTs = Number.NaN;
  /** The gaps between readings (ms) by bin (round(PERIOD_BINS · log2 gap)): their count (CounterStep.busy). */
  private gaps = new Map<number, number>();
  private gapCount = 0;
  /** The report period (ms; NaN: not known yet), the gaps' median, and the gaps counted when it was. */
  private period = Number.NaN;
  private periodAt = 0;
  /** Busy runs ended since they were counted, the longest (ms), and since when (ms; NaN: from the next reading's). */
  private busyRuns = 0;
  private longestBusyMs = 0;
  private busySeenSince = Number.NaN;
  /** The present busy run's first increment's time (ms; NaN: none yet) and the continued total before it. */
  private busySince = Number.NaN;
  private busyBase = 0;
  /** Time (ms) of the latest increment (NaN: none yet). */
  private lastIncTs = Number.NaN;
  /** The present busy run was judged busy (censored: not taught when it ends). */
  private busyJudged = false;
  /** Time (ms) of the first reading after the latest silence of a rest's length (NaN: none): held readings count from it. */
  private heardSince = Number.NaN;

  /** The latest reading as the sensor sent it (null before the first): what a duplicate of it was sent as. */
  get lastSent(): number | null {
    return this.last;
  }

  /**
   * The stream's nature as a counter, for the operator (GET /api/sensors `counter`): null while it is not judged as
   * one; else whether its hub stated it (`stated`), the busy runs it ended (`busyRuns`, CounterStep.busy), the longest
   * (`longestBusyMs`, null while none ended) and the rest they are measured by (`restMs`, null while its report period
   * is not known).
   */
  nature(): { readonly stated: boolean; readonly busyRuns: number; readonly longestBusyMs: number | null; readonly restMs: number | null } | null {
    if (!this.counter) return null;
    const rest = this.restMs();
    return { stated: this.stated, busyRuns: this.busyRuns, longestBusyMs: this.busyRuns > 0 ? this.longestBusyMs : null, restMs: Number.isFinite(rest) ? rest : null };
  }

  /** Whether the hub has stated that the stream is a counter (declare). */
  get declared(): boolean {
    return this.stated;
  }

  /**
   * The hub states that the stream is a cumulative counter (MappingRuleSpec.counters): judged as one from the next
   * reading on (from its first, when called before it), for good. A stream recognised already goes on as it was
   * (its offset and holds kept). Idempotent.
   */
  declare(): void {
    if (this.stated) return;
    this.stated = true;
    if (this.counter) return;
    this.counter = true;
    this.sinceDrop = Number.POSITIVE_INFINITY;
    this.offset = 0;
    this.back = null;
    this.beforeRise = null;
  }

  /**
   * Takes a reading of the stream: `value` as the sensor sent it, `ts` its time (ms since the epoch; NaN when not
   * known: no reset is then a meter's cycle). Returns what to judge it as.
   */
  observe(value: number, ts = Number.NaN): CounterStep {
    const prev = this.last;
    const prevTs = this.lastTs;
    this.last = value;
    this.lastTs = ts;
    if (value < 0) this.negative = true;
    if (Number.isNaN(this.idleSeenSince)) this.idleSeenSince = ts;
    if (Number.isNaN(this.busySeenSince)) this.busySeenSince = ts;
    if (prev === null) {
      this.run = 1;
      this.holdSince = ts;
      return { value, counter: this.stated, holds: false, reset: null, frozen: null, busy: null };
    }
    this.noteGap(ts - prevTs);
    // A silence of a rest's length: a stream read at a fixed period did not rest in it (heardSince).
    if (ts - prevTs >= this.restMs()) this.heardSince = ts;
    const down = value < prev;
    if (value > prev) {
      this.riseBefore = Math.max(this.riseBefore, this.latestRise);
      this.latestRise = value - prev;
    }
    if (!this.counter) {
      if (down || this.negative) {
        this.run = 1;
        this.rises = 0;
        this.holds = 0;
        this.holding0 = 0;
        this.forgetIdles(ts);
      } else {
        this.run++;
        this.hold(value, prev, ts, prevTs);
      }
      this.step = down ? 0 : value - prev;
      if (this.run < MONOTONE_READINGS || this.rises < MIN_RISES) return { value, counter: false, holds: false, reset: null, frozen: null, busy: null };
      this.counter = true;
      this.sinceDrop = Number.POSITIVE_INFINITY;
      this.offset = 0;
      return { value, counter: true, holds: this.holding(), reset: null, frozen: this.frozen(), busy: this.busyNow(ts, value) };
    }
    this.sinceDrop++;
    this.hold(value, prev, ts, prevTs);
    if (down && value >= 0 && this.beforeRise !== null && value >= this.beforeRise && this.latestRise > this.riseBefore) {
      // Back to where it was before its latest rise, or between, and that rise was larger than any before it: it
      // overshot (a sentinel such as 2^32 − 1, a misread), which the judged total showed as it was; the count goes
      // on from here, no reset. After a rise of a usual size the step back is a rollback: a reset, below.
      this.beforeRise = null;
      this.step = 0;
      return { value: value + this.offset, counter: true, holds: this.holding(), reset: null, frozen: null, busy: null };
    }
    if (value > prev) this.beforeRise = prev;
    if (down || value < 0) {
      if (!this.stated && (this.sinceDrop < MONOTONE_READINGS || value < 0)) {
        // Down twice within a monotone run's length, or below zero: no counter (a level that rose for a long
        // while, then fell): a level again, its readings as sent.
        this.counter = false;
        this.run = 1;
        this.rises = 0;
        this.holds = 0;
        this.holding0 = 0;
        this.offset = 0;
        this.back = null;
        this.beforeRise = null;
        this.step = 0;
        this.forgetIdles(ts);
        return { value, counter: false, holds: false, reset: null, frozen: null, busy: null };
      }
      // A reset: the increment of this reading is not known; the continued total counts on from here.
      this.sinceDrop = 0;
      this.beforeRise = null;
      // Its own increment is not known: it counts on by the reading before's (a meter counting at its rate goes on
      // at it, one holding holds), so the reset is one step of the total at its usual increment, not a change of
      // the increments (tryout 29, finding 3: a meter that never idles, its reset reading held, was then told a
      // `lasting shift` while it counted on normally from 0).
      if (this.back === null) this.back = { from: prev, offset: this.offset };
      this.offset += prev - value + this.step;
      const reset = this.cycle(prev, value, ts) ? { from: prev, to: value, cycle: true as const } : { from: prev, to: value };
      return { value: value + this.offset, counter: true, holds: this.holding(), reset, frozen: null, busy: null };
    }
    if (this.back !== null && value > prev) {
      // The first move after a step back: back to the old total or beyond, the step back was a misread (told, as
      // it was seen), and the count goes on as before it; else the meter was reset and counts on from the new value.
      // Undone, the total judged does not go back: the step back's reading counted on by the usual increment,
      // which the misread's real total may not have reached (at most that one increment stays in the offset).
      if (value >= this.back.from) this.offset = Math.max(this.back.offset, prev + this.offset - value);
      this.back = null;
    }
    this.step = value - prev;
    return { value: value + this.offset, counter: true, holds: this.holding(), reset: null, frozen: this.frozen(), busy: this.busyNow(ts, value + this.offset) };
  }

  /**
   * Whether a reset from `from` to `to` heard at `ts` is the meter's own calendar cycle (module notes): to near
   * zero, within CYCLE_SLACK_MS after a quarter hour of UTC, and the third such in a row at a steady interval.
   * Remembers it as a candidate for the next one; a reset that is no candidate forgets the ones before.
   */
  private cycle(from: number, to: number, ts: number): boolean {
    const candidate = Number.isFinite(ts) && to <= 0.1 * from && ((ts % QUARTER_HOUR_MS) + QUARTER_HOUR_MS) % QUARTER_HOUR_MS <= CYCLE_SLACK_MS;
    if (!candidate) {
      this.cycleAt = [];
      return false;
    }
    const at = this.cycleAt;
    let steady = false;
    if (at.length === 2) {
      const first = at[1] - at[0];
      const second = ts - at[1];
      steady = first > 0 && second > 0 && Math.abs(second - first) <= CYCLE_SPREAD * first;
    }
    this.cycleAt = at.length === 2 ? [at[1], ts] : [...at, ts];
    return steady;
  }

  /**
   * Counts a rise (ending the hold going on, counted then, and taught as an idle), a hold, or a step back (ending the
   * hold, not counted). `ts`, `prevTs`: this reading's and the one before's times (ms; NaN: not known).
   */
  private hold(value: number, prev: number, ts: number, prevTs: number): void {
    if (value > prev) {
      this.busyStep(prev, ts, prevTs);
      const frozen = this.frozen() !== null;
      this.rises++;
      this.holds += this.holding0;
      if (this.holding0 > 0 && !frozen) {
        this.idles++;
        this.longestIdle = Math.max(this.longestIdle, this.holding0);
        const ms = prevTs - this.holdSince;
        if (ms > this.longestIdleMs) this.longestIdleMs = ms;
      }
      this.holding0 = 0;
      this.holdSince = ts;
    } else if (value === prev) this.holding0++;
    else {
      this.holding0 = 0;
      this.holdSince = ts;
    }
  }

  /** Forgets the idles counted (a monotone run that ended: no counter, or not yet), counting them again from `ts`. */
  private forgetIdles(ts: number): void {
    this.idles = 0;
    this.longestIdle = 0;
    this.longestIdleMs = 0;
    this.idleSeenSince = ts;
    this.holdSince = ts;
    this.busyRuns = 0;
    this.longestBusyMs = 0;
    this.busySeenSince = ts;
    this.busySince = Number.NaN;
    this.lastIncTs = Number.NaN;
    this.busyJudged = false;
  }

  /** Counts a gap between two readings (ms) in the histogram the report period is the median of (CounterStep.busy). */
  private noteGap(gap: number): void {
    if (!(gap > 0) || !Number.isFinite(gap)) return;
    const bin = Math.round(PERIOD_BINS * Math.log2(gap));
    this.gaps.set(bin, (this.gaps.get(bin) ?? 0) + 1);
    this.gapCount++;
    if (this.gapCount > PERIOD_GAPS_MAX) {
      let n = 0;
      for (const [b, c] of this.gaps) {
        if (c < 1) this.gaps.delete(b);
        else {
          this.gaps.set(b, c / 2);
          n += c / 2;
        }
      }
      this.gapCount = n;
      this.periodAt = 0;
    }
  }

  /** A rest's least length (ms): REST_PERIODS report periods, the gaps' median (NaN before PERIOD_GAPS gaps). */
  private restMs(): number {
    if (this.gapCount < PERIOD_GAPS) return Number.NaN;
    if (Number.isNaN(this.period) || this.gapCount - this.periodAt >= PERIOD_GAPS || this.gapCount < this.periodAt) {
      const bins = [...this.gaps.keys()].sort((a, b) => a - b);
      let seen = 0;
      let median = bins[bins.length - 1];
      for (const b of bins) {
        seen += this.gaps.get(b) ?? 0;
        if (seen >= this.gapCount / 2) {
          median = b;
          break;
        }
      }
      this.period = 2 ** (median / PERIOD_BINS);
      this.periodAt = this.gapCount;
    }
    return REST_PERIODS * this.period;
  }

  /**
   * An increment from `prev` at `ts` (the reading before at `prevTs`): after a rest (CounterStep.busy; the module's
   * notes) the busy run going on ended at the increment before (taught, unless it was judged busy) and a new one
   * begins at this one. Before the report period is known no run is counted (the first one after it is not taught:
   * its start is not known).
   */
  private busyStep(prev: number, ts: number, prevTs: number): void {
    const rest = this.restMs();
    const last = this.lastIncTs;
    this.lastIncTs = ts;
    if (Number.isNaN(rest)) {
      this.busySince = Number.NaN;
      return;
    }
    if (Number.isNaN(this.busySince) || Number.isNaN(last)) {
      this.busySince = ts;
      this.busyBase = prev + this.offset;
      this.busyJudged = true;
      return;
    }
    // A stream read at a fixed period rests in its readings that held (since it was heard again after a silence); one
    // that reports on change, in its silence.
    const quiet = this.holding() ? prevTs - this.heldFrom(last) : ts - last;
    if (!(quiet >= rest)) return;
    if (!this.busyJudged) {
      this.busyRuns++;
      this.longestBusyMs = Math.max(this.longestBusyMs, last - this.busySince);
    }
    this.busySince = ts;
    this.busyBase = prev + this.offset;
    this.busyJudged = false;
  }

  /** Since when (ms) a stream read at a fixed period has held its value, its latest increment at `last`: not through a silence. */
  private heldFrom(last: number): number {
    return this.heardSince > last ? this.heardSince : last;
  }

  /**
   * The busy run going on at `ts` as a counter that does not rest (CounterStep.busy; the module's notes), or null.
   * `total`: the reading's continued total. A run judged busy is not taught when it ends.
   */
  private busyNow(ts: number, total: number): CounterBusy | null {
    if (this.busyRuns < MIN_BUSY_RUNS || Number.isNaN(this.busySince)) return null;
    const rest = this.restMs();
    if (!(ts - (this.holding() ? this.heldFrom(this.lastIncTs) : this.lastIncTs) < rest)) return null;
    if (!(this.busySince - this.busySeenSince >= BUSY_SEEN_MS)) return null;
    const ms = ts - this.busySince;
    if (!(ms > Math.max(BUSY_TIMES * this.longestBusyMs, BUSY_FLOOR * this.period))) return null;
    this.busyJudged = true;
    return { since: this.busySince, ms, longestMs: this.longestBusyMs, rise: total - this.busyBase, restMs: rest };
  }

  /** The hold going on as a frozen total (CounterStep.frozen; the module's notes), or null. */
  private frozen(): CounterFrozen | null {
    const n = this.holding0;
    if (n === 0 || !this.holding() || this.idles < MIN_IDLES) return null;
    if (!(this.holdSince - this.idleSeenSince >= FROZEN_SEEN_MS)) return null;
    if (n <= Math.max(FROZEN_TIMES * this.longestIdle, FROZEN_FLOOR)) return null;
    return { since: this.holdSince, readings: n, longest: this.longestIdle, longestMs: this.longestIdleMs };
  }

  /** Whether the counter has been seen holding its value often enough for its holds to be normal (CounterStep.holds). */
  private holding(): boolean {
    return this.holds >= MIN_RISES;
  }

  /** The stage's state (JSON-serialisable). */
  snapshot(): CounterState {
    return {
      format: 'anomalyd-counter/1',
      counter: this.counter,
      negative: this.negative,
      last: this.last,
      run: this.run,
      rises: this.rises,
      holds: this.holds,
      holding: this.holding0,
      sinceDrop: Number.isFinite(this.sinceDrop) ? this.sinceDrop : -1,
      offset: this.offset,
      back: this.back === null ? null : { ...this.back },
      beforeRise: this.beforeRise,
      latestRise: this.latestRise,
      riseBefore: this.riseBefore,
      step: this.step,
      ...(this.stated ? { stated: true as const } : {}),
      ...(this.cycleAt.length > 0 ? { cycleAt: [...this.cycleAt] } : {}),
      idles: this.idles,
      longestIdle: this.longestIdle,
      longestIdleMs: this.longestIdleMs,
      ...(Number.isFinite(this.idleSeenSince) ? { idleSeenSince: this.idleSeenSince } : {}),
      ...(Number.isFinite(this.holdSince) ? { holdSince: this.holdSince } : {}),
      ...(Number.isFinite(this.lastTs) ? { lastTs: this.lastTs } : {}),
      gaps: [...this.gaps],
      busyRuns: this.busyRuns,
      longestBusyMs: this.longestBusyMs,
      ...(Number.isFinite(this.busySeenSince) ? { busySeenSince: this.busySeenSince } : {}),
      ...(Number.isFinite(this.busySince) ? { busySince: this.busySince, busyBase: this.busyBase } : {}),
      ...(Number.isFinite(this.lastIncTs) ? { lastIncTs: this.lastIncTs } : {}),
      ...(this.busyJudged ? { busyJudged: true as const } : {}),
      ...(Number.isFinite(this.heardSince) ? { heardSince: this.heardSince } : {}),
    };
  }

  /**
   * A stage from its snapshot.
   * @throws Error when `json` is not an anomalyd-counter/1 state
   */
  static restore(json: unknown): CounterTrack {
    const s = json as Partial<CounterState> | null;
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (s === null || typeof s !== 'object' || s.format !== 'anomalyd-counter/1' || typeof s.counter !== 'boolean' || !num(s.run) || !num(s.rises) || !num(s.sinceDrop) || !num(s.offset)) {
      throw new Error('not an anomalyd-counter/1 state');
    }
    const t = new CounterTrack();
    t.counter = s.counter;
    t.negative = s.negative === true;
    t.last = num(s.last) ? s.last : null;
    t.run = s.run;
    t.rises = s.rises;
    t.holds = num(s.holds) ? s.holds : 0;
    t.holding0 = num(s.holding) ? s.holding : 0;
    t.sinceDrop = s.sinceDrop < 0 ? Number.POSITIVE_INFINITY : s.sinceDrop;
    t.offset = s.offset;
    t.beforeRise = num(s.beforeRise) ? s.beforeRise : null;
    t.latestRise = num(s.latestRise) ? s.latestRise : 0;
    t.riseBefore = num(s.riseBefore) ? s.riseBefore : 0;
    t.step = num(s.step) && s.step >= 0 ? s.step : 0;
    t.stated = s.stated === true;
    t.cycleAt = Array.isArray(s.cycleAt) ? s.cycleAt.filter(num).slice(-2) : [];
    t.idles = num(s.idles) && s.idles >= 0 ? s.idles : 0;
    t.longestIdle = num(s.longestIdle) && s.longestIdle >= 0 ? s.longestIdle : 0;
    t.longestIdleMs = num(s.longestIdleMs) && s.longestIdleMs >= 0 ? s.longestIdleMs : 0;
    t.idleSeenSince = num(s.idleSeenSince) ? s.idleSeenSince : Number.NaN;
    t.holdSince = num(s.holdSince) ? s.holdSince : Number.NaN;
    t.lastTs = num(s.lastTs) ? s.lastTs : Number.NaN;
    if (Array.isArray(s.gaps)) {
      for (const g of s.gaps) {
        if (Array.isArray(g) && g.length === 2 && Number.isInteger(g[0]) && num(g[1]) && g[1] > 0) {
          t.gaps.set(g[0], g[1]);
          t.gapCount += g[1];
        }
      }
    }
    t.busyRuns = num(s.busyRuns) && s.busyRuns >= 0 ? s.busyRuns : 0;
    t.longestBusyMs = num(s.longestBusyMs) && s.longestBusyMs >= 0 ? s.longestBusyMs : 0;
    t.busySeenSince = num(s.busySeenSince) ? s.busySeenSince : Number.NaN;
    t.busySince = num(s.busySince) ? s.busySince : Number.NaN;
    t.busyBase = num(s.busyBase) ? s.busyBase : 0;
    t.lastIncTs = num(s.lastIncTs) ? s.lastIncTs : Number.NaN;
    t.busyJudged = s.busyJudged === true;
    t.heardSince = num(s.heardSince) ? s.heardSince : Number.NaN;
    t.back = s.back !== undefined && s.back !== null && num(s.back.from) && num(s.back.offset) ? { from: s.back.from, offset: s.back.offset } : null;
    return t;
  }
}
