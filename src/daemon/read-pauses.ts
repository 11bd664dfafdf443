/**
 * When the daemon itself was behind its MQTT connection (tryout 25, finding 9): MQTT reads paused for backpressure
 * (MqttAdapter.pause, once the model backlog is over 64 × model.maxBatch), or the backlog still above the 16 ×
 * model.maxBatch at which reads resume, until it is down to that (the daemon calls paused and resumed). Readings sent
 * meanwhile wait in the socket and the broker (which drops what its queue cannot hold) and are stamped late, on
 * arrival, when reading resumes: a sensor's gap across a pause is the daemon's, not the sensor's silence, as a gap
 * across a restart, a broker outage or a saturated event loop is (Daemon.deafUntil, Detector.excuseGap). Before, a
 * flood of 50,000 readings on one known topic told 14 `no reading for 0 s (missing data)` episodes and 11 more
 * without a kind (filled steps taken as repeats of one value) while reads were paused, as the gaps the pauses made.
 *
 * Kept as the spans, on the daemon's clock (epoch ms), from each pause to its resume; the current pause is open. As
 * for LoopLoad's saturated spans, a reading only compares its sensor's last arrival with the end of the latest span
 * (pausedAfter), and a silence judged while it lasts is shortened by the paused time within it (pausedWithin).
 */

/** How long pause spans are kept, ms on the daemon's clock (a sensor heard before that is judged as silent). */
const KEEP_MS = 3_600_000;

/** The spans in which the daemon was behind its MQTT connection; one owner (the daemon) tells when it fell behind and caught up. */
export class ReadPauses {
  /** Closed pauses, oldest first, as [start, end] pairs on the daemon's clock (epoch ms); overlapping ones merged. */
  private readonly spans: Array<[number, number]> = [];
  /** Start of the pause going on (epoch ms), or null while reading. */
  private since: number | null = null;

  /** @param now the daemon's clock, epoch ms (spans are kept on it) */
  constructor(private readonly now: () => number) {}

  /** Reads were paused now; idempotent while paused. */
  paused(): void {
    if (this.since === null) this.since = this.now();
  }

  /** Reads were taken again now; idempotent while reading. */
  resumed(): void {
    const from = this.since;
    if (from === null) return;
    this.since = null;
    const at = Math.max(from, this.now());
    const last = this.spans.at(-1);
    if (last !== undefined && last[1] >= from) last[1] = Math.max(last[1], at);
    else this.spans.push([from, at]);
    while (this.spans.length > 0 && this.spans[0][1] < at - KEEP_MS) this.spans.shift();
  }

  /** Whether reads are paused now. */
  get pausedNow(): boolean {
    return this.since !== null;
  }

  /**
   * The end (daemon's clock, epoch ms) of the latest pause that ended after `since`, or the time now while reads are
   * paused; null when they were not paused after `since`.
   */
  pausedAfter(since: number): number | null {
    if (this.since !== null) return Math.max(this.now(), this.since);
    const last = this.spans.at(-1);
    return last !== undefined && last[1] > since ? last[1] : null;
  }

  /** How long (ms on the daemon's clock) reads were paused within [from, to], the pause going on counted up to `to`. */
  pausedWithin(from: number, to: number): number {
    let ms = 0;
    if (this.since !== null) ms += Math.max(0, to - Math.max(this.since, from));
    for (let i = this.spans.length - 1; i >= 0; i--) {
      const [a, b] = this.spans[i];
      if (b <= from) break;
      ms += Math.max(0, Math.min(b, to) - Math.max(a, from));
    }
    return ms;
  }
}
