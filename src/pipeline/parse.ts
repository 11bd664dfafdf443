/**
 * Parse stage: one MQTT message -> readings of streams, or rejections with a counted reason.
 *
 *   topic ─► route (./route.ts: which rule, which device) ─► decoder (./decode/: one per payload format)
 *         ─► mapping (fields -> streams, channel groups) ─► admission (./admit.ts: time order, caps)
 *
 * Payload formats (see each decoder): a plain value (`21.5`, `21,5` with a ',' rule, `unavailable`), a JSON
 * object (one instant; nested fields by dotted path), `{"values": [...], "ts", "interval_ms"}` and a JSON
 * array of objects (bursts). The common forms are read by a byte scanner first (./decode/fast.ts) with
 * identical results. Streams, not payloads: every numeric field is its own one-value stream (see
 * Reading.sensor); with `objects: 'channels'` (replay of multi-column files) an object is one
 * multi-channel reading instead. A null or missing field is a missing reading of its stream and never a
 * reason to reject its siblings.
 *
 * Results: all good -> 'readings' with no rejections; a whole message rejected (or its only reading) ->
 * 'rejected'; otherwise 'readings' with the good ones plus one rejection per bad stream or element. A message
 * that is by design no reading and no error is 'readings' with none and `skipped` set (SkipReason): a hub's own
 * topic, a hub event (no field the rule takes), a text state, or every field it takes missing (`missing_value`).
 * So every message ends in exactly one of: at least one reading, at least one rejection and no reading,
 * skipped, or (the only case with neither and no `skipped`) its readings held by admission until the stream's
 * next reading (./admit.ts), which releases or rejects them then.
 *
 * One bad message never stops the stream: whatever a decoder or admission throws for one message becomes
 * that message's `internal_error` rejection naming the stage. JSON nested deeper than MAX_JSON_DEPTH is
 * `too_deep`, refused on its bytes before JSON.parse; nothing here recurses over a payload.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { ParseResult, RawMessage, Reading, RejectReason, Rejection, SkipReason } from '../contract/types.js';
import { Admission, HOLD, type ParserSnapshot, type Settled, type StreamTable } from './admit.js';
import { arrayBurstDecoder, valuesBurstDecoder } from './decode/burst.js';
import { FastScanner } from './decode/fast.js';
import { isObject, MAX_JSON_DEPTH, parseJson } from './decode/json.js';
import { objectDecoder } from './decode/object.js';
import { decodePlainText, plainDecoder } from './decode/plain.js';
import { ClockLag, type OnClockLag } from './clock-lag.js';
import { decodeEnvelope, type EnvelopeDecoded } from './decode/envelope.js';
import { valueAt } from './decode/record.js';
import { preview, previewBytes } from './decode/text.js';
import { parseTimestamp as parseDeviceTime } from './decode/time.js';
import type { DecodeContext, Decoded, DecodedRecord, PayloadDecoder, Problem } from './decode/types.js';
import type { TopicCapture } from './topic.js';
import { haAlarmWords, RULE_DEFAULTS, type OnOffWords } from '../contract/ingest.js';
import { ResentMessages } from './resent.js';
import { compileRule, fieldName, routeOf, safePart, streamId, type CompiledGroup, type CompiledRule, type Route } from './route.js';
import { discoveryUnitOf, discoveryWhere, entityAvailable, isPlainTopic, readDiscoveryConfig, type DiscoveredEntity, type DiscoveryConfig, type DiscoveryComponent, type DiscoveryWhere, type EntityRefusal } from './discovery-config.js';
import { compileValueTemplate } from './decode/value-template.js';

export type { ParserSnapshot } from './admit.js';
export { preview } from './decode/text.js';

export interface ParseOptions {
  /**
   * The sensor id of a topic, for a single rule with default decoding (tests, replay, bench). Ignored when
   * `rules` is given.
   */
  readonly sensorOf?: (topic: string) => string | null;
  /** The mapping rules, first match wins (route.ts). */
  readonly rules?: readonly CompiledRule[];
  /** Multi-channel groups (opt-in): fields of one device aligned into one reading of `<device>/<group>`. */
  readonly groups?: readonly CompiledGroup[];
  /** 'streams' (default): one stream per numeric field. 'channels': one multi-channel reading per object. */
  readonly objects?: 'streams' | 'channels';
  readonly maxPayloadBytes: number;
  readonly maxFutureMs: number;
  readonly outOfOrderToleranceMs: number;
  readonly maxReadingsPerMessage: number;
  readonly longBurst: 'split' | 'truncate';
  /** Window length W: the number of readings 'truncate' keeps of a long burst. */
  readonly window: number;
  /** Streams tracked in all (default 10 000); a new stream beyond it is too_many_streams. */
  readonly maxSensors?: number;
  /** Streams per device (default 64). */
  readonly maxStreamsPerSensor?: number;
  /** IANA zone of device times without an offset, for the `sensorOf` rule (default UTC). */
  readonly timezone?: string;
  /**
   * false sends every payload through JSON.parse (default true). The results are the same either way;
   * this exists so the two paths can be compared, and to rule the scanner out when chasing a parse bug.
   */
  readonly fastPath?: boolean;
  /** A device whose clock is ahead of arrival by more than maxFutureMs: called once per device. */
  readonly onClockSkew?: (sensor: string, aheadMs: number) => void;
  /**
   * A stream heard once that a new stream displaces when the table is full (./admit.ts, streams heard once): the
   * caller makes every stage forget it (this parser's forget() included). Absent: nothing is displaced.
   */
  readonly onDisplace?: (stream: string) => void;
  /**
   * A message whose device time is a clock never set (before 2000: Tasmota without NTP), stamped on arrival
   * instead: called for every such message, `first` true the first time for the device (at most maxSensors
   * devices are told apart; beyond, `first` is false).
   */
  readonly onUnsetClock?: (sensor: string, time: string, first: boolean) => void;
  /**
   * A stream whose device times lag arrival by about the same whole number of hours over several readings (a
   * time zone mix-up; ./clock-lag.ts): called once per stream, saying whether it is its device's first. Only
   * observes: the readings are taken as before.
   */
  readonly onClockLag?: OnClockLag;
  /**
   * A stream whose unit, as its hub states it (MappingRuleSpec.units: Tasmota's `TempUnit`), changed from one
   * reading to the next (`°C` → `°F`: a level shift of the readings, which are never converted): called at each
   * change, `first` true at the stream's first change from `from` to `to` (each direction once: °F → °C, then the real
   * °C → °F after it, are both first; a repeat of either is not; tryout 25, finding 7), `ts` the time of the first reading stated in `to` (epoch ms,
   * the reading's own). Whatever this does, the unit is kept (statedUnit). A unit given back at start
   * (restoreStatedUnit) counts as stated: a message after a restart stating another one is a change too
   * (`restored` true: the change happened while the daemon was down, `from` being the unit stated before the stop).
   */
  readonly onUnitChange?: (stream: string, from: string, to: string, first: boolean, ts: number, restored: boolean) => void;
  /**
   * A text state (skipped, counted `text_state`: MappingRuleSpec.skipText, Home Assistant's presets) that is a
   * number written with a decimal comma (`21,5`), which a rule with `decimal: ","` would read: called once per
   * device (at most maxSensors devices are told apart) with the state and the message's topic. Only observes: the
   * message is skipped as before.
   */
  readonly onDecimalComma?: (sensor: string, state: string, topic: string) => void;
  /**
   * A device's own word on whether it is online (MappingRuleSpec.availability: ESPHome's `<topic_prefix>/status`
   * `offline`): called for every such message that says online or offline, retained or not (a retained one is the
   * broker's last value, replayed at subscribe), with the device (as its streams name it: their Reading.source), the
   * word, the message's topic, its arrival (epoch ms) and whether it was retained. Only observes: the message is
   * skipped `hub_topic` whatever this does. Also called by judgeEntityExpiry (no message): a discovered entity whose
   * state expired (its expire_after), `expired` set, `topic` its state topic, `receivedAt` the moment it expired.
   */
  readonly onAvailability?: (device: string, online: boolean, topic: string, receivedAt: number, retained: boolean, expired?: EntityExpiry) => void;
  /**
   * The Home Assistant discovery prefix (`homeassistant`) whose sensor configs state their streams' units
   * (`<prefix>/sensor/[<node>/]<object>/config`: `unit_of_measurement` or ESPHome's abbreviated `unit_of_meas`, for
   * the stream its `state_topic` / `stat_t` gives under these rules; see discoveryUnitOf); null or absent = none read.
   * The configs are skipped `hub_topic`; the unit is each later reading's stated unit (statedUnit, onUnitChange) for a
   * stream whose rule states no units of its own (MappingRuleSpec.units).
   */
  readonly discoveryPrefix?: string | null;
  /**
   * Home Assistant discovery entities read on their own (the homeassistant preset; needs discoveryPrefix): a config of a
   * sensor, binary_sensor or number (`<prefix>/<component>/[<node>/]<object>/config`) whose state topic no rule reads
   * (a Tasmota with SetOption19, OpenMQTTGateway, a DIY board: `office/th1/state`) makes that topic's messages readings
   * of the stream `[<node>/]<object>` (./discovery-config.ts), read through its value_template
   * (./decode/value-template.ts) and decoded as `rule` decodes a plain value, its unit the config's. At most maxSensors
   * entities (a config beyond is rejected `too_many_streams`); an emptied config deletes its entity. An entity's
   * availability topics (DiscoveryConfig.availability) are its device's word, told to onAvailability as a preset's
   * availability topic is. Absent = none.
   */
  readonly discoveryEntities?: DiscoveryEntitiesOptions;
}

/** ParseOptions.discoveryEntities. */
export interface DiscoveryEntitiesOptions {
  /** The rule whose decoding an entity's state takes (missing-words, text states): the homeassistant preset's. */
  readonly rule: CompiledRule;
  /** mqtt.topicPrefix: a state topic under it is the daemon's own entity (its discovery configs come back), never read. */
  readonly ownPrefix: string;
  /**
   * A topic an entity reads now, its state topic or one of its availability topics (`on` true: subscribe to it), or
   * that no entity reads any more (false: unsubscribe). Called once per change of the set of those topics, in order.
   */
  readonly onStateTopic?: (topic: string, on: boolean) => void;
  /**
   * A config taken with a problem its states will be rejected for (its value_template not read), or not taken at all
   * (entities at the cap, a state topic that is no topic): called once per config topic and problem (at most
   * maxSensors of them; the cap once in all), with the entity's stream and the problem in words.
   */
  readonly onEntityProblem?: (stream: string, configTopic: string, problem: string) => void;
  /**
   * An entity's config taken or changed (`payload`: its text) or its entity deleted (null): the daemon keeps the
   * entities in its store (restoreEntityConfigs at the next start), so that states queued for its persistent session,
   * which the broker sends before the retained configs replay, are read. Not called for an unchanged config (a
   * retained replay) nor for one given back by restoreEntityConfigs. Must not throw.
   */
  readonly onEntityConfig?: (configTopic: string, payload: string | null) => void;
  /**
   * An entity's availability state changed (what its availability topics said, whether it has had a live state, whether
   * its state expired: MessageParser.entityAvailabilityState's text), so that the daemon keeps it beside its config
   * (restoreEntityAvailability at the next start). Not called for a state given back. Must not throw.
   */
  readonly onEntityAvailability?: (configTopic: string, state: string) => void;
}

/** A discovered entity's state expired (ParseOptions.onAvailability, judgeEntityExpiry): its expire_after, ms. */
export interface EntityExpiry {
  readonly afterMs: number;
}

/**
 * The discovered entities as `anomalyd status` tells them (MessageParser.discoveryTable): the configs read, of
 * which `entities` are read on their own state topic (their `streams`), `units` only state the unit of a stream a
 * rule reads, and `refused` per reason (EntityRefusal) the configs not read (or whose states are not: unread_template).
 */
