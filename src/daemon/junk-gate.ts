/**
 * Rejected input must not starve the rest (tryout 18, finding 7: a device publishing thousands of invalid messages a
 * second on topics the daemon subscribes to delayed the healthy sensors' alerts by a minute and timed the HTTP API
 * out). Each rejection costs a parse; a flood of them is dropped early instead, unread, once it passes a rate no
 * real device's mistakes reach, and counted `rate_limited` (with its topic, like any rejection):
 *
 * - **Per topic**: a topic whose messages are rejected (wholly: no reading) more than PER_TOPIC_RATE a second,
 *   sustained past a burst of PER_TOPIC_BURST, has its further messages dropped until its budget refills. A
 *   message that gives a reading refills it at once: a device with a bad field now and then is never limited.
 * - **Topics that never gave a reading, together**: a wildcard subscription lets a device make up a topic per
 *   message (junk-1, junk-2, …), which no per-topic budget sees. Their rejections share one budget of
 *   NEW_TOPICS_RATE a second (burst NEW_TOPICS_BURST); past it a message on such a topic is dropped unread. A
 *   topic that gave a reading (the healthy sensors; at most MAX_TOPICS of them remembered) is never held by it.
 *
 * Retained messages rejected as `retained` (the broker's last values, one per topic, replayed at each subscribe)
 * charge neither budget. The budgets run on real time (a monotonic clock, not the daemon's: the demo's runs faster),
 * as they bound the CPU a flood takes. Per message: one or two Map/Set lookups; memory at most MAX_TOPICS topics in
 * each of the two tables (buckets that refilled are swept by housekeeping). No I/O.
 */
import { performance } from 'node:perf_hooks';

/** Wholly rejected messages a second one topic may give, sustained (a real device's mistakes stay far below). */
export const PER_TOPIC_RATE = 100;
/** …and at once, before the rate holds. */
export const PER_TOPIC_BURST = 1000;
/** Wholly rejected messages a second all topics that never gave a reading may give together, sustained. */
export const NEW_TOPICS_RATE = 1000;
/** …and at once. */
export const NEW_TOPICS_BURST = 5000;
/** Topics remembered in each table (topics that gave a reading; topics with a budget being spent). */
export const MAX_TOPICS = 10_000;

/** Why a message was dropped unread (the `rate_limited` rejection's detail). */
export const PER_TOPIC_DETAIL = `more than ${PER_TOPIC_RATE} rejected messages a second on this topic: dropped unread (limits: docs/SECURITY.md)`;
export const NEW_TOPICS_DETAIL = `more than ${NEW_TOPICS_RATE} rejected messages a second on topics that never gave a reading: dropped unread (limits: docs/SECURITY.md)`;

export interface JunkGateOptions {
  readonly perTopicRate?: number;
  readonly perTopicBurst?: number;
  readonly newTopicsRate?: number;
  readonly newTopicsBurst?: number;
  readonly maxTopics?: number;
  /** A monotonic clock, ms (default performance.now). */
  readonly now?: () => number;
}

/** A token bucket: `tokens` (rejections it may still take) as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

export class JunkGate {
  private readonly good = new Set<string>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly pool: Bucket;
  private readonly perTopicRate: number;
  private readonly perTopicBurst: number;
  private readonly newTopicsRate: number;
  private readonly newTopicsBurst: number;
  private readonly maxTopics: number;
  private readonly now: () => number;

  constructor(opts: JunkGateOptions = {}) {
    this.perTopicRate = opts.perTopicRate ?? PER_TOPIC_RATE;
    this.perTopicBurst = opts.perTopicBurst ?? PER_TOPIC_BURST;
    this.newTopicsRate = opts.newTopicsRate ?? NEW_TOPICS_RATE;
    this.newTopicsBurst = opts.newTopicsBurst ?? NEW_TOPICS_BURST;
    this.maxTopics = opts.maxTopics ?? MAX_TOPICS;
    this.now = opts.now ?? (() => performance.now());
    this.pool = { tokens: this.newTopicsBurst, at: this.now() };
  }

  /**
   * Whether a message on `topic` is dropped unread: null when it is to be read, else the detail of its `rate_limited`
   * rejection (PER_TOPIC_DETAIL or NEW_TOPICS_DETAIL).
   */
  check(topic: string): string | null {
    const bucket = this.buckets.get(topic);
    if (bucket !== undefined && this.refill(bucket, this.perTopicRate, this.perTopicBurst) < 1) return PER_TOPIC_DETAIL;
    if (!this.good.has(topic) && this.refill(this.pool, this.newTopicsRate, this.newTopicsBurst) < 1) return NEW_TOPICS_DETAIL;
    return null;
  }

  /** A message on `topic` was read and wholly rejected (no reading): it spends the topic's budget (and the pool's). */
  rejected(topic: string): void {
    let bucket = this.buckets.get(topic);
    if (bucket === undefined && this.buckets.size < this.maxTopics) {
      bucket = { tokens: this.perTopicBurst, at: this.now() };
      this.buckets.set(topic, bucket);
    }
    if (bucket !== undefined) {
      this.refill(bucket, this.perTopicRate, this.perTopicBurst);
      bucket.tokens--;
    }
    if (!this.good.has(topic)) {
      this.refill(this.pool, this.newTopicsRate, this.newTopicsBurst);
      this.pool.tokens--;
    }
  }

  /** A message on `topic` gave a reading: the topic is remembered as good (room permitting), its budget full again. */
  gaveReading(topic: string): void {
    if (this.buckets.size > 0) this.buckets.delete(topic);
    if (this.good.size < this.maxTopics) this.good.add(topic);
  }

  /** Forgets the budgets that are full again (housekeeping): only topics rejecting now are kept. */
  sweep(): void {
    for (const [topic, bucket] of this.buckets) {
      if (this.refill(bucket, this.perTopicRate, this.perTopicBurst) >= this.perTopicBurst) this.buckets.delete(topic);
    }
  }

  /** Topics in each table (tests, bounds). */
  get size(): { readonly good: number; readonly buckets: number } {
    return { good: this.good.size, buckets: this.buckets.size };
  }

  /** Brings `b` up to now at `rate` a second, at most `burst`; returns its tokens. */
  private refill(b: Bucket, rate: number, burst: number): number {
    const now = this.now();
    if (now > b.at) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
    }
    return b.tokens;
  }
}
