/**
 * Holes in a backfill (tryout 27, finding 6): history published over MQTT as fast as a script or `mosquitto_pub -l`
 * can (days of a sensor's readings, each with its own time) reaches the daemon far faster than its timestamps move,
 * and a broker drops what its queue for the daemon's session cannot hold (mosquitto: `max_queued_messages`, 1000 by
 * default, for QoS 1; QoS 0 when its outgoing packets to a slow client pile up past it). Before, the stream just had
 * holes: 50,000 readings of one 10 s sensor at QoS 1 into a default mosquitto, 42,070 stored, nothing said, and the
 * largest hole (22 h) opened a `missing data` episode as if the sensor had been silent.
 *
 * This watches each stream's readings as they arrive (before they are placed on its cadence) for a **backfill
 * burst**: readings that arrived late (each at least LATE_MIN_MS, and LATE_INTERVALS of the stream's intervals,
 * after its own time) one after the other, with no quiet of QUIET_MS of arrival between two of them. A hole in such
 * a burst, the steps a reading's placement skipped at the stream's learnt interval (Cadence: round(gap / I) - 1),
 * is counted as readings **missing at the stream's interval** when:
 *   - the reading before it was of the same burst, and came in another message (the readings of one message arrive
 *     or are lost together: a hole inside a device's batch is the device's own);
 *   - the burst up to this reading arrived densely: its readings' times span at least DENSE_RATIO times the arrival
 *     time they took (a live stream whose device clock lags by an hour, or whose readings come bunched by a link,
 *     arrives at its own pace over the burst and counts nothing);
 *   - the burst's stream is periodic: once MIN_REGULAR of its gaps were one interval (0.5 to 1.5 I) and they were
 *     ESTABLISH_SHARE of them all, and while they stay REGULAR_SHARE of them all. A report-on-change sensor (its gaps
 *     widely varied around its median, or a few changes a second apart between long quiet stretches) has no interval
 *     to miss readings at: its quiet stretches are its own, held as "unchanged", and told nothing;
 *   - the gap is beyond the stream's jitter: at least 1 + JITTER_MARGIN × the largest deviation from one interval
 *     among the burst's one-interval gaps (and 1.5 intervals, the cadence's own step). Device times that wobble
 *     (a late reading, then an early one: 1.55 s, then 0.45 s of a 1 s stream) miss nothing.
 * A burst whose holes are more frequent than that is not told further: nothing is counted that could be a sensor's
 * own pattern.
 * Nothing is said of what was never sent (the daemon cannot know): a hole is missing at the stream's interval, which
 * a broker's drop or a gap in the history sent both make. Such a hole is neither judged as the stream's silence nor
 * taught as one (Detector: as a gap the caller excused), so it opens no `missing data` episode. A burst that arrives
 * at the stream's pace, or on time, counts nothing and changes nothing: replay and the evaluation, whose arrival is
 * each reading's own time, never have one.
 *
 * A burst ends at a reading of its stream that is not late, or when `drain(now)` finds no reading of it for QUIET_MS
 * (the caller does not drain while its reads are paused, nor within QUIET_MS after: a burst goes on across the
 * daemon's backpressure, where a broker's queue overflows); a burst that ended with readings missing is handed to
 * the caller once, for one warning per burst. No I/O and no clock: the caller passes arrival times and `now` (epoch
 * ms, on the clock that stamps arrivals). Memory: one small record per stream with a burst going on (forget drops it).
 */