export interface DiscoveryTable {
  /** Entities read on their own state topics (an entity whose template is not read is among `refused`). */
  readonly entities: number;
  /** Their streams (at most ingest.maxStreams). */
  readonly streams: readonly string[];
  /** Configs of sensors whose state topic a rule reads: they state the stream's unit. */
  readonly units: number;
  /** Configs not read, per reason (only reasons that occur). */
  readonly refused: Readonly<Partial<Record<EntityRefusal, number>>>;
}

/** Every one-value reading shares this channel array, so a reading allocates none. */
const VALUE_CHANNELS: readonly string[] = Object.freeze(['value']);
const NO_REJECTIONS: readonly Rejection[] = Object.freeze([]);
/** A message a rule skips, by design no reading and no error (SkipReason): no reading, no rejection, counted by reason. */
const SKIPPED: Readonly<Record<SkipReason, ParseResult>> = Object.freeze({
  hub_topic: Object.freeze({ kind: 'readings', readings: Object.freeze([]), rejections: NO_REJECTIONS, skipped: 'hub_topic' }),
  hub_event: Object.freeze({ kind: 'readings', readings: Object.freeze([]), rejections: NO_REJECTIONS, skipped: 'hub_event' }),
  text_state: Object.freeze({ kind: 'readings', readings: Object.freeze([]), rejections: NO_REJECTIONS, skipped: 'text_state' }),
  missing_value: Object.freeze({ kind: 'readings', readings: Object.freeze([]), rejections: NO_REJECTIONS, skipped: 'missing_value' }),
});
/** Longest text a text state may be (Home Assistant's states are at most 255 characters). */
const MAX_TEXT_STATE = 255;
/** A number written with a decimal comma (`21,5`, `-0,25`): a text state to the `.` reader, a reading with `decimal: ","`. */
const DECIMAL_COMMA = /^[+-]?\d+,\d+$/;
const MAX_STREAM_ID = 256;
/** The discovery components whose configs are read: sensors' alone for their units, and entities' of these with discoveryEntities. */
// A binary_sensor's config too, for its device class (an ESPHome leak sensor's `dev_cla: moisture`).
const SENSOR_ONLY: readonly DiscoveryComponent[] = ['sensor', 'binary_sensor'];
const ENTITY_COMPONENTS: readonly DiscoveryComponent[] = ['sensor', 'binary_sensor', 'number'];
/** The format decoders, tried in order on a parsed document. */
const DECODERS: readonly PayloadDecoder[] = [valuesBurstDecoder, objectDecoder, arrayBurstDecoder, plainDecoder];


type Stage = 'route' | 'decode' | 'map' | 'admit';

interface Candidate {
  readonly stream: string;
  readonly ts: number;
  readonly channels: readonly string[];
  readonly values: number[];
  readonly index: number;
  /** DecodedRecord.repeated: the later instant of a wall time the zone repeats (`ts` the earlier); resolveRepeated picks. */
  readonly repeated?: number;
}

/** unitChanged's mark of a stream given back at start as changed before, without its changes (an older checkpoint). */
const UNKNOWN_CHANGES = '*';
/** Unit changes a stream's unitChanged remembers; past them every change is no first. */
const MAX_UNIT_CHANGES_SEEN = 16;

export class MessageParser {
  private readonly rules: readonly CompiledRule[];
  private readonly admission: Admission;
  /** The last messages read per MQTT topic, to tell a broker's re-sent copy of one (RawMessage.dup). */
  private readonly resent: ResentMessages;
  /** null when the fast path is off. One per parser, reused for every message: scanning allocates nothing. */
  private readonly scanner: FastScanner | null;
  private readonly groups: readonly CompiledGroup[];
  private readonly channelsMode: boolean;
  /** Held readings one admit() settled, drained at once (reused: admitting allocates nothing for it). */
  private readonly settled: Settled[] = [];
  /** Watches accepted readings for a clock hours behind (ParseOptions.onClockLag); null without the callback. */
  private readonly lag: ClockLag | null;
  /** Devices (by rule) whose envelope was read, for EnvelopeSpec.supersedes; at most maxSensors. */
  private readonly envelopeDevices = new Set<string>();
  /** Devices already reported to onUnsetClock. */
  private readonly unsetClockReported = new Set<string>();
  /** Devices already reported to onDecimalComma. */
  private readonly decimalCommaReported = new Set<string>();
  /** Per stream, the unit its hub last stated (MappingRuleSpec.units); at most maxSensors streams. */
  private readonly units = new Map<string, string>();
  /**
   * Per stream whose stated unit changed, the changes seen (`from\0to`; onUnitChange's `first`), UNKNOWN_CHANGES for one
   * given back at start as changed without them; streams at most as `units`.
   */
  private readonly unitChanged = new Map<string, Set<string>>();
  /** Streams their hub states are cumulative counters (MappingRuleSpec.counters); at most maxSensors streams. */
  private readonly counters = new Set<string>();
  /** Streams their hub sends on/off readings in (MappingRuleSpec.onOff), with their states' words; at most maxSensors streams. */
  private readonly onOffs = new Map<string, OnOffWords>();
  /**
   * On/off streams whose Home Assistant device class is an alarm class (a binary_sensor's discovery config
   * `device_class` / `dev_cla`, statestream's `device_class` attribute): their words (`leak` / `dry`, alarm), which
   * win over the rule's (noteOnOff). At most maxSensors.
   */
  private readonly classWords = new Map<string, OnOffWords>();
  /** The stream each binary_sensor discovery config topic stated an alarm class for (to forget it with the config). */
  private readonly classStreams = new Map<string, string>();
  /**
   * Words of on/off streams given back at start (restoreOnOffWords, their checkpoint) and no reading of them since:
   * told (onOffWords), never judged by (statedOnOff: the stream's next reading says again whether it is on/off).
   */
  private readonly restoredOnOffs = new Map<string, OnOffWords>();
  /** Streams whose unit was given back at start (restoreStatedUnit) and not stated since (onUnitChange's `restored`). */
  private readonly unitRestored = new Set<string>();
  /** Per stream, the unit a Home Assistant discovery config states for it (ParseOptions.discoveryPrefix); at most maxSensors. */
  private readonly discoveryUnits = new Map<string, string>();
  /** Per discovery config topic, the stream its config named (an emptied config forgets its unit). */
  private readonly discoveryStreams = new Map<string, string>();
  /** Discovered entities (ParseOptions.discoveryEntities) by config topic; at most maxSensors. */
  private readonly entities = new Map<string, DiscoveredEntity>();
  /** The same entities by state topic (several entities may read one JSON state: Tasmota's `tele/<t>/SENSOR`). */
  private readonly entitiesByState = new Map<string, DiscoveredEntity[]>();
  /** The topics discovered entities read (state and availability topics), with how many entities read each. */
  private readonly entityTopicUses = new Map<string, number>();
  /** Entities by availability topic (several entities of one device share its `<node>/status`). */
  private readonly entitiesByAvailability = new Map<string, DiscoveredEntity[]>();
  /** Per entity (config topic), what its availability topics said: each topic's last word and the latest one. */
  private readonly entityAvailability = new Map<string, { readonly said: Map<string, boolean>; latest: boolean | null }>();
  /**
   * Per entity with an expire_after (config topic): the arrival of its last live state (epoch ms), or -Infinity for
   * one that had live states before a restart (restoreEntityAvailability) and none since.
   */
  private readonly entityStateAt = new Map<string, number>();
  /** Entities whose state expired (judgeEntityExpiry) and has not come again since. */
  private readonly entityExpired = new Set<string>();
  /** Per config topic refused (or whose states are not read), why; at most maxSensors (DiscoveryTable.refused). */
  private readonly entityRefusals = new Map<string, EntityRefusal>();
  /**
   * The availability topics of discovery configs another anomalyd published (DiscoveryConfig.fromAnomalyd: a second
   * daemon's `<its prefix>/status`): skipped `hub_topic`, never a device's word (tryout 37, finding 4). At most maxSensors.
   */
  private readonly anomalydTopics = new Set<string>();
  /** True while restoreEntityConfigs gives entities back: onEntityConfig is not called for them. */
  private restoringEntities = false;
  /** Entity problems already told (onEntityProblem): `configTopic\0problem`; at most maxSensors. */
  private readonly entityProblemsTold = new Set<string>();
  /** On/off words of a binary_sensor entity once its payload_on / payload_off is matched: `on`, `off`. */
  private readonly entityOnOff = compileRule({ ...RULE_DEFAULTS, name: 'homeassistant', topics: [], onOff: { topics: [], on: ['on'], off: ['off'] } }, 'UTC').onOff!;
  private stage: Stage = 'route';
  /** Set by the candidate mappers when a field the rule takes was a missing reading (null, a missing-word). */
  private sawMissing = false;

  constructor(private readonly opts: ParseOptions) {
    if (opts.rules !== undefined) {
      this.rules = opts.rules;
    } else {
      const sensorOf = opts.sensorOf ?? ((topic: string) => topic);
      // Replay, bench and unit tests: every message is a reading, retained or not.
      const base = compileRule({ ...RULE_DEFAULTS, retained: true, name: 'default', topics: [] }, opts.timezone ?? 'UTC');
      const template = (topic: string): TopicCapture | null => {
        const sensor = sensorOf(topic);
        return sensor === null ? null : { sensor, field: null };
      };
      this.rules = [{ ...base, templates: [template] }];
    }
    this.resent = new ResentMessages(opts.maxSensors ?? 10_000);
    this.admission = new Admission({
      maxFutureMs: opts.maxFutureMs,
      outOfOrderToleranceMs: opts.outOfOrderToleranceMs,
      maxStreams: opts.maxSensors ?? 10_000,
      maxStreamsPerSensor: opts.maxStreamsPerSensor ?? 64,
      onClockSkew: opts.onClockSkew,
      onDisplace: opts.onDisplace,
    });
    this.scanner = opts.fastPath === false ? null : new FastScanner(opts.maxReadingsPerMessage);
    this.groups = opts.groups ?? [];
    this.channelsMode = opts.objects === 'channels';
    this.lag = opts.onClockLag === undefined ? null : new ClockLag(opts.onClockLag, opts.maxSensors ?? 10_000);
  }

  /** Never throws: an exception for one message is that message's `internal_error` rejection. */
  parse(msg: RawMessage): ParseResult {
    this.stage = 'route';
    this.admission.nextMessage();
    try {
      // A broker's re-sent copy (MQTT DUP) of a message read on its topic is not read again (src/pipeline/resent.ts).
      if (msg.dup !== undefined) {
        const read = msg.dup ? this.resent.readOf(msg.topic, msg.payload) : null;
        if (read !== null) return rejectedMessage(msg, read, 'redelivered', 'a message the broker re-sent (MQTT DUP, after a reconnect) identical to one read on its topic: not judged twice');
      }
      const result = this.parseMessage(msg);
      if (msg.dup !== undefined && result.kind === 'readings' && result.readings.length > 0) {
        const first = result.readings[0];
        // Stamped on arrival: only its payload tells a copy re-sent after a restart (its fingerprints checkpointed).
        this.resent.note(msg.topic, msg.payload, first.source ?? first.sensor, first.ts === msg.receivedAt ? first.sensor : null);
      }
      if (this.lag !== null && result.kind === 'readings') for (const r of result.readings) this.lag.observe(r.sensor, r.ts, msg.receivedAt, r.source ?? r.sensor);
      // A reading since the start states itself whether its stream is on/off (noteOnOff): the restored words go.
      if (this.restoredOnOffs.size > 0 && result.kind === 'readings') for (const r of result.readings) this.restoredOnOffs.delete(r.sensor);
      return result;
    } catch (err) {
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return rejectedMessage(msg, null, 'internal_error', `${this.stage}: ${preview(what)}`);
    }
  }

