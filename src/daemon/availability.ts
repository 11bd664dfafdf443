/**
 * A device's own word on whether it is online (tryout 16, finding 7): ESPHome's `<topic_prefix>/status` `offline`
 * (its last will, sent by the broker when the device's connection dies), zigbee2mqtt's `<name>/availability`,
 * Tasmota's `tele/<t>/LWT`, a Shelly Gen2's `<device>/online` (MappingRuleSpec.availability; the parser tells each
 * message to ParseOptions.onAvailability); or a Home Assistant discovered entity's state expired by its `expire_after`
 * (MessageParser.judgeEntityExpiry, told with its own words: `no state on office/th1/state for 1 min, its
 * expire_after`). While a device says it is offline:
 *
 *   - its streams' silence is told as ONE episode of the device, kind `device_offline`, stored and alerted under the
 *     device's name (`anomalyd/alerts/<device>`): `esp-power offline since 10:02 (the device said so on
 *     esp-power/status), 16 streams silent (device offline)`, instead of one missing-data episode per stream;
 *   - its streams' retained states carry the device's episode (`anomaly_id`, `kind` `device_offline`, `sentence`;
 *     episodeOf, SensorStatusBoard.refresh), so each stream's Home Assistant `problem` entity is on while it is open
 *     (as it would be with a missing-data episode of its own), the episode's id and sentence among its attributes;
 *   - its streams' silence is not judged (Daemon.judgeSilences skips them: silenced), and once the device is back,
 *     counted from then on (backAt), not from each stream's last reading;
 *   - the gap of each of its streams not heard since it said so ends unjudged and untaught at its next reading
 *     (Detector.excuseGap, as a gap the daemon could not hear): a device that was switched off is no silence the
 *     stream should learn as usual.
 * The episode ends (resolve) when the device says it is online, or at the first reading of any of its streams.
 * It opens only for a device with streams anomalyd knows (a retained `offline` of a device never read opens none),
 * and not when each of them already has its silence told (an open `missing data` episode, its own or its device's):
 * the device's word after the silence judge's (an expire_after longer than its wait, a late availability or LWT)
 * leaves that silence the one episode (tryout 29, finding 5: it was a second alert, `device_offline`, for it).
 * Across a restart the open episode stays open (Daemon.resolveOrphanedEpisodes hands it back: restore), its device
 * offline until it says otherwise or reads again.
 *
 * A device that SLEEPS (ESPHome's deep sleep, a battery Tasmota or zigbee2mqtt device: tryout 32) says `offline` before
 * each sleep and comes back on its own cadence. Once SLEEP_CYCLES of its offline spans in a row were alike (each within
 * SLEEP_WAIT times the others' length), it is a sleeper: its `offline` opens no episode, it is asleep (its streams'
 * silence not judged, as while it says it is offline), and it is told only when it has not woken (said `online` or
 * read again) within SLEEP_WAIT times its usual sleep (the longest of its last SLEEP_CYCLES sleeps), in the device's
 * own time, as a report-on-change stream's heartbeat is its own longest quiet (StreamScore.quietestMs): one
 * device_offline episode, `garden-soil offline since 10:02 (the device said so on garden-soil/status), did not wake
 * within 45 min, usually sleeps 15 min, 1 stream silent`. Its first sleeps, before the cadence is known, are told
 * as any device's. The cadence is kept in the store (SleepWiring.save: a `#sleep` checkpoint row) across a restart.
 *
 * A device without availability messages is never touched: nothing here runs for its streams, so the detector is
 * the same for them (scripts/detector-hash.mjs).
 */
import type { Logger } from 'pino';
import type { AlertExplanation } from '../contract/alerts.js';
import type { AnomalyEvent } from '../contract/types.js';
import { clockTime, formatDuration, KIND_LABELS } from '../explain/explain.js';
import { deviceEvent, deviceExplanation } from './device-episode.js';

