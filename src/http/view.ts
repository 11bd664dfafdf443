/**
 * What the HTTP API may ask of the running daemon. The daemon implements it; the routes only read
 * through it (and set operator marks), so they can be tested against a fake.
 */
import type { SensorStatus } from '../contract/types.js';
import type { AnomalyMark, AnomalyQuery, AnomalyRecord, AnomalyWithEvents } from '../contract/store.js';
import type { HistorySeries } from '../pipeline/history.js';

export interface DaemonStatusView {
  readonly version: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly counters: Readonly<Record<string, number>>;
  /** The default model's id, or null while there is none. */
  readonly model: string | null;
  readonly mqtt: { readonly url: string; readonly connected: boolean };
}

export interface SensorView {
  readonly sensor: string;
  readonly status: SensorStatus;
  readonly model: string | null;
  /** End of the sensor's latest window, epoch ms. */
  readonly lastTs: number | null;
}

export interface DaemonView {
  status(): DaemonStatusView;
  sensors(): readonly SensorView[];
  /** Null for a sensor with no recorded window. */
  history(sensor: string, sinceTs?: number): HistorySeries | null;
  anomalies(q: AnomalyQuery): readonly AnomalyRecord[];
  anomaly(id: string): AnomalyWithEvents | null;
  /** False when there is no such anomaly. */
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null): boolean;
}
