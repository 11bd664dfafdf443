/**
 * Counts rejected readings per (reason, sensor) and bounds what is logged about them: one summary per
 * interval for all of them together (counts per reason, the sensors with the most, an example of the
 * most frequent reasons), whatever the rate and however many made-up topics they come from. So 100,000
 * junk topics cost one line a minute, not 100,000; the first rejection after a quiet interval is due at
 * once, so a misconfigured sensor shows up in the log within one housekeeping tick.
 * No I/O and no clock: the caller passes `now`.
 */
import type { RejectReason, Rejection } from '../contract/types.js';

export interface RejectionCounterOptions {
  /** Minimum time between two summary lines; default 60 s. */
  readonly logIntervalMs?: number;
  /**
   * Distinct (reason, sensor) keys tracked (default 2 000); beyond it rejections are counted under
   * sensor null, so a flood of made-up sensor ids cannot grow this (or the store's table) without bound.
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

/** One summary line: every rejection since the previous one. Its size is bounded whatever the input. */
export interface RejectionSummary {
  /** Rejections since the previous summary: one per bad field, so a message with two bad fields gives two. */
  readonly count: number;
  /**
   * The messages they came from (RejectionCounter.record's `sameMessage`): fewer than `count` when a message had
   * several bad fields (a Tasmota plug's six ENERGY fields stamped in 2030 are six rejections of one message).
   */
  readonly messages: number;
  /** The same, per reason (reasons with none left out). */
  readonly byReason: Partial<Record<RejectReason, number>>;
  /** Distinct sensors they came from (null, a topic naming none, counts as one); at most SUMMARY_MAX_SENSORS. */
  readonly sensors: number;
  /** True when there were more distinct sensors than counted. */
  readonly moreSensors: boolean;
  /** The sensors with the most rejections, at most SUMMARY_TOP, most first; names cut to 64 characters. */
  readonly top: ReadonlyArray<{ readonly sensor: string | null; readonly count: number }>;
  /**
   * The first rejection of each of the most frequent reasons, at most SUMMARY_EXAMPLES; details cut to 200
   * characters. With it, how many distinct MQTT topics that reason's rejections came from (at most
   * SUMMARY_MAX_TOPICS, `moreTopics` when there were more) and the first SUMMARY_TOPICS of them (cut to 64
   * characters): 20 devices publishing under a wrong prefix read as 20 topics, not one example.
   */
  readonly examples: ReadonlyArray<{
    readonly reason: RejectReason;
    readonly sensor: string | null;
    readonly detail: string;
    readonly topics: number;
    readonly moreTopics: boolean;
    readonly someTopics: readonly string[];
  }>;
}

export const SUMMARY_TOP = 5;
export const SUMMARY_EXAMPLES = 3;
export const SUMMARY_MAX_SENSORS = 1000;
/** Distinct topics counted per reason and interval; beyond it the summary says "more than". */
export const SUMMARY_MAX_TOPICS = 500;
/** Topics named per reason in a summary. */
export const SUMMARY_TOPICS = 3;
/** Characters of a topic kept to tell topics apart (a topic may be 64 KiB). */
const TOPIC_KEY_CHARS = 120;

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * Every reason a rejection can have, each once: the keys of a record over RejectReason, so a reason added to the
 * type and not here (or the reverse) does not compile. README ("What it does") lists the same set (test/docs).
 */
const REASON_SET: Record<RejectReason, true> = {
  bad_topic: true,
  oversize: true,
  bad_json: true,
  not_a_number: true,
  non_finite: true,
  out_of_range: true,
  bad_timestamp: true,
  future_timestamp: true,
  out_of_order: true,
  redelivered: true,
  late: true,
  clock_glitch: true,
  empty: true,
  too_many_readings: true,
  too_many_streams: true,
  too_deep: true,
  retained: true,
  internal_error: true,
  rate_limited: true,
  unread_template: true,
};
export const ALL_REASONS: readonly RejectReason[] = Object.freeze(Object.keys(REASON_SET) as RejectReason[]);

interface Entry {
  readonly reason: RejectReason;
  readonly sensor: string | null;
  total: number;
  lastAt: number;
  /** Part of `total` already handed out by drainDeltas(). */
  flushed: number;
}

/** What the next summary will say, gathered as rejections arrive (bounded). */
interface Pending {
  count: number;
  messages: number;
  readonly byReason: Map<RejectReason, { count: number; example: { sensor: string | null; detail: string }; topics: Set<string>; moreTopics: boolean }>;
  readonly bySensor: Map<string | null, number>;
  moreSensors: boolean;
}

const emptyPending = (): Pending => ({ count: 0, messages: 0, byReason: new Map(), bySensor: new Map(), moreSensors: false });

/** The first `n` of an iterable, in its order. */
function* take<T>(items: Iterable<T>, n: number): Iterable<T> {
  if (n <= 0) return;
  let i = 0;
  for (const x of items) {
    yield x;
    if (++i >= n) return;
  }
}

/**
 * The message of a summary's log line (the fields go beside it): the count, then for each reason it gives an
 * example of, how many rejections from how many topics and the first few, e.g. `input rejected: 241 since the
 * last line; bad_topic 240 from 20 topics (sensor/dev0, sensor/dev1, sensor/dev2, …); bad_json 1 from 1 topic
 * (sensors/pump1)`.
 */
export function rejectionSummaryText(s: RejectionSummary): string {
  const parts = s.examples.map((e) => {
    const n = s.byReason[e.reason] ?? 0;
    const many = e.moreTopics ? `more than ${e.topics} topics` : `${e.topics} topic${e.topics === 1 ? '' : 's'}`;
    const named = e.someTopics.join(', ') + (e.moreTopics || e.topics > e.someTopics.length ? ', …' : '');
    return `${e.reason} ${n} from ${many} (${named})`;
  });
  // Per field, as GET /api/status `rejections`; the status's `messagesRejected` counts messages, so a line of 16
  // from 15 messages read beside it as one counted twice (tryout 20, finding 13): say both when they differ.
  const from = s.messages === s.count ? '' : ` (from ${s.messages} message${s.messages === 1 ? '' : 's'}: one rejection per bad field)`;
  return [`input rejected: ${s.count} since the last line${from}`, ...parts].join('; ');
}

export class RejectionCounter {
  /** reason -> sensor (null as '') -> entry; nested so recording builds no key string. */
  private readonly entries = new Map<RejectReason, Map<string | null, Entry>>();
  private keys = 0;
  private readonly logIntervalMs: number;
  private readonly maxKeys: number;
  private pending: Pending = emptyPending();
  private loggedAt = Number.NEGATIVE_INFINITY;

