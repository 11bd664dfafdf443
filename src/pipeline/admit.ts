/**
 * Admission: whether a decoded reading is taken, judged against its stream's history. Apart from decoding
 * (./decode/), so the rules are in one place:
 *   - a time more than maxFutureMs ahead of arrival is `future_timestamp` (and the device's clock is
 *     reported once, through onClockSkew, not per reading);
 *   - a time older than the stream's newest by more than the tolerance is `out_of_order`; within it, the reading
 *     arrived after a newer one and is not taken either (a stream's readings are judged in time order, one step
 *     after the other, and a step cannot be judged again once later ones were): `redelivered` when its time is one
 *     the stream already took (an MQTT QoS 1 message re-sent after a reconnect, its PUBACK lost; a device or
 *     gateway that re-sends its last readings), else `late` (a reading of its own that arrived out of order).
 *     Both used to be clamped to the newest time and taken there: the detector then judged an older reading as a
 *     step at the newest's time (a redelivered m1 after m2 as a step back to m1's values and m2 again after it),
 *     or, before that, as a duplicate of the newest (its values reported as the newest's). Every stream leaves in
 *     non-decreasing time; a reading at the newest's very time is taken (the detector tells a message delivered
 *     twice from a reading of its own sharing the ms: src/pipeline/cadence.ts), unless it is a copy of one taken at
 *     that time before the stream's last reading (`redelivered`; below);
 *   - a time ahead of the stream's own clock is held until the stream's next reading shows whether it was
 *     the device's clock that moved or one bad time stamp (`clock_glitch`; below);
 *   - a new stream past `maxStreams` in all or `maxStreamsPerSensor` for its device is `too_many_streams`.
 * State is created only by a taken or a held reading: a rejected message never takes a stream slot.
 *
 * Streams heard once. A real sensor repeats; a made-up topic (a misbehaving device or a hostile client writing a new
 * topic per message, each a valid number) does not. A stream whose readings all came in one message is *heard once*
 * (`heardOnce`); its second message makes it a stream for good. When every slot is taken (`maxStreams`), a new
 * stream's first message is rejected `too_many_streams` and its name noted (the last `maxStreams` such names, oldest
 * dropped first); at its next message, while a stream heard once holds a slot, the one heard least recently
 * (created first) is displaced (`onDisplace`: every stage forgets it, as at an idle eviction, without a checkpoint)
 * and the new stream takes its slot. So a flood of one-shot topics that filled the table (tryout 25, finding 6: 5,000
 * junk streams turned every new real sensor away for the 10 minutes until their idle eviction) costs a new sensor
 * its first reading, not 10 minutes; a flood of rejected one-shot topics costs a Map insert each, no stream state.
 * It is the two-queue idea of cache replacement (Johnson & Shasha, "2Q: a low overhead high performance buffer
 * management replacement algorithm", VLDB 1994): a key seen once sits in a FIFO that is emptied first, the names of
 * those pushed out are remembered (their A1out), and a key seen again among them goes to the main table. What it
 * does not cover: a sensor whose interval is longer than the time a flood takes to send `maxStreams` other new
 * names loses its noted name before its second message (at the junk gate's 1,000 a second for topics that never
 * gave a reading, past its burst, 5 s with the default 5,000); a flood whose topics each repeat fills the table for
 * good, as before (idle eviction frees it). Displacement is only for `maxStreams`, not `maxStreamsPerSensor` (a
 * device's own fields). Without `onDisplace` (replay, evaluation) nothing is displaced.
 *
 * Readings at one time. A stream may take several readings at its newest time (a device clock in whole seconds sending
 * several a second, a hub flushing a buffer under one time: `sametime`). Its time alone cannot tell a copy of one of
 * them, re-sent after another (m2, m2' in one ms, then m2 again: a QoS 1 redelivery, a device re-sending its last
 * readings), from a reading of its own; the detector compares a reading at the previous one's time with that reading
 * only (a copy of the last is its duplicate), so m2's copy was judged again as a step back to m2's values. Admission
 * keeps the values of the readings taken at the newest time (SAME_TIME of them, the stream's last one apart): a reading
 * at that time whose values are those of one of them, not of the last, and that came in another message
 * (`nextMessage`; one message's readings are never copies of each other: a hub's buffer flushed under one time may
 * repeat a value), is `redelivered`. A reading is its time and its values: a copy of one is told by them, exactly (no
 * hash). What it costs: a reading of its own at the same time, in a later message, with the values of one before the
 * last at that time (20.1, 20.2, then 20.1 again in one whole second) is taken for a copy and counted, not judged. A
 * reading stamped on arrival (ts = receivedAt: no device time) is exempt: two messages read in one go share the ms of
 * their arrival whatever they are (an on/off `ON`, `OFF`, `ON` in one TCP chunk), and a broker's copy of one arrives
 * later (its DUP flag: ./resent.ts). Kept in the snapshot when there is more than the last (a restart between m2' and
 * m2's copy).
 *
 * The stream's own clock. A reading's lead is `ts - receivedAt` (ms): how far the device's time stamp is
 * ahead of its arrival, negative by the delivery delay for a device whose clock is right. The stream's
 * usual lead U is the largest lead of its last LEAD_BLOCK to 2 LEAD_BLOCK arrivals that were taken (a
 * running maximum over two blocks of arrivals: O(1), no allocation; a burst is one arrival, and an exact
 * maximum of its readings, whichever path admits it); before the stream's first taken reading U is 0 (a
 * device clock that agrees with the host's). The upper envelope, not a median: the freshest delivery of a
 * burst-sending or queueing device is its usual lead, and a reading delivered faster than the usual is no
 * reason for doubt. A reading is suspect when its lead exceeds both U and 0 (its arrival) by more than the
 * tolerance, i.e. when, taken, it would make the stream's next readings out of order if its time were wrong
 * (`isSuspect`). A reading from the past is never suspect: a backfill or a gateway's buffer flushed after an
 * outage has leads that rise by a reading's interval with every message, and its last reading would wait
 * for the stream's next message. A reading stamped on arrival (ts = receivedAt: no device time) is never
 * suspect.
 *
 * A suspect is held, not taken (the stream's newest time does not move). The stream's next reading that
 * admission judges in order (not future_timestamp, not out_of_order against the stream's newest) settles it:
 *   - a held reading stamped later than that next reading by more than the tolerance was the glitch: it is
 *     rejected `clock_glitch` (reported with the message that settled it, under its own topic and arrival);
 *   - the others are released in time order (one older than the stream's newest is not taken, as any), before the next reading;
 *   - a next reading that is itself suspect is held too, after them; suspects in order from CONFIRM
 *     arrivals (messages; a burst's readings share one time stamp and count once) say the device's clock
 *     moved: all are released and U follows the new clock.
 * What each case loses (tolerance 5 s, 1 Hz, usual lead ≈ 0):
 *   - one bad time stamp 55 s ahead (a clock glitch at an SNTP sync, one bad RTC read): that reading alone,
 *     `clock_glitch`, when the next reading arrives; the next 55 are taken (before: all 55 out_of_order);
 *   - a burst whose one time stamp is bad: its readings ahead of the next reading by more than the tolerance;
 *   - up to CONFIRM - 1 consecutive bad stamps: those readings; CONFIRM or more that agree with each other:
 *     they are taken as a clock step, and the readings after it within their lead are out_of_order (as before);
 *   - a device clock consistently ahead (skew inside maxFutureMs) from its first reading: nothing; its first
 *     CONFIRM - 1 readings wait for the CONFIRM-th; a clock that drifts ahead slowly: nothing, no wait;
 *   - a clock that steps forward for good (NTP correction): nothing; the CONFIRM - 1 readings after the step
 *     wait for the CONFIRM-th;
 *   - a reading delivered faster than the stream's usual (a gateway's queue that drained): nothing; it
 *     waits for the next reading, which is in order with it and releases it;
 *   - a clock that steps back: the readings until its time passes the stream's newest, out_of_order (as before);
 *   - a bad time stamp still in the past of its arrival (a gateway's backfill from a device whose clock glitched):
 *     taken, and the readings after it up to its time out_of_order (as before). Holding readings from the past
 *     too (their leads rise by an interval per message in any backfill) made a backfill's last reading, and
 *     the first after a gap in a redelivery, wait for the stream's next message.
 * A held reading waits for the stream's next reading (an hourly sensor: an hour); it is kept in the snapshot
 * and lost only when the stream is forgotten (evicted).
 * Why hold and settle: rejecting a suspect at once loses CONFIRM - 1 good readings at every real clock step
 * and at a skewed device's start, and every reading delivered faster than the stream's usual; holding it
 * until the stream's time passes its own takes the glitch too, 55 s late at its wrong time (next to the
 * reading really taken then, which the cadence would call its duplicate). Settling on the next reading's
 * time loses no good reading in the cases above, at the cost of a one-message wait (CONFIRM - 1 at a step).
 */