  /** Forgets a stream's last time, usual lead and held readings (dropped: e.g. when it is evicted); its slot is free again. */
  forget(stream: string): void {
    this.admission.forget(stream);
    this.resent.forget(stream);
    // A discovery config's unit stays: the config is retained once, not sent again when the stream comes back.
    this.lag?.forget(stream);
    this.units.delete(stream);
    this.unitChanged.delete(stream);
    this.counters.delete(stream);
    this.onOffs.delete(stream);
    this.restoredOnOffs.delete(stream);
    this.unitRestored.delete(stream);
  }

  /**
   * Whether `stream`'s readings are on/off, 1 and 0, as its hub sends them (MappingRuleSpec.onOff: a zigbee2mqtt
   * `contact`, an ESPHome binary_sensor's `ON`/`OFF`), since the daemon started (noted at each reading, so a restart
   * knows it again at the stream's first reading). The detector judges such a stream on its silence only
   * (src/pipeline/scorer.ts, StepItem.onOff).
   */
  statedOnOff(stream: string): boolean {
    return this.onOffs.size > 0 && this.onOffs.has(stream);
  }

  /**
   * The words of `stream`'s states (MappingRuleSpec.onOff's `states`: a zigbee2mqtt `contact`'s 1 `closed`, 0 `open`;
   * `on` / `off` where its field names none), or null when it is no on/off stream (statedOnOff). Before the stream's
   * first reading since the daemon started, the words its checkpoint gave back (restoreOnOffWords), or null.
   */
  onOffWords(stream: string): OnOffWords | null {
    if (this.onOffs.size > 0) {
      const words = this.onOffs.get(stream);
      if (words !== undefined) return words;
    }
    return this.restoredOnOffs.size > 0 ? (this.restoredOnOffs.get(stream) ?? null) : null;
  }

  /**
   * Takes back the words of an on/off stream's states as onOffWords gave them before a restart (its checkpoint), so
   * its silence, the sensor list and its episodes are told in them before its next reading. They tell only: the
   * stream is judged on/off (statedOnOff) once a reading of it since the start says so, and its first reading drops
   * them (a reading that is no on/off one, after a change of the configuration, leaves no words). Words noted since
   * the start are kept (they are newer); at most maxSensors streams.
   */
  restoreOnOffWords(stream: string, words: OnOffWords): void {
    if (this.onOffs.has(stream) || this.restoredOnOffs.size >= (this.opts.maxSensors ?? 10_000)) return;
    this.restoredOnOffs.set(stream, words);
  }

  /**
   * Whether `stream`'s hub has stated that it is a cumulative counter (MappingRuleSpec.counters: a Shelly's
   * `aenergy.total` in any of its messages, Home Assistant statestream's `state_class` `total_increasing`), since
   * the daemon started. The detector judges such a stream as a counter from its first reading
   * (src/pipeline/counter.ts, CounterTrack.declare; its checkpoint keeps that).
   */
  statedCounter(stream: string): boolean {
    return this.counters.size > 0 && this.counters.has(stream);
  }

  /**
   * The unit `stream`'s hub last stated in its messages (MappingRuleSpec.units: `°F` from Tasmota's
   * `"TempUnit":"F"`, `°C` for a Shelly's `tC`), or null (none stated, or not since the daemon started).
   */
  statedUnit(stream: string): string | null {
    return this.units.get(stream) ?? null;
  }

  /**
   * Whether `stream`'s stated unit changed since the daemon started, or before, as restoreStatedUnit was told
   * (onUnitChange's `first` is false after it). For its checkpoint (Daemon: StatedUnits).
   */
  unitChangedBefore(stream: string): boolean {
    return this.unitChanged.has(stream);
  }

  /** The stream's unit changes seen (unitChanged), made for it when new. */
  private changesOf(stream: string): Set<string> {
    let seen = this.unitChanged.get(stream);
    if (seen === undefined) this.unitChanged.set(stream, (seen = new Set()));
    return seen;
  }

  /**
   * Takes back the unit `stream`'s hub stated before a restart (its checkpoint), as if stated by its last message:
   * the sensor list and the alerts have it before the stream's next message, and a next message stating another
   * unit is told as a change (onUnitChange), as during a run. `changed`: its unit changed before; `changes`: those
   * changes (the SignalBook's, checkpointed with it), each no first when it comes again. Changed without them (an
   * older checkpoint): no later change is the first. A unit stated since the start is kept (it is newer).
   */
  restoreStatedUnit(stream: string, unit: string, changed: boolean, changes: readonly { readonly from: string; readonly to: string }[] = []): void {
    if (this.units.has(stream) || this.units.size >= (this.opts.maxSensors ?? 10_000)) return;
    this.units.set(stream, unit);
    this.unitRestored.add(stream);
    if (!changed) return;
    const seen = this.changesOf(stream);
    if (changes.length === 0) seen.add(UNKNOWN_CHANGES);
    for (const c of changes) seen.add(`${c.from}\0${c.to}`);
  }

  /** Streams tracked. */
  get streams(): number {
    return this.admission.size;
  }

  /** Whether the stream is tracked and heard once: all its readings came in one message (./admit.ts). */
  heardOnce(stream: string): boolean {
    return this.admission.heardOnce(stream);
  }

  /** Whether the stream is heard once at one time: a one-shot topic, not worth a checkpoint (./admit.ts, Admission.oneShot). */
  oneShot(stream: string): boolean {
    return this.admission.oneShot(stream);
  }

  /** The stream table's fill and what ingest.maxStreams turned away (./admit.ts, StreamTable). */
  streamTable(): StreamTable {
    return this.admission.table();
  }

  /**
   * What the parser remembers of a stream (its last accepted time, its device, its usual lead and the
   * readings admission holds; ./admit.ts) as plain JSON, or null for an unknown stream. Restored after a
   * restart, late readings are still rejected (a time read before the restart counted `redelivered`: the
   * snapshot keeps the stream's last times), and a held reading is settled by the next one. A stream stamped on
   * arrival that MQTT feeds also carries its topic's last payloads' fingerprints (`resent`: ./resent.ts), so that a
   * broker's copy (DUP) of a message read before the restart is not judged again.
   */
  snapshot(stream: string): ParserSnapshot | null {
    const s = this.admission.snapshot(stream);
    if (s === null) return null;
    const resent = this.resent.snapshot(stream);
    return resent === null ? s : { ...s, resent };
  }

  /** Restores a stream from `snapshot()` output (or the older per-sensor format). Throws on a malformed one. */
  restore(stream: string, snapshot: unknown): void {
    this.admission.restore(stream, snapshot);
    const resent = (snapshot as { resent?: unknown }).resent;
    if (resent !== undefined) this.resent.restore(stream, resent);
  }

  private parseMessage(msg: RawMessage): ParseResult {
    if (this.anomalydTopics.size > 0 && this.anomalydTopics.has(msg.topic)) return SKIPPED.hub_topic;
    if (this.opts.discoveryPrefix != null && msg.topic.startsWith(this.opts.discoveryPrefix)) {
      const config = this.discoveryConfig(this.opts.discoveryPrefix, msg);
      if (config !== null) return config;
    }
    if (this.entitiesByAvailability.size > 0) {
      const entities = this.entitiesByAvailability.get(msg.topic);
      // A topic that is also a state topic or a rule's is read as that too.
      if (entities !== undefined && this.entityAvailabilityOf(msg, entities) && !this.entitiesByState.has(msg.topic) && routeOf(this.rules, msg.topic) === null) return SKIPPED.hub_topic;
    }
    if (this.entitiesByState.size > 0) {
      const entities = this.entitiesByState.get(msg.topic);
      if (entities !== undefined) return this.parseEntities(msg, entities);
    }
    const route = routeOf(this.rules, msg.topic);
    if (route === null) return rejectedMessage(msg, null, 'bad_topic', `no ingest rule matches topic "${preview(msg.topic)}"`);
    return this.parseRouted(msg, route);
  }