/** What the availability book needs of the daemon. */
export interface AvailabilityWiring {
  /** The streams of `device` anomalyd knows now (those whose Reading.source is the device). */
  readonly streamsOf: (device: string) => readonly string[];
  /** Stores, then alerts, one event of a device episode (Daemon.recordEvent); false when the store refused it. */
  readonly record: (ev: AnomalyEvent, explanation: AlertExplanation) => boolean;
  /** A new episode id. */
  readonly newId: () => string;
  /** score.threshold, carried by the events (a device episode has no score of its own: its scores are 0). */
  readonly threshold: number;
  /** explain.timeZone (undefined: the host's), for the sentence's clock times. */
  readonly timeZone?: string;
  readonly log: Logger;
  /**
   * Called after a device's episode opened or ended (its alert recorded), with the device and its streams anomalyd
   * knows now: their retained states tell the device's episode (SensorStatusBoard.refresh: Home Assistant's problem
   * entities of those streams are on while it is open). Optional.
   */
  readonly changed?: (device: string, streams: readonly string[]) => void;
  /**
   * Whether the stream's silence is already told: its `missing data` episode (Detector.silenceOpen, its own or a
   * member of its device's silence episode) is open. A device whose every known stream's silence is told opens no
   * episode of its own when it says it is offline (said). Absent: never.
   */
  readonly silenceTold?: (stream: string) => boolean;
  /**
   * Keeps the sleepers' cadences (DeviceAvailability.sleepState, JSON) where the next start finds them
   * (DeviceAvailability.restoreSleep). Called when a cadence changes (at most once per wake of a device). Optional:
   * without it a restart learns the cadences again (its first sleeps told).
   */
  readonly saveSleep?: (state: string) => void;
}

/**
 * A device's offline spans in a row alike (each within SLEEP_WAIT times the others) that make it a sleeper: one span
 * is a length but no cadence, two alike may be chance (a reboot after an outage of the same length); three is the
 * fewest that shows a rhythm, and costs at most three told sleeps (at a 15-min wake, 45 min of a day's 96 sleeps).
 */
export const SLEEP_CYCLES = 3;

/**
 * How many of its usual sleeps a sleeper may stay offline before it is told (and the most a sleep may differ from the
 * others of its cadence, either way). ESPHome's deep sleep wakes on a fixed period; a wake that waits for Wi-Fi or
 * a broker may take a while longer, never three periods.
 */
export const SLEEP_WAIT = 3;

/** The checkpoint row (SensorStateRow.sensor) that keeps the sleepers' cadences: no stream id holds `#`. */
export const SLEEP_KEY = '#sleep';

/** A device's sleep cadence: its last alike offline spans (ms, newest last, at most SLEEP_CYCLES). */
interface Cadence {
  readonly spans: readonly number[];
}

/** A sleeper now asleep: since when (epoch ms, its `offline`'s arrival), where it said so. */
interface Asleep {
  readonly since: number;
  readonly topic: string;
  readonly why?: string;
}

/** A device's open episode as its streams' retained states tell it (SensorStatePayload `anomaly_id`, `kind`, `sentence`). */
export interface DeviceEpisode {
  readonly anomalyId: string;
  /** Its open sentence, with its kind's label: `esp-power offline since 10:02 (the device said so on esp-power/status), 4 streams silent (device offline)`. */
  readonly sentence: string;
}

/** A device that said it is offline, with its open episode. */
interface Offline {
  readonly anomalyId: string;
  /** When the device said so (epoch ms, the message's arrival), or the restored episode's start. */
  readonly since: number;
  /** The open sentence without its kind label: `esp-power offline since 10:02 (the device said so on esp-power/status), 16 streams silent`. */
  readonly told: string;
  /** A sleeper told because it did not wake in time (its offline span then is no sleep of its cadence). */
  readonly overdue?: boolean;
}

/** At most this many devices are remembered as back online (backAt); more start the memory over. */
const MAX_BACK = 10_000;

/**
 * The devices that said they are offline and their episodes (see the module comment). Bounded: one entry per device
 * offline or back (at most MAX_BACK of these), one per stream asked about (deviceOf, dropped at its eviction).
 */
export class DeviceAvailability {
  private readonly offline = new Map<string, Offline>();
  /**
   * Per device back from being offline: when it said it is online again or read again (`at`), and since when it had
   * said it was offline (`since`), epoch ms.
   */
  private readonly back = new Map<string, { readonly at: number; readonly since: number }>();
  /** Per stream, its device as the parser keeps it (looked up once: Daemon.judgeSilences asks at every tick while active). */
  private readonly devices = new Map<string, string>();
  /** Per device that came back after saying it was offline, its sleep cadence (at most MAX_BACK devices). */
  private readonly cadences = new Map<string, Cadence>();
  /** The sleepers asleep now (said `offline`, no episode open). */
  private readonly asleep = new Map<string, Asleep>();

