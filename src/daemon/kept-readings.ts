/**
 * The readings a graceful stop took in and did not score, kept across the restart ("nothing is lost"). A reading the
 * daemon took in was parsed and placed on its stream's cadence at once (and, at QoS 1, acknowledged to the broker,
 * which will not send it again); it is scored once its model call is done. When the stop's drain must end before
 * that (shutdown.deadlineMs), the detector hands over what it has not scored (Detector.takeKept) and the stop writes it
 * here with the final checkpoint, in one transaction (save). That checkpoint holds each such stream's parser and cadence
 * past the kept readings and its model and score state before them; the next start restores the checkpoints and then
 * gives the kept readings back to the detector (restore) before the first live message, so each is scored exactly
 * once, in order, before the live readings of its stream.
 *
 * A stream's row stays until the stream's next checkpoint row is written with its kept readings scored: the row goes
 * in that write's transaction (checkpointStore). The daemon asks for that checkpoint right after their last output
 * (Daemon.settleKeptSoon; else the next housekeeping tick). A crash (kill -9, power loss) before it is committed
 * restarts from the same checkpoint and the same kept readings: they are scored again, and an episode they opened in
 * the crashed run is resolved as orphaned at that start and opened anew (a window of about one group commit after
 * they are scored). The stop that follows replaces the table whole.
 */
import type { Logger } from 'pino';
import type { KeptReadingsRow, SensorCheckpoint, SensorStateRow } from '../contract/store.js';
import { decodeKept, encodeKept, keptReadings, type KeptStream } from '../pipeline/kept.js';
import type { CheckpointStore } from './checkpoints.js';

/** The part of the store kept readings use (SqliteStore). */
export interface KeptReadingsStore {
  replaceKeptReadings(rows: readonly KeptReadingsRow[]): void;
  deleteKeptReadings(streams: readonly string[]): void;
  loadKeptReadings(): KeptReadingsRow[];
  saveSensorStates(rows: readonly SensorStateRow[]): void;
  deleteSensorStates(keys: readonly string[]): void;
  loadSensorStates(): Map<string, SensorCheckpoint>;
  loadSensorState(sensor: string): SensorCheckpoint | null;
  /** Runs `fn` as one transaction (SqliteStore.atomically). */
  atomically<T>(fn: () => T): T;
}

/** What the kept readings are given back to (the Detector). */
export interface KeptSubject {
  restoreKept(kept: readonly KeptStream[]): number;
  /** True while readings of the stream are queued or in a model call (Detector.busy). */
  busy(stream: string): boolean;
}

/** How many readings (and of how many streams) a save or a restore kept or gave back. */
export interface KeptCount {
  readonly readings: number;
  readonly streams: number;
}

export class KeptReadings {
  /** The streams whose kept-readings rows are still in the store (given back at start, not yet checkpointed since). */
  private readonly rows = new Set<string>();

  constructor(
    private readonly store: KeptReadingsStore,
    private readonly subject: KeptSubject,
    private readonly log: Logger,
  ) {}

  /** The streams whose kept-readings rows wait for their next checkpoint (the daemon saves them at its next tick). */
  waiting(): ReadonlySet<string> {
    return this.rows;
  }

  /**
   * Gives the kept readings back to the subject: call after the checkpoints were restored and before the first
   * message. A row that cannot be read is deleted and its readings are said lost (logged at error with their count);
   * the rest are given back and logged at info (`kept`, `streams`). Throws only when the store cannot be read.
   */
  restore(): KeptCount {
    const t0 = performance.now();
    const rows = this.store.loadKeptReadings();
    if (rows.length === 0) return { readings: 0, streams: 0 };
    const kept: KeptStream[] = [];
    const unreadable: string[] = [];
    let lost = 0;
    for (const row of rows) {
      try {
        kept.push(decodeKept(row.stream, JSON.parse(row.items) as unknown));
        this.rows.add(row.stream);
      } catch (err) {
        unreadable.push(row.stream);
        lost += row.readings;
        this.log.error({ err, sensor: row.stream, readings: row.readings }, `${row.readings} readings of ${row.stream} kept at the last stop cannot be read: they are lost (the row is deleted)`);
      }
    }
    if (unreadable.length > 0) this.store.deleteKeptReadings(unreadable);
    const readings = this.subject.restoreKept(kept);
    const count = { readings, streams: kept.length };
    this.log.info(
      // ms: read, decoded and queued (their scoring follows once the pipeline runs).
      { kept: readings, streams: kept.length, ms: Math.round(performance.now() - t0), ...(lost > 0 ? { lost } : {}) },
      `readings kept at the last stop given back: ${readings} readings of ${kept.length} streams, scored before the live readings of their streams`,
    );
    return count;
  }

  /**
   * Writes what a stop's drain left unscored (Detector.takeKept), replacing every row, stamped `now` (epoch ms). Call
   * inside the transaction of the final checkpoint (the store's atomically), so both are committed or neither is.
   * Returns the count written. Throws when the store fails.
   */
  save(kept: readonly KeptStream[], now: number): KeptCount {
    const rows: KeptReadingsRow[] = [];
    let readings = 0;
    for (const k of kept) {
      const n = keptReadings(k.items);
      readings += n;
      rows.push({ stream: k.stream, items: JSON.stringify(encodeKept(k)), readings: n, keptAt: now });
    }
    this.store.replaceKeptReadings(rows);
    this.rows.clear();
    for (const k of kept) this.rows.add(k.stream);
    return { readings, streams: rows.length };
  }

  /**
   * The store the checkpoints write through: a stream's checkpoint row written while none of its readings waits for
   * the model (its kept readings scored) takes the stream's kept-readings row with it, in one transaction; a stream's
   * checkpoint deleted (the operator forgot it) takes its kept readings too.
   */
  checkpointStore(): CheckpointStore {
    const store = this.store;
    const gone = (keys: readonly string[], all: boolean): string[] => (this.rows.size === 0 ? [] : keys.filter((k) => this.rows.has(k) && (all || !this.subject.busy(k))));
    const settle = (streams: readonly string[], write: () => void): void => {
      if (streams.length === 0) {
        write();
        return;
      }
      store.atomically(() => {
        write();
        store.deleteKeptReadings(streams);
      });
      for (const s of streams) this.rows.delete(s);
    };
    return {
      saveSensorStates: (rows) => settle(gone(rows.map((r) => r.sensor), false), () => store.saveSensorStates(rows)),
      deleteSensorStates: (keys) => settle(gone(keys, true), () => store.deleteSensorStates(keys)),
      loadSensorStates: () => store.loadSensorStates(),
      loadSensorState: (sensor) => store.loadSensorState(sensor),
    };
  }
}