import type { Problem } from './decode/types.js';
import type { ResentSnapshot } from './resent.js';

export interface AdmissionOptions {
  readonly maxFutureMs: number;
  readonly outOfOrderToleranceMs: number;
  /** Streams tracked in all. */
  readonly maxStreams: number;
  /** Streams per device (source sensor). */
  readonly maxStreamsPerSensor: number;
  /** Called once per device the first time one of its readings is ahead of arrival by more than maxFutureMs. */
  readonly onClockSkew?: (sensor: string, aheadMs: number) => void;
  /**
   * Called with a stream heard once that a new stream displaces (see the class doc, streams heard once): the caller
   * makes every stage forget it (it must call forget(stream), directly or through its stages; admission forgets it
   * after the call anyway). Absent: nothing is displaced, a new stream past maxStreams is rejected.
   */
  readonly onDisplace?: (stream: string) => void;
}

/** The stream table's fill, for the status (Admission.table). */
export interface StreamTable {
  /** Streams tracked now. */
  readonly tracked: number;
  /** ingest.maxStreams. */
  readonly max: number;
  /** Of `tracked`, the streams heard once (all their readings in one message): a new stream may take their slot. */
  readonly heardOnce: number;
  /**
   * Since when (epoch ms, the arrival of the message turned away) new streams are turned away at their first message
   * because the table is full; null while it has room (reset when a stream leaves a full table).
   */
  readonly fullSince: number | null;
  /** New streams turned away for want of a slot since start, each counted once while its name is noted (not per message). */
  readonly turnedAway: number;
  /** Streams heard once displaced by a new stream's second message since start. */
  readonly displaced: number;
}

