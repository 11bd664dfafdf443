/**
 * Per-sensor checkpoints: the detector's state of each sensor (parser, window buffer, hidden state and
 * normalisation, score state) saved to the store every store.checkpointIntervalMs and at stop, and
 * restored at start when younger than store.checkpointMaxAgeMs (an older one is dropped: the sensor
 * re-warms), and not written by a clock ahead of this one (a demo's simulated clock, a host clock since set
 * back: its readings' times would make every new reading out of order). What a sensor's state is belongs to
 * the detector (`CheckpointSubject`); this module owns only when it is saved, where, and how old (or how far
 * ahead) is too much. How a state is laid out in its row (format 2: packed numbers, deflated, the cycle finder's
 * ring against a base row) is checkpoint-codec.ts; a sensor whose row would not change is not written again
 * (UNCHANGED_KEY). Bytes written per day: scripts/checkpoint-day.mjs, BENCHMARKS.md.
 */
import type { Logger } from 'pino';
import type { SensorStateRow } from '../contract/store.js';
import type { OnOffWords } from '../contract/ingest.js';
import type { ScoredReading } from '../contract/types.js';
import type { Detector } from '../pipeline/detector.js';
import type { StoredArrival } from './sensor-status.js';
import { BASE_SUFFIX, baseIdOf, baseRow, decodeCheckpoint, encodeCheckpoint, isEvictedRow, readBase, rowDigest, type RingBase } from './checkpoint-codec.js';

/** What is checkpointed: one JSON-serialisable state per sensor. */
export interface CheckpointSubject {
  /** Sensors that have state worth saving. */
  sensors(): Iterable<string>;
  /** One sensor's state, JSON-serialisable. */
  snapshot(sensor: string): unknown;
  /**
   * True while the sensor's state is not one consistent point (readings of it taken in but not yet scored):
   * a periodic or episode checkpoint waits for it (Checkpoints.save). Default: never.
   */
  busy?(sensor: string): boolean;
  /**
   * A part of the sensor's state written apart from it, and only when `version` differs from the one last
   * written (what changes seldom: an open episode's baseline and first readings, SignalBook.episodeBase); null
   * when it has none (a row written before is then overwritten once with null). Absent: none.
   */
  side?(sensor: string): { readonly version: string; readonly state: unknown } | null;
  /**
   * Restores saved states (already JSON-parsed), with each sensor's side part as last written (`sides`, JSON-parsed;
   * absent for a sensor without one). A part that cannot be restored (other options, another model, malformed)
   * is skipped so that it re-warms; returns one line per such part. `asOf`: when each sensor's state was last
   * known current (epoch ms: its row's time, or the later save that found it unchanged); absent = now.
   */
  restore(states: ReadonlyMap<string, unknown>, sides?: ReadonlyMap<string, unknown>, asOf?: ReadonlyMap<string, number>): string[];
  /**
   * Whether a saved state (JSON-parsed) is worth restoring at start; one that is not is left out and counted
   * (`heardOnce` in the log line). Absent: every one is.
   */
  worthRestoring?(state: unknown): boolean;
  /**
   * When the stream of a saved state (JSON-parsed) was last heard, and at what pace: `heardAt`, when its latest reading
   * really arrived (epoch ms, the wall clock: StoredArrival.heardAt), and `intervalMs`, its reading interval as its
   * cadence learnt it (ms, 0 while unknown); null when the state does not say (one written before arrivals were kept,
   * a detector-only subject). With CheckpointOptions.keptForMs it lets a state older than maxAgeMs be restored while its
   * stream's silence is one a running daemon would have kept its state through (Checkpoints.restore). Absent: none.
   */
  lastHeard?(state: unknown): { readonly heardAt: number; readonly intervalMs: number } | null;
}

/**
 * Where a sensor's side part is stored: the row of `<sensor>#side` in the sensors' checkpoint table. A sensor id
 * never holds `#` (an MQTT topic name cannot; a payload's key or name is made topic-safe, `#` → `_`), so the
 * key is never a sensor's.
 */
export const SIDE_SUFFIX = '#side';

/**
 * The row that says which sensors a periodic save found unchanged since their row was written (not rewritten):
 * `{ at, sensors }`, `at` epoch ms. Their rows are as young as `at` (checkpointMaxAgeMs); see Checkpoints.save.
 */
export const UNCHANGED_KEY = '#unchanged';

/** The version of "no side part" (a row of null). */
const NO_SIDE = '';

/** The part of the store checkpoints use. */
export interface CheckpointStore {
  saveSensorStates(rows: readonly SensorStateRow[]): void;
  loadSensorStates(): Map<string, { blob: Buffer; updatedAt: number }>;
  loadSensorState(sensor: string): { blob: Buffer; updatedAt: number } | null;
  /** Deletes these rows when there (Checkpoints.drop: a stream the operator forgot); absent: drop() cannot (throws). */
  deleteSensorStates?(keys: readonly string[]): void;
}

/**
 * A sensor's state as its row in `store` holds it (format 1 or 2, with its base: checkpoint-codec.ts), an evicted
 * one's as `{ evicted, state }`; null without a row. Throws on a malformed row. For tests and scripts: restore()
 * reads the rows in bulk.
 */
export function loadStoredState(store: Pick<CheckpointStore, 'loadSensorState'>, sensor: string): unknown {
  const row = store.loadSensorState(sensor);
  if (row === null) return null;
  const baseBlob = baseIdOf(row.blob) === null ? null : (store.loadSensorState(`${sensor}${BASE_SUFFIX}`)?.blob ?? null);
  return decodeCheckpoint(row.blob, baseBlob === null ? null : readBase(baseBlob));
}

/** How an evicted sensor's checkpoint is stored: restore() at start leaves it out, revive() brings it back. */
interface EvictedCheckpoint {
  /** Epoch ms of the eviction. */
  readonly evicted: number;
  readonly state: unknown;
}

function isEvicted(v: unknown): v is EvictedCheckpoint {
  return typeof v === 'object' && v !== null && typeof (v as { evicted?: unknown }).evicted === 'number' && 'state' in v;
}

