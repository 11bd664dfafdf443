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
 * in that write's transaction (checkpointStore), and so do the dashboard series of those readings (their minute and
 * quarter-hour buckets, KeptOptions.writeSeries): a crash after it restarts past them with their series stored, one
 * before it restarts from the same checkpoint and kept readings. The daemon asks for that checkpoint right after their
 * last output (Daemon.settleKeptSoon; else the next housekeeping tick). A crash (kill -9, power loss) before it is
 * committed restarts from the same checkpoint and the same kept readings: they are scored again, and an episode they
 * opened in the crashed run is resolved as orphaned at that start and opened anew (a window of about one group commit
 * after they are scored). The stop that follows replaces the table whole.
 *
 * Given back, a kept reading passes the rules of a live reading again (src/pipeline/kept.ts, admitKept: its time
 * against the clock and its stream's checkpoint, its values): a damaged row's items that do not are counted per reason
 * (logged once), never scored; a row that cannot be read at all is deleted and its readings counted lost.
 */
import type { Logger } from 'pino';
import type { KeptReadingsRow, SensorCheckpoint, SensorStateRow } from '../contract/store.js';
import { admitKept, decodeKept, encodeKept, keptReadings, type KeptRejectReason, type KeptStream } from '../pipeline/kept.js';
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
  /** The stream's newest time taken in and its channels, as its restored checkpoint has them (Detector.keptBounds). */
  keptBounds(stream: string): { readonly takenTs: number | null; readonly channels: readonly string[] | null };
}

/** What the kept readings need besides the store and the subject. */
export interface KeptOptions {
  /** The wall clock, epoch ms: a kept reading's time is judged against it at the start (ingest.maxFutureMs). */
  readonly now: () => number;
  /** ingest.maxFutureMs (ms). */
  readonly maxFutureMs: number;
  /** The stream's newest scored reading's time (epoch ms) as restored from its checkpoint, null when none (SignalBook.latest). */
  readonly scoredTs?: (stream: string) => number | null;
  /**
   * Writes the dashboard series of these streams' scored readings as they are now (SeriesStore.writeStreams: their
   * closed and open buckets), inside the transaction that deletes their kept rows; throws when it fails (the whole
   * transaction then rolls back). Absent: no series is written there.
   */
  readonly writeSeries?: (streams: readonly string[]) => void;
}

/** How many readings (and of how many streams) a save or a restore kept or gave back. */
export interface KeptCount {
  readonly readings: number;
  readonly streams: number;
}

/**
 * What a start's restore did: `readings` of `streams` given back; `rejected` readings not given back for breaking a
 * live reading's rules (per reason in `byReason`; src/pipeline/kept.ts, admitKept); `lost` readings of rows that could
 * not be read (deleted).
 */
export interface KeptRestored extends KeptCount {
  readonly rejected: number;
  readonly byReason: Partial<Record<KeptRejectReason, number>>;
  readonly lost: number;
}

export class KeptReadings {
  /** The streams whose kept-readings rows are still in the store (given back at start, not yet checkpointed since). */
  private readonly rows = new Set<string>();

  constructor(
    private readonly store: KeptReadingsStore,
    private readonly subject: KeptSubject,
    private readonly log: Logger,
    private readonly opts: KeptOptions,
  ) {}

  /** The streams whose kept-readings rows wait for their next checkpoint (the daemon saves them at its next tick). */
  waiting(): ReadonlySet<string> {
    return this.rows;
  }

  /**
   * Gives the kept readings back to the subject: call after the checkpoints were restored and before the first
   * message. Each stream's items pass admitKept first (against the clock now, the stream's newest scored reading and
   * its checkpoint's bounds): those that do not are dropped, counted per reason and logged once at warn (`rejected`,
   * by reason, the first streams). A row that cannot be read is deleted and its readings are said lost (logged at error
   * with their count), and so is a row none of whose items passed. The rest are given back and logged at info (`kept`,
   * `streams`). Throws only when the store cannot be read.
   */
  restore(): KeptRestored {
    const t0 = performance.now();
    const rows = this.store.loadKeptReadings();
    if (rows.length === 0) return { readings: 0, streams: 0, rejected: 0, byReason: {}, lost: 0 };
    const kept: KeptStream[] = [];
    const unreadable: string[] = [];
    // Rows none of whose items passed.
    const emptied: string[] = [];
    const byReason: Partial<Record<KeptRejectReason, number>> = {};
    const rejectedIn: string[] = [];
    let rejected = 0;
    let lost = 0;
    const now = this.opts.now();
    for (const row of rows) {
      let decoded: KeptStream;
      try {
        decoded = decodeKept(row.stream, JSON.parse(row.items) as unknown);
      } catch (err) {
        unreadable.push(row.stream);
        lost += row.readings;
        this.log.error({ err, sensor: row.stream, readings: row.readings }, `${row.readings} readings of ${row.stream} kept at the last stop cannot be read: they are lost (the row is deleted)`);
        continue;
      }
      const bounds = this.subject.keptBounds(row.stream);
      const admitted = admitKept(decoded, { now, maxFutureMs: this.opts.maxFutureMs, scoredTs: this.opts.scoredTs?.(row.stream) ?? null, ...bounds });
      let mine = 0;
      for (const [reason, n] of Object.entries(admitted.rejected) as [KeptRejectReason, number][]) {
        byReason[reason] = (byReason[reason] ?? 0) + n;
        mine += n;
      }
      if (mine > 0) {
        rejected += mine;
        rejectedIn.push(row.stream);
      }
      if (admitted.kept.items.length === 0) {
        // Nothing of it to score: the row goes now (no checkpoint of the stream need wait for it).
        emptied.push(row.stream);
        continue;
      }
      kept.push(admitted.kept);
      this.rows.add(row.stream);
    }
    if (unreadable.length > 0 || emptied.length > 0) this.store.deleteKeptReadings([...unreadable, ...emptied]);
    if (rejected > 0) {
      const reasons = Object.entries(byReason)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      this.log.warn(
        { rejected, byReason, streams: rejectedIn.length, sensors: rejectedIn.slice(0, 20) },
        `${rejected} readings kept at the last stop were not given back: they break the rules of a live reading (${reasons}); a damaged database? Their streams go on with their live readings`,
      );
    }
    const readings = this.subject.restoreKept(kept);
    const streams = kept.length;
    this.log.info(
      // ms: read, decoded and queued (their scoring follows once the pipeline runs).
      { kept: readings, streams, ms: Math.round(performance.now() - t0), ...(lost > 0 ? { lost } : {}), ...(rejected > 0 ? { rejected } : {}) },
      `readings kept at the last stop given back: ${readings} readings of ${streams} streams, scored before the live readings of their streams`,
    );
    return { readings, streams, rejected, byReason, lost };
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
   * the model (its kept readings scored) takes the stream's kept-readings row with it, in one transaction with the
   * series of its readings (KeptOptions.writeSeries); a stream's checkpoint deleted (the operator forgot it) takes its
   * kept readings too.
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
        // Their readings' series before their rows go: a crash after this commit shows them (tryout 37, finding 2).
        this.opts.writeSeries?.(streams);
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
