/**
 * Counts rejected readings per (reason, sensor) and throttles their log lines: the caller drains at
 * most one line per (reason, sensor) per interval, carrying the count since the last line and one
 * example detail, so a sensor spewing garbage 100 times a second costs one log line a minute.
 * No I/O and no clock: the caller passes `now`.
 */
import type { RejectReason, Rejection } from '../contract/types.js';

export interface RejectionCounterOptions {
  /** Minimum time between two log lines of the same (reason, sensor); default 60 s. */
  readonly logIntervalMs?: number;
  /**
   * Distinct (reason, sensor) keys tracked (default 10 000); beyond it rejections are counted under
   * sensor null, so a flood of made-up sensor ids cannot grow this without bound.
   */
  readonly maxKeys?: number;
}

export interface RejectionCount {
  readonly reason: RejectReason;
  readonly sensor: string | null;
  readonly count: number;
  /** receivedAt of the latest rejection. */
  readonly lastAt: number;
}

export interface RejectionLogLine {
  readonly reason: RejectReason;
  readonly sensor: string | null;
  /** Rejections since the previous line of this (reason, sensor). */
  readonly count: number;
  /** The detail of the first of them. */
  readonly example: string;
}

const ALL_REASONS: readonly RejectReason[] = [
  'bad_topic',
  'oversize',
  'bad_json',
  'not_a_number',
  'non_finite',
  'bad_timestamp',
  'future_timestamp',
  'out_of_order',
  'empty',
  'too_many_readings',
  'too_many_streams',
  'too_deep',
  'retained',
  'internal_error',
];

interface Entry {
  readonly reason: RejectReason;
  readonly sensor: string | null;
  total: number;
  lastAt: number;
  pending: number;
  example: string;
  loggedAt: number;
  /** Part of `total` already handed out by drainDeltas(). */
  flushed: number;
}

export class RejectionCounter {
  /** reason -> sensor (null as '') -> entry; nested so recording builds no key string. */
  private readonly entries = new Map<RejectReason, Map<string | null, Entry>>();
  private keys = 0;
  private readonly logIntervalMs: number;
  private readonly maxKeys: number;

  constructor(opts: RejectionCounterOptions = {}) {
    this.logIntervalMs = opts.logIntervalMs ?? 60_000;
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  record(r: Rejection): void {
    const entry = this.entryFor(r.reason, r.sensor);
    entry.total++;
    if (r.receivedAt > entry.lastAt) entry.lastAt = r.receivedAt;
    if (entry.pending === 0) entry.example = r.detail;
    entry.pending++;
  }

  /** Totals since construction, one row per (reason, sensor). */
  snapshot(): RejectionCount[] {
    const rows: RejectionCount[] = [];
    for (const bySensor of this.entries.values()) {
      for (const e of bySensor.values()) rows.push({ reason: e.reason, sensor: e.sensor, count: e.total, lastAt: e.lastAt });
    }
    return rows;
  }

  totalByReason(): Record<RejectReason, number> {
    const totals = Object.fromEntries(ALL_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
    for (const [reason, bySensor] of this.entries) {
      for (const e of bySensor.values()) totals[reason] += e.total;
    }
    return totals;
  }

  /**
   * The lines due at `now`: every (reason, sensor) with rejections not yet logged whose previous line
   * is at least logIntervalMs old (a first rejection is due at once). Draining marks them logged.
   */
  drainLogLines(now: number): RejectionLogLine[] {
    const lines: RejectionLogLine[] = [];
    for (const bySensor of this.entries.values()) {
      for (const e of bySensor.values()) {
        if (e.pending === 0 || now - e.loggedAt < this.logIntervalMs) continue;
        lines.push({ reason: e.reason, sensor: e.sensor, count: e.pending, example: e.example });
        e.pending = 0;
        e.loggedAt = now;
      }
    }
    return lines;
  }

  /**
   * The counts recorded since the previous call, one row per (reason, sensor) that has new ones: what a
   * store that adds counts up must be given. Draining marks them handed out.
   */
  drainDeltas(): RejectionCount[] {
    const rows: RejectionCount[] = [];
    for (const bySensor of this.entries.values()) {
      for (const e of bySensor.values()) {
        const delta = e.total - e.flushed;
        if (delta <= 0) continue;
        rows.push({ reason: e.reason, sensor: e.sensor, count: delta, lastAt: e.lastAt });
        e.flushed = e.total;
      }
    }
    return rows;
  }

  private entryFor(reason: RejectReason, sensor: string | null): Entry {
    let bySensor = this.entries.get(reason);
    if (bySensor === undefined) {
      bySensor = new Map();
      this.entries.set(reason, bySensor);
    }
    let entry = bySensor.get(sensor);
    if (entry === undefined) {
      if (this.keys >= this.maxKeys && sensor !== null) return this.entryFor(reason, null);
      entry = { reason, sensor, total: 0, lastAt: -Infinity, pending: 0, example: '', loggedAt: -Infinity, flushed: 0 };
      bySensor.set(sensor, entry);
      this.keys++;
    }
    return entry;
  }
}
