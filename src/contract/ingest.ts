/**
 * How ingest is configured, as plain types: field-mapping rules and channel groups (written in the config
 * as ingest.rules / ingest.groups, or by a preset), and the units a device time or number is written in.
 * The config checks them (src/config/ingest-rules.ts), the parse stage compiles them (src/pipeline/route.ts).
 */

/**
 * Most levels a `{sensor#}` that is not the last level of a topic template takes: it is subscribed as one MQTT
 * filter per depth (`{sensor#}/sensor/+/state` -> `+/sensor/+/state`, `+/+/sensor/+/state`; src/pipeline/topic.ts),
 * and check-config compares templates so (src/config/overlaps.ts).
 */
export const MAX_INNER_LEVELS = 2;

/** How a rule's time field is written; `auto` tells epoch s, ms, µs and ns apart by magnitude and reads strings as ISO 8601. */
export type TimeUnit = 'auto' | 's' | 'ms' | 'us' | 'ns' | 'iso';
export const TIME_UNITS: readonly TimeUnit[] = ['auto', 's', 'ms', 'us', 'ns', 'iso'];

/** The payload's decimal separator. */
export type DecimalSeparator = '.' | ',';

/** One mapping rule as written in the config (`ingest.rules[]`, defaults filled in) or by a preset. */
export interface MappingRuleSpec {
  /** For messages and the docs. */
  readonly name: string;
  /**
   * Topic templates: `{sensor}` (one level, the device) or `{sensor#}` (one or more levels, the device's
   * name with its `/`), optional `{field}`, `+`, `#`. Subscribed as filters (src/pipeline/topic.ts).
   */
  readonly topics: readonly string[];
  /** Payload fields whose values make the device id (rtl_433: model, channel, id), joined by `-`; they are not streams. */
  readonly sensorFields: readonly string[];
  /**
   * Field globs to take (`*` any characters, `?` one); empty = every numeric field. Matched on the field
   * name: the `{field}` topic level and/or the dotted path (`BME280.Temperature`), `value` for the device's own value.
   */
  readonly fields: readonly string[];
  /** Field globs to drop (metadata such as `linkquality`). */
  readonly exclude: readonly string[];
  /**
   * Dotted path of the time field; null = `ts`, `timestamp` or `time` in any case; false = none (config
   * `time: none`): every reading is stamped on arrival. With any of them, a device time before 2000 in a
   * one-object payload (a clock never set: Tasmota without NTP) is replaced by the arrival time, counted.
   */
  readonly time: string | null | false;
  readonly timeUnit: TimeUnit;
  readonly decimal: DecimalSeparator;
  /** Whether retained messages (the broker's last value, replayed on every subscribe) are readings. */
  readonly retained: boolean;
  /** Texts that mean "no reading now" (case-insensitive), e.g. `unavailable`. */
  readonly missing: readonly string[];
  /** Device-id globs this rule ignores (rejected `bad_topic`), e.g. anomalyd's own Home Assistant entities. */
  readonly excludeSensors: readonly string[];
  /**
   * Topic globs (`*` any characters, `/` included; `?` one) of messages this rule takes and drops without a
   * rejection: a hub's own traffic under the topics it reads (zigbee2mqtt's `zigbee2mqtt/bridge/*`, device
   * availability, `set`/`get` commands), which is not readings. Matched on the whole topic, before
   * excludeSensors. Absent = none.
   */
  readonly ignoreTopics?: readonly string[];
  /**
   * Presets only: payload fields (globs over the dotted path) dropped from a payload that also has the field
   * `when`: zigbee2mqtt's `voltage` is the battery's (mV) on a device that reports `battery`, and the mains
   * voltage (V) on a plug, which has none. Absent = none.
   */
  readonly excludeWith?: readonly { readonly fields: readonly string[]; readonly when: string }[];
  /**
   * Presets only: a hub message that wraps several parts in one JSON object (Shelly's RPC notification, the
   * Zigbee bridge's `ZbReceived`), read part by part. Absent = none.
   */
  readonly envelope?: EnvelopeSpec;
  /**
   * Presets only: a payload that is text, neither a number nor a missing-word (Home Assistant's `idle`,
   * `on`, `heat`), is the state of an entity that is not numeric: skipped and counted `text_state`, not
   * rejected `bad_json`. Absent = false.
   */
  readonly skipText?: boolean;
  /**
   * Presets only: the units the hub states for some fields, carried to the streams' unit (explain.units
   * patterns still win; values are never converted). The first source whose fields match a field names its
   * unit. A field a source names is a measurement the hub sends as a number: a text there that is not one (a
   * zigbee2mqtt `"temperature":"21.5 °C"`) is rejected `not_a_number`, not dropped as metadata (tryout 20,
   * finding 12). Absent = none.
   */
  readonly units?: readonly UnitSource[];
  /**
   * Presets only: topic templates (`{sensor}`, optional `{field}`) of messages whose payload is the unit of the
   * stream `{sensor}` (with `{field}`: `<sensor>/<field>`): Home Assistant statestream's attribute topic
   * `homeassistant/sensor/<entity>/unit_of_measurement`, payload `"°C"` (JSON-encoded, home-assistant.io "MQTT
   * Statestream", publish_attributes; a plain text is taken too). Subscribed with the rule's topics and skipped as the
   * hub's own traffic (`hub_topic`), never readings. The unit is the stream's stated unit from its next reading on
   * (explain.units patterns still win; values are never converted); an empty payload (the retained attribute
   * cleared) forgets it, a text longer than 16 characters states none. Absent = none.
   */
  readonly unitTopics?: readonly string[];
  /**
   * Presets only: topic templates (`{sensor}`, optional `{field}`) of messages whose payload is the Home Assistant
   * device class of the on/off stream `{sensor}`: statestream's attribute topic
   * `homeassistant/binary_sensor/<entity>/device_class`, payload `"moisture"` (JSON-encoded, publish_attributes). An
   * alarm class (HA_ALARM_CLASSES) makes the stream an alarm field told in its class's words (`leak`); another class,
   * or an empty payload, leaves it a plain on/off stream. Subscribed with the rule's topics, skipped `hub_topic`.
   * Absent = none.
   */
  readonly deviceClassTopics?: readonly string[];
  /**
   * Presets only: where the hub states that a field is a cumulative counter (an energy meter's total), so that its
   * stream is judged as one from its first reading (src/pipeline/counter.ts, CounterTrack.declare) instead of
   * being recognised after MONOTONE_READINGS readings. Absent = none.
   */
  readonly counters?: CounterSource;
  /**
   * Presets only: a JSON object with no number in it at all (a zigbee2mqtt button's `{"action":"single"}`, a
   * group's `{"state":"ON"}`) is a hub message without a measurement: skipped and counted `hub_event`, not
   * rejected `not_a_number`. (An object whose numbers the rule all drops is `hub_event` with any rule.) Absent = false.
   */
  readonly skipEvents?: boolean;
  /**
   * Presets only: where the hub or the device says whether the device is online (its MQTT birth and last will:
   * ESPHome's `<topic_prefix>/status` `online`/`offline`, zigbee2mqtt's `<name>/availability` `{"state":"offline"}`,
   * Tasmota's `tele/<device>/LWT` `Offline`, a Shelly Gen2's `<device>/online` `false`). Such a message, retained or
   * not, is skipped as the hub's own traffic (`hub_topic`) and told to ParseOptions.onAvailability. Absent = none.
   */
  readonly availability?: AvailabilitySource;
  /**
   * Presets only: where the hub sends on/off readings (a door's contact, a motion sensor's occupancy, a binary
   * sensor's `ON`/`OFF`), each read as a reading of 1 (on) or 0 (off) of its own stream, which the detector judges
   * as on/off (its silence, not its values: docs/SCORING.md, "On/off streams"). Absent = none: a JSON boolean is
   * metadata and a word a text.
   */
  readonly onOff?: OnOffSource;
}