  constructor(opts: RejectionCounterOptions = {}) {
    this.logIntervalMs = opts.logIntervalMs ?? 60_000;
    this.maxKeys = opts.maxKeys ?? 2_000;
  }

  /**
   * One rejection. `sameMessage`: it is another bad field of the message of the rejection recorded just before
   * (counted in the summary's `count`, not again in its `messages`).
   */
  record(r: Rejection, sameMessage = false): void {
    const entry = this.entryFor(r.reason, r.sensor);
    entry.total++;
    if (r.receivedAt > entry.lastAt) entry.lastAt = r.receivedAt;
    const p = this.pending;
    p.count++;
    if (!sameMessage) p.messages++;
    const byReason = p.byReason.get(r.reason);
    const topic = r.topic.length > TOPIC_KEY_CHARS ? r.topic.slice(0, TOPIC_KEY_CHARS) : r.topic;
    if (byReason === undefined) p.byReason.set(r.reason, { count: 1, example: { sensor: r.sensor, detail: r.detail }, topics: new Set([topic]), moreTopics: false });
    else {
      byReason.count++;
      if (byReason.topics.size < SUMMARY_MAX_TOPICS) byReason.topics.add(topic);
      else if (!byReason.topics.has(topic)) byReason.moreTopics = true;
    }
    const n = p.bySensor.get(r.sensor);
    if (n !== undefined) p.bySensor.set(r.sensor, n + 1);
    else if (p.bySensor.size < SUMMARY_MAX_SENSORS) p.bySensor.set(r.sensor, 1);
    else p.moreSensors = true;
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
   * The summary due at `now`, or null: there is one when rejections arrived since the last summary and
   * that was at least logIntervalMs ago (the first rejection after a quiet interval is due at once).
   * Draining starts the next summary.
   */
  drainSummary(now: number): RejectionSummary | null {
    const p = this.pending;
    if (p.count === 0 || now - this.loggedAt < this.logIntervalMs) return null;
    this.pending = emptyPending();
    this.loggedAt = now;
    const reasons = [...p.byReason].sort((a, b) => b[1].count - a[1].count);
    return {
      count: p.count,
      messages: p.messages,
      byReason: Object.fromEntries(reasons.map(([reason, r]) => [reason, r.count])),
      sensors: p.bySensor.size,
      moreSensors: p.moreSensors,
      top: [...p.bySensor]
        .sort((a, b) => b[1] - a[1])
        .slice(0, SUMMARY_TOP)
        .map(([sensor, count]) => ({ sensor: sensor === null ? null : cut(sensor, 64), count })),
      examples: reasons.slice(0, SUMMARY_EXAMPLES).map(([reason, r]) => ({
        reason,
        sensor: r.example.sensor === null ? null : cut(r.example.sensor, 64),
        detail: cut(r.example.detail, 200),
        topics: r.topics.size,
        moreTopics: r.moreTopics,
        someTopics: [...take(r.topics, SUMMARY_TOPICS)].map((t) => cut(t, 64)),
      })),
    };
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
      entry = { reason, sensor, total: 0, lastAt: -Infinity, flushed: 0 };
      bySensor.set(sensor, entry);
      this.keys++;
    }
    return entry;
  }
}
