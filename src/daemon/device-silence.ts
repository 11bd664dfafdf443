/**
 * A device whose every field goes silent at once is ONE alert, not one per field (tryout 28, finding 13: the whole
 * house stopping opened 20 `missing data` alerts in one second, and 20 resolves 22 s later, 6 of them one Tasmota
 * plug's ENERGY fields). docs/ALERTS.md, "A device whose every field goes silent".
 *
 * When a field's silence opens its `missing data` episode (Daemon.judgeSilences) and every stream anomalyd knows of
 * its device went quiet together — at least two of them overdue (silent longer than their own interval), last heard
 * within the longest of their intervals of each other, and none heard since (a field not due yet, a heartbeat, says
 * nothing else) — the device's silence is told as one episode
 * of the device: kind `missing_data`, `sensor`, `device` and `stream` the device, stored and alerted on
 * `<prefix>/alerts/<device>`: `plug: no reading from any of its 6 fields since 18:14 (missing data)`, since its
 * fields' last reading on the device's own clock (the time each field's silence tells). Each field's own silence
 * episode still opens, grows and ends as before, stored, but its events are not alerted (Store.recordEvent with
 * `publish` false, `toldIn` the device episode's id): they are the device episode's members, folded into it by the
 * views (AnomalyQuery.folded: `anomalies list`, GET /api/anomalies, the page). A field whose silence opens while its
 * device's episode is open joins it.
 *
 * The device episode ends (resolve, `recovered`) when the last of its members' silences ends (each at its field's
 * next reading), or, with no member left open (a restart resolved them), at the first reading of any of its streams.
 * A field that stays silent while the others read again keeps the device's episode open: its silence is not
 * told as over.
 *
 * Store, then alert: the device episode's open is committed (with its outbox row) before its first member's open is
 * stored, and its resolve after its last member's resolve. Across a restart an open device episode is taken back
 * (restore) with the members the detector restored open (restoreMember); a member the detector lost (opened after the
 * last checkpoint) is resolved at start without an alert, and its field's silence, judged again, joins the episode.
 * No second open, no lost resolve.
 *
 * A field whose silence is told in an episode of another kind open when it died (an `update` of that episode, kind
 * `missing_data`: docs/ALERTS.md, "A sensor that dies with an episode open") is a member too, an announced one
 * (tryout 37, finding 7: `th1: no reading from any of its 2 fields` AND `th1/temperature … drift …, then no reading
 * for 46 s … (missing data)` for one silence): the device's episode is the operator's alert of the silence, so that
 * update, and the episode's later ones while the device's is open, are stored (its record notes the silence) but not
 * alerted; its resolve is alerted (its open was: its consumers see it end) and not folded into the device's (its
 * record names no `toldIn`: it is its own fault, listed as before). Such an update opens the device's episode as a
 * field's silence's open does, whichever of the two is judged first.
 *
 * A device with one stream, and a field silent while its device's other fields report, are told per field, as
 * before. Nothing here runs in replay or evaluation (no silence is judged while it lasts there).
 */
import type { Logger } from 'pino';
import type { AlertExplanation } from '../contract/alerts.js';
import type { AnomalyRecord } from '../contract/store.js';
import type { AnomalyEvent } from '../contract/types.js';
import { clockTime, formatDuration, KIND_LABELS } from '../explain/explain.js';
import { deviceEvent, deviceExplanation } from './device-episode.js';

/** What the device-silence book needs of the daemon. */
export interface DeviceSilenceWiring {
  /** The streams of `device` anomalyd knows now (those whose Reading.source is the device). */
  readonly streamsOf: (device: string) => readonly string[];
  /** When the stream's latest reading arrived (epoch ms, the daemon's wall clock), or null when never heard. */
  readonly heardAt: (stream: string) => number | null;
  /**
   * The stream's latest reading's own time (epoch ms, the device's clock as its readings carry it), or null when none
   * is kept: the `since` its silence's sentence tells, and so the device episode's start.
   */
  readonly lastReadingAt: (stream: string) => number | null;
  /** The stream's learnt reading interval (ms; 0 or undefined while unknown). */
  readonly intervalOf: (stream: string) => number | undefined;
  /** Stores, then alerts, one event of a device episode (Daemon.recordEvent); false when the store refused it. */
  readonly record: (ev: AnomalyEvent, explanation: AlertExplanation) => boolean;
  /** A new episode id. */
  readonly newId: () => string;
  /** score.threshold, carried by the events (a device episode has no score of its own: its scores are 0). */
  readonly threshold: number;
  /** explain.timeZone (undefined: the host's), for the sentence's clock times. */
  readonly timeZone?: string;
  readonly log: Logger;
}

