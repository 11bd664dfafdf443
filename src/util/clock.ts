/**
 * Arrival time from a monotonic clock anchored to the wall clock. Readings without a time of their own are
 * stamped with it, so a step of the host's wall clock (an NTP correction, a Pi without a real-time clock)
 * cannot reject live readings as out of order, as it did with Date.now():
 *   - a step shorter-lived than `settleMs` (default 60 s) is ignored: the clock keeps counting from its anchor;
 *   - a forward step that holds is taken at once after it has held (a Pi that booted with an old time);
 *   - a backward step that holds is slewed: the clock runs at (1 - slewRate) of real time until the wall clock
 *     has caught up, so it never goes backwards;
 *   - drift below `stepMs` (default 1 s) is followed the same way, forwards at once, backwards by slewing.
 * Monotonic time comes from performance.now() (CLOCK_MONOTONIC, which NTP slews but never steps).
 */
import type { Clock } from '../contract/ports.js';

export interface AnchoredClockOptions {
  /** Wall clock, epoch ms (default Date.now). */
  readonly wall?: () => number;
  /** Monotonic clock, ms from any origin (default performance.now). */
  readonly mono?: () => number;
  /** A wall-clock jump at least this big is a step (default 1000 ms). */
  readonly stepMs?: number;
  /** How long a step must hold before it is believed (default 60 000 ms). */
  readonly settleMs?: number;
  /** Fraction of real time taken off while slewing backwards (default 0.5). */
  readonly slewRate?: number;
}

export class AnchoredClock implements Clock {
  private readonly wall: () => number;
  private readonly mono: () => number;
  private readonly stepMs: number;
  private readonly settleMs: number;
  private readonly slewRate: number;
  /** now = offset + mono. */
  private offset: number;
  private lastMono: number;
  private last = -Infinity;
  private pending: { since: number; diff: number } | null = null;
  /** While slewing towards a believed backward step: the part of it still to take. */
  private slewing: number | null = null;

  constructor(opts: AnchoredClockOptions = {}) {
    this.wall = opts.wall ?? Date.now;
    this.mono = opts.mono ?? (() => performance.now());
    this.stepMs = opts.stepMs ?? 1000;
    this.settleMs = opts.settleMs ?? 60_000;
    this.slewRate = opts.slewRate ?? 0.5;
    this.lastMono = this.mono();
    this.offset = this.wall() - this.lastMono;
  }

  /** Epoch ms (whole), never less than a value returned before. */
  readonly now = (): number => {
    const m = this.mono();
    const elapsed = Math.max(0, m - this.lastMono);
    this.lastMono = m;
    let diff = this.wall() - (this.offset + m);
    if (this.slewing !== null && Math.abs(diff - this.slewing) < this.stepMs) {
      // Still catching up with a backward step already believed: go on slewing, no new settle time.
      this.pending = null;
    } else if (Math.abs(diff) >= this.stepMs) {
      this.slewing = null;
      if (this.pending === null || Math.abs(diff - this.pending.diff) >= this.stepMs) {
        this.pending = { since: m, diff };
        diff = 0;
      } else if (m - this.pending.since < this.settleMs) {
        diff = 0;
      } else {
        this.pending = null;
      }
    } else {
      this.pending = null;
      this.slewing = null;
    }
    if (diff > 0) {
      this.offset += diff;
      this.slewing = null;
    } else if (diff < 0) {
      const step = Math.max(diff, -elapsed * this.slewRate);
      this.offset += step;
      this.slewing = diff - step < 0 ? diff - step : null;
    }
    // Whole milliseconds, like Date.now().
    let t = Math.round(this.offset + m);
    if (t < this.last) t = this.last;
    this.last = t;
    return t;
  };
}