  /** A message its rule reads (`route`: the rule, device and `{field}` its topic gave). */
  private parseRouted(msg: RawMessage, route: Route): ParseResult {
    const rule = route.rule;
    // A device's word on whether it is online (its birth and last will), told before the rule's ignored topics
    // (zigbee2mqtt's `…/availability` is one): no reading.
    if (rule.availability !== null) {
      const device = rule.availability.device(msg.topic);
      if (device !== null) {
        const online = rule.availability.state(msg.payload);
        if (online !== null) this.opts.onAvailability?.(device, online, msg.topic, msg.receivedAt, msg.retain === true);
        return SKIPPED.hub_topic;
      }
    }
    // A hub's own traffic under the rule's topics (its bridge, availability, commands): not readings.
    if (rule.ignores(msg.topic)) return SKIPPED.hub_topic;
    // A hub's word on a stream's state class (Home Assistant statestream's `…/state_class`): no reading either.
    if (rule.classTopic !== null && rule.classTopic(msg.topic) !== null && route.sensor !== null) {
      if (isTotalIncreasing(msg.payload)) this.noteCounter(route.field === null ? route.sensor : streamId(route.sensor, route.field, ''));
      return SKIPPED.hub_topic;
    }
    // … and on a stream's unit (statestream's `…/unit_of_measurement`).
    if (rule.unitTopic !== null && route.sensor !== null) {
      const at = rule.unitTopic(msg.topic);
      if (at !== null) {
        this.attributeUnit(route.field === null ? route.sensor : streamId(route.sensor, route.field, ''), msg.payload);
        return SKIPPED.hub_topic;
      }
    }
    // … and on a binary_sensor's device class (statestream's `…/device_class` `"moisture"`: an alarm field).
    if (rule.deviceClassTopic !== null && route.sensor !== null && rule.deviceClassTopic(msg.topic) !== null) {
      const cls = msg.payload.length === 0 ? null : attributeText(msg.payload);
      this.stateDeviceClass(route.field === null ? route.sensor : streamId(route.sensor, route.field, ''), cls === '' ? null : cls);
      return SKIPPED.hub_topic;
    }
    let device = route.sensor;
    if (device !== null && rule.skips(device)) return rejectedMessage(msg, device, 'bad_topic', `sensor excluded by rule ${rule.name}`);
    if (msg.retain === true && !rule.retained) {
      return rejectedMessage(msg, device, 'retained', `retained message ignored (rule ${rule.name} takes live readings only)`);
    }
    const size = msg.payload.length;
    if (size === 0) return rejectedMessage(msg, device, 'empty', 'empty payload');
    if (size > this.opts.maxPayloadBytes) {
      // Only a prefix is decoded: the point of the limit is not to touch a huge payload at all.
      return rejectedMessage(msg, device, 'oversize', `payload of ${size} bytes exceeds ${this.opts.maxPayloadBytes}: "${previewBytes(msg.payload)}"`);
    }
    this.stage = 'decode';
    // A topic whose payload is an on/off word (an ESPHome or Home Assistant binary_sensor's `ON`/`OFF`): its reading
    // 1 or 0; a missing-word is a missing reading, any other text a text state.
    const onOffTopic = rule.onOff !== null && device !== null && rule.onOff.topic(msg.topic) ? rule.onOff : null;
    if (onOffTopic !== null && device !== null) {
      const word = msg.payload.toString('utf8').trim();
      const missing = rule.decode.missing.has(word.toLowerCase());
      const state = missing ? null : onOffTopic.word(word);
      if (!missing && state === null) return SKIPPED.text_state;
      return this.onOffReading(msg, device, route.field, state, onOffTopic);
    }
    if (this.scanner !== null && rule.fast && device !== null && route.field === null) {
      const fast = this.parseCommon(this.scanner, msg, device);
      if (fast !== null) return fast;
    }
    const measured = rule.measured;
    const topicField = route.field;
    const ctx: DecodeContext = {
      rule: rule.decode,
      receivedAt: msg.receivedAt,
      maxReadings: this.opts.maxReadingsPerMessage,
      // A text at a field the hub states a unit for is not metadata but a broken reading (tryout 20, finding 12).
      measured: measured === null ? undefined : (path, part) => measured(fieldName(part ?? topicField, path)),
      onOff: rule.onOff === null ? undefined : (path, v) => rule.onOff!.field(fieldName(topicField, path), v),
    };
    const text = msg.payload.toString('utf8');
    const json = parseJson(msg.payload, text);
    let decoded: Decoded;
    let doc: unknown = undefined;
    if (json.ok) {
      doc = json.doc;
      if (rule.envelope !== null && device !== null) {
        const env = decodeEnvelope(doc, rule.envelope.spec, rule.envelope.drops, ctx);
        if (env !== null) return this.parseEnvelope(msg, device, rule, env, doc);
        // The same readings again, from a device whose envelope is read already.
        if (rule.envelope.spec.supersedes === true && this.envelopeDevices.has(`${rule.name}\0${device}`)) return SKIPPED.hub_topic;
      }
      decoded = (DECODERS.find((d) => d.accepts(doc)) ?? plainDecoder).decode(doc, ctx);
    } else if (json.tooDeep) {
      return rejectedMessage(msg, device, 'too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels: "${previewBytes(msg.payload)}"`);
    } else {
      decoded = decodePlainText(text, ctx);
    }
    if (device === null) {
      device = deviceFromPayload(doc, rule);
      if (device === null) return rejectedMessage(msg, null, 'bad_topic', `no sensor id: the payload lacks ${rule.sensorFields.join(', ')} (rule ${rule.name})`);
      if (rule.skips(device)) return rejectedMessage(msg, device, 'bad_topic', `sensor excluded by rule ${rule.name}`);
    }
    if (!decoded.ok) {
      if (rule.skipText && (decoded.problem.reason === 'bad_json' || decoded.problem.reason === 'not_a_number') && isTextState(doc, json.ok, text)) {
        // A number written with its stream's own unit (`22.0 °C` where the discovery config states °C): the number.
        const number = this.discoveryUnits.size > 0 && typeof doc !== 'boolean' ? numberInUnit(typeof doc === 'string' ? doc : text, this.discoveryUnits.get(streamId(device, route.field, ''))) : null;
        if (number !== null) return this.parseRouted({ ...msg, payload: Buffer.from(number) }, route);
        if (this.opts.onDecimalComma !== undefined && DECIMAL_COMMA.test(text.trim())) this.decimalComma(device, text.trim(), msg.topic);
        return SKIPPED.text_state;
      }
      // A hub's message with no number at all (a zigbee2mqtt button's `{"action":"single"}`, a group's `{"state":"ON"}`).
      if (rule.skipEvents && decoded.problem.reason === 'not_a_number' && isObject(doc)) return SKIPPED.hub_event;
      return rejectedMessage(msg, device, decoded.problem.reason, decoded.problem.detail);
    }
    if (decoded.unsetClock !== undefined) this.unsetClock(device, decoded.unsetClock);
    const rejections: Rejection[] = [];
    for (const p of decoded.problems) rejections.push(rejection(msg, device, p.reason, p.detail));
    let records = decoded.records;
    if (this.opts.longBurst === 'truncate' && records.length > this.opts.window) {
      const dropped = records.length - this.opts.window;
      rejections.push(rejection(msg, device, 'too_many_readings', `burst of ${records.length} readings truncated to the last ${this.opts.window} (${dropped} dropped)`));
      records = records.slice(dropped);
    }
    this.stage = 'map';
    this.sawMissing = false;
    const candidates = this.channelsMode ? this.channelCandidates(msg, device, route.field, rule, records, rejections) : this.streamCandidates(msg, device, route.field, rule, records, rejections);
    // Nothing to admit and nothing wrong: every field it takes was missing, or it has none the rule takes.
    if (candidates.length === 0 && rejections.length === 0) return this.sawMissing ? SKIPPED.missing_value : SKIPPED.hub_event;
    this.resolveRepeated(candidates);
    if (!isSortedByTs(candidates)) candidates.sort((a, b) => a.ts - b.ts);
    this.stage = 'admit';
    const readings: Reading[] = [];
    for (const c of candidates) {
      const taken = this.admission.admit(c.stream, device, c.ts, msg.receivedAt, this.settled, c.values);
      this.collect(msg, device, c.stream, taken, c.ts, c.channels, c.values, c.index, readings, rejections);
    }
    if (rule.unitOf !== null && readings.length > 0) this.noteUnits(rule.unitOf, doc, device, route.field, records, readings);
    else if (this.discoveryUnits.size > 0) for (const r of readings) this.noteDiscoveryUnit(r);
    if (rule.counterOf !== null && readings.length > 0) this.noteCounters(rule.counterOf, device, route.field, records, readings);
    if (rule.onOff !== null && readings.length > 0) this.noteOnOffs(rule.onOff, device, route.field, records, readings);
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections: rejections.length === 0 ? NO_REJECTIONS : rejections };
  }