  constructor(private readonly w: AvailabilityWiring) {}

  /** Whether any device is offline or back from being offline: false = nothing here applies to any stream (cheap). */
  get active(): boolean {
    return this.offline.size > 0 || this.back.size > 0 || this.asleep.size > 0;
  }

  /**
   * The device of `stream`, found once by `lookup` (Detector.sourceOf; the stream itself when unknown) and kept until
   * the stream is forgotten (its device never changes: it is part of the stream's id).
   */
  deviceOf(stream: string, lookup: (stream: string) => string | undefined): string {
    let device = this.devices.get(stream);
    if (device === undefined) {
      device = lookup(stream) ?? stream;
      this.devices.set(stream, device);
    }
    return device;
  }

  /** Forgets a stream (its eviction). */
  forget(stream: string): void {
    this.devices.delete(stream);
  }

  /** Whether `device` says it is offline now: its streams' silence is not judged (Daemon.judgeSilences). */
  silenced(device: string): boolean {
    return this.offline.has(device) || this.asleep.has(device);
  }

  /**
   * The usual sleep of `device` (ms: the longest of its last SLEEP_CYCLES alike offline spans) once it is a sleeper
   * (SLEEP_CYCLES of them in a row), else null.
   */
  usualSleep(device: string): number | null {
    const c = this.cadences.get(device);
    return c === undefined || c.spans.length < SLEEP_CYCLES ? null : Math.max(...c.spans);
  }

  /**
   * Tells each sleeper that has not woken within SLEEP_WAIT times its usual sleep at `now` (epoch ms, the daemon's
   * clock): one device_offline episode from when it said it is offline (Daemon.judgeSilences, not while the daemon
   * cannot hear its devices). `listeningSince` (epoch ms, MqttAdapter.listeningSince; null: always): its wait counts
   * from then at the earliest, as a silence does (a wake while the connection was down was not heard).
   */
  judgeSleepers(now: number, listeningSince: number | null = null): void {
    for (const [device, a] of [...this.asleep]) {
      const usual = this.usualSleep(device);
      if (usual !== null && now - Math.max(a.since, listeningSince ?? a.since) <= SLEEP_WAIT * usual) continue;
      this.asleep.delete(device);
      const streams = this.w.streamsOf(device);
      if (streams.length === 0) continue;
      const wait = usual === null ? now - a.since : SLEEP_WAIT * usual;
      const told = `${device} offline since ${this.clock(a.since, now)} (${a.why ?? `the device said so on ${a.topic}`}), did not wake within ${formatDuration(wait)}, usually sleeps ${formatDuration(usual ?? 0)}, ${streams.length} stream${streams.length === 1 ? '' : 's'} silent`;
      const state: Offline = { anomalyId: this.w.newId(), since: a.since, told, overdue: true };
      if (!this.w.record(this.event('open', device, state, now), this.explanation(device, state, now, told))) {
        this.asleep.set(device, a);
        continue;
      }
      this.offline.set(device, state);
      this.back.delete(device);
      this.w.changed?.(device, streams);
    }
  }

  /** The sleepers' cadences as JSON (`{ "<device>": [span ms, …] }`), for the store (AvailabilityWiring.saveSleep). */
  sleepState(): string {
    const o: Record<string, readonly number[]> = {};
    for (const [device, c] of this.cadences) o[device] = c.spans;
    return JSON.stringify(o);
  }

  /**
   * Takes back the cadences a previous run kept (sleepState's JSON). A malformed entry is skipped; malformed JSON
   * throws (SyntaxError): the caller logs it and learns the cadences again.
   */
  restoreSleep(json: string): void {
    const o = JSON.parse(json) as unknown;
    if (typeof o !== 'object' || o === null) return;
    for (const [device, spans] of Object.entries(o as Record<string, unknown>)) {
      if (!Array.isArray(spans)) continue;
      const ok = spans.filter((x): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0).slice(-SLEEP_CYCLES);
      if (ok.length > 0 && this.cadences.size < MAX_BACK) this.cadences.set(device, { spans: ok });
    }
  }