/** A device's open silence episode. */
interface Group {
  readonly anomalyId: string;
  /**
   * When the device was last heard (epoch ms): its fields' latest reading on its own clock (no later than its arrival),
   * or the restored episode's start.
   */
  readonly since: number;
  /** The open sentence without its kind label. */
  readonly told: string;
  /**
   * The members: the ids of its fields' open silence episodes (stored, not alerted), each true when announced (an
   * episode of another kind its silence was told in: its open was alerted, so its resolve is).
   */
  readonly members: Map<string, boolean>;
}

/**
 * The devices whose every field went silent together, and their episodes (see the module comment). Bounded by the
 * open episodes: one entry per device with one open, one per open member.
 */
export class DeviceSilences {
  private readonly groups = new Map<string, Group>();
  /** Member episode id → its device. */
  private readonly memberIds = new Map<string, string>();

  constructor(private readonly w: DeviceSilenceWiring) {}

  /** Whether any device's silence episode is open: false = nothing here applies to any reading (cheap). */
  get active(): boolean {
    return this.groups.size > 0;
  }

  /**
   * Whether a stored anomaly is a device's silence episode (its `sensor` the device, kind `missing_data`, no model
   * and no channels: made here, never by a detector), to be taken back at start (restore), not resolved as orphaned.
   */
  static isDeviceEpisode(a: Pick<AnomalyRecord, 'sensor' | 'device' | 'model' | 'channels' | 'explanation'>): boolean {
    return a.explanation?.kind === 'missing_data' && a.sensor === a.device && a.model === 'none' && a.channels.length === 0;
  }

  /** Whether `anomalyId` is a field's silence told in its device's episode: its events are stored, not alerted. */
  memberOf(anomalyId: string): boolean {
    return this.memberIds.has(anomalyId);
  }

  /**
   * Whether the event `kind` of episode `anomalyId` is alerted: not a member's, except an announced member's resolve
   * (its open was alerted before its silence was told in its device's episode).
   */
  alerts(anomalyId: string, kind: AnomalyEvent['kind']): boolean {
    const device = this.memberIds.get(anomalyId);
    if (device === undefined) return true;
    return kind === 'resolve' && this.groups.get(device)?.members.get(anomalyId) === true;
  }

  /** The device episode a member's events are stored in (its `toldIn`): a silent member's only, undefined otherwise. */
  toldIn(anomalyId: string): string | undefined {
    const device = this.memberIds.get(anomalyId);
    if (device === undefined) return undefined;
    const group = this.groups.get(device);
    return group === undefined || group.members.get(anomalyId) === true ? undefined : group.anomalyId;
  }

  /**
   * The device episode a member belongs to (its id, the one alerted), or null when `anomalyId` is no member: a
   * member's stream's retained state carries the device's episode (SensorStatusBoard: its Home Assistant problem
   * entity on, its `anomaly_id` one its consumers were told of).
   */
  episodeOfMember(anomalyId: string): string | null {
    const device = this.memberIds.get(anomalyId);
    return device === undefined ? null : (this.groups.get(device)?.anomalyId ?? null);
  }

  /** Whether `device` has an open silence episode. */
  openFor(device: string): boolean {
    return this.groups.has(device);
  }

  /**
   * A field's silence opens its episode `anomalyId` (Daemon.judgeSilences, before it is stored) at `now` (epoch ms,
   * the daemon's wall clock). True when it is told in its device's episode (opened now, its open stored and alerted
   * first, or already open): the caller stores it without an alert. False: told on its own, as before (a device of
   * one stream, another field still reporting or silent long before, or the device's open refused by the store).
   * `announced`: the silence is told in an episode of another kind whose open was alerted (an `update` of it).
   */
  silenceOpened(stream: string, device: string, anomalyId: string, now: number, announced = false): boolean {
    const open = this.groups.get(device);
    if (open !== undefined) {
      this.join(device, open, anomalyId, announced);
      return true;
    }
    if (device === stream) return false;
    const streams = this.w.streamsOf(device);
    if (streams.length < 2 || !streams.includes(stream)) return false;
    // The fields whose silence can be told (overdue: silent longer than their own interval); a field not due yet (a
    // heartbeat, a report-on-change field) says nothing either way, unless it was heard after the others stopped.
    let widest = 0;
    const overdue: number[] = [];
    const notDue: number[] = [];
    // The overdue fields' last readings on their own clock (data time), each no later than its arrival.
    let lastReading = -Infinity;
    for (const s of streams) {
      const heard = this.w.heardAt(s);
      if (heard === null) continue;
      const interval = this.w.intervalOf(s) ?? 0;
      if (interval > 0 && now - heard <= interval) {
        notDue.push(heard);
        continue;
      }
      overdue.push(heard);
      if (interval > widest) widest = interval;
      const at = this.w.lastReadingAt(s);
      lastReading = Math.max(lastReading, at !== null && Number.isFinite(at) ? Math.min(at, heard) : heard);
    }
    if (overdue.length < 2 || !(widest > 0)) return false;
    // Together: the silent fields last heard within the longest of their reading intervals of each other, and no
    // field heard since well after they stopped (the device still talks).
    const first = Math.min(...overdue);
    const last = Math.max(...overdue);
    if (last - first > widest || notDue.some((heard) => heard > last + widest)) return false;
    const fields = overdue.length === streams.length ? `any of its ${streams.length} fields` : `${overdue.length} of its ${streams.length} fields`;
    // Since its fields' last reading on the device's own clock, as each field's silence tells it (a device that sends
    // its readings in batches is silent from its last reading, not from the batch's arrival: tryout 31, finding 1).
    const since = Number.isFinite(lastReading) ? lastReading : last;
    const told = `${device}: no reading from ${fields} since ${this.clock(since, now)}`;
    const group: Group = { anomalyId: this.w.newId(), since, told, members: new Map<string, boolean>() };
    if (!this.w.record(this.event('open', device, group, now), this.explanation(device, group, now, told))) return false;
    this.groups.set(device, group);
    this.join(device, group, anomalyId, announced);
    this.w.log.debug({ device, fields: streams.length, anomalyId: group.anomalyId }, 'every field of a device went silent together: one episode of the device');
    return true;
  }