  /**
   * The on/off reading `state` (1, 0; null: a missing-word) of a message on an on/off topic (MappingRuleSpec.onOff
   * `topics`), of the stream `<device>[/<field>]` stamped on arrival, admitted as any reading and noted on/off.
   */
  private onOffReading(msg: RawMessage, device: string, topicField: string | null, state: number | null, onOff: NonNullable<CompiledRule['onOff']>): ParseResult {
    if (state === null) return SKIPPED.missing_value;
    const stream = streamId(device, topicField, '');
    if (stream.length > MAX_STREAM_ID) return rejectedMessage(msg, device, 'bad_topic', `stream id longer than ${MAX_STREAM_ID} characters: "${preview(stream)}"`);
    this.stage = 'admit';
    const readings: Reading[] = [];
    const values = [state];
    const taken = this.admission.admit(stream, device, msg.receivedAt, msg.receivedAt, this.settled, values);
    const rejections = this.collect(msg, device, stream, taken, msg.receivedAt, VALUE_CHANNELS, values, -1, readings, null);
    for (const r of readings) this.noteOnOff(r.sensor, onOff.states(topicField));
    if (rejections === null) return { kind: 'readings', readings, rejections: NO_REJECTIONS };
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections };
  }

  /** Notes, of the streams that got a reading from `records`, those whose field is an on/off one (`named`: CompiledRule.onOff). */
  private noteOnOffs(onOff: NonNullable<CompiledRule['onOff']>, device: string, topicField: string | null, records: readonly DecodedRecord[], readings: readonly Reading[]): void {
    let stated: Map<string, OnOffWords> | null = null;
    for (const rec of records) {
      for (const f of rec.fields) {
        const field = fieldName(topicField, f.path);
        if (onOff.named(field)) (stated ??= new Map()).set(streamId(device, topicField, f.path), onOff.states(field));
      }
    }
    if (stated === null) return;
    for (const r of readings) {
      const words = stated.get(r.sensor);
      if (words !== undefined) this.noteOnOff(r.sensor, words);
    }
  }

  /** Keeps `stream` as one whose readings are on/off (statedOnOff), told in `words`, within maxSensors streams. */
  private noteOnOff(stream: string, words: OnOffWords): void {
    const stated = this.classWords.size > 0 ? this.classWords.get(stream) : undefined;
    if (this.onOffs.has(stream) || this.onOffs.size < (this.opts.maxSensors ?? 10_000)) this.onOffs.set(stream, stated ?? words);
  }

  /**
   * States (`cls` a Home Assistant device class) or clears (null, or a class that is no alarm) that `stream` is an
   * alarm field told in its class's words (HA_ALARM_CLASSES): from its next reading on, and at once for a stream already
   * on/off. Clearing gives it back plain `on` / `off` words at its next reading.
   */
  private stateDeviceClass(stream: string, cls: string | null): void {
    const words = haAlarmWords(cls);
    if (words === null) {
      if (this.classWords.delete(stream) && this.onOffs.get(stream)?.alarm === true) this.onOffs.delete(stream);
      return;
    }
    if (!this.classWords.has(stream) && this.classWords.size >= (this.opts.maxSensors ?? 10_000)) return;
    this.classWords.set(stream, words);
    if (this.onOffs.has(stream)) this.onOffs.set(stream, words);
  }

  /**
   * A hub message of several parts (CompiledRule.envelope): each part's fields mapped and admitted as one
   * object's would be, under the topic's device and the part's key as the `{field}` level (`fields` parts:
   * Shelly's `<device>/switch:0/apower`, as `<device>/status/switch:0` gives it), or under a device of its own
   * (`sensors` parts: a Zigbee device behind a Tasmota bridge, `Room10/Temperature`). A message that yields no
   * reading and no rejection (only metadata, a kind that carries none) is skipped `hub_event`.
   */
  private parseEnvelope(msg: RawMessage, topicDevice: string, rule: CompiledRule, env: EnvelopeDecoded, doc: unknown): ParseResult {
    if (!env.ok) return rejectedMessage(msg, topicDevice, env.problem.reason, env.problem.detail);
    if ('skip' in env) return SKIPPED.hub_event;
    if (env.unsetClock !== undefined) this.unsetClock(topicDevice, env.unsetClock);
    if (rule.envelope?.spec.supersedes === true && this.envelopeDevices.size < (this.opts.maxSensors ?? 10_000)) this.envelopeDevices.add(`${rule.name}\0${topicDevice}`);
    const asSensors = rule.envelope?.spec.parts === 'sensors';
    const rejections: Rejection[] = [];
    const readings: Reading[] = [];
    // Readings meant, whatever admission made of them (one may be held, not yet a reading nor a rejection).
    let meant = 0;
    this.sawMissing = false;
    for (const part of env.parts) {
      const device = asSensors ? safePart(part.name).slice(0, 64) : topicDevice;
      if (asSensors && rule.skips(device)) {
        rejections.push(rejection(msg, device, 'bad_topic', `sensor excluded by rule ${rule.name}`));
        continue;
      }
      const field = asSensors ? null : part.key;
      const records: DecodedRecord[] = [env.repeated === undefined ? { ts: env.ts, fields: part.fields, index: -1 } : { ts: env.ts, fields: part.fields, index: -1, repeated: env.repeated }];
      this.stage = 'map';
      const candidates = this.channelsMode ? this.channelCandidates(msg, device, field, rule, records, rejections) : this.streamCandidates(msg, device, field, rule, records, rejections);
      this.resolveRepeated(candidates);
      this.stage = 'admit';
      meant += candidates.length;
      const from = readings.length;
      for (const c of candidates) {
        const taken = this.admission.admit(c.stream, device, c.ts, msg.receivedAt, this.settled, c.values);
        this.collect(msg, device, c.stream, taken, c.ts, c.channels, c.values, c.index, readings, rejections);
      }
      if (rule.unitOf !== null && readings.length > from) this.noteUnits(rule.unitOf, doc, device, field, records, readings.slice(from));
      else if (this.discoveryUnits.size > 0) for (let i = from; i < readings.length; i++) this.noteDiscoveryUnit(readings[i]);
      if (rule.counterOf !== null && readings.length > from) this.noteCounters(rule.counterOf, device, field, records, readings.slice(from));
    }
    if (meant === 0 && rejections.length === 0) return this.sawMissing ? SKIPPED.missing_value : SKIPPED.hub_event;
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections: rejections.length === 0 ? NO_REJECTIONS : rejections };
  }

  /**
   * Keeps the unit the hub states for each stream that got a reading from `records` (of `device`, its `{field}`
   * level `topicField`, the message's JSON document `doc`), and reports a change (ParseOptions.onUnitChange).
   */
  private noteUnits(unitOf: (field: string, doc: unknown) => string | null, doc: unknown, device: string, topicField: string | null, records: readonly DecodedRecord[], readings: readonly Reading[]): void {
    let stated: Map<string, string> | null = null;
    for (const rec of records) {
      // A burst's element states its own unit (Tasmota's backfill `[{"Time":…,"DS18B20":{…},"TempUnit":"C"},…]`,
      // tryout 37, finding 8); the message's top level states it for an element that does not.
      const own = burstElement(doc, rec.index);
      for (const f of rec.fields) {
        const field = fieldName(topicField, f.path);
        const unit = (own === null ? null : unitOf(field, own)) ?? unitOf(field, doc);
        if (unit !== null) (stated ??= new Map()).set(streamId(device, topicField, f.path), unit);
      }
    }
    if (stated === null) return;
    for (const r of readings) {
      const unit = stated.get(r.sensor);
      if (unit !== undefined) this.noteUnit(r, unit);
    }
  }

  /** Keeps `unit` as the one stated for reading `r`'s stream, and reports a change (ParseOptions.onUnitChange). */
  private noteUnit(r: Reading, unit: string): void {
    const before = this.units.get(r.sensor);
    const restored = this.unitRestored.size > 0 && this.unitRestored.delete(r.sensor);
    if (before === unit) return;
    if (before === undefined) {
      if (this.units.size < (this.opts.maxSensors ?? 10_000)) this.units.set(r.sensor, unit);
      return;
    }
    this.units.set(r.sensor, unit);
    // First once per direction: a hub set to °F is one decision, its real change back after it is another.
    const seen = this.changesOf(r.sensor);
    const key = `${before}\0${unit}`;
    const first = !seen.has(key) && !seen.has(UNKNOWN_CHANGES);
    // A hub stating ever new units (junk) is told first at most MAX_UNIT_CHANGES_SEEN times.
    seen.add(seen.size < MAX_UNIT_CHANGES_SEEN ? key : UNKNOWN_CHANGES);
    this.opts.onUnitChange?.(r.sensor, before, unit, first, r.ts, restored);
  }

  /** The unit a discovery config states for reading `r`'s stream, if any, as its stated unit (noteUnit). */
  private noteDiscoveryUnit(r: Reading): void {
    const unit = this.discoveryUnits.get(r.sensor);
    if (unit !== undefined) this.noteUnit(r, unit);
  }

  /**
   * Reads a Home Assistant discovery config (ParseOptions.discoveryPrefix): null when `msg` is none, else what it made of
   * it. A sensor's config (`<prefix>/sensor/[<node>/]<object>/config`) whose state topic a rule reads states the unit of
   * the stream it gives (discoveryUnitOf); an empty payload (the config removed) forgets the unit it stated, not the unit
   * the stream's readings already had. With ParseOptions.discoveryEntities, a config of a sensor, binary_sensor or number
   * whose state topic no rule reads is an entity of its own (setEntity). Skipped `hub_topic` unless its entity cannot be
   * taken (a rejection). Never throws.
   */
  private discoveryConfig(prefix: string, msg: RawMessage): ParseResult | null {
    const entities = this.opts.discoveryEntities;
    const where = discoveryWhere(prefix, msg.topic, entities === undefined ? SENSOR_ONLY : ENTITY_COMPONENTS);
    if (where === null) return null;
    const previous = this.discoveryStreams.get(msg.topic);
    const config = msg.payload.length === 0 || msg.payload.length > this.opts.maxPayloadBytes ? null : readDiscoveryConfig(msg.payload);
    // Another anomalyd's config states nothing of a stream (its entities are its scores); its availability topic is
    // that daemon's status, no device's word, whatever rule's template it matches (ESPHome's `{sensor#}/status`).
    const theirs = config?.fromAnomalyd === true;
    if (theirs && entities !== undefined) {
      for (const a of config?.availability ?? []) {
        // The daemon's own status is its own (the daemon tells it apart itself).
        if (!a.topic.startsWith(`${entities.ownPrefix}/`) && this.anomalydTopics.size < (this.opts.maxSensors ?? 10_000)) this.anomalydTopics.add(a.topic);
      }
    }
    const found = config === null || theirs || where.component === 'binary_sensor' ? null : discoveryUnitOf(config, this.rules);
    if (previous !== undefined && previous !== found?.stream) {
      this.discoveryStreams.delete(msg.topic);
      this.discoveryUnits.delete(previous);
    }
    if (found !== null && (this.discoveryUnits.has(found.stream) || this.discoveryUnits.size < (this.opts.maxSensors ?? 10_000))) {
      this.discoveryUnits.set(found.stream, found.unit);
      this.discoveryStreams.set(msg.topic, found.stream);
    }
    if (where.component === 'binary_sensor') this.discoveryClass(msg.topic, where, theirs ? null : config);
    if (entities === undefined) return SKIPPED.hub_topic;
    const topic = config?.stateTopic ?? null;
    // Read by a rule (its unit above), the daemon's own entity or any anomalyd's (a second daemon's scores: tryout 37,
    // finding 4), or no config (deleted): no entity of its own.
    if (config === null || topic === null || config.fromAnomalyd || topic.startsWith(`${entities.ownPrefix}/`) || routeOf(this.rules, topic) !== null) {
      const result = this.setEntity(msg, where, null);
      // A config that is none (not a JSON object), names no state topic or is another anomalyd's is counted refused (status), not rejected.
      const refusal: EntityRefusal | null =
        msg.payload.length === 0 ? null : config === null ? 'not_a_config' : config.fromAnomalyd && !topic?.startsWith(`${entities.ownPrefix}/`) ? 'anomalyd' : topic === null ? 'no_state_topic' : null;
      if (refusal !== null) this.refuseEntity(msg.topic, refusal);
      return result;
    }
    const object = safePart(where.object).slice(0, 128);
    const device = where.node === null ? object : safePart(where.node).slice(0, 128);
    const field = where.node === null ? null : object;
    const stream = streamId(device, field, '');
    if (!isPlainTopic(topic)) return this.setEntity(msg, where, null, { stream, problem: `its state topic "${preview(topic)}" is no topic a device publishes on (a wildcard, $, empty)`, reason: 'bad_topic' });
    let template: DiscoveredEntity['template'] = null;
    let templateProblem: string | null = null;
    if (config.template !== null) {
      const t = compileValueTemplate(config.template);
      if ('error' in t) templateProblem = t.error;
      else template = t;
    }
    const entity: DiscoveredEntity = {
      configTopic: msg.topic,
      component: where.component,
      stateTopic: topic,
      stream,
      device,
      field,
      unit: where.component === 'binary_sensor' ? '' : config.unit,
      template,
      templateProblem,
      templateText: config.template,
      payloadOn: config.payloadOn,
      payloadOff: config.payloadOff,
      // An availability template not read: that topic's messages say nothing (never a guess at the device's word).
      // The daemon's own topics are no device's word (its status is its own).
      availability: config.availability.filter((a) => !a.topic.startsWith(`${entities.ownPrefix}/`)).map((a) => {
        const t = a.template === null ? null : compileValueTemplate(a.template);
        return { ...a, compiled: t === null || 'error' in t ? null : t };
      }),
      availabilityMode: config.availabilityMode,
      expireAfterMs: config.expireAfterMs,
      payload: msg.payload.toString('utf8'),
    };
    return this.setEntity(msg, where, entity);
  }

  /**
   * The device class a binary_sensor's discovery config (at `configTopic`; null: deleted or none) states for the stream
   * its state topic gives: the entity's own (`[<node_id>/]<object_id>`) when no rule reads that topic, else the stream
   * the rule gives it (statestream's or ESPHome's binary_sensor state topic). A config replaced or deleted clears what
   * it stated before.
   */
  private discoveryClass(configTopic: string, where: DiscoveryWhere, config: DiscoveryConfig | null): void {
    let stream: string | null = null;
    const topic = config?.stateTopic ?? null;
    if (config !== null && topic !== null && isPlainTopic(topic)) {
      const route = routeOf(this.rules, topic);
      if (route !== null) {
        if (route.sensor !== null && route.rule.onOff?.topic(topic) === true) stream = streamId(route.sensor, route.field, '');
      } else {
        // As discoveryConfig names the entity's stream.
        const object = safePart(where.object).slice(0, 128);
        stream = where.node === null ? object : streamId(safePart(where.node).slice(0, 128), object, '');
      }
    }
    const before = this.classStreams.get(configTopic);
    if (before !== undefined && before !== stream) {
      this.classStreams.delete(configTopic);
      this.stateDeviceClass(before, null);
    }
    if (stream === null) return;
    const cls = config?.deviceClass ?? null;
    if (haAlarmWords(cls) === null) {
      if (before === stream) this.stateDeviceClass(stream, null);
      this.classStreams.delete(configTopic);
      return;
    }
    if (this.classStreams.has(configTopic) || this.classStreams.size < (this.opts.maxSensors ?? 10_000)) this.classStreams.set(configTopic, stream);
    this.stateDeviceClass(stream, cls);
  }

  /**
   * Puts `entity` in place of the config topic's entity (null: deletes it), subscribing to its state topic and
   * unsubscribing from one left without an entity (DiscoveryEntitiesOptions.onStateTopic). `refused`: the config's
   * entity is not taken (its problem told once, the config rejected). At most maxSensors entities: a new one beyond is
   * rejected `too_many_streams`, told once in all. Returns what the config message is.
   */
  private setEntity(msg: RawMessage, where: DiscoveryWhere, entity: DiscoveredEntity | null, refused?: { readonly stream: string; readonly problem: string; readonly reason: RejectReason & EntityRefusal }): ParseResult {
    const opts = this.opts.discoveryEntities!;
    const max = this.opts.maxSensors ?? 10_000;
    const before = this.entities.get(msg.topic);
    let result: ParseResult = SKIPPED.hub_topic;
    let taken = entity;
    this.entityRefusals.delete(msg.topic);
    if (refused !== undefined) {
      this.tellEntityProblem(refused.stream, msg.topic, refused.problem);
      this.refuseEntity(msg.topic, refused.reason);
      result = rejectedMessage(msg, refused.stream, refused.reason, `discovery config of ${where.component} ${refused.stream}: ${refused.problem}`);
    } else if (taken !== null && before === undefined && this.entities.size >= max) {
      this.tellEntityProblem(taken.stream, '', `more than ingest.maxStreams (${max}) discovered entities: configs beyond are not read`);
      this.refuseEntity(msg.topic, 'too_many_streams');
      result = rejectedMessage(msg, taken.stream, 'too_many_streams', `discovery config of ${where.component} ${taken.stream} not read: ${max} discovered entities already (ingest.maxStreams)`);
      taken = null;
    } else if (taken !== null && taken.templateProblem !== null) {
      this.refuseEntity(msg.topic, 'unread_template');
      this.tellEntityProblem(taken.stream, msg.topic, `its value_template ${JSON.stringify(taken.templateText)} is not read (${taken.templateProblem}): its states on ${taken.stateTopic} are rejected unread_template`);
    }
    if (taken !== null) {
      // Another config already names this stream (the same object id under two components): the first keeps it.
      for (const other of this.entitiesByState.get(taken.stateTopic) ?? []) {
        if (other.stream === taken.stream && other.configTopic !== msg.topic) {
          this.refuseEntity(msg.topic, 'same_stream');
          return SKIPPED.hub_topic;
        }
      }
      this.entities.set(msg.topic, taken);
      // The new topics first, the old ones after: a topic both read is never unsubscribed in between.
      this.attachEntity(taken);
      if (before !== undefined) this.detachEntity(before);
      if (taken.unit !== '' && (this.discoveryUnits.has(taken.stream) || this.discoveryUnits.size < max)) this.discoveryUnits.set(taken.stream, taken.unit);
      if (before !== undefined && before.stream !== taken.stream && this.discoveryUnits.get(before.stream) === before.unit) this.discoveryUnits.delete(before.stream);
      if (!this.restoringEntities && before?.payload !== taken.payload) opts.onEntityConfig?.(msg.topic, taken.payload);
      return result;
    }
    if (before === undefined) return result;
    this.entities.delete(msg.topic);
    this.detachEntity(before);
    if (this.discoveryUnits.get(before.stream) === before.unit) this.discoveryUnits.delete(before.stream);
    if (!this.restoringEntities) opts.onEntityConfig?.(msg.topic, null);
    return result;
  }

  /** The topics an entity reads: its state topic and its availability topics, each once. */
  private entityTopics(e: DiscoveredEntity): string[] {
    return [...new Set([e.stateTopic, ...e.availability.map((a) => a.topic)])];
  }

  /** Puts an entity (taken: in `entities` already) on its topics, subscribing to a topic no entity read before. */
  private attachEntity(e: DiscoveredEntity): void {
    const put = (map: Map<string, DiscoveredEntity[]>, topic: string): void => {
      const list = map.get(topic);
      if (list === undefined) map.set(topic, [e]);
      else {
        const i = list.findIndex((o) => o.configTopic === e.configTopic);
        if (i >= 0) list[i] = e;
        else list.push(e);
      }
    };
    put(this.entitiesByState, e.stateTopic);
    for (const a of e.availability) put(this.entitiesByAvailability, a.topic);
    for (const topic of this.entityTopics(e)) this.useEntityTopic(topic, 1);
  }

  /**
   * Takes entity `e` (the config topic's former entity) off its topics, those the config's entity now reads kept
   * (attachEntity put it there); unsubscribes from a topic no entity reads any more.
   */
  private detachEntity(e: DiscoveredEntity): void {
    const now = this.entities.get(e.configTopic);
    const take = (map: Map<string, DiscoveredEntity[]>, topic: string, still: boolean): void => {
      if (still) return;
      const rest = (map.get(topic) ?? []).filter((o) => o.configTopic !== e.configTopic);
      if (rest.length > 0) map.set(topic, rest);
      else map.delete(topic);
    };
    take(this.entitiesByState, e.stateTopic, now?.stateTopic === e.stateTopic);
    for (const a of e.availability) take(this.entitiesByAvailability, a.topic, now?.availability.some((b) => b.topic === a.topic) === true);
    if (now === undefined) {
      this.entityAvailability.delete(e.configTopic);
      this.entityStateAt.delete(e.configTopic);
      this.entityExpired.delete(e.configTopic);
    }
    for (const topic of this.entityTopics(e)) this.useEntityTopic(topic, -1);
  }

  /** Counts one entity more (`delta` 1) or less (-1) reading `topic`: subscribed at the first, unsubscribed after the last. */
  private useEntityTopic(topic: string, delta: 1 | -1): void {
    const n = (this.entityTopicUses.get(topic) ?? 0) + delta;
    if (n <= 0) {
      if (this.entityTopicUses.delete(topic)) this.opts.discoveryEntities?.onStateTopic?.(topic, false);
      return;
    }
    this.entityTopicUses.set(topic, n);
    if (n === 1 && delta === 1) this.opts.discoveryEntities?.onStateTopic?.(topic, true);
  }

  /** Notes why a config is refused (DiscoveryTable.refused); at most maxSensors configs are. */
  private refuseEntity(configTopic: string, why: EntityRefusal): void {
    if (this.entityRefusals.has(configTopic) || this.entityRefusals.size < (this.opts.maxSensors ?? 10_000)) this.entityRefusals.set(configTopic, why);
  }

  /**
   * A message on an availability topic of discovered entities: each entity's availability (entityAvailable, its
   * availability_mode), then per device of those entities its word, told to ParseOptions.onAvailability as a
   * preset's availability topic is (device_offline): online when any of the device's entities with availability
   * is available, offline when none is and one is not. Returns whether the message was an availability word of
   * any of them. Never throws.
   */
  private entityAvailabilityOf(msg: RawMessage, entities: readonly DiscoveredEntity[]): boolean {
    if (msg.payload.length === 0 || msg.payload.length > this.opts.maxPayloadBytes) return false;
    const text = msg.payload.toString('utf8');
    let doc: unknown = undefined;
    let parsed = false;
    let any = false;
    const devices = new Set<string>();
    for (const e of entities) {
      for (const a of e.availability) {
        if (a.topic !== msg.topic) continue;
        let word: string | null = text;
        if (a.template !== null) {
          if (a.compiled === null) continue;
          if (a.compiled.json && !parsed) {
            parsed = true;
            const json = parseJson(msg.payload, text);
            doc = json.ok ? json.doc : undefined;
          }
          const out = a.compiled.apply(text, doc);
          word = out.kind === 'text' ? out.text : null;
        }
        const w = word?.trim();
        const available = w === a.available ? true : w === a.notAvailable ? false : null;
        if (available === null) continue;
        any = true;
        let state = this.entityAvailability.get(e.configTopic);
        if (state === undefined) {
          state = { said: new Map(), latest: null };
          this.entityAvailability.set(e.configTopic, state);
        }
        const changed = state.said.get(a.topic) !== available || state.latest !== available;
        state.said.set(a.topic, available);
        state.latest = available;
        devices.add(e.device);
        if (changed) this.keepEntityAvailability(e.configTopic);
      }
    }
    for (const device of devices) {
      const word = this.deviceWord(device);
      if (word !== null) this.opts.onAvailability?.(device, word, msg.topic, msg.receivedAt, msg.retain === true);
    }
    return any;
  }

  /**
   * Whether an entity is available: not while its state has expired (its expire_after: judgeEntityExpiry), else as its
   * availability topics say (entityAvailable); null when nothing says (no availability topic has spoken, none at all).
   */
  private entityWord(e: DiscoveredEntity): boolean | null {
    if (this.entityExpired.has(e.configTopic)) return false;
    if (e.availability.length === 0) return null;
    const state = this.entityAvailability.get(e.configTopic);
    return state === undefined ? null : entityAvailable(e.availability, e.availabilityMode, state.said, state.latest);
  }

  /** A device's word from its entities' (entityWord): online when any is available, offline when none is and one is not, else null. */
  private deviceWord(device: string): boolean | null {
    let online = false;
    let offline = false;
    for (const e of this.entities.values()) {
      if (e.device !== device) continue;
      const available = this.entityWord(e);
      if (available === true) online = true;
      else if (available === false) offline = true;
    }
    return online ? true : offline ? false : null;
  }

  /** A live state of entity `e` (with an expire_after) arrived at `at` (epoch ms): fresh again, kept as having had states. */
  private noteEntityState(e: DiscoveredEntity, at: number): void {
    const before = this.entityStateAt.get(e.configTopic);
    this.entityStateAt.set(e.configTopic, at);
    const wasExpired = this.entityExpired.delete(e.configTopic);
    if (before === undefined || wasExpired) this.keepEntityAvailability(e.configTopic);
  }

  /**
   * Judges the discovered entities' expire_after at `now` (epoch ms, the clock of the messages' arrivals; home-assistant.io,
   * "MQTT Sensor", `expire_after`: the number of seconds after which the sensor's state expires if it is not updated,
   * its state then `unavailable`). An entity that has had a live state (in this run, or before a restart:
   * restoreEntityAvailability) and none for longer than its expire_after, counted from `countFrom` at the earliest (the
   * MQTT connection's start: a silence of anomalyd's own is none of the device's; null: from its last state), expires
   * (once, until its next live state): it is not available (entityWord), and when its device is then offline by its
   * entities' words (deviceWord: none available, one not) that is told to ParseOptions.onAvailability as the device's
   * word, `expired` set, `topic` the entity's state topic, `receivedAt` the moment it expired (its last state, or
   * `countFrom`, plus its expire_after). The caller does not judge while it cannot hear (the connection down, reads
   * paused). Never throws.
   */
  judgeEntityExpiry(now: number, countFrom: number | null): void {
    if (this.entityStateAt.size === 0) return;
    const expired = new Map<string, { readonly e: DiscoveredEntity; readonly at: number }>();
    for (const [configTopic, stateAt] of this.entityStateAt) {
      const e = this.entities.get(configTopic);
      if (e === undefined || e.expireAfterMs === null || this.entityExpired.has(configTopic)) continue;
      const from = countFrom === null ? stateAt : Math.max(stateAt, countFrom);
      if (!Number.isFinite(from) || now - from <= e.expireAfterMs) continue;
      this.entityExpired.add(configTopic);
      this.keepEntityAvailability(configTopic);
      const at = from + e.expireAfterMs;
      const seen = expired.get(e.device);
      if (seen === undefined || at > seen.at) expired.set(e.device, { e, at });
    }
    for (const [device, { e, at }] of expired) {
      if (this.deviceWord(device) === false) this.opts.onAvailability?.(device, false, e.stateTopic, at, false, { afterMs: e.expireAfterMs! });
    }
  }

  /**
   * An entity's availability state as the store keeps it (JSON text: `said` each availability topic's last word,
   * `latest` the last word on any, `hadState` whether it has had a live state, `expired` whether its state expired
   * since), or null for an entity not known. For restoreEntityAvailability.
   */
  entityAvailabilityState(configTopic: string): string | null {
    if (!this.entities.has(configTopic)) return null;
    const a = this.entityAvailability.get(configTopic);
    return JSON.stringify({
      said: a === undefined ? [] : [...a.said],
      latest: a?.latest ?? null,
      hadState: this.entityStateAt.has(configTopic),
      expired: this.entityExpired.has(configTopic),
    });
  }

  /** Tells the daemon to keep an entity's availability state (DiscoveryEntitiesOptions.onEntityAvailability). */
  private keepEntityAvailability(configTopic: string): void {
    const state = this.entityAvailabilityState(configTopic);
    if (state !== null) this.opts.discoveryEntities?.onEntityAvailability?.(configTopic, state);
  }

  /**
   * Gives back the entities' availability states of an earlier run (entityAvailabilityState's text, per config topic)
   * after restoreEntityConfigs: what their availability topics said (on the embedded broker no retained word survives
   * a restart, and with availability_mode `any` or `all` one topic's word alone after it would be judged without the
   * others'), whether an entity with an expire_after has had live states (its expiry then counts from the connection's
   * start: a device that died while anomalyd was stopped is told when it expires), and whether its state had expired.
   * A row of an entity not given back, or one this version cannot read, is left out. Never throws.
   */
  restoreEntityAvailability(rows: readonly { readonly topic: string; readonly availability: string | null }[]): void {
    for (const r of rows) {
      const e = this.entities.get(r.topic);
      if (e === undefined || r.availability === null) continue;
      try {
        const doc = JSON.parse(r.availability) as { said?: unknown; latest?: unknown; hadState?: unknown; expired?: unknown };
        const said = new Map<string, boolean>();
        if (Array.isArray(doc.said)) {
          for (const w of doc.said as unknown[]) {
            if (Array.isArray(w) && typeof w[0] === 'string' && typeof w[1] === 'boolean' && e.availability.some((a) => a.topic === w[0])) said.set(w[0], w[1]);
          }
        }
        const latest = typeof doc.latest === 'boolean' ? doc.latest : null;
        if (said.size > 0 || latest !== null) this.entityAvailability.set(r.topic, { said, latest });
        if (e.expireAfterMs !== null && doc.hadState === true && !this.entityStateAt.has(r.topic)) this.entityStateAt.set(r.topic, Number.NEGATIVE_INFINITY);
        if (e.expireAfterMs !== null && doc.expired === true) this.entityExpired.add(r.topic);
      } catch {
        // Not this version's: left out (the entity's words come again from its device).
      }
    }
  }

  /**
   * Gives back the entities of an earlier run (their configs as onEntityConfig had them: config topic and payload,
   * from the store) before the first message, so that a state queued for the persistent session is read though its
   * retained config comes after it; their topics are subscribed (DiscoveryEntitiesOptions.onStateTopic). A config the
   * broker replays later replaces its entity (unchanged: nothing happens). Returns the config topics not taken again
   * (the prefix or presets changed, a bad row, the cap): the caller deletes their rows. Never throws.
   */
  restoreEntityConfigs(rows: readonly { readonly topic: string; readonly payload: string }[], now: number): string[] {
    const prefix = this.opts.discoveryPrefix;
    if (prefix == null || this.opts.discoveryEntities === undefined) return rows.map((r) => r.topic);
    const dropped: string[] = [];
    this.restoringEntities = true;
    try {
      for (const r of rows) {
        const payload = Buffer.from(r.payload, 'utf8');
        if (payload.length > 0) this.discoveryConfig(prefix, { topic: r.topic, payload, receivedAt: now, retain: true });
        if (!this.entities.has(r.topic)) dropped.push(r.topic);
      }
    } catch {
      // A row this version cannot read: not given back (its config comes again from the broker).
    } finally {
      this.restoringEntities = false;
    }
    return dropped;
  }

  /** The discovered entities and configs now (DiscoveryTable), for `anomalyd status`. */
  discoveryTable(): DiscoveryTable {
    const refused: Partial<Record<EntityRefusal, number>> = {};
    for (const why of this.entityRefusals.values()) refused[why] = (refused[why] ?? 0) + 1;
    const streams: string[] = [];
    for (const e of this.entities.values()) if (e.templateProblem === null) streams.push(e.stream);
    return { entities: streams.length, streams, units: this.discoveryStreams.size, refused };
  }

  /** Tells an entity's problem once per config topic and problem (DiscoveryEntitiesOptions.onEntityProblem). */
  private tellEntityProblem(stream: string, configTopic: string, problem: string): void {
    const key = `${configTopic}\0${problem}`;
    if (this.entityProblemsTold.has(key) || this.entityProblemsTold.size >= (this.opts.maxSensors ?? 10_000)) return;
    this.entityProblemsTold.add(key);
    this.opts.discoveryEntities?.onEntityProblem?.(stream, configTopic, problem);
  }

  /**
   * A message on the state topic of discovered entities (ParseOptions.discoveryEntities): each entity's value, read
   * through its value_template, as a plain value of its stream decoded by the preset's rule (a sensor's, a number's), or
   * as an on/off reading (a binary_sensor: its payload_on 1, payload_off 0); a template not read is the entity's
   * `unread_template` rejection. The entities' results are one message's.
   */
  private parseEntities(msg: RawMessage, entities: readonly DiscoveredEntity[]): ParseResult {
    const { rule } = this.opts.discoveryEntities!;
    const first = entities[0];
    if (msg.retain === true && !rule.retained) return rejectedMessage(msg, first.stream, 'retained', `retained message ignored (rule ${rule.name} takes live readings only)`);
    // A live state of an entity with an expire_after: its state is fresh again (HA counts expiry from each state).
    if (msg.retain !== true) for (const e of entities) if (e.expireAfterMs !== null) this.noteEntityState(e, msg.receivedAt);
    if (msg.payload.length === 0) return rejectedMessage(msg, first.stream, 'empty', 'empty payload');
    if (msg.payload.length > this.opts.maxPayloadBytes) return rejectedMessage(msg, first.stream, 'oversize', `payload of ${msg.payload.length} bytes exceeds ${this.opts.maxPayloadBytes}: "${previewBytes(msg.payload)}"`);
    const text = msg.payload.toString('utf8');
    let doc: unknown = undefined;
    if (entities.some((e) => e.template?.json === true)) {
      const json = parseJson(msg.payload, text);
      if (json.ok) doc = json.doc;
      else if (json.tooDeep) return rejectedMessage(msg, first.stream, 'too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels: "${previewBytes(msg.payload)}"`);
    }
    if (entities.length === 1) return this.parseEntity(msg, first, text, doc);
    const readings: Reading[] = [];
    const rejections: Rejection[] = [];
    let skipped: SkipReason | undefined;
    for (const e of entities) {
      const r = this.parseEntity(msg, e, text, doc);
      if (r.kind === 'rejected') rejections.push(r.rejection);
      else {
        readings.push(...r.readings);
        rejections.push(...r.rejections);
        if (r.skipped !== undefined && skipped !== 'missing_value') skipped = r.skipped;
      }
    }
    if (readings.length === 0 && rejections.length === 0) return skipped === undefined ? { kind: 'readings', readings, rejections: NO_REJECTIONS } : SKIPPED[skipped];
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections: rejections.length === 0 ? NO_REJECTIONS : rejections };
  }

  /** One discovered entity's reading of a message on its state topic (parseEntities). */
  private parseEntity(msg: RawMessage, e: DiscoveredEntity, text: string, doc: unknown): ParseResult {
    const { rule } = this.opts.discoveryEntities!;
    if (e.templateProblem !== null) return rejectedMessage(msg, e.stream, 'unread_template', `value_template ${preview(JSON.stringify(e.templateText))} of ${e.configTopic} is not read (${e.templateProblem}); anomalyd reads {{ value }}, {{ value_json.<path> }} and the filters float, int, round, multiply, abs, is_defined`);
    const out = e.template === null ? ({ kind: 'text', text } as const) : e.template.apply(text, doc);
    if (out.kind === 'missing') return SKIPPED.missing_value;
    if (out.kind === 'error') return rejectedMessage(msg, e.stream, doc === undefined && e.template?.json === true ? 'bad_json' : 'not_a_number', `${out.detail}: "${previewBytes(msg.payload)}"`);
    if (e.component === 'binary_sensor') {
      const word = out.text.trim();
      const state = word === e.payloadOn ? 1 : word === e.payloadOff ? 0 : null;
      if (state === null && !rule.decode.missing.has(word.toLowerCase())) return SKIPPED.text_state;
      return this.onOffReading(msg, e.device, e.field, state, this.entityOnOff);
    }
    return this.parseRouted(out.text === text ? msg : { ...msg, payload: Buffer.from(out.text) }, { rule, sensor: e.device, field: e.field });
  }

  /**
   * Keeps the unit a hub's attribute message states for `stream` (MappingRuleSpec.unitTopics: statestream's
   * `"°C"`) as the unit of its next readings (noteDiscoveryUnit, as a discovery config's); an empty payload forgets
   * it, a payload that is no short text (over 16 characters after its JSON quotes) states none. Never throws.
   */
  private attributeUnit(stream: string, payload: Buffer): void {
    const unit = attributeText(payload);
    if (unit === '') this.discoveryUnits.delete(stream);
    else if (unit !== null && (this.discoveryUnits.has(stream) || this.discoveryUnits.size < (this.opts.maxSensors ?? 10_000))) this.discoveryUnits.set(stream, unit);
  }

  /**
   * Notes, of the streams that got a reading from `records` (of `device`, its `{field}` level `topicField`), those
   * whose field the hub states is a counter (CompiledRule.counterOf).
   */
  private noteCounters(counterOf: (field: string) => boolean, device: string, topicField: string | null, records: readonly DecodedRecord[], readings: readonly Reading[]): void {
    let stated: Set<string> | null = null;
    for (const rec of records) for (const f of rec.fields) if (counterOf(fieldName(topicField, f.path))) (stated ??= new Set()).add(streamId(device, topicField, f.path));
    if (stated === null) return;
    for (const r of readings) if (stated.has(r.sensor)) this.noteCounter(r.sensor);
  }

  /** Keeps `stream` as one its hub states is a counter (statedCounter), within maxSensors streams. */
  private noteCounter(stream: string): void {
    if (!this.counters.has(stream) && this.counters.size < (this.opts.maxSensors ?? 10_000)) this.counters.add(stream);
  }

  /** Reports a text state that is a number with a decimal comma, once per device (ParseOptions.onDecimalComma). */
  private decimalComma(device: string, state: string, topic: string): void {
    if (this.decimalCommaReported.has(device) || this.decimalCommaReported.size >= (this.opts.maxSensors ?? 10_000)) return;
    this.decimalCommaReported.add(device);
    this.opts.onDecimalComma?.(device, state, topic);
  }

  /** Reports a message stamped on arrival because its device clock was never set (ParseOptions.onUnsetClock). */
  private unsetClock(device: string, raw: unknown): void {
    if (this.opts.onUnsetClock === undefined) return;
    const first = !this.unsetClockReported.has(device) && this.unsetClockReported.size < (this.opts.maxSensors ?? 10_000);
    if (first) this.unsetClockReported.add(device);
    this.opts.onUnsetClock(device, preview(typeof raw === 'string' ? raw : JSON.stringify(raw)), first);
  }

  /**
   * What admission made of one reading of `stream` at `ts` (and of the stream's held readings it settled):
   * released held readings, then this one, appended to `readings`; rejections (a held reading's under its
   * own message's topic and arrival) to `rejections`, allocated on first use and returned; a suspect is
   * handed to admission to hold.
   */
  private collect(msg: RawMessage, device: string, stream: string, taken: number | Problem | typeof HOLD, ts: number, channels: readonly string[], values: number[], index: number, readings: Reading[], rejections: Rejection[] | null): Rejection[] | null {
    const settled = this.settled;
    if (settled.length > 0) {
      for (const s of settled) {
        const h = s.held;
        if (s.problem === null) readings.push(readingOf(stream, device, s.ts, h.channels, h.values));
        else (rejections ??= []).push({ sensor: stream, topic: h.topic, reason: s.problem.reason, detail: h.index >= 0 ? `element ${h.index}: ${s.problem.detail}` : s.problem.detail, receivedAt: h.receivedAt, ts: h.ts });
      }
      settled.length = 0;
    }
    if (taken === HOLD) this.admission.hold(stream, { ts, receivedAt: msg.receivedAt, topic: msg.topic, index, channels, values });
    else if (typeof taken === 'number') readings.push(readingOf(stream, device, taken, channels, values));
    else (rejections ??= []).push(rejection(msg, stream, taken.reason, index >= 0 ? `element ${index}: ${taken.detail}` : taken.detail, ts));
    return rejections;
  }

  /** One one-value stream per taken field; configured groups first take their fields as one reading. */
  private streamCandidates(msg: RawMessage, device: string, topicField: string | null, rule: CompiledRule, records: readonly DecodedRecord[], rejections: Rejection[]): Candidate[] {
    const out: Candidate[] = [];
    const groups = this.groups.length === 0 ? null : this.groups.filter((g) => g.matches(device));
    for (const rec of records) {
      let grouped: Set<string> | null = null;
      if (groups !== null) {
        for (const g of groups) {
          grouped ??= new Set();
          const values: number[] = [];
          for (const name of g.fields) {
            grouped.add(name);
            const f = rec.fields.find((x) => fieldName(topicField, x.path) === name);
            if (f !== undefined && f.value !== null && f.problem === undefined) values.push(f.value);
            else if (f !== undefined && f.value === null && f.problem === undefined) this.sawMissing = true;
          }
          // A group reading needs every channel: with one missing, the instant is missing for the group.
          if (values.length === g.fields.length) out.push(withRepeated({ stream: `${device}/${safePart(g.name)}`, ts: rec.ts, channels: g.fields, values, index: rec.index }, rec));
        }
      }
      const dropped = rule.droppedIn(rec.fields);
      for (const f of rec.fields) {
        const name = fieldName(topicField, f.path);
        if (grouped?.has(name) === true || !rule.takes(name) || dropped?.has(f.path) === true) continue;
        const stream = streamId(device, topicField, f.path);
        if (stream.length > MAX_STREAM_ID) {
          rejections.push(rejection(msg, device, 'bad_topic', `stream id longer than ${MAX_STREAM_ID} characters: "${preview(stream)}"`));
        } else if (f.problem !== undefined) {
          rejections.push(rejection(msg, stream, f.problem.reason, rec.index >= 0 ? `element ${rec.index}: ${f.problem.detail}` : f.problem.detail));
        } else if (f.value !== null) {
          out.push(withRepeated({ stream, ts: rec.ts, channels: VALUE_CHANNELS, values: [f.value], index: rec.index }, rec));
        } else {
          this.sawMissing = true;
        }
      }
    }
    return out;
  }

  /**
   * One multi-channel reading per record (channels sorted by name; `value` for the device's own value);
   * a record with a null channel is a missing reading.
   */
  private channelCandidates(msg: RawMessage, device: string, topicField: string | null, rule: CompiledRule, records: readonly DecodedRecord[], rejections: Rejection[]): Candidate[] {
    const out: Candidate[] = [];
    const stream = topicField === null ? device : `${device}/${safePart(topicField)}`;
    for (const rec of records) {
      const taken: Array<[string, number]> = [];
      let bad: Problem | null = null;
      let missing = false;
      const dropped = rule.droppedIn(rec.fields);
      for (const f of rec.fields) {
        const name = f.path === '' ? 'value' : f.path;
        if (!rule.takes(fieldName(topicField, f.path)) || dropped?.has(f.path) === true) continue;
        if (f.problem !== undefined) bad ??= f.problem;
        else if (f.value !== null) taken.push([name, f.value]);
        else missing = true;
      }
      if (bad !== null) {
        rejections.push(rejection(msg, stream, bad.reason, rec.index >= 0 ? `element ${rec.index}: ${bad.detail}` : bad.detail));
        continue;
      }
      // A multi-channel reading needs every channel: with one missing (null) the instant is missing, as for
      // a channel group; a reading of fewer channels would not fit the stream's model.
      if (missing) this.sawMissing = true;
      if (taken.length === 0 || missing) continue;
      taken.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const channels = taken.length === 1 && taken[0][0] === 'value' ? VALUE_CHANNELS : Object.freeze(taken.map((t) => t[0]));
      out.push(withRepeated({ stream, ts: rec.ts, channels, values: taken.map((t) => t[1]), index: rec.index }, rec));
    }
    return out;
  }

  /**
   * The hour a zone repeats when its clocks go back (a device time without an offset, ingest.timezone; DecodedRecord
   * .repeated): per stream, by the order its readings come in, a candidate at such a wall time is read at the later
   * instant when the earlier is not after the stream's newest time (its newest taken, or its previous candidate in this
   * message) and the later is; else at the earlier. So a device stamping local time without an offset across a DST end
   * goes 01:59 CEST, 02:00 CEST … 02:59 CEST, 02:00 CET … 02:59 CET, 03:00 CET, each reading at its instant, as
   * `anomalyd replay --timezone` reads a file's rows (src/csv/table.ts). What it cannot tell: a stream whose first
   * reading falls in the second pass of the hour (read in the first: a 1 h gap before its next reading after it), and
   * a reading of the first pass re-sent during the second (read in the second: as far ahead as its hour repeats).
   * Replaces the candidates it moves, in place; the caller sorts after.
   */
  private resolveRepeated(candidates: Candidate[]): void {
    if (!candidates.some((c) => c.repeated !== undefined)) return;
    const newest = new Map<string, number>();
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      const previous = newest.get(c.stream) ?? this.admission.lastTs(c.stream);
      let ts = c.ts;
      if (c.repeated !== undefined && c.ts <= previous && c.repeated > previous) {
        ts = c.repeated;
        candidates[i] = { stream: c.stream, ts, channels: c.channels, values: c.values, index: c.index };
      }
      newest.set(c.stream, Math.max(previous, ts));
    }
  }

  private single(msg: RawMessage, device: string, ts: number, value: number): ParseResult {
    const values = [value];
    const taken = this.admission.admit(device, device, ts, msg.receivedAt, this.settled, values);
    if (this.settled.length === 0 && taken !== HOLD) {
      if (typeof taken !== 'number') return { kind: 'rejected', rejection: rejection(msg, device, taken.reason, taken.detail, ts) };
      return { kind: 'readings', readings: [{ sensor: device, ts: taken, channels: VALUE_CHANNELS, values }], rejections: NO_REJECTIONS };
    }
    const readings: Reading[] = [];
    const rejections = this.collect(msg, device, device, taken, ts, VALUE_CHANNELS, values, -1, readings, null);
    if (rejections === null) return { kind: 'readings', readings, rejections: NO_REJECTIONS };
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections };
  }

  /**
   * The common forms, read by the scanner; null (nothing touched) when the payload is not one of them or
   * would be rejected before admission, so that the JSON.parse decoders decide and word it.
   */
  private parseCommon(scanner: FastScanner, msg: RawMessage, device: string): ParseResult | null {
    const form = scanner.scan(msg.payload);
    if (form === 'other') return null;
    if (form === 'number') return this.single(msg, device, msg.receivedAt, scanner.value);
    const ts = scanner.hasTime ? parseDeviceTime(scanner.time) : msg.receivedAt;
    if (Number.isNaN(ts)) return null;
    if (!scanner.hasValues) {
      // interval_ms outside a burst is an ordinary field (its own stream): left to the decoders.
      if (!scanner.hasValue || scanner.hasInterval) return null;
      return this.single(msg, device, ts, scanner.value);
    }
    if (scanner.hasValue) return null;
    return this.valuesBurstOfNumbers(msg, device, scanner, scanner.hasTime ? ts : null);
  }

  /** The values-burst decoder + admission for a `values` array of finite numbers, without intermediate records. */
  private valuesBurstOfNumbers(msg: RawMessage, device: string, scanner: FastScanner, firstTs: number | null): ParseResult | null {
    const n = scanner.count;
    if (n === 0 || n > this.opts.maxReadingsPerMessage) return null;
    if (scanner.hasInterval ? !(scanner.interval > 0) : n > 1) return null;
    const step = scanner.hasInterval ? scanner.interval : 0;
    const originTs = firstTs ?? msg.receivedAt - (n - 1) * step;
    // An absurd interval overflows to ±Infinity (and Infinity - Infinity to NaN): left to the decoders.
    if (!Number.isFinite(originTs) || !Number.isFinite(originTs + n * step)) return null;
    let rejections: Rejection[] | null = null;
    let first = 0;
    if (this.opts.longBurst === 'truncate' && n > this.opts.window) {
      first = n - this.opts.window;
      rejections = [rejection(msg, device, 'too_many_readings', `burst of ${n} readings truncated to the last ${this.opts.window} (${first} dropped)`)];
    }
    // step >= 0 and every time finite, so originTs + i * step never decreases with i: no sort needed.
    const values = scanner.values;
    const readings: Reading[] = [];
    const lastTs = originTs + (n - 1) * step;
    if (this.admission.admitsRun(device, device, originTs + first * step, lastTs, msg.receivedAt)) {
      for (let i = first; i < n; i++) readings.push({ sensor: device, ts: originTs + i * step, channels: VALUE_CHANNELS, values: [values[i]] });
      this.admission.commitRun(device, device, lastTs, msg.receivedAt, readings[readings.length - 1].values, originTs, step, first, n);
    } else {
      for (let i = first; i < n; i++) {
        const ts = originTs + i * step;
        const one = [values[i]];
        const taken = this.admission.admit(device, device, ts, msg.receivedAt, this.settled, one);
        rejections = this.collect(msg, device, device, taken, ts, VALUE_CHANNELS, one, i, readings, rejections);
      }
    }
    if (rejections === null) return { kind: 'readings', readings, rejections: NO_REJECTIONS };
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections };
  }
}