  /** A device back after an offline span of `span` ms that was a sleep (not an overdue one): its cadence learns it. */
  private learnSleep(device: string, span: number): void {
    if (!(span > 0)) return;
    const c = this.cadences.get(device);
    const alike = c !== undefined && c.spans.every((x) => span <= SLEEP_WAIT * x && x <= SLEEP_WAIT * span);
    const spans = alike ? [...c.spans, span].slice(-SLEEP_CYCLES) : [span];
    if (!this.cadences.has(device) && this.cadences.size >= MAX_BACK) this.cadences.clear();
    this.cadences.set(device, { spans });
    if (this.w.saveSleep === undefined) return;
    try {
      this.w.saveSleep(this.sleepState());
    } catch (err) {
      this.w.log.warn({ err, device }, 'the sleep cadences could not be kept in the store (after a restart they are learnt again)');
    }
  }

  /** A sleeper wakes at `at` (its `online` or a reading): its sleep learnt, its streams' silence counted from now. */
  private wake(device: string, a: Asleep, at: number): void {
    this.asleep.delete(device);
    if (this.back.size >= MAX_BACK) this.back.clear();
    this.back.set(device, { at, since: a.since });
    this.learnSleep(device, at - a.since);
  }

  /**
   * The open episode of `device` while it says it is offline, else null. Its sentence is the one its open alert told
   * (it does not change while the episode is open; the resolve tells the whole of it).
   */
  episodeOf(device: string): DeviceEpisode | null {
    const open = this.offline.get(device);
    return open === undefined ? null : { anomalyId: open.anomalyId, sentence: `${open.told} (${KIND_LABELS.device_offline})` };
  }

  /**
   * Each open device episode's progress at `now` (epoch ms, the clock its `since` is on: the daemon's), for its record
   * (Daemon.touchOpenEpisodes): its id, its end so far (`now`, never before its start) and its explanation with
   * `duration_ms` how long the device has said it is offline; the sentence stays its open one (episodeOf: the one
   * its streams' retained states carry). A device episode has no reading, so nothing else moves it: its record said
   * `LASTED 0s` and `duration_ms: 0` for as long as it was open (tryout 23, finding F6).
   */
  progress(now: number): Array<{ readonly anomalyId: string; readonly endTs: number; readonly explanation: AlertExplanation }> {
    const out: Array<{ readonly anomalyId: string; readonly endTs: number; readonly explanation: AlertExplanation }> = [];
    for (const [device, open] of this.offline) {
      const at = Math.max(open.since, now);
      out.push({ anomalyId: open.anomalyId, endTs: at, explanation: this.explanation(device, open, at, open.told) });
    }
    return out;
  }

  /** When `device` came back after saying it was offline (epoch ms), or undefined: its streams' silence counts from then at the earliest. */
  backAt(device: string): number | undefined {
    return this.back.get(device)?.at;
  }

  /**
   * The device's word (ParseOptions.onAvailability): `online` false opens its episode (when it has streams, none is
   * open, and not every one of its streams' silence is told already: AvailabilityWiring.silenceTold; then it is
   * logged, and that silence stays the one episode), true resolves it. `at`: the message's arrival (epoch ms), `topic` where it said so. `why`: the words in its
   * sentence's parentheses when the device did not say so itself (a discovered entity's state expired, its
   * expire_after: `no state on office/th1/state for 1 min, its expire_after`); absent: `the device said so on <topic>`.
   */
  said(device: string, online: boolean, topic: string, at: number, why?: string): void {
    const open = this.offline.get(device);
    const sleeping = this.asleep.get(device);
    if (online) {
      if (open !== undefined) this.resolve(device, open, at, `online again at ${this.clock(at, at)}`);
      else if (sleeping !== undefined) this.wake(device, sleeping, at);
      return;
    }
    if (open !== undefined || sleeping !== undefined) return;
    // A sleeper's `offline` is its sleep: told only if it does not wake in time (judgeSleepers).
    if (this.usualSleep(device) !== null) {
      this.asleep.set(device, { since: at, topic, ...(why !== undefined ? { why } : {}) });
      this.w.log.debug({ device, topic, usualMs: this.usualSleep(device) }, 'a sleeper said it is offline: asleep, told only if it does not wake in time');
      return;
    }
    const streams = this.w.streamsOf(device);
    if (streams.length === 0) {
      this.w.log.debug({ device, topic }, 'a device said it is offline: none of its streams is known, no episode');
      return;
    }
    // Its word after the silence of each of its streams was told (an expire_after longer than the silence judge's wait,
    // a zigbee2mqtt availability or an LWT arriving late: tryout 29, finding 5) is no news: that silence stays the one
    // episode, its resolve at the next reading, and its streams' problem entities keep telling it. A second episode
    // for the same silence, `device_offline`, was an alert no entity showed.
    const silenceTold = this.w.silenceTold;
    if (silenceTold !== undefined && streams.every((s) => silenceTold(s))) {
      this.w.log.info(
        { device, topic, streams, at: new Date(at).toISOString(), ...(why !== undefined ? { why } : {}) },
        `${device} said it is offline (${why ?? `on ${topic}`}) after the silence of ${streams.length === 1 ? 'its stream' : `each of its ${streams.length} streams`} was told: that missing-data episode stays the one episode, no device_offline opens`,
      );
      return;
    }
    const told = `${device} offline since ${this.clock(at, at)} (${why ?? `the device said so on ${topic}`}), ${streams.length} stream${streams.length === 1 ? '' : 's'} silent`;
    const state: Offline = { anomalyId: this.w.newId(), since: at, told };
    if (!this.w.record(this.event('open', device, state, at), this.explanation(device, state, at, told))) return;
    this.offline.set(device, state);
    this.back.delete(device);
    this.w.changed?.(device, streams);
  }

