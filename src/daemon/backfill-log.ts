/**
 * The warning of a backfill burst that ended with readings missing at its stream's interval (src/pipeline/backfill.ts;
 * tryout 27, finding 6: half of a backfill published at full speed was dropped by mosquitto's queue and nothing said
 * it), and what `GET /api/status` says of them (`backfill`). One line per burst, the first BURST_LINES bursts of a
 * `limits.logIntervalMs` interval; more in one summary line per interval (the streams are a client's to make up).
 */
import type { Logger } from 'pino';
import { clockTime } from '../explain/explain.js';
import type { BackfillBurst } from '../pipeline/backfill.js';
import { formatDuration } from '../util/duration.js';
import type { BackfillBurstView, BackfillView } from '../http/view.js';

/** Bursts told one line each per limits.logIntervalMs; more are summed up in one line. */
export const BURST_LINES = 10;

/**
 * The warning's text, e.g. `stream kitchen/temp: 7930 readings missing at its interval (10 s) in a backfill of
 * 2026-11-28 03:38 – 2026-12-03 16:58 (42070 readings arrived in 4.9 s) …`, the times in `timeZone` (IANA).
 */
export function backfillText(b: BackfillBurst, timeZone: string): string {
  const span = `${clockTime(b.firstTs, 0, timeZone)} – ${clockTime(b.lastTs, 0, timeZone)}`;
  const took = formatDuration(b.lastArrival - b.firstArrival);
  // Its readings ran on into the live ones (BackfillBurst.caughtUp): a device or gateway flushed what it kept through
  // an outage, so its buffer is the first suspect, not only the broker (the warning blamed the broker alone).
  if (b.caughtUp) {
    return (
      `stream ${b.stream}: ${b.missing} readings missing at its interval (${formatDuration(b.intervalMs)}) in a flush of ${span} ` +
      `(${b.readings} readings arrived in ${took}, far faster than their times, with ${b.holes} hole${b.holes === 1 ? '' : 's'} between them, then its readings went on live): ` +
      `its device or gateway kept its readings while it could not send them and sent them at its return; its buffer may not have kept them all, ` +
      `or the broker dropped some (mosquitto keeps at most max_queued_messages, 1000 by default, for a client that reads slower than it is sent to; docs/DEPLOY.md, "Loading history"). ` +
      `The holes open no missing-data episode; counters.backfillMissing counts them`
    );
  }
  return (
    `stream ${b.stream}: ${b.missing} readings missing at its interval (${formatDuration(b.intervalMs)}) in a backfill of ${span} ` +
    `(${b.readings} readings arrived in ${took}, far faster than their times, with ${b.holes} hole${b.holes === 1 ? '' : 's'} between them); ` +
    `the broker may have dropped them (mosquitto keeps at most max_queued_messages, 1000 by default, for a client that reads slower than it is sent to), ` +
    `or the history sent had those holes. Judge history with \`anomalyd replay --input FILE.csv\` (or learn from it with \`anomalyd train\`); ` +
    `to send it over MQTT, use QoS 1 and a broker queue that holds it (docs/DEPLOY.md, "Loading history"). The holes open no missing-data episode; counters.backfillMissing counts them`
  );
}

export class BackfillLog {
  private missing = 0;
  private bursts = 0;
  private last: BackfillBurstView | null = null;
  private intervalStart = Number.NEGATIVE_INFINITY;
  private lines = 0;
  private unsaid = { bursts: 0, missing: 0, streams: [] as string[] };

  /**
   * @param log where the warnings go
   * @param timeZone IANA zone of the times in them (explain.timeZone, else the host's)
   * @param intervalMs limits.logIntervalMs: BURST_LINES lines per this long (ms), the rest summed up
   */
  constructor(
    private readonly log: Logger,
    private readonly timeZone: string,
    private readonly intervalMs: number,
  ) {}

  /** Tells the bursts that ended (Detector.backfillBursts) at `now` (epoch ms, the daemon's clock); sums up what an interval held back. */
  tell(ended: readonly BackfillBurst[], now: number): void {
    if (now - this.intervalStart >= this.intervalMs) {
      if (this.unsaid.bursts > 0) {
        this.log.warn(
          { bursts: this.unsaid.bursts, missing: this.unsaid.missing, streams: this.unsaid.streams },
          `${this.unsaid.bursts} more backfill bursts ended with ${this.unsaid.missing} readings missing at their streams' intervals (examples: ${this.unsaid.streams.join(', ')}); the broker may have dropped them (docs/DEPLOY.md, "Loading history")`,
        );
        this.unsaid = { bursts: 0, missing: 0, streams: [] };
      }
      this.intervalStart = now;
      this.lines = 0;
    }
    for (const b of ended) {
      this.bursts++;
      this.missing += b.missing;
      this.last = { stream: b.stream, missing: b.missing, readings: b.readings, fromTs: b.firstTs, toTs: b.lastTs, intervalMs: b.intervalMs, toldAt: now };
      if (this.lines < BURST_LINES) {
        this.lines++;
        this.log.warn(
          { stream: b.stream, missing: b.missing, holes: b.holes, readings: b.readings, from: new Date(b.firstTs).toISOString(), to: new Date(b.lastTs).toISOString(), intervalMs: b.intervalMs },
          backfillText(b, this.timeZone),
        );
      } else {
        this.unsaid.bursts++;
        this.unsaid.missing += b.missing;
        if (this.unsaid.streams.length < 5) this.unsaid.streams.push(b.stream);
      }
    }
  }

  /**
   * What GET /api/status says: `missing` the readings missing in bursts since start (`missingNow`: the detector's count,
   * which includes bursts still going on), the bursts told and the latest of them.
   */
  view(missingNow: number): BackfillView {
    return { missing: Math.max(missingNow, this.missing), bursts: this.bursts, last: this.last };
  }
}