/** Parse stage as an operator: RawMessage -> ParseResult, one result per message. */
export function parseMessages(parser: MessageParser): OperatorFunction<RawMessage, ParseResult> {
  return map((msg: RawMessage) => parser.parse(msg));
}

/** Epoch ms of a device time (epoch s/ms/µs by magnitude, or ISO 8601; no offset = UTC), or NaN. */
export function parseTimestamp(raw: unknown): number {
  return parseDeviceTime(raw);
}

/**
 * Whether a payload that no decoder read is a text state (MappingRuleSpec.skipText): a JSON string or
 * boolean, or text that is not JSON and does not look like broken JSON (`{…`, `[…`), at most MAX_TEXT_STATE
 * characters. A number, a missing-word and a non-finite token never get here as text states: they are read.
 */
function isTextState(doc: unknown, isJson: boolean, text: string): boolean {
  if (isJson) return typeof doc === 'string' || typeof doc === 'boolean';
  const t = text.trim();
  return t.length > 0 && t.length <= MAX_TEXT_STATE && t[0] !== '{' && t[0] !== '[';
}

/** The device id a rule takes from payload fields (rtl_433's model-channel-id), or null. */
function deviceFromPayload(doc: unknown, rule: CompiledRule): string | null {
  if (!isObject(doc)) return null;
  const parts: string[] = [];
  for (const key of rule.sensorFields) {
    const v = valueAt(doc, key);
    if (typeof v === 'string' || typeof v === 'number') {
      const text = safePart(String(v)).slice(0, 64);
      if (text !== '') parts.push(text);
    }
  }
  return parts.length === 0 ? null : parts.join('-');
}

