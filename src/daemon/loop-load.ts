/**
 * When the daemon itself could not keep up (tryout 16, finding 4): the main thread's event loop busy for nearly all
 * of a sample's span, so readings waited in the socket and the broker (which drops what its queue cannot hold) and
 * were stamped late on arrival. A gap of a sensor across such a span is the daemon's, not the sensor's silence, as
 * a gap across a restart or a broker outage is (Daemon.deafUntil, Detector.excuseGap), and no silence is judged
 * while the loop is saturated (Daemon.judgeSilences).
 *
 * The measure is Node's event-loop utilization (`performance.eventLoopUtilization`, Node ≥ 14.10: the share of a
 * span the loop spent outside its idle wait), sampled every SAMPLE_MS by the owner (the daemon) and kept as the
 * spans, on the daemon's clock, whose utilization reached SATURATED. A span is at most as long as the real time the
 * sample covered (the daemon's clock may run faster: the demo's, a test's virtual one). Nothing here runs per
 * reading: a reading only compares its sensor's last arrival with the end of the latest saturated span
 * (saturatedAfter); a silence judged while it lasts is shortened by the saturated time within it (saturatedWithin).
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How often the owner samples, ms of real time. */
export const SAMPLE_MS = 250;

/** A sample whose utilization reaches this share (0..1) is saturated: the loop was idle less than a tenth of it. */
export const SATURATED = 0.9;

/** How long saturated spans are kept, ms on the daemon's clock (a sensor heard before that is judged as silent). */
const KEEP_MS = 3_600_000;

/** The event loop's utilization since the previous call, 0..1 (the first call: since the process began). */
export type UtilizationSampler = () => number;

/** The default sampler: Node's event-loop utilization between calls. */
export function eventLoopSampler(): UtilizationSampler {
  let previous: EventLoopUtilization | undefined;
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = previous === undefined ? now : performance.eventLoopUtilization(now, previous);
    previous = now;
    return delta.utilization;
  };
}

/**
 * The saturated spans of the daemon's event loop. One owner (the daemon) starts and stops its timer; tests call
 * `sample` themselves with an injected sampler and clock.
 */
export class LoopLoad {
  private timer: NodeJS.Timeout | null = null;
  /** Saturated spans, oldest first, as [start, end] pairs on the daemon's clock (epoch ms); adjacent ones merged. */
  private readonly spans: Array<[number, number]> = [];
  private lastAt: number;
  private lastReal: number;
  private saturatedNow = false;

  /**
   * @param utilization the loop's utilization since its previous call (eventLoopSampler)
   * @param now the daemon's clock, epoch ms (spans are kept on it)
   * @param realNow a monotonic real clock, ms (default performance.now): bounds a span by the real time it covered
   */
  constructor(
    private readonly utilization: UtilizationSampler,
    private readonly now: () => number,
    private readonly realNow: () => number = () => performance.now(),
  ) {
    this.lastAt = now();
    this.lastReal = realNow();
    // The first reading of the sampler covers the time before this one: dropped.
    utilization();
  }

  /** Samples every SAMPLE_MS (an unref'd timer); idempotent. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Stops the timer; idempotent. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes one sample: the span since the previous one (on the daemon's clock) is saturated or not. */
  sample(): void {
    const at = this.now();
    const real = this.realNow();
    const u = this.utilization();
    const from = Math.max(this.lastAt, at - Math.max(0, real - this.lastReal));
    this.lastAt = at;
    this.lastReal = real;
    this.saturatedNow = u >= SATURATED;
    if (this.saturatedNow && at > from) {
      const last = this.spans.at(-1);
      if (last !== undefined && last[1] >= from) last[1] = at;
      else this.spans.push([from, at]);
    }
    while (this.spans.length > 0 && this.spans[0][1] < at - KEEP_MS) this.spans.shift();
  }

  /** Whether the latest sample was saturated (the daemon cannot hear its sensors in time now). */
  get saturated(): boolean {
    return this.saturatedNow;
  }

  /** How long (ms on the daemon's clock) the loop was saturated within [from, to], by the spans sampled so far. */
  saturatedWithin(from: number, to: number): number {
    let ms = 0;
    for (let i = this.spans.length - 1; i >= 0; i--) {
      const [a, b] = this.spans[i];
      if (b <= from) break;
      ms += Math.max(0, Math.min(b, to) - Math.max(a, from));
    }
    return ms;
  }

  /**
   * The end (daemon's clock, epoch ms) of the latest saturated span that ended after `since`, or the time now while
   * the loop is saturated; null when the loop was not saturated after `since`.
   */
  saturatedAfter(since: number): number | null {
    if (this.saturatedNow) return Math.max(this.now(), this.lastAt);
    const last = this.spans.at(-1);
    return last !== undefined && last[1] > since ? last[1] : null;
  }
}