/**
 * Where a hub sends on/off readings (MappingRuleSpec.onOff): fields of its JSON objects (zigbee2mqtt's `contact`,
 * `occupancy`, sent as JSON `true`/`false`), and topics whose whole payload is an on/off word (ESPHome's
 * `<node>/binary_sensor/<obj>/state` `ON`/`OFF`, Home Assistant statestream's `homeassistant/binary_sensor/<obj>/state`
 * `on`/`off`). A value that is neither word (nor a missing-word) is no reading: at a field, metadata as any text; as a
 * topic's payload, a text state (skipped, counted `text_state`).
 */
export interface OnOffSource {
  /** Field globs (over the field name the rule's globs see) whose JSON booleans (or on/off words) are on/off readings. Absent = none. */
  readonly fields?: readonly string[];
  /** Topic templates, each one of the rule's `topics` too, whose payload is an on/off word (any case, trimmed). Absent = none. */
  readonly topics?: readonly string[];
  /** Words (any case) meaning on (1), and off (0); a JSON `true` is on and `false` off whatever they are. */
  readonly on: readonly string[];
  readonly off: readonly string[];
  /**
   * The names of the states of some fields, as people say them (zigbee2mqtt's `contact` true = `closed`, false =
   * `open`; `occupancy` `detected` / `clear`): the first entry whose globs match the field (the stream's `{field}` or
   * JSON field name) names its states. Absent, or no entry matches: `on` / `off`.
   */
  readonly states?: readonly OnOffStateNames[];
}