/** Arrivals per block of the usual-lead maximum: U covers the last LEAD_BLOCK to 2 LEAD_BLOCK taken arrivals. */
export const LEAD_BLOCK = 32;
/**
 * Consecutive suspects in order among themselves, from this many arrivals (messages: the readings of one
 * burst share one device time stamp, so they confirm nothing), that are taken as the device's clock having moved.
 */
export const CONFIRM = 3;

/**
 * Distinct times taken that a stream keeps, to tell a reading re-sent after newer ones (`redelivered`: its time is one
 * of them) from one of its own arriving late (`late`). More than a broker's in-flight window of QoS 1 messages
 * re-sent at a reconnect (mosquitto's max_inflight_messages is 20 by default); 8 bytes each per stream.
 */
export const RECENT = 32;

/**
 * Readings taken at a stream's newest time, its last one apart, whose values admission keeps to tell a copy of one
 * (see the class doc). A hub's buffer flushed under one time may hold more: the later ones are not kept (a copy of
 * one of them is taken, and the detector judges it as a reading of its own).
 */
export const SAME_TIME = 32;

/** admit()'s answer for a suspect: the caller hands the reading over with hold(). */
export const HOLD = 'hold';

/** A reading admission holds (see the class doc): what the caller needs to emit or reject it later. JSON-safe. */
export interface HeldReading {
  /** Its time, epoch ms. */
  readonly ts: number;
  /** Arrival of its message, epoch ms. */
  readonly receivedAt: number;
  /** Topic of its message. */
  readonly topic: string;
  /** Position in its message's burst, -1 for a single reading. */
  readonly index: number;
  readonly channels: readonly string[];
  readonly values: readonly number[];
}

/** A held reading that admit() settled: released (taken at `ts`) or rejected (`problem`). */
export type Settled = { readonly held: HeldReading; readonly ts: number; readonly problem: null } | { readonly held: HeldReading; readonly ts: null; readonly problem: Problem };

interface StreamState {
  /** Newest taken time, epoch ms; -Infinity while the stream's only reading is held. */
  lastTs: number;
  readonly device: string;
  /** U: the usual lead, ms (max(leadPrev, leadBlock); 0 before the first taken reading). */
  lead: number;
  /** Largest lead of the current block of arrivals, -Infinity when empty. */
  leadBlock: number;
  /** Largest lead of the previous block, -Infinity when none. */
  leadPrev: number;
  /** Arrivals in the current block. */
  leadCount: number;
  /** receivedAt of the last arrival counted. */
  arrival: number;
  /** Suspects held, in order within the tolerance, from fewer than CONFIRM arrivals; null when none. */
  held: HeldReading[] | null;
  /** The last RECENT distinct times taken (epoch ms), a ring: `recent[(next - 1) % RECENT]` the newest. */
  readonly recent: number[];
  /** Times written into `recent` so far (its next slot is next % RECENT). */
  next: number;
  /** Values of the last reading taken (at lastTs), null when not known (none yet, a snapshot without them). */
  lastValues: readonly number[] | null;
  /** The message the last reading taken came in (-1: restored). */
  lastMessage: number;
  /** Values of the readings taken at lastTs before the last one, oldest first, at most SAME_TIME. */
  readonly same: Array<readonly number[]>;
  /** The message (Admission.nextMessage's count) the stream was created in while it is heard once; -1 after (or restored). */
  born: number;
  /** The message (Admission.nextMessage's count) each of `same` came in; -1 for one restored from a snapshot. */
  readonly sameMessage: number[];
}

const SNAPSHOT_FORMAT = 'anomalyd-parser/3';
const V2_SNAPSHOT_FORMAT = 'anomalyd-parser/2';
const OLD_SNAPSHOT_FORMAT = 'anomalyd-parser/1';
/** Beyond ±8.64e15 ms a Date is invalid and toISOString throws. */
const MAX_DATE_MS = 8.64e15;

/** One stream's admission state, JSON-serialisable (`MessageParser.snapshot`). Restore reads /2 and /1 too. */
export interface ParserSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  /** Time of the last accepted reading, epoch ms; null while the stream's only reading is held. */
  readonly lastTs: number | null;
  /** The device the stream belongs to. */
  readonly source: string;
  /** The usual lead's running maximum: [current block max, previous block max] in ms (null: none), arrivals in the block, last arrival (epoch ms, null: none). */
  readonly lead: readonly [number | null, number | null, number, number | null];
  /** Readings held (see Admission), oldest first. */
  readonly held: readonly HeldReading[];
  /** The stream's last distinct times taken (epoch ms, oldest first, at most RECENT); absent in older snapshots. */
  readonly recent?: readonly number[];
  /**
   * The values (sensor units, one per channel) of the readings taken at lastTs, oldest first, the last one last:
   * present only when there are two or more (see Admission, readings at one time); absent in older snapshots.
   */
  readonly sameTime?: ReadonlyArray<readonly number[]>;
  /** The last payloads' fingerprints of the MQTT topic feeding a stream stamped on arrival (the parser's: ./resent.ts). */
  readonly resent?: ResentSnapshot;
  /**
   * True for a stream heard in two messages or more whose `recent` times alone would not say so (one time, nothing at
   * it before the last): one taken at its second message with the table full (see the class doc). Absent otherwise.
   * Read by the daemon's checkpoints only (src/daemon/checkpoints.ts, savedHeardOnce); restore ignores it.
   */
  readonly repeated?: true;
}