  /**
   * A reading of a stream of `device` arrives (at `at`, epoch ms), the stream last heard at `heardAt` (the arrival
   * of its previous reading, or null): the device is online (its episode resolved: `readings again at …`). True when
   * the stream has not been heard since its device said it was offline (now or before it came back): the gap before
   * this reading is the device's offline span, to be excused (Detector.excuseGap).
   */
  reading(device: string, heardAt: number | null, at: number): boolean {
    const open = this.offline.get(device);
    const sleeping = this.asleep.get(device);
    const since = open?.since ?? sleeping?.since ?? this.back.get(device)?.since;
    if (open !== undefined) this.resolve(device, open, at, `readings again at ${this.clock(at, at)}`);
    else if (sleeping !== undefined) this.wake(device, sleeping, at);
    return since !== undefined && heardAt !== null && heardAt < since;
  }

  /**
   * Takes back a device episode left open at the stop (its stored record: id, device, start and sentence): the
   * device is offline until it says otherwise or reads again; its streams' next gaps are its.
   */
  restore(device: string, anomalyId: string, since: number, sentence: string | null): void {
    const label = ` (${KIND_LABELS.device_offline})`;
    const told = sentence !== null && sentence.endsWith(label) ? sentence.slice(0, -label.length) : `${device} offline since ${this.clock(since, since)} (the device said so)`;
    // A sleeper told because it did not wake in time stays so: its span is not learnt as a sleep at its return.
    this.offline.set(device, { anomalyId, since, told, ...(told.includes(', did not wake within ') ? { overdue: true } : {}) });
  }

  private resolve(device: string, open: Offline, at: number, how: string): void {
    this.offline.delete(device);
    if (this.back.size >= MAX_BACK) this.back.clear();
    this.back.set(device, { at, since: open.since });
    // A told sleep of a device not yet known to sleep counts toward its cadence; an overdue sleeper's span does not
    // (its cadence stays: its next sleep is judged against it again).
    if (open.overdue !== true) this.learnSleep(device, at - open.since);
    const sentence = `${open.told}; ${how}, after ${formatDuration(Math.max(0, at - open.since))}`;
    // `recovered`, as a silence's episode ends at the stream's next reading: the device is back (its `online`, or a
    // reading of it). Its resolve said no resolution at all (tryout 24, finding 5), which reads as the daemon's own
    // resolve of an episode no detector will finish (docs/ALERTS.md, `resolution`).
    this.w.record({ ...this.event('resolve', device, open, at), resolution: 'recovered' }, this.explanation(device, open, at, sentence));
    if (this.w.changed) this.w.changed(device, this.w.streamsOf(device));
  }

  private event(kind: 'open' | 'resolve', device: string, state: Offline, at: number): AnomalyEvent {
    return deviceEvent(kind, device, state, at, this.w.threshold);
  }

  private explanation(device: string, state: Offline, at: number, sentence: string): AlertExplanation {
    return deviceExplanation('device_offline', device, state, at, sentence);
  }

  private clock(ts: number, reference: number): string {
    return clockTime(ts, reference, this.w.timeZone);
  }
}
