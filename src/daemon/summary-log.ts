/**
 * A log line that repeats, bounded: the first `burst` occurrences of an interval are logged at once (with
 * their details), the rest are counted and summed up in one line per interval, however high the rate. The
 * caller passes the time; `drain` is meant for a periodic tick. Used where a hostile client decides how
 * often something happens (sensors appearing and going, status changes of made-up sensors).
 */
import type { Logger } from 'pino';

const MAX_EXAMPLES = 5;

export class SummaryLog {
  private pending = 0;
  private examples: Record<string, unknown>[] = [];
  /** Start of the current interval, and the lines logged in it. */
  private intervalStart = Number.NEGATIVE_INFINITY;
  private lines = 0;

  constructor(
    private readonly log: Logger,
    private readonly level: 'info' | 'warn',
    /** The message of every line; a summary line says how many it stands for. */
    private readonly msg: string,
    private readonly intervalMs: number,
    /** Occurrences per interval logged one by one before the rest are summed up. */
    private readonly burst = 1,
  ) {}

  /** One occurrence at `now` (epoch ms), with what a line about it would say. */
  note(now: number, detail: Record<string, unknown>): void {
    if (now - this.intervalStart >= this.intervalMs && this.pending === 0) {
      this.intervalStart = now;
      this.lines = 0;
    }
    if (this.pending === 0 && this.lines < this.burst) {
      this.log[this.level](detail, this.msg);
      this.lines++;
      return;
    }
    this.pending++;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(detail);
  }

  /** Logs the summary of what was counted, once the interval is over (or now, with force). */
  drain(now: number, force = false): void {
    if (this.pending === 0 || (!force && now - this.intervalStart < this.intervalMs)) return;
    this.log[this.level]({ count: this.pending, examples: this.examples }, `${this.msg} (${this.pending} more in the last interval; examples below)`);
    this.pending = 0;
    this.examples = [];
    // The summary opens a new interval, already spent: what follows is summed up at its end.
    this.intervalStart = now;
    this.lines = this.burst;
  }
}