/**
 * Which streams with an open episode are checkpointed at a housekeeping tick (Checkpoints.saveStreams), outside
 * the periodic interval: a stream whose episode had an event since the last tick (its open, an update, its
 * resolve), and one whose episode is still young, within its first `youngReadings` readings. Those first
 * readings decide whether a borderline episode holds (the short means build up over them; restored from its
 * open with them lost, such an episode was resolved at once after a restart while the fault went on: a tryout,
 * docs/SCORING.md section 8). Once past them, the episode is held by short means full of its own readings and
 * by its reference histories, and a restart from the periodic checkpoint (store.checkpointIntervalMs) goes on
 * with it like any stream's state; checkpointing it every tick would write its whole state (tens to a hundred
 * kB) every 2 s for as long as it lasts: about 4 GB a day of one stuck 1 Hz sensor, on an SD card.
 *
 * `youngReadings` (readings) is shortSpan(score.smooth) + alerts.closeAfter with the shipped settings (31 + 16):
 * by then the short means hold only the episode's readings, and a borderline episode has had closeAfter readings
 * more to resolve.
 */
export class EpisodeTicks {
  /** Per stream with an open episode: its id and how many of its readings were scored (readings). */
  private readonly episodes = new Map<string, { readonly id: string; n: number }>();
  private due = new Set<string>();

  constructor(private readonly youngReadings: number) {
    if (!Number.isInteger(youngReadings) || youngReadings < 0) throw new RangeError(`EpisodeTicks: youngReadings must be a non-negative integer, got ${youngReadings}`);
  }

  /**
   * Notes one scored reading of `stream`: `anomalyId` the episode it belongs to (null: none open after it), `events`
   * how many events it gave (open, update, resolve).
   */
  note(stream: string, anomalyId: string | null, events: number): void {
    if (events > 0) this.due.add(stream);
    if (anomalyId === null) {
      this.episodes.delete(stream);
      return;
    }
    let ep = this.episodes.get(stream);
    if (ep?.id !== anomalyId) {
      ep = { id: anomalyId, n: 0 };
      this.episodes.set(stream, ep);
    }
    ep.n++;
    if (ep.n <= this.youngReadings) this.due.add(stream);
  }

  /** Forgets a stream (evicted, or its state dropped): its next episode counts from its open. */
  forget(stream: string): void {
    this.episodes.delete(stream);
    this.due.delete(stream);
  }

  /** The streams due at this tick; the set starts over. */
  drain(): Set<string> {
    const due = this.due;
    this.due = new Set();
    return due;
  }
}

/** A sensor's row as just written: its sha1, and its new base when it took one. */
interface RowWritten {
  readonly sha: string;
  readonly base: RingBase | null;
}

/** Sensors whose states are serialised and written together by one save() write. */
const SAVE_BATCH = 256;

export interface CheckpointOptions {
  readonly intervalMs: number;
  /**
   * ms (store.checkpointMaxAgeMs): a checkpoint written (or found unchanged) more than this long ago is not restored,
   * unless keptForMs keeps it.
   */
  readonly maxAgeMs: number;
  /**
   * How long a running daemon keeps the state of a stream silent since its latest reading, in ms, given the stream's
   * reading interval `intervalMs` (ms, 0 while unknown): the daemon's is its idle span (limits.idleAfterIntervals of
   * its intervals, at least limits.idleAfterMinMs: evicted then, its state checkpointed) plus maxAgeMs (an evicted
   * state is revived while that young). A checkpoint older than maxAgeMs is still restored while the time since its
   * stream's latest reading arrived (CheckpointSubject.lastHeard) is at most this: the age is judged in the stream's
   * own intervals, as a silence is while the daemon runs, so a clean restart, or a downtime of a few hours, does not
   * send an hourly meter back to learning (10 days of readings) while a 1 Hz sensor down for longer than its span
   * still starts over (tryout 38, finding 1). Absent: maxAgeMs alone.
   */
  readonly keptForMs?: (intervalMs: number) => number;
  /**
   * A checkpoint written more than this ahead of now (ms; ingest.maxFutureMs) is not restored: it comes from a
   * clock ahead of this one, and the stream's last reading time in it is in this clock's future, so every new
   * reading would be rejected out_of_order until the clock caught up. Default: 60,000.
   */
  readonly maxFutureMs?: number;
  readonly now: () => number;
  readonly logger: Logger;
}

export class Checkpoints {
  private timer: NodeJS.Timeout | null = null;
  /** Sensors a save skipped because they were busy: written by the next saveStreams (the daemon's next tick). */
  private deferred = new Set<string>();
  /** The version of each sensor's side part as last written (or found at restore); NO_SIDE for a null row. */
  private readonly sideWritten = new Map<string, string>();
  /** Per sensor, the sha1 of its row's text as last written (or found at restore, rowDigest): a save that would write it again does not. */
  private readonly rowWritten = new Map<string, string>();
  /** Per sensor, its rings as of its base row (`<sensor>#base`) as last written or found at restore (checkpoint-codec.ts). */
  private readonly bases = new Map<string, RingBase>();
  /** Makes a new base's id unique within one epoch ms. */
  private baseSeq = 0;
  /** Whether the last periodic save listed unchanged sensors (the next one writes the list again, empty or not). */
  private unchangedListed = false;
  /** The sensors whose checkpoints restore() left out as too old (stale()). */
  private readonly staleSensors = new Set<string>();

  constructor(
    private readonly store: CheckpointStore,
    private readonly subject: CheckpointSubject,
    private readonly opts: CheckpointOptions,
  ) {}