export class Admission {
  private readonly streams = new Map<string, StreamState>();
  private readonly perDevice = new Map<string, number>();
  private readonly skewReported = new Set<string>();
  /** Streams heard once (all their readings from one message), oldest first: the order a new stream displaces them in. */
  private readonly once = new Map<string, true>();
  /** New streams turned away at their first message while the table was full, oldest first, at most maxStreams. */
  private readonly waiting = new Map<string, true>();
  private fullSince: number | null = null;
  private turnedAway = 0;
  private displaced = 0;
  /** Messages begun (nextMessage): the one whose readings are being admitted. */
  private message = 0;

  constructor(private readonly opts: AdmissionOptions) {}

  /**
   * Begins a new message: the readings admitted from now on came in it (one message's readings are never copies of
   * each other; see the class doc, readings at one time). The parser calls it once per message.
   */
  nextMessage(): void {
    this.message++;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Whether the stream is tracked and heard once (all its readings from one message; see the class doc). */
  heardOnce(stream: string): boolean {
    return this.once.has(stream);
  }

  /**
   * Whether the stream is heard once at one time: heard once (heardOnce), and its one message took a single time,
   * nothing else at it and nothing held (a one-shot topic of a flood: one reading, or a device's fields at one time).
   * Such a stream leaves nothing worth a checkpoint (src/daemon/checkpoints.ts, savedHeardOnce, is the same rule read
   * from a saved state). A stream whose one message carried many times (a history backfilled in one message: 60 days
   * of an hourly meter, 1,440 readings) is heard once, and may be displaced as such, but is a sensor's state worth
   * keeping (tryout 38, finding 1: such streams were not checkpointed and started over at every restart).
   */
  oneShot(stream: string): boolean {
    if (!this.once.has(stream)) return false;
    const s = this.streams.get(stream);
    return s !== undefined && s.next <= 1 && s.same.length === 0 && s.held === null;
  }

  /** The stream table's fill and what the limit turned away (see StreamTable). */
  table(): StreamTable {
    return { tracked: this.streams.size, max: this.opts.maxStreams, heardOnce: this.once.size, fullSince: this.fullSince, turnedAway: this.turnedAway, displaced: this.displaced };
  }

  /** The stream's newest accepted time, -Infinity for an unknown stream (or one whose only reading is held). */
  lastTs(stream: string): number {
    return this.streams.get(stream)?.lastTs ?? -Infinity;
  }

  /** The stream's usual lead (ts - receivedAt, ms; see the class doc), 0 for an unknown stream. */
  usualLead(stream: string): number {
    return this.streams.get(stream)?.lead ?? 0;
  }

  /**
   * Admits one reading at `ts` of `stream` (of `device`), arrived at `receivedAt`: its time (taken only at
   * or after the stream's newest), why not, or HOLD (a suspect: the caller passes it to hold() next, before any other admit).
   * Held readings of the stream that this reading settles are appended to `settled`, oldest first: the
   * released ones go before this reading. On success the stream's state is created or advanced. `values`: the
   * reading's values (one per channel), to tell a copy of a reading taken at the same time (the class doc); without
   * them (undefined) it is not told.
   */
  admit(stream: string, device: string, ts: number, receivedAt: number, settled: Settled[], values?: readonly number[]): number | Problem | typeof HOLD {
    if (aheadOfArrival(ts, receivedAt, this.opts.maxFutureMs)) {
      const ahead = ts - receivedAt;
      if (this.opts.onClockSkew !== undefined && !this.skewReported.has(device) && this.skewReported.size < this.opts.maxStreams) {
        this.skewReported.add(device);
        this.opts.onClockSkew(device, ahead);
      }
      return { reason: 'future_timestamp', detail: `timestamp ${isoOf(ts)} is ${Math.round(ahead)} ms ahead of arrival: ${futureAdvice(ahead)}` };
    }
    const tol = this.opts.outOfOrderToleranceMs;
    const lead = ts - receivedAt;
    const state = this.streams.get(stream);
    if (state === undefined) {
      const room = this.makeRoom(stream, device, receivedAt);
      if (typeof room !== 'string') return room;
      const suspect = isSuspect(lead, 0, tol, ts, receivedAt);
      const created = this.create(stream, device, suspect ? -Infinity : ts);
      if (room === 'second') this.repeated(stream, created);
      if (suspect) return HOLD;
      noteLead(created, lead, receivedAt);
      noteTime(created, ts, -Infinity);
      created.lastValues = values ?? null;
      created.lastMessage = this.message;
      return ts;
    }
    if (state.born >= 0 && state.born !== this.message) this.repeated(stream, state);
    if (ts < state.lastTs - tol) {
      return { reason: 'out_of_order', detail: `timestamp ${isoOf(ts)} is ${Math.round(state.lastTs - ts)} ms older than the stream's last reading` };
    }
    if (ts < state.lastTs && state.held === null) return lateProblem(state, ts);
    const suspect = isSuspect(lead, state.lead, tol, ts, receivedAt);
    const held = state.held;
    if (held !== null) {
      // Held readings stamped later than this one by more than the tolerance were the glitch.
      let keep = held.length;
      while (keep > 0 && held[keep - 1].ts > ts + tol) keep--;
      for (let i = keep; i < held.length; i++) {
        const h = held[i];
        settled.push({ held: h, ts: null, problem: { reason: 'clock_glitch', detail: `timestamp ${isoOf(h.ts)} was ${Math.round(h.ts - ts)} ms ahead of the stream's clock (its next reading is at ${isoOf(ts)}): a device clock glitch` } });
      }
      held.length = keep;
      if (suspect && arrivalsOf(held, receivedAt) < CONFIRM) {
        if (keep === 0) state.held = null;
        return HOLD;
      }
      // Not suspect, or the CONFIRM-th suspect in order: the clock is the stream's (or moved); release.
      state.held = null;
      for (let i = 0; i < keep; i++) {
        const h = held[i];
        const taken = this.take(state, h.ts, h.receivedAt, h.values);
        settled.push(typeof taken === 'number' ? { held: h, ts: taken, problem: null } : { held: h, ts: null, problem: taken });
      }
      return this.take(state, ts, receivedAt, values);
    }
    if (suspect) return HOLD;
    return this.take(state, ts, receivedAt, values);
  }

  /** Holds the reading admit() just answered HOLD for (`held.ts` must be the time it was given). */
  hold(stream: string, held: HeldReading): void {
    const state = this.streams.get(stream);
    if (state === undefined) throw new Error(`admission: hold() for unknown stream ${stream}`);
    if (state.held === null) state.held = [held];
    else state.held.push(held);
  }

  /**
   * Whether admit() would take every reading of a run of one stream spanning [firstTs, lastTs] in time
   * order unchanged (none ahead of arrival or suspect, none at or before the newest, none held before, room for a new
   * stream): then the caller admits the whole run with commitRun. The fast path's burst shortcut.
   */
  admitsRun(stream: string, device: string, firstTs: number, lastTs: number, receivedAt: number): boolean {
    if (aheadOfArrival(lastTs, receivedAt, this.opts.maxFutureMs)) return false;
    const state = this.streams.get(stream);
    const lead = lastTs - receivedAt;
    // The run's leads rise with its times (one arrival), so its last reading is its most suspect.
    if (state === undefined) return this.roomFor(device) === null && !isSuspect(lead, 0, this.opts.outOfOrderToleranceMs, lastTs, receivedAt);
    return state.held === null && firstTs > state.lastTs && !isSuspect(lead, state.lead, this.opts.outOfOrderToleranceMs, lastTs, receivedAt);
  }

  /**
   * Takes the run admitsRun() allowed, as admit() would reading by reading: the readings `first` to `n - 1` of a
   * burst whose reading i is at `origin + i * step` (epoch ms, step > 0 when n > 1), the last at `lastTs` with the
   * values `lastValues` (one per channel). Without a burst (`n` 0): the one reading at `lastTs`.
   */
  commitRun(stream: string, device: string, lastTs: number, receivedAt: number, lastValues: readonly number[], origin = lastTs, step = 0, first = 0, n = 0): void {
    let state = this.streams.get(stream);
    if (state === undefined) state = this.create(stream, device, -Infinity);
    else if (state.born >= 0 && state.born !== this.message) this.repeated(stream, state);
    // The run's last RECENT times, as admit() would note them one by one (the same arithmetic as the caller's).
    const newest = state.lastTs;
    for (let i = Math.max(first, n - RECENT); i < n; i++) noteTime(state, origin + i * step, newest);
    noteTime(state, lastTs, newest);
    state.lastTs = lastTs;
    noteLead(state, lastTs - receivedAt, receivedAt);
    state.same.length = 0;
    state.sameMessage.length = 0;
    state.lastValues = lastValues;
    state.lastMessage = this.message;
  }

  forget(stream: string): void {
    const state = this.streams.get(stream);
    if (state === undefined) return;
    this.streams.delete(stream);
    this.once.delete(stream);
    if (this.streams.size < this.opts.maxStreams) this.fullSince = null;
    const n = (this.perDevice.get(state.device) ?? 1) - 1;
    if (n <= 0) this.perDevice.delete(state.device);
    else this.perDevice.set(state.device, n);
  }

  snapshot(stream: string): ParserSnapshot | null {
    const s = this.streams.get(stream);
    if (s === undefined) return null;
    const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
    return {
      format: SNAPSHOT_FORMAT,
      lastTs: orNull(s.lastTs),
      source: s.device,
      lead: [orNull(s.leadBlock), orNull(s.leadPrev), s.leadCount, orNull(s.arrival)],
      held: s.held === null ? [] : s.held.map((h) => ({ ...h })),
      ...(s.next > 0 ? { recent: recentTimes(s) } : {}),
      ...(s.same.length > 0 && s.lastValues !== null ? { sameTime: [...s.same.map((v) => [...v]), [...s.lastValues]] } : {}),
      ...(s.born < 0 && s.next <= 1 && s.same.length === 0 ? { repeated: true as const } : {}),
    };
  }

  /**
   * Restores a stream from snapshot() output (after a JSON round trip). Reads the older formats too: /2
   * (no usual lead: it starts over from 0, as for a new stream; nothing held) and the per-sensor /1 (its
   * channel set, which used to lock a sensor out, is dropped). Throws on a malformed snapshot or when no
   * stream slot is free.
   */
  restore(stream: string, snapshot: unknown): void {
    const fail = (why: string): never => {
      throw new Error(`parser snapshot: ${why}`);
    };
    if (typeof snapshot !== 'object' || snapshot === null) return fail('not an object');
    const s = snapshot as Record<string, unknown>;
    if (s.format !== SNAPSHOT_FORMAT && s.format !== V2_SNAPSHOT_FORMAT && s.format !== OLD_SNAPSHOT_FORMAT) return fail(`not an ${SNAPSHOT_FORMAT} object`);
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    const lastTs = s.lastTs;
    if (lastTs === null && s.format === OLD_SNAPSHOT_FORMAT) return; // a v1 sensor that never had a reading: nothing to keep
    if (!finite(lastTs) && !(lastTs === null && s.format === SNAPSHOT_FORMAT)) return fail('lastTs must be a finite number');
    const device = typeof s.source === 'string' && s.source.length > 0 ? s.source : stream;
    const state = newState(lastTs ?? -Infinity, device);
    if (s.format === SNAPSHOT_FORMAT) {
      const lead: unknown = s.lead;
      if (!Array.isArray(lead) || lead.length !== 4) return fail('bad lead');
      const [block, prev, count, arrival] = lead as unknown[];
      const maxOrNull = (v: unknown): v is number | null => v === null || finite(v);
      if (!maxOrNull(block) || !maxOrNull(prev) || !finite(count) || !Number.isInteger(count) || count < 0 || count > LEAD_BLOCK || !maxOrNull(arrival)) return fail('bad lead');
      state.leadBlock = block ?? -Infinity;
      state.leadPrev = prev ?? -Infinity;
      state.leadCount = count;
      state.arrival = arrival ?? Number.NaN;
      if (Number.isFinite(state.leadBlock) || Number.isFinite(state.leadPrev)) state.lead = Math.max(state.leadBlock, state.leadPrev);
      const held = s.held;
      if (!Array.isArray(held) || !held.every(isHeldReading)) return fail('bad held readings');
      if (lastTs === null && held.length === 0) return fail('lastTs is null with nothing held');
      state.held = held.length === 0 ? null : held.map((h: HeldReading) => ({ ...h }));
      const recent: unknown = s.recent;
      if (recent !== undefined && (!Array.isArray(recent) || recent.length > RECENT || !recent.every(finite))) return fail('bad recent times');
      for (const t of recent ?? []) noteTime(state, t, -Infinity);
      const same: unknown = s.sameTime;
      if (same !== undefined) {
        if (!Array.isArray(same) || same.length < 2 || same.length > SAME_TIME + 1 || !same.every((v) => Array.isArray(v) && v.length > 0 && v.every(finite))) return fail('bad same-time values');
        const all = same as number[][];
        for (let i = 0; i < all.length - 1; i++) {
          state.same.push([...all[i]]);
          state.sameMessage.push(-1);
        }
        state.lastValues = [...all[all.length - 1]];
      }
    }
    // Older snapshots: the newest time is the one known.
    if (state.next === 0 && Number.isFinite(state.lastTs)) noteTime(state, state.lastTs, -Infinity);
    this.forget(stream);
    const problem = this.roomFor(device);
    if (problem !== null) fail(problem.detail);
    this.streams.set(stream, state);
    this.perDevice.set(device, (this.perDevice.get(device) ?? 0) + 1);
  }

  /**
   * Takes a reading at or after the stream's newest time and counts its lead; one older (a reading the stream's held
   * ones were released before, within the tolerance) is not taken: `redelivered` or `late` (lateProblem); nor is a
   * copy of one taken at the newest time before the last (the class doc, readings at one time: `redelivered`).
   */
  private take(state: StreamState, ts: number, receivedAt: number, values: readonly number[] | undefined): number | Problem {
    if (ts < state.lastTs) return lateProblem(state, ts);
    if (ts === state.lastTs) {
      if (values !== undefined && ts !== receivedAt && state.same.length > 0 && state.lastValues !== null && !sameValues(values, state.lastValues)) {
        for (let i = 0; i < state.same.length; i++) {
          if (state.sameMessage[i] !== this.message && sameValues(values, state.same[i])) {
            return { reason: 'redelivered', detail: `timestamp ${isoOf(ts)} with these values was read already (before another reading of that time): a message re-sent (an MQTT QoS 1 redelivery after a reconnect, a device re-sending its last readings), not judged twice` };
          }
        }
      }
      if (state.lastValues !== null && state.same.length < SAME_TIME) {
        state.same.push(state.lastValues);
        state.sameMessage.push(state.lastMessage);
      }
    } else {
      state.same.length = 0;
      state.sameMessage.length = 0;
    }
    state.lastValues = values ?? null;
    state.lastMessage = this.message;
    noteLead(state, ts - receivedAt, receivedAt);
    noteTime(state, ts, state.lastTs);
    state.lastTs = ts;
    return ts;
  }

  /** A new stream's state, heard once (born in this message), counted against its device. */
  private create(stream: string, device: string, lastTs: number): StreamState {
    const created = newState(lastTs, device, this.message);
    this.streams.set(stream, created);
    this.once.set(stream, true);
    this.perDevice.set(device, (this.perDevice.get(device) ?? 0) + 1);
    return created;
  }

  /** The stream's second message: a stream for good (no longer heard once). */
  private repeated(stream: string, state: StreamState): void {
    state.born = -1;
    this.once.delete(stream);
  }

  /**
   * Whether a new stream gets a slot: 'new' when there is room; with the table full, the class doc's streams heard
   * once: a stream noted at an earlier message takes the slot of the stream heard once least recently (displaced) and
   * is no longer heard once itself ('second': this is its second message); another is noted and turned away (the
   * Problem). `receivedAt`: the message's arrival (epoch ms), for fullSince.
   */
  private makeRoom(stream: string, device: string, receivedAt: number): Problem | 'new' | 'second' {
    const problem = this.roomFor(device);
    if (problem === null) return 'new';
    if (this.streams.size < this.opts.maxStreams || this.opts.onDisplace === undefined) return problem;
    const since = this.fullSince ?? receivedAt;
    const noted = this.waiting.delete(stream);
    if (noted) {
      const victim = this.displaceable();
      if (victim !== null) {
        this.opts.onDisplace(victim);
        this.forget(victim);
        this.displaced++;
        // Still full (forget reset fullSince with the slot it freed).
        this.fullSince = since;
        if (this.roomFor(device) === null) return 'second';
      }
    }
    if (this.waiting.size >= this.opts.maxStreams) {
      const oldest = this.waiting.keys().next();
      if (oldest.done !== true) this.waiting.delete(oldest.value);
    }
    this.waiting.set(stream, true);
    if (!noted) this.turnedAway++;
    this.fullSince = since;
    return this.once.size > 0
      ? { reason: 'too_many_streams', detail: `new stream turned away: already tracking ${this.opts.maxStreams} streams (ingest.maxStreams); at its next message it takes the slot of a stream heard only once` }
      : { reason: 'too_many_streams', detail: `new stream turned away: already tracking ${this.opts.maxStreams} streams (ingest.maxStreams), all of them heard more than once` };
  }

  /**
   * The stream heard once least recently, or null when there is none or it came in the message being admitted (then
   * all did: they are in order of creation), whose readings are being taken.
   */
  private displaceable(): string | null {
    const oldest = this.once.keys().next();
    if (oldest.done === true || this.streams.get(oldest.value)?.born === this.message) return null;
    return oldest.value;
  }

  private roomFor(device: string): Problem | null {
    if (this.streams.size >= this.opts.maxStreams) {
      return { reason: 'too_many_streams', detail: `new stream ignored: already tracking ${this.opts.maxStreams} streams (ingest.maxStreams)` };
    }
    if ((this.perDevice.get(device) ?? 0) >= this.opts.maxStreamsPerSensor) {
      return { reason: 'too_many_streams', detail: `new stream ignored: sensor already has ${this.opts.maxStreamsPerSensor} streams (ingest.maxStreamsPerSensor)` };
    }
    return null;
  }
}

/**
 * Whether a reading's time `ts` is further ahead of its arrival `receivedAt` (both epoch ms) than `maxFutureMs` (ms,
 * ingest.maxFutureMs): such a reading is not taken, `future_timestamp`. The rule of admit() and admitsRun(), and of the
 * readings a stop kept when they are given back at the next start, against the clock then (src/pipeline/kept.ts,
 * admitKept).
 */
/** How near a whole number of hours (ms) a time ahead of arrival must be to be read as a time zone's offset (futureAdvice). */
export const WHOLE_HOUR_SLACK_MS = 5 * 60_000;

/**
 * What an operator can do about readings rejected `future_timestamp`, `aheadMs` (ms > 0) ahead of their arrival:
 * the rejection's detail and the daemon's warning (CLOCK_SKEW_MSG). About a whole number of hours ahead (within
 * WHOLE_HOUR_SLACK_MS, 15 h at most: every zone's offset) is a time zone mix-up, and which setting fixes it depends on
 * how the time was written: an epoch number (or a text with `Z` or an offset) is UTC by definition, so `ingest.timezone`
 * cannot fix it (tryout 38, finding 13: local time stamped as epoch, told "device clock or ingest.timezone?"): the
 * device must send UTC epoch, or its local time as text, with its offset or without one (then read in
 * `ingest.timezone`); only a text time without an offset is read in `ingest.timezone`, which is then set wrong.
 * Otherwise the device's clock is ahead: set it (NTP). Pure.
 */
export function futureAdvice(aheadMs: number): string {
  const hours = Math.round(aheadMs / 3_600_000);
  if (hours >= 1 && hours <= 15 && Math.abs(aheadMs - hours * 3_600_000) <= WHOLE_HOUR_SLACK_MS) {
    return (
      `about ${hours} h ahead, a time zone's offset: an epoch time (a number, or a text with Z or an offset) is UTC whatever ingest.timezone says, ` +
      `so a device writing its local time as epoch (or with Z) must send UTC epoch instead, or its local time as text with its offset ` +
      `(2026-12-06T10:00:00+01:00) or without one (read in ingest.timezone); a text time without an offset is read in ingest.timezone: set it to the device's zone`
    );
  }
  return 'the device clock is ahead: set it (NTP)';
}

export function aheadOfArrival(ts: number, receivedAt: number, maxFutureMs: number): boolean {
  return ts > receivedAt + maxFutureMs;
}

function newState(lastTs: number, device: string, born = -1): StreamState {
  return { lastTs, device, lead: 0, leadBlock: -Infinity, leadPrev: -Infinity, leadCount: 0, arrival: Number.NaN, held: null, recent: [], next: 0, lastValues: null, lastMessage: -1, same: [], sameMessage: [], born };
}

/** Whether two readings' values are the same, channel by channel (as sent: no tolerance). */
function sameValues(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Notes a time taken in the stream's ring of recent times, unless it is the newest already (`newest`). */
function noteTime(s: StreamState, ts: number, newest: number): void {
  if (ts === newest || (s.next > 0 && s.recent[(s.next - 1) % RECENT] === ts)) return;
  s.recent[s.next % RECENT] = ts;
  s.next++;
}

/** The ring's times, oldest first. */
function recentTimes(s: StreamState): number[] {
  const n = Math.min(s.next, RECENT);
  const out: number[] = [];
  for (let i = s.next - n; i < s.next; i++) out.push(s.recent[i % RECENT]);
  return out;
}

/**
 * Why a reading older than its stream's newest time (within the tolerance) is not taken: `redelivered` when the stream
 * took that very time (one of its last RECENT distinct times), else `late`. Neither is judged: a stream's readings are
 * judged in time order, and the steps after this one's time were judged already.
 */
function lateProblem(s: StreamState, ts: number): Problem {
  const behind = Math.round(s.lastTs - ts);
  const n = Math.min(s.next, RECENT);
  for (let i = s.next - n; i < s.next; i++) {
    if (s.recent[i % RECENT] === ts) {
      return { reason: 'redelivered', detail: `timestamp ${isoOf(ts)} was read already (${behind} ms before the stream's last reading): a message re-sent (an MQTT QoS 1 redelivery after a reconnect, a device re-sending its last readings), not judged twice` };
    }
  }
  return { reason: 'late', detail: `timestamp ${isoOf(ts)} is ${behind} ms older than the stream's last reading, which was judged already: arrived out of order, not judged` };
}

/**
 * Whether a reading of lead `lead` (ts - receivedAt, ms) is suspect against the stream's usual lead `usual`
 * (ms) and the tolerance `tol` (ms): ahead of the usual by more than the tolerance AND ahead of its own
 * arrival by more than the tolerance. Only a time stamp in the future of its arrival can be a glitch that
 * would put the next readings out of order; a reading from the past (a backfill, a gateway's buffer flushed
 * after an outage, whose leads rise with every message) is never held, or the last one would wait for the
 * stream's next message. A reading stamped on arrival (ts = receivedAt: no device time) is never suspect.
 */
function isSuspect(lead: number, usual: number, tol: number, ts: number, receivedAt: number): boolean {
  return lead > Math.max(usual, 0) + tol && ts !== receivedAt;
}

/** Counts a taken reading's lead in the usual lead's running maximum (a new arrival may start a new block). */
function noteLead(s: StreamState, lead: number, receivedAt: number): void {
  if (receivedAt !== s.arrival) {
    s.arrival = receivedAt;
    if (s.leadCount >= LEAD_BLOCK) {
      s.leadPrev = s.leadBlock;
      s.leadBlock = -Infinity;
      s.leadCount = 0;
    }
    s.leadCount++;
  }
  if (lead > s.leadBlock) s.leadBlock = lead;
  s.lead = s.leadBlock > s.leadPrev ? s.leadBlock : s.leadPrev;
}

/** Distinct arrivals (messages) among the held readings and one more arriving at `receivedAt`. */
function arrivalsOf(held: readonly HeldReading[], receivedAt: number): number {
  let n = 1;
  for (let i = 0; i < held.length; i++) if (held[i].receivedAt !== (i + 1 < held.length ? held[i + 1].receivedAt : receivedAt)) n++;
  return n;
}

function isHeldReading(v: unknown): v is HeldReading {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  const channels: unknown = h.channels;
  const values: unknown = h.values;
  return (
    finite(h.ts) &&
    finite(h.receivedAt) &&
    typeof h.topic === 'string' &&
    Number.isInteger(h.index) &&
    Array.isArray(channels) &&
    channels.length > 0 &&
    channels.every((c) => typeof c === 'string') &&
    Array.isArray(values) &&
    values.length === channels.length &&
    values.every(finite)
  );
}

export function isoOf(ts: number): string {
  return Math.abs(ts) <= MAX_DATE_MS ? new Date(ts).toISOString() : `${ts} ms`;
}