  /**
   * A member's silence episode ended at `at` (epoch ms; its resolve stored): once none of its device's members is
   * open, the device's episode ends (stored, then alerted).
   */
  memberEnded(anomalyId: string, at: number): void {
    const device = this.memberIds.get(anomalyId);
    if (device === undefined) return;
    this.memberIds.delete(anomalyId);
    const group = this.groups.get(device);
    if (group === undefined) return;
    group.members.delete(anomalyId);
    if (group.members.size === 0) this.resolve(device, group, at);
  }

  /**
   * A reading of a stream of `device` arrives at `at` (epoch ms): a device episode with no member open (its members
   * resolved at a restart) ends now; one with members open ends with its last (memberEnded).
   */
  reading(device: string, at: number): void {
    const group = this.groups.get(device);
    if (group !== undefined && group.members.size === 0) this.resolve(device, group, at);
  }

  /**
   * Each open device episode's progress at `now` (epoch ms), for its record (Daemon.touchOpenEpisodes): its end so
   * far and its `duration_ms`, its sentence the open one.
   */
  progress(now: number): Array<{ readonly anomalyId: string; readonly endTs: number; readonly explanation: AlertExplanation }> {
    const out: Array<{ readonly anomalyId: string; readonly endTs: number; readonly explanation: AlertExplanation }> = [];
    for (const [device, group] of this.groups) {
      const at = Math.max(group.since, now);
      out.push({ anomalyId: group.anomalyId, endTs: at, explanation: this.explanation(device, group, at, group.told) });
    }
    return out;
  }

  /** Takes back a device episode left open at the stop (its stored record: id, device, start and open sentence). */
  restore(device: string, anomalyId: string, since: number, sentence: string | null): void {
    const label = ` (${KIND_LABELS.missing_data})`;
    const open = sentence !== null ? (sentence.split('; ')[0] ?? sentence) : null;
    const told = open !== null ? (open.endsWith(label) ? open.slice(0, -label.length) : open) : `${device}: no reading from any of its fields since ${this.clock(since, since)}`;
    this.groups.set(device, { anomalyId, since, told, members: this.groups.get(device)?.members ?? new Map<string, boolean>() });
  }

  /**
   * Takes back a member: a field's silence episode of `device`, open in the store and restored open by the detector
   * (`announced`: an episode of another kind its silence was told in, its record naming no `toldIn`).
   */
  restoreMember(device: string, anomalyId: string, announced = false): void {
    const group = this.groups.get(device);
    if (group !== undefined) this.join(device, group, anomalyId, announced);
  }

  private join(device: string, group: Group, anomalyId: string, announced: boolean): void {
    group.members.set(anomalyId, announced || group.members.get(anomalyId) === true);
    this.memberIds.set(anomalyId, device);
  }

  private resolve(device: string, group: Group, at: number): void {
    this.groups.delete(device);
    for (const id of group.members.keys()) this.memberIds.delete(id);
    const sentence = `${group.told}; readings again at ${this.clock(at, at)}, after ${formatDuration(Math.max(0, at - group.since))}`;
    this.w.record({ ...this.event('resolve', device, group, at), resolution: 'recovered' }, this.explanation(device, group, at, sentence));
  }

  private event(kind: 'open' | 'resolve', device: string, group: Group, at: number): AnomalyEvent {
    return deviceEvent(kind, device, group, at, this.w.threshold);
  }

  private explanation(device: string, group: Group, at: number, sentence: string): AlertExplanation {
    return deviceExplanation('missing_data', device, group, at, sentence);
  }

  private clock(ts: number, reference: number): string {
    return clockTime(ts, reference, this.w.timeZone);
  }
}