  /**
   * Restores the young-enough checkpoints into the subject (not those of evicted sensors); logs what was
   * restored, dropped or unreadable. Returns the sensors restored. Young enough: written (or found unchanged by a
   * later save) at most maxAgeMs ago, or, older, of a stream whose silence at now (since its latest reading arrived,
   * the downtime included) is at most keptForMs of its interval (CheckpointOptions.keptForMs). The sensors of the
   * checkpoints left out as too old are in `stale()` afterwards.
   */
  restore(): string[] {
    const now = this.opts.now();
    const states = new Map<string, unknown>();
    const asOf = new Map<string, number>();
    let stale = 0;
    let ahead = 0;
    let evicted = 0;
    let heardOnce = 0;
    const sides = new Map<string, unknown>();
    const rows = this.store.loadSensorStates();
    // The sensors the last periodic save found unchanged: their rows are as young as it.
    const unchanged = new Map<string, number>();
    const confirm = rows.get(UNCHANGED_KEY);
    if (confirm !== undefined) {
      try {
        const o = JSON.parse(confirm.blob.toString('utf8')) as { at?: unknown; sensors?: unknown };
        if (typeof o.at === 'number' && Array.isArray(o.sensors)) for (const s of o.sensors) if (typeof s === 'string') unchanged.set(s, o.at);
      } catch (err) {
        this.opts.logger.warn({ err }, 'unreadable list of unchanged checkpoints ignored');
      }
    }
    // Side parts first: written only when they change, they are as old as they are (their sensor's row says
    // whether the sensor's state is young enough); what the subject takes depends on the sensor's state.
    for (const [key, { blob }] of rows) {
      if (!key.endsWith(SIDE_SUFFIX)) continue;
      const sensor = key.slice(0, -SIDE_SUFFIX.length);
      try {
        const side = JSON.parse(blob.toString('utf8')) as unknown;
        const version = typeof side === 'object' && side !== null && typeof (side as { version?: unknown }).version === 'string' ? (side as { version: string }).version : NO_SIDE;
        this.sideWritten.set(sensor, version);
        if (side !== null) sides.set(sensor, side);
      } catch (err) {
        this.sideWritten.set(sensor, 'unreadable');
        this.opts.logger.warn({ err, sensor }, 'unreadable checkpoint side part ignored');
      }
    }
    for (const [sensor, { blob, updatedAt: written }] of rows) {
      // Not a sensor's row: a side part, a base, the list of unchanged ones (a sensor id never holds `#`).
      if (sensor.includes('#')) continue;
      const updatedAt = Math.max(written, unchanged.get(sensor) ?? -Infinity);
      const old = now - updatedAt > this.opts.maxAgeMs;
      // An evicted sensor's row is as old as its eviction, which came its idle span after its latest reading: judged by
      // that age alone (as revive() does).
      if (old && (this.opts.keptForMs === undefined || this.subject.lastHeard === undefined || isEvictedRow(blob))) {
        stale++;
        this.staleSensors.add(sensor);
        continue;
      }
      if (this.ahead(updatedAt, now)) {
        ahead++;
        continue;
      }
      try {
        // An evicted sensor takes no slot until a valid reading of it arrives (then revive(), which reads its row):
        // counted from the start of its text, not parsed.
        if (isEvictedRow(blob)) {
          evicted++;
          continue;
        }
        // A row written against a base (its rings as appended since) needs that base; a row of the format before
        // (plain JSON) is read as it is.
        const baseBlob = baseIdOf(blob) === null ? undefined : rows.get(`${sensor}${BASE_SUFFIX}`)?.blob;
        const base = baseBlob === undefined ? null : readBase(baseBlob);
        const state = decodeCheckpoint(blob, base);
        // Older than maxAgeMs: kept while its stream's silence is one the running daemon would keep its state through.
        if (old && !this.keptThrough(state, now)) {
          stale++;
          this.staleSensors.add(sensor);
          continue;
        }
        // An evicted sensor takes no slot until a valid reading of it arrives (then revive()).
        if (isEvicted(state)) evicted++;
        else if (this.subject.worthRestoring?.(state) === false) heardOnce++;
        else {
          states.set(sensor, state);
          asOf.set(sensor, updatedAt);
          this.rowWritten.set(sensor, rowDigest(blob));
          if (base !== null) this.bases.set(sensor, base);
        }
      } catch (err) {
        this.opts.logger.warn({ err, sensor }, 'unreadable checkpoint ignored');
      }
    }
    const dropped = this.subject.restore(states, sides, asOf);
    for (const line of dropped) this.opts.logger.info({ reason: line }, 'checkpoint part not restored; it re-warms');
    if (ahead > 0) this.opts.logger.warn({ ahead }, 'sensor checkpoints written by a clock ahead of this one (a demo, or a clock since set back) not restored: those sensors re-warm');
    if (states.size + stale + ahead + evicted + heardOnce > 0) this.opts.logger.info({ restored: states.size, stale, ahead, evicted, heardOnce, dropped: dropped.length }, 'sensor checkpoints');
    return [...states.keys()];
  }

  /**
   * The sensors whose checkpoints the last restore() left out as too old (their streams start over; an episode of
   * theirs still open in the store cannot go on: Daemon.resolveOrphanedEpisodes says why it resolves it).
   */
  stale(): ReadonlySet<string> {
    return this.staleSensors;
  }

  /**
   * Whether a state older than maxAgeMs is of a stream whose silence at `now` (since its latest reading arrived, epoch
   * ms) is at most keptForMs of its interval (CheckpointOptions.keptForMs); false when the state does not say when it
   * was heard.
   */
  private keptThrough(state: unknown, now: number): boolean {
    const keptFor = this.opts.keptForMs;
    const heard = this.subject.lastHeard?.(state) ?? null;
    if (keptFor === undefined || heard === null || !Number.isFinite(heard.heardAt)) return false;
    return now - heard.heardAt <= keptFor(heard.intervalMs > 0 && Number.isFinite(heard.intervalMs) ? heard.intervalMs : 0);
  }

  /** Whether a checkpoint written at updatedAt comes from a clock ahead of this one (see maxFutureMs). */
  private ahead(updatedAt: number, now: number): boolean {
    return updatedAt - now > (this.opts.maxFutureMs ?? 60_000);
  }

