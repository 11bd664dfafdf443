/**
 * A device clock behind arrival by a whole number of hours: the mark of a time zone mix-up (Tasmota's `Time` in
 * London time read in Berlin's ingest.timezone, a logger on standard time after the clocks went forward), which
 * otherwise goes unseen: such readings are in time order and not from the future, so admission takes them, and
 * their sentences and plots are hours off. A clock *ahead* is rejected already (future_timestamp, admit.ts).
 *
 * Robust by design, so that one late reading, a buffer flushed after an outage or a burst of old readings never
 * raises it: a stream is reported when LAG_READINGS readings in a row lag arrival by the same whole number of
 * hours (1 to MAX_LAG_HOURS) within LAG_TOLERANCE_MS, their lags agree within LAG_TOLERANCE_MS, and they arrived
 * over at least LAG_SPAN_MS of the daemon's time (a burst arrives at once, so it never counts as several). It only
 * observes: which readings are taken and how they are stamped does not change. Reported once per stream, each report
 * saying whether it is its device's first (so a plug's six ENERGY fields give one warning; tryout 14, finding 9); at
 * most `maxStreams` streams are followed or remembered (ingest.maxStreams), so memory is bounded whatever the input.
 */

export const HOUR_MS = 3_600_000;
/** How far a lag may be from a whole number of hours (the network's delay, a clock minutes off). */
export const LAG_TOLERANCE_MS = 5 * 60_000;
/** Readings in a row that must lag alike. */
export const LAG_READINGS = 5;
/** Least time (arrival, ms) those readings must span. */
export const LAG_SPAN_MS = 10 * 60_000;
/** Time zones lie within UTC-12 and UTC+14: two clocks differ by at most 26 hours. */
export const MAX_LAG_HOURS = 26;

interface Run {
  hours: number;
  count: number;
  /** Arrival of the run's first reading, epoch ms. */
  firstAt: number;
  minLag: number;
  maxLag: number;
}

/**
 * Called once per stream: `hours` whole hours behind, `lagMs` the run's middle lag (arrival minus device time);
 * `device` the stream's device (Reading.source, else the stream), `firstOfDevice` true for the first of the
 * device's streams reported (again true once all of them are forgotten), for one warning per device.
 */
export type OnClockLag = (stream: string, hours: number, lagMs: number, device: string, firstOfDevice: boolean) => void;

/**
 * Follows each stream's lag (arrival minus device time, ms) over its accepted readings and calls `onLag` once
 * for a stream that lags by whole hours (see the module comment); `maxStreams` bounds what it keeps.
 */
export class ClockLag {
  private readonly runs = new Map<string, Run>();
  /** Reported streams, by stream: their device. */
  private readonly reported = new Map<string, string>();
  /** Devices with a reported stream: how many of their streams are reported. */
  private readonly devices = new Map<string, number>();

  constructor(
    private readonly onLag: OnClockLag,
    private readonly maxStreams = 10_000,
  ) {}

  /**
   * One accepted reading of `stream` (of `device`, default the stream itself) stamped `ts` that arrived at
   * `receivedAt` (both epoch ms). Never throws.
   */
  observe(stream: string, ts: number, receivedAt: number, device: string = stream): void {
    const lag = receivedAt - ts;
    const hours = Math.round(lag / HOUR_MS);
    if (hours < 1 || hours > MAX_LAG_HOURS || Math.abs(lag - hours * HOUR_MS) > LAG_TOLERANCE_MS || this.reported.has(stream)) {
      if (this.runs.size > 0) this.runs.delete(stream);
      return;
    }
    const run = this.runs.get(stream);
    if (run === undefined || run.hours !== hours || Math.max(run.maxLag, lag) - Math.min(run.minLag, lag) > LAG_TOLERANCE_MS) {
      if (run !== undefined || this.runs.size < this.maxStreams) this.runs.set(stream, { hours, count: 1, firstAt: receivedAt, minLag: lag, maxLag: lag });
      return;
    }
    run.count++;
    run.minLag = Math.min(run.minLag, lag);
    run.maxLag = Math.max(run.maxLag, lag);
    if (run.count < LAG_READINGS || receivedAt - run.firstAt < LAG_SPAN_MS) return;
    this.runs.delete(stream);
    if (this.reported.size >= this.maxStreams) return;
    this.reported.set(stream, device);
    const before = this.devices.get(device) ?? 0;
    this.devices.set(device, before + 1);
    this.onLag(stream, hours, Math.round((run.minLag + run.maxLag) / 2), device, before === 0);
  }

  /** Forgets a stream (evicted): reported again should its clock lag again. */
  forget(stream: string): void {
    this.runs.delete(stream);
    const device = this.reported.get(stream);
    if (device === undefined) return;
    this.reported.delete(stream);
    const left = (this.devices.get(device) ?? 1) - 1;
    if (left > 0) this.devices.set(device, left);
    else this.devices.delete(device);
  }
}