/** The names of an on/off field's two states (OnOffSource.states), and whether its on state is an alarm. */
export interface OnOffStateNames {
  /** Field globs, as OnOffSource.fields. */
  readonly fields: readonly string[];
  /** The name of its reading 1 (JSON `true`, `ON`): `closed`, `detected`, `leak`. */
  readonly on: string;
  /** … and of its reading 0: `open`, `clear`, `dry`. */
  readonly off: string;
  /**
   * The state the field rests in when nothing happens (a door `closed`: zigbee2mqtt's `contact` true, `on`): the other,
   * its active state (a door open, motion detected), is the one whose dwell is judged (src/pipeline/dwell.ts,
   * OnOffDwell). Absent: `off`.
   */
  readonly rest?: 'on' | 'off';
  /**
   * Its on state means danger whatever its history (a leak, smoke, gas, carbon monoxide, tamper): told at once when the
   * stream goes to it (docs/SCORING.md, "On/off streams"). Absent: false.
   */
  readonly alarm?: boolean;
}

/**
 * The words an on/off stream's readings are told in (OnOffStateNames without its globs): `on` for its reading 1,
 * `off` for 0, `alarm`: whether its on state is an alarm, `active`: which reading is its active state.
 */
export interface OnOffWords {
  readonly on: string;
  readonly off: string;
  readonly alarm: boolean;
  /** The reading of its active state (OnOffStateNames.rest: the other one): 1, or 0 for a door's contact. */
  readonly active: 0 | 1;
}

/** The words of an on/off stream whose field names none: `on` / `off`, no alarm, on its active state. */
export const PLAIN_ON_OFF: OnOffWords = { on: 'on', off: 'off', alarm: false, active: 1 };

/**
 * Home Assistant binary_sensor device classes whose `on` is an alarm (home-assistant.io, "Binary sensor", device
 * classes: `moisture` "on means moisture detected (wet)", `smoke` "smoke detected", `gas` "gas detected",
 * `carbon_monoxide` "carbon monoxide detected", `safety` "on means unsafe", `tamper` "tampering detected"), told in
 * the words zigbee2mqtt's alarm fields are (Z2M_ON_OFF_STATES). Not `problem`: Home Assistant gives it to anything
 * that may need a look (an update, a low ink level, anomalyd's own entities), not a danger; it stays a judged stream.
 */
export const HA_ALARM_CLASSES: Readonly<Record<string, OnOffWords>> = {
  moisture: { on: 'leak', off: 'dry', alarm: true, active: 1 },
  smoke: { on: 'smoke', off: 'clear', alarm: true, active: 1 },
  gas: { on: 'gas', off: 'clear', alarm: true, active: 1 },
  carbon_monoxide: { on: 'carbon monoxide', off: 'clear', alarm: true, active: 1 },
  safety: { on: 'unsafe', off: 'safe', alarm: true, active: 1 },
  tamper: { on: 'tampered', off: 'clear', alarm: true, active: 1 },
};

/** The words of a Home Assistant binary_sensor of device class `cls` (any case, trimmed) when it is an alarm class, else null. */
export function haAlarmWords(cls: string | null | undefined): OnOffWords | null {
  if (cls === null || cls === undefined) return null;
  const key = cls.trim().toLowerCase();
  return Object.hasOwn(HA_ALARM_CLASSES, key) ? HA_ALARM_CLASSES[key] : null;
}

/**
 * A device's own word on whether it is online (MappingRuleSpec.availability): topic templates whose `{sensor}` /
 * `{sensor#}` is the device (the one its readings' streams name as their device), and the payloads that say so.
 */
export interface AvailabilitySource {
  /** Topic templates (`{sensor#}/status`); subscribed with the rule's topics, matched before its ignoreTopics. */
  readonly topics: readonly string[];
  /** Payload words (any case, trimmed; a JSON string or boolean as its text) meaning online: `online`, `true`. */
  readonly online: readonly string[];
  /** … and offline: `offline`, `false`. Any other payload says nothing (skipped all the same). */
  readonly offline: readonly string[];
  /** A JSON object's key whose text is the word (zigbee2mqtt's `{"state":"offline"}`); a plain word is read too. Absent = none. */
  readonly key?: string;
}

/**
 * Where a hub states a field's unit (MappingRuleSpec.units): fixed by the field's name (a Shelly's `tC` is °C,
 * shelly-api-docs.shelly.cloud), or in the same message (Tasmota's `"TempUnit":"F"` for its temperatures,
 * `"PressureUnit":"hPa"` for its pressures, tasmota.github.io "Commands": SetOption8, SetOption24).
 */
