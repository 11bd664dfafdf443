/**
 * The HTTP API's window into the running daemon (`DaemonView`): status and counters, sensors and their
 * status, score history, and the stored anomalies. Built from narrow getters so the routes never reach
 * the daemon's internals.
 */
import type { AnomalyMark, AnomalyQuery, AnomalyRecord, AnomalyWithEvents } from '../contract/store.js';
import type { DaemonView } from '../http/view.js';
import type { ScoreHistory } from '../pipeline/history.js';
import { VERSION } from '../version.js';
import type { SensorStatusBoard } from './sensor-status.js';

/** The part of the store the API reads and marks. */
export interface AnomalyReader {
  listAnomalies(q: AnomalyQuery): AnomalyRecord[];
  getAnomaly(id: string): AnomalyWithEvents | null;
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null): boolean;
}

export interface HttpViewDeps {
  readonly startedAt: number;
  readonly counters: () => Readonly<Record<string, number>>;
  /** The shared model's id, or null. */
  readonly defaultModel: () => string | null;
  readonly modelOf: (sensor: string) => string | null;
  /** The MQTT connection, without credentials. */
  readonly mqtt: () => { readonly url: string; readonly connected: boolean };
  readonly board: SensorStatusBoard;
  readonly history: ScoreHistory;
  /** The open store; throws when it is closed. */
  readonly store: () => AnomalyReader;
}

export function daemonView(d: HttpViewDeps): DaemonView {
  return {
    status: () => ({ version: VERSION, startedAt: d.startedAt, counters: { ...d.counters() }, model: d.defaultModel(), mqtt: d.mqtt() }),
    sensors: () =>
      d.board
        .sensors()
        .filter((sensor) => d.board.has(sensor))
        .sort()
        .map((sensor) => ({ sensor, status: d.board.statusOf(sensor), model: d.modelOf(sensor), lastTs: d.history.latestTs(sensor) })),
    history: (sensor, since) => d.history.series(sensor, since),
    anomalies: (q) => d.store().listAnomalies(q),
    anomaly: (id) => d.store().getAnomaly(id),
    markAnomaly: (id, mark, note) => d.store().markAnomaly(id, mark, note),
  };
}
