/**
 * Detection metrics over one scored series: per-row labels (1 inside a labelled anomaly) against per-row
 * alarms (true while the detector had an anomaly open).
 *
 * Point-wise: every row is a sample (SKAB's protocol).
 * Event-wise (Hundman et al., KDD 2018): a labelled event (a contiguous run of label 1) is found when at
 * least one alarm row falls inside it; an alarm run (a contiguous run of alarm rows) that overlaps no event
 * is one false positive. Precision = found events / (found events + false alarm runs).
 * Detection delay: rows from an event's first row to the first alarm row inside it, for found events.
 */

export interface PointCounts {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
}

export interface EventCounts {
  /** Labelled events, found or not. */
  readonly events: number;
  readonly found: number;
  /** Alarm runs that overlap no labelled event. */
  readonly falseAlarms: number;
  /** Rows from each found event's start to its first alarm row (one entry per found event). */
  readonly delays: readonly number[];
}

/** A run of rows [start, end], inclusive. */
export interface Run {
  readonly start: number;
  readonly end: number;
}

export interface Ratios {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

function checkLengths(labels: ArrayLike<number>, alarms: ArrayLike<boolean>): void {
  if (labels.length !== alarms.length) throw new RangeError(`labels has ${labels.length} rows, alarms ${alarms.length}`);
}

/** Contiguous runs of true (or non-zero) rows. */
export function runsOf(flags: ArrayLike<number | boolean>): Run[] {
  const runs: Run[] = [];
  let start = -1;
  for (let i = 0; i < flags.length; i++) {
    const on = Boolean(flags[i]);
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      runs.push({ start, end: i - 1 });
      start = -1;
    }
  }
  if (start >= 0) runs.push({ start, end: flags.length - 1 });
  return runs;
}

export function pointCounts(labels: ArrayLike<number>, alarms: ArrayLike<boolean>): PointCounts {
  checkLengths(labels, alarms);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] !== 0;
    if (alarms[i]) {
      if (label) tp++;
      else fp++;
    } else if (label) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

export function eventCounts(labels: ArrayLike<number>, alarms: ArrayLike<boolean>): EventCounts {
  checkLengths(labels, alarms);
  const events = runsOf(labels);
  const delays: number[] = [];
  for (const ev of events) {
    for (let i = ev.start; i <= ev.end; i++) {
      if (alarms[i]) {
        delays.push(i - ev.start);
        break;
      }
    }
  }
  let falseAlarms = 0;
  for (const run of runsOf(alarms)) {
    let overlaps = false;
    for (let i = run.start; i <= run.end && !overlaps; i++) overlaps = labels[i] !== 0;
    if (!overlaps) falseAlarms++;
  }
  return { events: events.length, found: delays.length, falseAlarms, delays };
}

/** Sums counts over files (metrics of a dataset are computed on the pooled counts, not averaged per file). */
export function addPoints(a: PointCounts, b: PointCounts): PointCounts {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

export function addEvents(a: EventCounts, b: EventCounts): EventCounts {
  return { events: a.events + b.events, found: a.found + b.found, falseAlarms: a.falseAlarms + b.falseAlarms, delays: [...a.delays, ...b.delays] };
}

export const NO_POINTS: PointCounts = Object.freeze({ tp: 0, fp: 0, fn: 0, tn: 0 });
export const NO_EVENTS: EventCounts = Object.freeze({ events: 0, found: 0, falseAlarms: 0, delays: Object.freeze([]) });

/** Precision, recall and F1; a ratio with a zero denominator is 0 (nothing claimed is nothing right). */
export function ratios(tp: number, fp: number, fn: number): Ratios {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

export function pointRatios(c: PointCounts): Ratios {
  return ratios(c.tp, c.fp, c.fn);
}

/** Event-wise precision (found / (found + false alarm runs)), recall (found / events) and their F1. */
export function eventRatios(c: EventCounts): Ratios {
  return ratios(c.found, c.falseAlarms, c.events - c.found);
}

/** False alarm runs per day of (virtual) time scored. */
export function falseAlarmsPerDay(c: EventCounts, scoredMs: number): number {
  return scoredMs > 0 ? c.falseAlarms / (scoredMs / 86_400_000) : 0;
}

/** Mean rows from event start to its first alarm over found events; NaN when none was found. */
export function meanDelay(c: EventCounts): number {
  return c.delays.length === 0 ? Number.NaN : c.delays.reduce((a, b) => a + b, 0) / c.delays.length;
}
