/**
 * Runs of `out_of_order` rejections per stream, for one warning an operator can act on. Admission takes each
 * stream in time order (./admit.ts), so a gateway that, back from an outage, sends one live reading before
 * flushing its buffer of older readings loses the whole buffer as `out_of_order`: the summary of rejected
 * input counts them with everything else, and nothing said why. This watches for it without changing what is
 * taken: a stream whose readings are rejected `out_of_order` MIN_RUN or more times in a row (counted in
 * readings; a reading of the stream that is taken ends the run) gets one warning naming the stream, how many,
 * the time range of the lost readings and the likely cause, at most once per stream per QUIET_MS; runs in
 * between are counted into the next warning. A run with MIN_BATCH or more readings of the stream rejected out of one
 * message (a gateway's buffer sent as one JSON array after a live reading) is told whatever its length (tryout 38,
 * finding 13: a buffer of 3 readings flushed after the live one was lost with no word in the log, only counted).
 *
 * A run is told when it ends (the stream's next taken reading) or pauses (it did not grow since the previous
 * drain: a flush that is over before the next live reading). No I/O and no clock: the caller passes `now`
 * (epoch ms) and drains at its housekeeping tick. Memory is bounded: at most MAX_STREAMS streams with a run in
 * progress (forgotten after QUIET_MS without growth), and the streams warned about within QUIET_MS.
 */

/** Rejections in a row (readings) from which a run is worth a warning. */
export const MIN_RUN = 10;
/** Readings of a stream rejected out of one message from which its run is told however short (a gateway's buffer). */
export const MIN_BATCH = 2;
/** One warning per stream per this long (ms). */
export const QUIET_MS = 3_600_000;
/** Streams with a run in progress tracked at once; a run of a stream beyond it is not watched. */
export const MAX_STREAMS = 1000;

/** One warning: a run of `count` readings of `stream`, their times from `firstTs` to `lastTs` (epoch ms, null when the rejections carried none). */
export interface OutOfOrderRun {
  readonly stream: string;
  readonly count: number;
  readonly firstTs: number | null;
  readonly lastTs: number | null;
  /** Readings lost in runs of MIN_RUN or more of this stream since its previous warning that were not warned about (the QUIET_MS limit). */
  readonly unwarned: number;
  /** True when MIN_BATCH or more of the run's readings came in one message (a gateway's buffer, a batch of history). */
  readonly batch: boolean;
}

interface Run {
  count: number;
  first: number;
  last: number;
  /** `count` at the previous drain: a run that did not grow since has paused (a flush is over). */
  seen: number;
  /** When (a drain's `now`) the run last grew. */
  grewAt: number;
  /** Readings of the run already told (warned about, or counted as not warned about): 0 until it is. */
  told: number;
  /** MIN_BATCH or more of its readings came in one message: told however short. */
  batch: boolean;
}

export class OutOfOrderRuns {
  private readonly runs = new Map<string, Run>();
  private ended: { stream: string; run: Run }[] = [];
  /** Per stream warned about: when, and the readings in runs not warned about since. */
  private readonly warned = new Map<string, { at: number; unwarned: number }>();

  /** True while some stream has a run in progress (the caller may skip `taken` calls otherwise). */
  get active(): boolean {
    return this.runs.size > 0;
  }

  /**
   * One reading of `stream` rejected `out_of_order`; `ts` its own time (epoch ms) when known; `inMessage` how many
   * readings of the stream its message had rejected `out_of_order` (1: it alone).
   */
  rejected(stream: string, ts: number | undefined, inMessage = 1): void {
    let run = this.runs.get(stream);
    if (run === undefined) {
      if (this.runs.size >= MAX_STREAMS) return;
      run = { count: 0, first: Infinity, last: -Infinity, seen: 0, grewAt: -Infinity, told: 0, batch: false };
      this.runs.set(stream, run);
    }
    run.count++;
    if (inMessage >= MIN_BATCH) run.batch = true;
    if (ts !== undefined && Number.isFinite(ts)) {
      if (ts < run.first) run.first = ts;
      if (ts > run.last) run.last = ts;
    }
  }