  /**
   * Saves one sensor's state now, marked evicted (the sensor is about to be dropped from memory). Returns
   * false when it could not be saved (logged); the caller evicts anyway, and the sensor re-warms.
   */
  saveEvicted(sensor: string): boolean {
    try {
      const now = this.opts.now();
      const cp: EvictedCheckpoint = { evicted: now, state: this.subject.snapshot(sensor) };
      // It stands alone (no base: revive() reads this row only); its base row, if any, goes.
      const encoded = encodeCheckpoint(cp, null, '', 'inline');
      const rows: SensorStateRow[] = [{ sensor, blob: encoded === null ? Buffer.from(JSON.stringify(cp)) : encoded.blob, updatedAt: now }];
      if (this.bases.has(sensor)) rows.push({ sensor: `${sensor}${BASE_SUFFIX}`, blob: Buffer.from('null'), updatedAt: now });
      // Its side part goes (an evicted sensor's episode was resolved first): not left behind in the table.
      const written = new Map<string, string>();
      this.sideRow(sensor, now, rows, written);
      this.store.saveSensorStates(rows);
      this.wrote(written);
      this.rowWritten.delete(sensor);
      this.bases.delete(sensor);
      return true;
    } catch (err) {
      this.opts.logger.warn({ err, sensor }, 'checkpoint of an evicted sensor failed; it re-warms if it comes back');
      return false;
    }
  }

  /**
   * Deletes the sensor's checkpoint rows (its own, its base's, its side part's) and what this object knows of them:
   * the operator forgot the stream (src/daemon/forget.ts), so no restart restores it and no reading revives it.
   * Throws when the store fails.
   */
  drop(sensor: string): void {
    if (this.store.deleteSensorStates === undefined) throw new Error('this checkpoint store cannot delete rows');
    this.store.deleteSensorStates([sensor, `${sensor}${BASE_SUFFIX}`, `${sensor}${SIDE_SUFFIX}`]);
    this.rowWritten.delete(sensor);
    this.bases.delete(sensor);
    this.sideWritten.delete(sensor);
    this.deferred.delete(sensor);
  }

  /**
   * True when the sensor was evicted with the episode `anomalyId` open in its checkpoint: a silence alarmed while it
   * lasted, which eviction leaves open (the sensor is silent; its return resolves it: revive() or the eviction's
   * leftOpen), so a restart must not resolve it as left open by an unclean stop. The evicted state names the
   * episode by its id (a UUID). Never throws (false on an unreadable row).
   */
  evictedWithOpen(sensor: string, anomalyId: string): boolean {
    try {
      const row = this.store.loadSensorState(sensor);
      if (row === null) return false;
      // Format 2 (deflated, packed) or 1: an evicted row stands alone (no base).
      const parsed = decodeCheckpoint(row.blob);
      return isEvicted(parsed) && JSON.stringify(parsed.state).includes(JSON.stringify(anomalyId));
    } catch {
      return false;
    }
  }

  /**
   * Restores a sensor that was evicted, when a valid reading of it arrives again: true when its
   * checkpoint was there and young enough. Never throws.
   */
  revive(sensor: string): boolean {
    try {
      const row = this.store.loadSensorState(sensor);
      const now = this.opts.now();
      if (row === null || now - row.updatedAt > this.opts.maxAgeMs || this.ahead(row.updatedAt, now)) return false;
      const parsed = decodeCheckpoint(row.blob);
      if (!isEvicted(parsed)) return false;
      const dropped = this.subject.restore(new Map([[sensor, parsed.state]]), undefined, new Map([[sensor, row.updatedAt]]));
      for (const line of dropped) this.opts.logger.info({ reason: line }, 'checkpoint part not restored; it re-warms');
      return true;
    } catch (err) {
      this.opts.logger.warn({ err, sensor }, 'could not restore an evicted sensor; it re-warms');
      return false;
    }
  }

  /**
   * Saves every sensor's state now, SAVE_BATCH sensors per write: the serialised states of 10,000 sensors
   * are never all in memory at once (each sensor's checkpoint stands alone, so they need no one
   * transaction). A sensor that is busy (readings of it inside a model call: its snapshot would not be one
   * point of the stream) is saved by the next saveStreams instead, unless `busy` is 'write' (the final save
   * at stop, after the pipeline drained). A sensor whose row would be the one last written (no reading since,
   * nothing else changed) is not written again: the list of those (UNCHANGED_KEY, with this save's time) is,
   * and restore() takes their rows as that young. Never throws: a failure is logged and the next save tries again.
   * Returns true when every row was written, false after such a failure (the stop's final save then keeps nothing
   * that would need it: the readings kept with it, Daemon.stopAll).
   */
  save(busy: 'defer' | 'write' = 'defer'): boolean {
    const written = new Map<string, string>();
    const rowsWritten = new Map<string, RowWritten>();
    try {
      const now = this.opts.now();
      const unchanged: string[] = [];
      const seen = new Set<string>();
      let rows: SensorStateRow[] = [];
      for (const sensor of this.subject.sensors()) {
        seen.add(sensor);
        if (busy === 'defer' && this.subject.busy?.(sensor) === true) {
          this.deferred.add(sensor);
          continue;
        }
        this.deferred.delete(sensor);
        if (!this.stateRows(sensor, now, rows, rowsWritten)) unchanged.push(sensor);
        this.sideRow(sensor, now, rows, written);
        if (rows.length >= SAVE_BATCH) {
          this.store.saveSensorStates(rows);
          this.wrote(written, rowsWritten);
          rows = [];
        }
      }
      if (unchanged.length > 0 || this.unchangedListed) rows.push({ sensor: UNCHANGED_KEY, blob: Buffer.from(JSON.stringify({ at: now, sensors: unchanged })), updatedAt: now });
      if (rows.length > 0) this.store.saveSensorStates(rows);
      this.unchangedListed = unchanged.length > 0;
      this.wrote(written, rowsWritten);
      // What is kept of sensors the subject no longer has goes (they are written whole if they come back).
      for (const sensor of this.rowWritten.keys()) if (!seen.has(sensor)) this.rowWritten.delete(sensor);
      for (const sensor of this.bases.keys()) if (!seen.has(sensor)) this.bases.delete(sensor);
      return true;
    } catch (err) {
      this.opts.logger.warn({ err }, 'checkpoint failed');
      this.forgetWritten();
      return false;
    }
  }