/**
 * The object that is element `index` of a burst document (a JSON array of objects, or a `values` array's object), or
 * null: no burst, no such element, or one that is no object.
 */
function burstElement(doc: unknown, index: number): object | null {
  if (index < 0) return null;
  const elements = Array.isArray(doc) ? (doc as unknown[]) : isObject(doc) && Array.isArray(doc.values) ? (doc.values as unknown[]) : null;
  const e = elements === null ? undefined : elements[index];
  return isObject(e) ? e : null;
}

/** A reading of `stream` (of `device`), naming its source only when the stream is not the device's own. */
function readingOf(stream: string, device: string, ts: number, channels: readonly string[], values: readonly number[]): Reading {
  return stream === device ? { sensor: stream, ts, channels, values } : { sensor: stream, source: device, ts, channels, values };
}

/** A rejection of `msg`; `ts`, the rejected reading's own time, for the rejections admission makes. */
function rejection(msg: RawMessage, sensor: string | null, reason: RejectReason, detail: string, ts?: number): Rejection {
  return ts === undefined ? { sensor, topic: msg.topic, reason, detail, receivedAt: msg.receivedAt } : { sensor, topic: msg.topic, reason, detail, receivedAt: msg.receivedAt, ts };
}

function rejectedMessage(msg: RawMessage, sensor: string | null, reason: RejectReason, detail: string): ParseResult {
  return { kind: 'rejected', rejection: rejection(msg, sensor, reason, detail) };
}