/** A reading that arrived at least this long after its own time (ms, and LATE_INTERVALS intervals) is late. */
export const LATE_MIN_MS = 600_000;
/** A reading that arrived at least this many of its stream's intervals after its own time (and LATE_MIN_MS) is late. */
export const LATE_INTERVALS = 4;
/** A burst arrives densely when its readings' times span at least this many times the arrival time they took. */
export const DENSE_RATIO = 10;
/** A burst with no reading for this long (ms of arrival) has ended. */
export const QUIET_MS = 10_000;
/** Gaps of one interval (0.5 to 1.5 I) a burst must have had, nearly all its gaps (ESTABLISH_SHARE), before a hole in it is counted. */
export const MIN_REGULAR = 256;
/**
 * The share of a burst's gaps that must be of one interval when it has MIN_REGULAR of them, for the stream to be taken
 * as periodic. A report-on-change sensor that sends a few changes a second apart and then nothing for minutes has 90 %
 * of its gaps at its learnt interval (test/e2e/silence.test.ts's door); a backfill into mosquitto arrives whole for its
 * first max_inflight_messages + max_queued_messages (1,020 by default) readings before anything can be dropped.
 */
export const ESTABLISH_SHARE = 0.98;
/**
 * Once periodic, the share of the burst's gaps (all so far) that must stay of one interval for its holes to count: a
 * queue that overflows again and again on a loaded machine left 50 holes among 900 readings here (94 % in that span),
 * and a burst that turns out as varied as a report-on-change sensor's gaps is told nothing more.
 */
export const REGULAR_SHARE = 0.9;
/** A hole counts when its gap is at least 1 + this × the burst's largest one-interval deviation (its jitter), in intervals. */
export const JITTER_MARGIN = 2;

/** One backfill burst of a stream that ended with readings missing at the stream's interval. */
export interface BackfillBurst {
  readonly stream: string;
  /** Readings missing at the stream's interval inside the burst (the steps its holes skipped). */
  readonly missing: number;
  /** Holes (gaps of one step or more) those were in. */
  readonly holes: number;
  /** Readings that arrived in the burst. */
  readonly readings: number;
  /** The burst's span on the stream's clock: its first and last readings' times, epoch ms. */
  readonly firstTs: number;
  readonly lastTs: number;
  /** When its first and last readings arrived, epoch ms (the caller's arrival clock). */
  readonly firstArrival: number;
  readonly lastArrival: number;
  /** The stream's interval at the burst's last hole, ms (the one its holes were counted in). */
  readonly intervalMs: number;
  /**
   * The burst ran on into the stream's live readings: it was ended by a reading on time whose own time follows its
   * last reading's within LATE_INTERVALS intervals. Its device (or gateway) kept its readings through an outage and
   * sent them at its return, then went on live: its own buffer may be what lost the missing ones, not only a broker
   * (a history sent by a script ends in the past and goes quiet).
   */
  readonly caughtUp: boolean;
}

interface Burst {
  firstTs: number;
  lastTs: number;
  firstArrival: number;
  lastArrival: number;
  /** The message (the caller's sequence number) of the burst's latest reading. */
  message: number;
  readings: number;
  missing: number;
  holes: number;
  intervalMs: number;
  /** Gaps (positive) between the burst's readings: of one interval (0.5 to 1.5 I), shorter, longer. */
  regular: number;
  short: number;
  long: number;
  /** The largest |gap / I - 1| among the one-interval gaps (the stream's jitter, in intervals). */
  jitter: number;
  /** The burst was taken as a periodic stream's (MIN_REGULAR gaps, ESTABLISH_SHARE of one interval). */
  periodic: boolean;
}

/** The backfill bursts of every stream, and the readings missing in them (see the file's comment). */
export class BackfillHoles {
  private readonly bursts = new Map<string, Burst>();
  /**
   * Per stream whose latest burst arrived densely (a buffer flushed, a history sent), its last reading's time and how
   * late it arrived (ms), until a reading of the stream arrives on time again or it is forgotten (flushedLate). Readings
   * not late that arrive with the flush (its tail: later times, arriving DENSE_RATIO times faster than their times
   * move, within QUIET_MS) move it on to theirs.
   */
  private readonly flushed = new Map<string, { readonly ts: number; readonly late: number }>();
  private ended: BackfillBurst[] = [];
  private missingTotal = 0;