  /**
   * Saves these streams' states now (those the subject still has), outside the interval, and those an earlier
   * save deferred while they were busy (a busy one waits again): the daemon's streams whose episode had
   * readings since its last tick, so a stop within the interval (kill -9, power loss) restores the episode as
   * it stood a tick before the stop, not as it stood at its open. The first readings of an episode decide
   * whether it holds: restored from its open with those readings lost, a borderline episode resolved 16
   * readings after the restart with end = start while the fault went on (tryout). A stream whose row would be
   * the one last written is not written again. Never throws: a failure is logged and the next save tries again.
   */
  saveStreams(streams: Iterable<string>): void {
    try {
      const wanted = new Set([...this.deferred, ...streams]);
      if (wanted.size === 0) return;
      this.deferred.clear();
      const now = this.opts.now();
      const known = new Set(this.subject.sensors());
      const rows: SensorStateRow[] = [];
      const written = new Map<string, string>();
      const rowsWritten = new Map<string, RowWritten>();
      for (const sensor of wanted) {
        if (!known.has(sensor)) continue;
        if (this.subject.busy?.(sensor) === true) {
          this.deferred.add(sensor);
          continue;
        }
        this.stateRows(sensor, now, rows, rowsWritten);
        this.sideRow(sensor, now, rows, written);
      }
      if (rows.length > 0) this.store.saveSensorStates(rows);
      this.wrote(written, rowsWritten);
    } catch (err) {
      this.opts.logger.warn({ err }, 'checkpoint of open episodes failed');
      this.forgetWritten();
    }
  }

  /**
   * Adds the sensor's row to `rows` (checkpoint-codec.ts: its rings against its base, and the new base's row
   * when it takes one), unless it is the row last written: then adds nothing and returns false. Notes what it
   * added in `rowsWritten` (committed by wrote() once the rows are stored).
   */
  private stateRows(sensor: string, now: number, rows: SensorStateRow[], rowsWritten: Map<string, RowWritten>): boolean {
    const state = this.subject.snapshot(sensor);
    const encoded = encodeCheckpoint(state, this.bases.get(sensor) ?? null, `${now}.${++this.baseSeq}`);
    // A state that holds what format 2 cannot tell apart is written as before (format 1).
    const plain = encoded === null ? Buffer.from(JSON.stringify(state)) : null;
    const base = encoded === null || encoded.rings === null ? null : { id: encoded.baseId!, rings: encoded.rings };
    const sha = encoded === null ? rowDigest(plain!) : encoded.sha;
    if (base === null && this.rowWritten.get(sensor) === sha) return false;
    rows.push({ sensor, blob: plain ?? encoded!.blob, updatedAt: now });
    if (base !== null) rows.push({ sensor: `${sensor}${BASE_SUFFIX}`, blob: baseRow(base.id, base.rings), updatedAt: now });
    rowsWritten.set(sensor, { sha, base });
    return true;
  }

  /**
   * Adds the sensor's side part to `rows` when its version differs from the one last written (a null row once
   * when it has none left), and notes the version in `written` (committed by wrote() once the rows are stored).
   */
  private sideRow(sensor: string, now: number, rows: SensorStateRow[], written: Map<string, string>): void {
    if (this.subject.side === undefined) return;
    const part = this.subject.side(sensor);
    const version = part === null ? NO_SIDE : part.version;
    const had = this.sideWritten.get(sensor);
    if (had === version || (had === undefined && part === null)) return;
    rows.push({ sensor: `${sensor}${SIDE_SUFFIX}`, blob: Buffer.from(JSON.stringify(part === null ? null : part.state)), updatedAt: now });
    written.set(sensor, version);
  }

  /**
   * After a failed write: what was written is no longer known (a store that commits in groups may have rolled back
   * rows an earlier call stored), so every sensor is written whole at its next save, with a new base.
   */
  private forgetWritten(): void {
    this.rowWritten.clear();
    this.bases.clear();
  }