  /** A reading of `stream` was taken: its run, if any, ends. */
  taken(stream: string): void {
    const run = this.runs.get(stream);
    if (run === undefined) return;
    this.runs.delete(stream);
    this.ended.push({ stream, run });
  }

  /**
   * The warnings due at `now`: a run of MIN_RUN or more is told once, when it ends or when it pauses (did not
   * grow since the previous drain: a gateway's flush is over, or a device whose clock stepped back sends slower
   * than the drains); each stream at most once per QUIET_MS, the runs in between counted into its next warning.
   * A run that has not grown for QUIET_MS is forgotten (a stream that went quiet).
   */
  drain(now: number): OutOfOrderRun[] {
    const out: OutOfOrderRun[] = [];
    for (const { stream, run } of this.ended) this.settle(stream, run, now, out);
    this.ended = [];
    for (const [stream, run] of this.runs) {
      if (run.count !== run.seen) {
        run.seen = run.count;
        run.grewAt = now;
      } else if (now - run.grewAt >= QUIET_MS) {
        this.runs.delete(stream);
        this.settle(stream, run, now, out);
      } else if (run.told === 0 && (run.count >= MIN_RUN || run.batch)) {
        this.settle(stream, run, now, out);
      }
    }
    // Forget streams warned about long enough ago (their runs since are told with no count of the unwarned ones).
    for (const [stream, w] of this.warned) {
      if (now - w.at < QUIET_MS) break;
      this.warned.delete(stream);
    }
    return out;
  }

  /** Ends every run in progress (at stop), so drain(now) tells them. */
  endAll(): void {
    for (const [stream, run] of this.runs) this.ended.push({ stream, run });
    this.runs.clear();
  }

  /** Tells what of `run` is not told yet: a warning, or a count for the stream's next one. */
  private settle(stream: string, run: Run, now: number, out: OutOfOrderRun[]): void {
    const w = this.warned.get(stream);
    if (run.told > 0 || (run.count < MIN_RUN && !run.batch)) {
      // The rest of a run told before (a short run is not told at all).
      if (run.told > 0 && w !== undefined) w.unwarned += run.count - run.told;
    } else if (w !== undefined && now - w.at < QUIET_MS) {
      w.unwarned += run.count;
    } else {
      out.push({ stream, count: run.count, firstTs: Number.isFinite(run.first) ? run.first : null, lastTs: Number.isFinite(run.last) ? run.last : null, unwarned: w?.unwarned ?? 0, batch: run.batch });
      this.warned.delete(stream); // re-inserted last: the map stays in order of warning, oldest first
      this.warned.set(stream, { at: now, unwarned: 0 });
    }
    run.told = run.count;
  }
}

/**
 * The warning's message: the stream, how many, their time range, the likely cause (a gateway's buffer, or history sent
 * late) and the remedy: the buffered readings sent before the live one, or in one message with it (a message's readings
 * are taken in time order: src/pipeline/parse.ts), which loses nothing.
 */
export function outOfOrderRunText(r: OutOfOrderRun): string {
  const range = r.firstTs !== null && r.lastTs !== null ? ` (times ${new Date(r.firstTs).toISOString()} to ${new Date(r.lastTs).toISOString()})` : '';
  const more = r.unwarned > 0 ? `; ${r.unwarned} more were lost in such runs since the last warning` : '';
  const what = r.batch ? `in a batch of older readings sent after a newer one` : `in a row`;
  return (
    `out_of_order run: ${r.count} reading${r.count === 1 ? '' : 's'} of ${r.stream} rejected out_of_order ${what}${range}, older than the stream's newest reading, and lost: ` +
    `each stream is judged in time order and a judged reading cannot be judged again. ` +
    `Likely a gateway that sent a live reading before flushing its buffer of older readings (or a device clock that stepped back). ` +
    `Remedy: have the gateway send its buffer before the live reading, or in one message with it (a JSON array: a message's readings are taken in time order); ` +
    `history sent after a stream's live readings is lost the same way (docs/DEPLOY.md, "Loading history": anomalyd replay judges it offline)` +
    `${more} (told once per stream per hour)`
  );
}