  /** Readings missing at their stream's interval in backfill bursts, counted since this was made. */
  get missing(): number {
    return this.missingTotal;
  }

  /**
   * One reading of `stream`, before it is placed: its time `ts` and arrival `receivedAt` (epoch ms), the caller's
   * number of its message (`message`: the readings of one message share it) and the stream's interval in force
   * (`intervalMs`, ms; 0 while unknown).
   * @returns true when a hole before this reading (the steps its placement will skip, if any) is one of a backfill
   *   burst: the caller then counts it with `holed` and does not judge it as the stream's silence
   */
  arrived(stream: string, ts: number, receivedAt: number, message: number, intervalMs: number): boolean {
    const late = intervalMs > 0 && receivedAt - ts >= Math.max(LATE_MIN_MS, LATE_INTERVALS * intervalMs);
    const burst = this.bursts.get(stream);
    if (!late) {
      if (burst !== undefined) this.end(stream, burst, intervalMs > 0 && ts > burst.lastTs && ts - burst.lastTs <= LATE_INTERVALS * intervalMs);
      // The tail of a flush, later than its latest reading and arriving with it (its times moving DENSE_RATIO times
      // faster than their arrival, within QUIET_MS): a history sent minutes after its last reading's time has its last
      // readings less than LATE_MIN_MS late, but they are the flush's, not the stream's on time (tryout 31, finding 1).
      const f = this.flushed.get(stream);
      const arrival = f === undefined ? Number.NaN : f.ts + f.late;
      if (f !== undefined && ts > f.ts && receivedAt - arrival < QUIET_MS && ts - f.ts >= DENSE_RATIO * Math.max(0, receivedAt - arrival)) this.flushed.set(stream, { ts, late: receivedAt - ts });
      else this.flushed.delete(stream);
      return false;
    }
    if (burst === undefined) {
      this.bursts.set(stream, { firstTs: ts, lastTs: ts, firstArrival: receivedAt, lastArrival: receivedAt, message, readings: 1, missing: 0, holes: 0, intervalMs, regular: 0, short: 0, long: 0, jitter: 0, periodic: false });
      return false;
    }
    let hole = false;
    const gap = ts - burst.lastTs;
    if (gap > 0) {
      const steps = gap / intervalMs;
      if (steps < 0.5) burst.short++;
      else if (steps < 1.5) {
        burst.regular++;
        burst.jitter = Math.max(burst.jitter, Math.abs(steps - 1));
        if (!burst.periodic && burst.regular >= MIN_REGULAR && burst.regular >= ESTABLISH_SHARE * (burst.regular + burst.short + burst.long)) burst.periodic = true;
      } else {
        const other = message !== burst.message;
        const dense = ts - burst.firstTs >= DENSE_RATIO * Math.max(0, receivedAt - burst.firstArrival);
        const periodic = burst.periodic && burst.regular >= REGULAR_SHARE * (burst.regular + burst.short + burst.long);
        hole = other && dense && periodic && steps >= 1 + JITTER_MARGIN * burst.jitter;
        burst.long++;
      }
      burst.lastTs = ts;
    }
    burst.lastArrival = receivedAt;
    burst.message = message;
    burst.readings++;
    return hole;
  }

  /**
   * The reading `arrived` said was of a backfill burst skipped `steps` readings at the stream's interval
   * `intervalMs` (ms) since the one before it: counted (a no-op for steps < 1 or a stream without a burst).
   */
  holed(stream: string, steps: number, intervalMs: number): void {
    const burst = this.bursts.get(stream);
    if (burst === undefined || !(steps >= 1)) return;
    burst.missing += steps;
    burst.holes++;
    burst.intervalMs = intervalMs;
    this.missingTotal += steps;
  }

  /**
   * The bursts that ended with readings missing since the last call: those ended by a reading that was not late,
   * and those with no reading for QUIET_MS at `now` (epoch ms, the arrival clock). Each is handed out once.
   */
  drain(now: number): BackfillBurst[] {
    for (const [stream, burst] of this.bursts) if (now - burst.lastArrival >= QUIET_MS) this.end(stream, burst);
    const out = this.ended;
    this.ended = [];
    return out;
  }