  /** The side parts and rows just stored. */
  private wrote(written: Map<string, string>, rowsWritten?: Map<string, RowWritten>): void {
    for (const [sensor, version] of written) this.sideWritten.set(sensor, version);
    written.clear();
    for (const [sensor, { sha, base }] of rowsWritten ?? []) {
      this.rowWritten.set(sensor, sha);
      if (base !== null) this.bases.set(sensor, base);
    }
    rowsWritten?.clear();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.save(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** What the store committed about an episode: 'open', 'resolved', or null when it has no such episode. */
export type CommittedEpisodeStatus = (anomalyId: string) => 'open' | 'resolved' | null;

/**
 * A restored stream's open episode reconciled with the committed truth. A checkpoint is as old as its
 * interval: the episode it has open may have resolved since (committed, alert sent) or never have been
 * committed (the open was lost with its batch). Either way the stored state wins: the stream's episode is
 * dropped (no event), so it can never be resolved twice; if the anomaly goes on, the detector opens a new
 * one. Returns a line saying why when it dropped one, else null.
 */
export function reconcileEpisode(detector: Pick<Detector, 'openAnomaly' | 'dropEpisode'>, stream: string, committed: CommittedEpisodeStatus): string | null {
  const id = detector.openAnomaly(stream);
  if (id === null) return null;
  const status = committed(id);
  if (status === 'open') return null;
  detector.dropEpisode(stream);
  const why = status === 'resolved' ? 'is already resolved in the store' : 'was never committed';
  return `episode ${stream}: ${id} ${why}; the stream continues without it`;
}

/**
 * Where the daemon keeps each stream's newest scored reading for people (the dashboard series,
 * SeriesStore): saved with the stream's checkpoint, so that after a restart the sensor list shows each
 * restored sensor's last reading (time, value, surprise) before its next one arrives.
 */
export interface LatestReadings {
  latest(stream: string): ScoredReading | null;
  /** Takes back a stream's newest reading from before the restart; false when not taken (one is newer). */
  restoreLatest(r: ScoredReading): boolean;
  /**
   * What is kept for people of an open episode (its explanation's state: SignalBook.episodeState), JSON;
   * null when none. Absent: checkpoints carry no episode state.
   */
  episodeState?(anomalyId: string): unknown;
  /**
   * What does not change as an open episode goes on (SignalBook.episodeBase): written apart from the stream's
   * checkpoint, only when `version` changes (CheckpointSubject.side); null when none.
   */
  episodeBase?(anomalyId: string): { readonly version: string; readonly state: unknown } | null;
  /** Takes back an open episode's state (after restoreLatest) with its base as last written (`base`); throws on a malformed one. */
  restoreEpisode?(stream: string, anomalyId: string, state: unknown, base?: unknown): void;
  /**
   * Per channel, the most decimals the stream's readings were ever sent with (SeriesStore.sentDecimals: -1 to 6),
   * carried as `sentDecimals` so its readings are written with them after a restart before its next reading (tryout
   * 24, finding 3); null when none is known. Absent: not carried. It plays no part in detection.
   */
  sentDecimals?(stream: string): readonly number[] | null;
  /** The stream's reading precision now (SeriesStore.readingDecimals), carried as `shownDecimals` beside sentDecimals. */
  readingDecimals?(stream: string): number | null;
  /** Takes back sentDecimals and `shown`, the precision at the stop (SeriesStore.restoreSentDecimals: a malformed list is ignored). */
  restoreSentDecimals?(stream: string, decimals: readonly number[], shown?: number | null): void;
}

/**
 * Where the daemon keeps each stream's latest arrival (SensorStatusBoard): saved with the stream's checkpoint
 * (`arrival`, StoredArrival), so that after a restart a sensor silent before the stop is as silent (its retained
 * state `stale` as before, not `ok` until staleAfter intervals later), and its silence is told from its latest
 * reading's arrival. It plays no part in detection.
 */
export interface Arrivals {
  arrivalOf(stream: string): StoredArrival | null;
  restoreArrival(stream: string, a: StoredArrival, asOf?: number): void;
}

/**
 * The unit a stream's hub stated and its changes (Tasmota's `TempUnit`), as its checkpoint carries it (`units`,
 * StoredUnits; absent for a stream whose hub states none): after a restart the sensor list, the dashboard and the
 * alerts have the unit before the stream's next message, each reading of an episode is told in its own unit, and a
 * next message stating another unit is a change as during a run (logged). It plays no part in detection.
 */
export interface StatedUnits {
  /** `stream`'s stated unit and changes, or null when its hub stated none. */
  unitsOf(stream: string): StoredUnits | null;
  /** Takes back what unitsOf gave before the stop. */
  restoreUnits(stream: string, u: StoredUnits): void;
}

/**
 * What a stream's checkpoint keeps of its stated unit: the unit its hub last stated (`stated`), whether it ever
 * changed (`changed`: the next change is then not the first, logged at debug), and the newest changes (`changes`:
 * `ts` epoch ms, the first reading in `to`; at most MAX_UNIT_CHANGES, oldest first).
 */
export interface StoredUnits {
  readonly stated: string;
  readonly changed: boolean;
  readonly changes: readonly { readonly ts: number; readonly from: string; readonly to: string }[];
  /** Epoch ms: the unit of the readings before it is no longer known (more changes than kept: SignalBook.unitKnownFromOf); absent: all known. */
  readonly knownFrom?: number;
}

/** Stored units checked; null when absent or malformed (the stream then states its unit anew with its next message). */
export function readStoredUnits(v: unknown): StoredUnits | null {
  if (typeof v !== 'object' || v === null) return null;
  const { stated, changed, changes, knownFrom } = v as { stated?: unknown; changed?: unknown; changes?: unknown; knownFrom?: unknown };
  if (typeof stated !== 'string' || stated === '' || stated.length > 16 || typeof changed !== 'boolean' || !Array.isArray(changes)) return null;
  const ok = changes.every((c: unknown) => {
    if (typeof c !== 'object' || c === null) return false;
    const { ts, from, to } = c as { ts?: unknown; from?: unknown; to?: unknown };
    return typeof ts === 'number' && Number.isFinite(ts) && typeof from === 'string' && typeof to === 'string';
  });
  if (!ok) return null;
  if (knownFrom !== undefined && (typeof knownFrom !== 'number' || !Number.isFinite(knownFrom))) return null;
  return { stated, changed, changes: (changes as StoredUnits['changes']).map((c) => ({ ts: c.ts, from: c.from, to: c.to })), ...(knownFrom !== undefined ? { knownFrom } : {}) };
}

/**
 * The words of an on/off stream's states (MessageParser.onOffWords: a zigbee2mqtt door's 1 `closed`, 0 `open`) as its
 * checkpoint carries them (`onOffWords`, absent for another stream): after a restart its silence, the sensor list, the
 * dashboard and its episodes are told in them before its next reading. They play no part in detection.
 */
export interface StatedOnOff {
  /** `stream`'s words, or null when it is no on/off stream. */
  onOffOf(stream: string): OnOffWords | null;
  /** Takes back what onOffOf gave before the stop. */
  restoreOnOff(stream: string, words: OnOffWords): void;
}

/** Stored on/off words checked; null when absent or malformed (the stream then names its states at its next reading). */
export function readStoredOnOff(v: unknown): OnOffWords | null {
  if (typeof v !== 'object' || v === null) return null;
  const { on, off, alarm, active } = v as { on?: unknown; off?: unknown; alarm?: unknown; active?: unknown };
  const word = (w: unknown): w is string => typeof w === 'string' && w !== '' && w.length <= 64;
  if (!word(on) || !word(off) || typeof alarm !== 'boolean' || (active !== 0 && active !== 1)) return null;
  return { on, off, alarm, active };
}

/** A stored arrival checked; null when absent or malformed (the stream is then restored as heard at the start). */
function readStoredArrival(v: unknown): StoredArrival | null {
  if (typeof v !== 'object' || v === null) return null;
  const { arrivedAt, heardAt } = v as { arrivedAt?: unknown; heardAt?: unknown };
  if (typeof arrivedAt !== 'number' || !Number.isFinite(arrivedAt) || typeof heardAt !== 'number' || !Number.isFinite(heardAt)) return null;
  return { arrivedAt, heardAt };
}

/**
 * A stream's newest scored reading as its checkpoint stores it (`latest`): ScoredReading in JSON, a
 * number that is not finite (an unknown expectation, a surprise while learning) as null. A checkpoint
 * without it (written before it was kept, or by a detector-only subject) restores none.
 */
export interface StoredLatest {
  readonly ts: number;
  readonly channels: readonly string[];
  readonly values: readonly (number | null)[];
  readonly expected: readonly (number | null)[] | null;
  readonly spread: readonly (number | null)[] | null;
  readonly score: number | null;
  readonly surprise: number | null;
  readonly threshold: number | null;
  readonly status: ScoredReading['status'];
  readonly anomalyId: string | null;
  readonly modelId: string | null;
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function storeLatest(r: ScoredReading): StoredLatest {
  const nums = (a: readonly number[] | null): (number | null)[] | null => (a === null ? null : a.map(finiteOrNull));
  return {
    ts: r.ts,
    channels: [...r.channels],
    values: r.values.map(finiteOrNull),
    expected: nums(r.expected),
    spread: nums(r.spread),
    score: finiteOrNull(r.score),
    surprise: finiteOrNull(r.surprise),
    threshold: finiteOrNull(r.threshold),
    status: r.status,
    anomalyId: r.anomalyId,
    modelId: r.modelId,
  };
}

/** The stored latest reading of `stream` back as a ScoredReading; throws on a malformed one. */
export function readStoredLatest(stream: string, v: unknown): ScoredReading {
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  const o = v as Record<string, unknown>;
  const num = (x: unknown, what: string): number => {
    if (x === null) return NaN;
    if (typeof x !== 'number') throw new Error(`${what} must be a number or null`);
    return x;
  };
  const nums = (x: unknown, what: string, n: number): number[] => {
    if (!Array.isArray(x) || x.length !== n) throw new Error(`${what} must be ${n} numbers`);
    return x.map((e) => num(e, what));
  };
  const str = (x: unknown, what: string): string | null => {
    if (x !== null && typeof x !== 'string') throw new Error(`${what} must be a string or null`);
    return x;
  };
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts)) throw new Error('ts must be a finite number');
  const channels = o.channels;
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => typeof c === 'string')) throw new Error('channels must be names');
  const C = channels.length;
  const status = o.status;
  if (status !== 'learning' && status !== 'ok' && status !== 'anomalous') throw new Error('status must be learning, ok or anomalous');
  return {
    stream,
    ts: o.ts,
    channels,
    values: nums(o.values, 'values', C),
    expected: o.expected === null ? null : nums(o.expected, 'expected', C),
    spread: o.spread === null ? null : nums(o.spread, 'spread', C),
    score: num(o.score, 'score'),
    surprise: num(o.surprise, 'surprise'),
    threshold: num(o.threshold, 'threshold'),
    status,
    anomalyId: str(o.anomalyId ?? null, 'anomalyId'),
    modelId: str(o.modelId ?? null, 'modelId'),
  };
}