export interface UnitSource {
  /** Field globs (over the field name the rule's globs see: `BME280.Temperature`, `temperature:0/tC`). */
  readonly fields: readonly string[];
  /** The unit of those fields, fixed; or else … */
  readonly unit?: string;
  /**
   * … the top-level payload key whose text is their unit (`TempUnit`); a message without it states none. Neither:
   * a measurement without a unit (Tasmota's power `Factor`, a ratio), named so that a text there is rejected.
   */
  readonly key?: string;
  /** The key's texts as units (`C` → `°C`); a text not listed is the unit as written (`hPa`). */
  readonly names?: Readonly<Record<string, string>>;
}

/**
 * Where a hub states that a stream is a cumulative counter (MappingRuleSpec.counters): by the field's name, as its
 * documentation fixes it (a Shelly Gen2 switch's `aenergy.total`, Wh; Tasmota's `ENERGY.Total`, kWh; zigbee2mqtt's
 * `energy`, kWh), or in a message of its own (Home Assistant statestream's attribute topic
 * `homeassistant/sensor/<entity>/state_class`, payload `"total_increasing"`).
 */
export interface CounterSource {
  /** Field globs (over the field name the rule's globs see: `switch:0/aenergy.total`, `ENERGY.Total`) whose streams are counters. */
  readonly fields?: readonly string[];
  /**
   * Topic templates (`{sensor}`, optional `{field}`) of messages whose payload is the state class of the stream
   * `{sensor}` (with `{field}`: `<sensor>/<field>`); subscribed with the rule's topics, and skipped as the hub's
   * own traffic (`hub_topic`), never readings. A JSON string or a plain text: `total_increasing` is a counter
   * (a decrease is "the start of a new meter cycle", developers.home-assistant.io, 2021-08-16); any other
   * class (`measurement`; `total`, which may go down: a net meter) says nothing. Absent = none.
   */
  readonly classTopics?: readonly string[];
}

/**
 * A hub message of several parts (MappingRuleSpec.envelope). A payload without the object at `path` is
 * read as any other payload of the rule.
 *
 *   Shelly Gen2 `<device>/events/rpc`: `{"method":"NotifyStatus","params":{"ts":1764496800.5,"switch:0":{"apower":61.3}}}`
 *     path `params`, parts `fields`: the streams `<device>/switch:0/apower`, as `<device>/status/switch:0` gives them.
 *   Zigbee2Tasmota `tele/<bridge>/SENSOR`: `{"ZbReceived":{"0x8F10":{"Name":"Room10","Temperature":21.1}}}`
 *     path `ZbReceived`, parts `sensors`, nameKey `Name`: the stream `Room10/Temperature`.
 */
export interface EnvelopeSpec {
  /** Dotted path of the object whose entries (each an object) are the parts. */
  readonly path: string;
  /**
   * `fields`: each entry is a `{field}` level of the topic's device (its key, Shelly's component `switch:0`);
   * `sensors`: each entry is a device of its own.
   */
  readonly parts: 'fields' | 'sensors';
  /** With `sensors`: the entry's field whose text names the device; without one, the entry's key names it. */
  readonly nameKey?: string;
  /**
   * Field globs (over a part's dotted paths) that are never streams of a part, besides the rule's `exclude`:
   * the Zigbee devices' link and battery metadata (`LinkQuality`, `BatteryPercentage`). Absent = none.
   */
  readonly exclude?: readonly string[];
  /** Dotted path of the message's time (`params.ts`); absent = the rule's time field. */
  readonly time?: string;
  /**
   * The payload field that says what the message is, and the values of it that carry readings: a message
   * with another value (Shelly's `NotifyEvent`) is skipped, counted `hub_event`. Absent = every message.
   */
  readonly kind?: { readonly key: string; readonly read: readonly string[] };
  /**
   * Whether, once a device's envelope has been read, its messages on the rule's other topics are skipped
   * (counted `hub_topic`): they carry the same readings again (a Shelly with "Generic status update over MQTT"
   * on sends each change both as NotifyStatus and on `status/<component>`). Absent = false.
   */
  readonly supersedes?: boolean;
}

/** What a rule's keys left out mean (every preset starts from these too). */
export const RULE_DEFAULTS: Omit<MappingRuleSpec, 'name' | 'topics'> = Object.freeze({
  sensorFields: [],
  fields: [],
  exclude: [],
  time: null,
  timeUnit: 'auto',
  decimal: '.',
  retained: false,
  missing: [],
  excludeSensors: [],
});

/** A multi-channel model's input: the listed fields of one device, aligned per message into one reading. */
export interface ChannelGroupSpec {
  /** The stream is `<device>/<name>`. */
  readonly name: string;
  /** Glob over device ids. */
  readonly sensors: string;
  /** Field names (as in MappingRuleSpec.fields), in channel order. */
  readonly fields: readonly string[];
  /** Model file stem in model.dir whose channel count must equal fields.length; null = the shared model. */
  readonly model: string | null;
}