  /** Ends every burst going on (at stop), so drain tells those with readings missing. */
  endAll(): void {
    for (const [stream, burst] of this.bursts) this.end(stream, burst);
  }

  /**
   * How late (ms: arrival less its own time) the stream's reading of time `ts` (epoch ms) arrived, when it is the
   * latest reading of a burst that arrived densely (at least 2 readings whose times span DENSE_RATIO times the arrival
   * time they took: a device's or gateway's buffer flushed after an outage, or a history sent), going on or ended and
   * not followed by a reading on time (a reading of its tail that arrived with it, less late, is one of it); null otherwise (a stream whose readings come late at their own pace, a device
   * clock behind, is none). A silence after it is told on the arrival clock from the reading's own time plus this: the
   * readings were late because they were kept, not because the device's clock lags.
   */
  flushedLate(stream: string, ts: number): number | null {
    const b = this.bursts.get(stream);
    if (b !== undefined) return b.lastTs === ts && dense(b) ? b.lastArrival - b.lastTs : null;
    const f = this.flushed.get(stream);
    return f !== undefined && f.ts === ts ? f.late : null;
  }

  /**
   * What flushedLate knows of the stream now, for its checkpoint (Detector.snapshot, `flushed`): its latest reading's
   * time `ts` and how late it arrived `late` (ms), when that reading is the latest of a dense burst (going on, or
   * ended and not followed by a reading on time); null otherwise. Restored by restoreFlushed, so a silence after a
   * flushed history is told from that reading's time to now across a restart too (tryout 38, finding 11: `no reading
   * for 14 min` of a silence of 25, the 10 min the history arrived late lost at the restart).
   */
  flushedOf(stream: string): { readonly ts: number; readonly late: number } | null {
    const b = this.bursts.get(stream);
    if (b !== undefined) return dense(b) ? { ts: b.lastTs, late: b.lastArrival - b.lastTs } : null;
    return this.flushed.get(stream) ?? null;
  }

  /**
   * Takes back what flushedOf gave before a restart (a burst going on then is ended: its readings' arrival is over).
   * @throws RangeError when `ts` or `late` is not finite, or `late` is negative
   */
  restoreFlushed(stream: string, f: { readonly ts: number; readonly late: number }): void {
    if (!Number.isFinite(f.ts) || !Number.isFinite(f.late) || f.late < 0) throw new RangeError('flushed: ts and late must be finite, late >= 0');
    this.bursts.delete(stream);
    this.flushed.set(stream, { ts: f.ts, late: f.late });
  }

  /** Drops the stream's burst going on, untold (the stream was forgotten or evicted). */
  forget(stream: string): void {
    this.bursts.delete(stream);
    this.flushed.delete(stream);
  }

  /** Ends the stream's burst `b`; `caughtUp`: by a reading on time that its readings ran on into (BackfillBurst.caughtUp). */
  private end(stream: string, b: Burst, caughtUp = false): void {
    this.bursts.delete(stream);
    if (dense(b)) this.flushed.set(stream, { ts: b.lastTs, late: b.lastArrival - b.lastTs });
    if (b.missing > 0) {
      this.ended.push({ stream, missing: b.missing, holes: b.holes, readings: b.readings, firstTs: b.firstTs, lastTs: b.lastTs, firstArrival: b.firstArrival, lastArrival: b.lastArrival, intervalMs: b.intervalMs, caughtUp });
    }
  }
}

/** Whether a burst arrived densely: 2 readings or more whose times span DENSE_RATIO times the arrival time they took. */
function dense(b: Burst): boolean {
  return b.readings >= 2 && b.lastTs - b.firstTs >= DENSE_RATIO * Math.max(0, b.lastArrival - b.firstArrival);
}