/**
 * Whether a detector state (Detector.snapshot, JSON-parsed) is of a stream heard once: its parser state (format /3)
 * took one distinct time, none at it before the last (no `sameTime`), holds nothing and is not marked `repeated` (a
 * stream taken at its second message with the table full: src/pipeline/admit.ts). Such rows were written before
 * streams heard once were left out (a flood's 5,000 one-shot topics). A stream that took its one time in two messages
 * (a copy re-sent) is taken for one heard once: it restarts at its next reading, as a new stream.
 */
export function savedHeardOnce(state: unknown): boolean {
  if (typeof state !== 'object' || state === null) return false;
  const parser = (state as { parser?: unknown }).parser;
  if (typeof parser !== 'object' || parser === null) return false;
  const p = parser as { format?: unknown; recent?: unknown; sameTime?: unknown; held?: unknown; repeated?: unknown };
  if (p.format !== 'anomalyd-parser/3' || p.sameTime !== undefined || p.repeated === true) return false;
  return Array.isArray(p.recent) && p.recent.length <= 1 && Array.isArray(p.held) && p.held.length === 0;
}

/**
 * How long the daemon keeps a silent stream's state, in ms since its latest reading arrived (CheckpointOptions.keptForMs):
 * its idle span, `limits.idleAfterIntervals` of its reading interval (`window.intervalMs` when set, else `intervalMs`,
 * the interval its cadence learnt, ms; 0 while unknown) and at least `limits.idleAfterMinMs` (src/daemon/eviction.ts:
 * evicted then, its state checkpointed), plus `store.checkpointMaxAgeMs` (an evicted state is revived while that
 * young). With the shipped settings: 1 h 17 min for a 1 Hz sensor, 1 h 10 min for one faster than 0.6 s (the 10 min floor),
 * 3.5 days for a 5-minute one, 41.7 days for an hourly meter.
 */
export function restoreSpanMs(config: { readonly limits: { readonly idleAfterIntervals: number; readonly idleAfterMinMs: number }; readonly window: { readonly intervalMs: number }; readonly store: { readonly checkpointMaxAgeMs: number } }, intervalMs: number): number {
  const interval = config.window.intervalMs > 0 ? config.window.intervalMs : intervalMs > 0 ? intervalMs : 0;
  return Math.max(config.limits.idleAfterMinMs, interval * config.limits.idleAfterIntervals) + config.store.checkpointMaxAgeMs;
}

/**
 * When the stream of a saved state (the daemon's: Detector.snapshot with `arrival`, JSON-parsed) was last heard and at
 * what interval (CheckpointSubject.lastHeard): its arrival's `heardAt` (epoch ms, wall clock) and its cadence's
 * `interval` (ms, 0 while unknown); null when the state has no arrival (older, or a detector-only subject's).
 */
export function savedLastHeard(state: unknown): { readonly heardAt: number; readonly intervalMs: number } | null {
  if (typeof state !== 'object' || state === null) return null;
  const { arrival, cadence } = state as { arrival?: unknown; cadence?: unknown };
  const heard = readStoredArrival(arrival);
  if (heard === null) return null;
  const interval = typeof cadence === 'object' && cadence !== null ? (cadence as { interval?: unknown }).interval : undefined;
  return { heardAt: heard.heardAt, intervalMs: typeof interval === 'number' && Number.isFinite(interval) && interval > 0 ? interval : 0 };
}

