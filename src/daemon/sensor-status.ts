/**
 * Each sensor's status (learning / ok / anomalous / stale) as operators see it (`learning`: the scorer's
 * learning period, not the sensor's own model, whose progress ownModelOf gives): derived from the detector's
 * state, published retained on <prefix>/state/<sensor> whenever it (or the sensor's model) changes, and
 * listed for the HTTP API. `stale` is judged on the wall clock against the stream's own interval: no
 * accepted reading for alerts.staleAfter of its intervals.
 *
 * The state's `since` is always data time (the readings' own timestamps, as every alert time is): the reading
 * that brought the status, or, for a status found without a reading (`stale`, judged on the wall clock; a model
 * installed; a restored sensor at start), the sensor's newest reading: a stale sensor is stale since its last
 * reading (tryout 11, finding 5.3: `stale` carried the wall time of the sweep, every other status data time).
 */
import type { Logger } from 'pino';
import type { SensorStatus } from '../contract/types.js';
import type { SensorStatePayload } from '../contract/alerts.js';
import { ownModelFraction, type OwnModelProgress } from '../contract/own-model.js';

/** What the board reads of the detector and the learner. */
export interface StatusSource {
  /** The sensor's model id, or null while it has none. */
  modelOf(sensor: string): string | null;
  /** True while the sensor may not alert yet: the scorer's learning period, or no model (learning.fallback: false). */
  learning(sensor: string): boolean;
  /** The open episode's id, or null. */
  openAnomaly(sensor: string): string | null;
  /** How far the sensor's own model is (Learner.ownModel), or null when it is not learning one. */
  ownModel(sensor: string): OwnModelProgress | null;
  /** The stream's learnt reading interval in ms (0 or undefined while unknown). */
  intervalOf(sensor: string): number | undefined;
  /**
   * Data time (epoch ms) of the sensor's newest scored reading, also one restored from its checkpoint; null or
   * absent when none is known (the board then uses the wall clock).
   */
  newestReadingTs?(sensor: string): number | null;
}

export interface SensorStatusOptions {
  /** No accepted reading for this many of the stream's intervals (wall clock) means stale; 0 = never. */
  readonly staleAfter: number;
  readonly now: () => number;
  readonly logger: Logger;
  /** Publishes the retained state payload of a sensor. Never throws; failures are the publisher's to log. */
  readonly publish: (sensor: string, payload: SensorStatePayload) => void;
  /** Deletes the sensor's retained state (publishes an empty retained message). Never throws. */
  readonly clear?: (sensor: string) => void;
  /** Logs a status change (default: one info line each); the daemon bounds how many per interval. */
  readonly logStatus?: (detail: Record<string, unknown>) => void;
}

export class SensorStatusBoard {
  private readonly status = new Map<string, SensorStatus>();
  /** What was last published per sensor: its status and its model id ('' for none). */
  private readonly published = new Map<string, { readonly status: SensorStatus; readonly model: string }>();
  /** Wall-clock arrival of each sensor's latest accepted reading. */
  private readonly lastArrival = new Map<string, number>();

  constructor(
    private readonly source: StatusSource,
    private readonly opts: SensorStatusOptions,
  ) {}

  /** A reading of the sensor was accepted now. */
  arrived(sensor: string): void {
    this.lastArrival.set(sensor, this.opts.now());
  }

  /** Each sensor with a reading accepted, and when its latest arrived (wall clock, epoch ms: `now`'s). */
  arrivals(): IterableIterator<[string, number]> {
    return this.lastArrival.entries();
  }

  /** Sensors that have been seen (a reading accepted or a status published). */
  sensors(): string[] {
    return [...new Set([...this.status.keys(), ...this.lastArrival.keys()])];
  }

  has(sensor: string): boolean {
    return this.status.has(sensor);
  }

  statusOf(sensor: string): SensorStatus {
    const interval = this.source.intervalOf(sensor) ?? 0;
    const arrived = this.lastArrival.get(sensor);
    if (this.opts.staleAfter > 0 && interval > 0 && arrived !== undefined && this.opts.now() - arrived > this.opts.staleAfter * interval) return 'stale';
    if (this.source.modelOf(sensor) === null || this.source.learning(sensor)) return 'learning';
    return this.source.openAnomaly(sensor) !== null ? 'anomalous' : 'ok';
  }

  /**
   * The id of the sensor's open episode, of any kind (a silence's `missing data` too, whose sensor is `stale`, not
   * `anomalous`), or null: what the HTTP API and `anomalyd status` count as an open problem.
   */
  openEpisodeOf(sensor: string): string | null {
    return this.source.openAnomaly(sensor);
  }

  /** How far the sensor's own model is, or null when it is not learning one (for the HTTP API). */
  ownModelOf(sensor: string): OwnModelProgress | null {
    return this.source.ownModel(sensor);
  }

  /**
   * Publishes the sensor's retained state when its status or model changed. `ts`: the data time (epoch ms) of the
   * reading that is scored now, the `since` it reports; absent when no reading brought the change (a wall-clock
   * sweep, a model installed): `since` is then the data time of the sensor's newest reading (newestReadingTs; the
   * wall clock when none is known).
   */
  refresh(sensor: string, ts?: number): void {
    const status = this.statusOf(sensor);
    const model = this.source.modelOf(sensor);
    // Compared field by field: no key string built for every reading (the same test as `${status}|${model ?? ''}`).
    const last = this.published.get(sensor);
    if (last !== undefined && last.status === status && last.model === (model ?? '')) return;
    this.published.set(sensor, { status, model: model ?? '' });
    this.status.set(sensor, status);
    const anomalyId = this.source.openAnomaly(sensor);
    const own = this.source.ownModel(sensor);
    const since = ts ?? this.source.newestReadingTs?.(sensor) ?? this.opts.now();
    const payload: SensorStatePayload = {
      status,
      since: new Date(since).toISOString(),
      ...(anomalyId !== null && status === 'anomalous' ? { anomaly_id: anomalyId } : {}),
      ...(model !== null ? { model } : {}),
      ...(own !== null && own.phase !== 'stopped' ? { learning_progress: Math.round(ownModelFraction(own) * 100) / 100 } : {}),
    };
    if (this.opts.logStatus) this.opts.logStatus({ sensor, status, model });
    else this.opts.logger.info({ sensor, status, model }, 'sensor status');
    this.opts.publish(sensor, payload);
  }

  /**
   * Forgets a sensor (evicted for idleness) and clears its retained state topic (an empty retained
   * message deletes it on the broker), so neither this board nor the broker keeps one entry per sensor
   * that ever published.
   */
  forget(sensor: string): void {
    const known = this.published.has(sensor);
    this.status.delete(sensor);
    this.published.delete(sensor);
    this.lastArrival.delete(sensor);
    if (known) this.opts.clear?.(sensor);
  }

  /** Re-judges every sensor against the wall clock (stale); a change is published with its newest reading's time. */
  refreshAll(): void {
    for (const sensor of this.lastArrival.keys()) this.refresh(sensor);
  }
}