/** `c` with `rec`'s later instant of a repeated wall time (DecodedRecord.repeated), when it has one. */
function withRepeated(c: Candidate, rec: DecodedRecord): Candidate {
  return rec.repeated === undefined ? c : { ...c, repeated: rec.repeated };
}

function isSortedByTs(cs: readonly Candidate[]): boolean {
  for (let i = 1; i < cs.length; i++) if (cs[i].ts < cs[i - 1].ts) return false;
  return true;
}

/**
 * Whether a state-class message (CounterSource.classTopics) says `total_increasing`: Home Assistant statestream
 * publishes an attribute JSON-encoded (`"total_increasing"`, with its quotes); a plain text is taken too.
 */
function isTotalIncreasing(payload: Buffer): boolean {
  if (payload.length > 64) return false;
  let text = payload.toString('utf8').trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  return text === 'total_increasing';
}

/**
 * The text of a hub's attribute message (statestream publishes an attribute JSON-encoded, `"°C"`; a plain text is
 * taken too), trimmed: '' for an empty payload or text, null for one longer than 16 characters or a JSON value that
 * is not a string (`null`, a number: no unit).
 */
function attributeText(payload: Buffer): string | null {
  if (payload.length > 64) return null;
  let text = payload.toString('utf8').trim();
  if (text.startsWith('"')) {
    const parsed = parseJson(payload, text);
    if (!parsed.ok || typeof parsed.doc !== 'string') return null;
    text = parsed.doc.trim();
  } else if (text === 'null' || (text !== '' && Number.isFinite(Number(text)))) return null;
  return text.length > 16 ? null : text;
}

/** A number followed by a unit (`22.0 °C`, `21.5°C`): the number's text and the unit, or null. */
const NUMBER_AND_UNIT = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S.*)$/s;

/**
 * The number of a text state written with a unit (`22.0 °C`) when that unit is `unit` (the stream's own, from its
 * discovery config), else null: a number in another unit, or with a word after it, stays a text state.
 */
export function numberInUnit(text: string, unit: string | undefined): string | null {
  if (unit === undefined || unit === '') return null;
  const m = NUMBER_AND_UNIT.exec(text.trim());
  return m !== null && m[2].trim() === unit ? m[1] : null;
}