/**
 * The detector as a CheckpointSubject: one state per stream (parser, cadence, model state, score state),
 * each taken from that stream alone (Detector.snapshot), so a checkpoint of N streams costs O(N).
 * `committed` is what the store holds about an episode: a restored stream never re-opens, updates or
 * re-resolves what the store already closed (reconcileEpisode).
 *
 * With `shown`, each state also carries the stream's newest scored reading (`latest`, StoredLatest; null
 * while it has none), given back to `shown` at restore: the detector ignores the field, and a checkpoint
 * without it (an older one) restores the detector alone. It plays no part in detection. When `shown` keeps
 * episode state (the daemon's SignalBook), each state also carries its open episode's (`episode`,
 * SignalBook.episodeState; null without one), given back when the restored detector has that episode open; a
 * checkpoint without it restores as before (the episode goes on from its record).
 */
export function detectorCheckpointSubject(detector: Detector, committed: CommittedEpisodeStatus = () => 'open', shown?: LatestReadings, arrivals?: Arrivals, units?: StatedUnits, onOff?: StatedOnOff): CheckpointSubject {
  // The stated unit only for a stream whose hub states one, the on/off words only for an on/off stream (no key
  // otherwise: the rows of the others are as before).
  const withArrival = (stream: string, state: Record<string, unknown>): Record<string, unknown> => {
    const stated = units?.unitsOf(stream) ?? null;
    const words = onOff?.onOffOf(stream) ?? null;
    const own = stated === null && words === null ? state : { ...state, ...(stated !== null ? { units: stated } : {}), ...(words !== null ? { onOffWords: { on: words.on, off: words.off, alarm: words.alarm, active: words.active } } : {}) };
    return arrivals === undefined ? own : { ...own, arrival: arrivals.arrivalOf(stream) };
  };
  return {
    // A stream heard once at one time (one message, one time taken: a one-shot topic of a flood, src/pipeline/admit.ts)
    // is not written: restoring thousands of them made a start take 8.5 s instead of 0.5 (tryout 25, finding 6). A
    // history backfilled in one message (many times) is: left out as heard once, every sensor loaded that way (60 days
    // of an hourly meter in one message) started over at each restart and its open episodes were resolved (tryout 38,
    // finding 1). The rule is savedHeardOnce's, which restore applies to a saved state.
    sensors: () => detector.streams().filter((stream) => !detector.oneShot(stream)),
    worthRestoring: (state) => !savedHeardOnce(state),
    lastHeard: savedLastHeard,
    busy: (stream) => detector.busy(stream),
    // An open episode's baseline and first readings, written apart and only when they change (at most 5 times an
    // episode), not with every tick's checkpoint (≈ 35 kB a tick of a long episode, on an SD card).
    side: (stream) => {
      const id = detector.openAnomaly(stream);
      return id === null || shown?.episodeBase === undefined ? null : shown.episodeBase(id);
    },
    snapshot: (stream) => {
      const state = detector.snapshot(stream);
      if (shown === undefined) return arrivals === undefined && units === undefined && onOff === undefined ? state : withArrival(stream, { ...state });
      const latest = shown.latest(stream);
      const decimals = shown.sentDecimals?.(stream) ?? null;
      const precision = decimals !== null ? (shown.readingDecimals?.(stream) ?? null) : null;
      const sent = decimals !== null ? { sentDecimals: [...decimals], ...(precision !== null ? { shownDecimals: precision } : {}) } : {};
      if (shown.episodeState === undefined) return withArrival(stream, { ...state, latest: latest === null ? null : storeLatest(latest), ...sent });
      // The open episode's explanation state goes with the detector's episode (the same checkpoint, periodic
      // or at stop): restored together, the episode is told after a restart as it would have been without one.
      const id = detector.openAnomaly(stream);
      return withArrival(stream, { ...state, latest: latest === null ? null : storeLatest(latest), ...sent, episode: id === null ? null : (shown.episodeState(id) ?? null) });
    },
    restore(states, sides, asOf) {
      const skipped: string[] = [];
      for (const [stream, state] of states) {
        skipped.push(...detector.restore(stream, state));
        const note = reconcileEpisode(detector, stream, committed);
        if (note !== null) skipped.push(note);
        const { latest, episode, arrival, units: stated, onOffWords, sentDecimals, shownDecimals } = typeof state === 'object' && state !== null ? (state as { latest?: unknown; episode?: unknown; arrival?: unknown; units?: unknown; onOffWords?: unknown; sentDecimals?: unknown; shownDecimals?: unknown }) : { latest: undefined, episode: undefined, arrival: undefined, units: undefined, onOffWords: undefined, sentDecimals: undefined, shownDecimals: undefined };
        const heard = readStoredArrival(arrival);
        if (heard !== null) arrivals?.restoreArrival(stream, heard, asOf?.get(stream));
        const unit = readStoredUnits(stated);
        if (unit !== null) units?.restoreUnits(stream, unit);
        else if (stated !== undefined && stated !== null) skipped.push(`stated unit ${stream}: malformed`);
        // The words before the episode's explanation state (below): an episode restored is told in them.
        const words = readStoredOnOff(onOffWords);
        if (words !== null) onOff?.restoreOnOff(stream, words);
        else if (onOffWords !== undefined && onOffWords !== null) skipped.push(`on/off words ${stream}: malformed`);
        if (shown === undefined) continue;
        if (latest !== undefined && latest !== null) {
          try {
            shown.restoreLatest(readStoredLatest(stream, latest));
          } catch (err) {
            skipped.push(`latest reading ${stream}: ${(err as Error).message}`);
          }
        }
        // The precision its readings were sent with (a checkpoint before it carries none: the next reading says).
        if (Array.isArray(sentDecimals) && sentDecimals.every((d): d is number => typeof d === 'number')) shown.restoreSentDecimals?.(stream, sentDecimals, typeof shownDecimals === 'number' ? shownDecimals : null);
        else if (sentDecimals !== undefined && sentDecimals !== null) skipped.push(`sent decimals ${stream}: malformed`);
        // The episode's explanation state, when the detector's episode is the one it belongs to (reconciled
        // above). Without it (an older checkpoint, or a malformed one) the episode goes on from its record.
        const id = detector.openAnomaly(stream);
        if (episode === undefined || episode === null || id === null || shown.restoreEpisode === undefined) continue;
        try {
          shown.restoreEpisode(stream, id, episode, sides?.get(stream));
        } catch (err) {
          skipped.push(`episode explanation ${stream}: ${(err as Error).message}`);
        }
      }
      return skipped;
    },
  };
}
