/**
 * Presets: one line in the config (`ingest.presets: [zigbee2mqtt]`) turns on the mapping rule of an
 * ecosystem. Each drops that ecosystem's metadata fields, reads a `nan` text as a missing reading
 * (HUB_MISSING), and is documented with a sample payload and the streams it yields (the README's "Connect
 * your devices", test/pipeline/route.test.ts and test/e2e/devices.test.ts use the same samples).
 */
import { RULE_DEFAULTS, type MappingRuleSpec, type OnOffStateNames } from '../contract/ingest.js';

/**
 * In match order: enabled presets are tried in this order whatever order the config lists them in, the
 * more specific topics first (`homeassistant/sensor/+/state` would also match ESPHome's `+/sensor/+/state`).
 */
export const PRESET_NAMES = ['zigbee2mqtt', 'tasmota', 'homeassistant', 'ha_statestream', 'esphome', 'shelly', 'rtl_433'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  readonly rule: MappingRuleSpec;
  /** One line for the docs. */
  readonly doc: string;
  /** A documented sample: a topic, its payload and the streams it yields (sorted). */
  readonly sample: { readonly topic: string; readonly payload: string; readonly streams: readonly string[] };
  /** Whether Home Assistant discovery is on by default (`homeassistant.discovery: auto`) with this preset. */
  readonly homeAssistant: boolean;
  /** What the ecosystem's hub or device publishes and listens on besides its readings (the embedded broker's grants). */
  readonly hub: HubTopics;
  /**
   * Whether the Home Assistant discovery configs of sensors (`<homeassistant.prefix>/sensor/…/config`) are read for the
   * units they state (ParseOptions.discoveryPrefix): ESPHome publishes one per sensor. Absent = false.
   */
  readonly discoveryUnits?: boolean;
  /**
   * Whether the Home Assistant discovery configs of sensors, binary_sensors and numbers whose state topic no rule reads
   * are entities of their own (ParseOptions.discoveryEntities: the topic subscribed at run time, the stream
   * `[<node_id>/]<object_id>`, read through its value_template, its unit the config's), decoded as this preset's rule
   * decodes a plain value. Implies discoveryUnits. Absent = false.
   */
  readonly discoveryEntities?: boolean;
}

/**
 * A hub's own MQTT traffic beyond the readings the rule reads: with the preset on, the embedded broker lets
 * the sensor login publish `publish` (retained too) and never `commands` (docs/SECURITY.md, "Hubs on the
 * embedded broker"). Subscribing is open to sensors anyway.
 */
export interface HubTopics {
  /** MQTT filters: its availability, state, device list, logs (`zigbee2mqtt/#`, `tele/#`). */
  readonly publish: readonly string[];
  /**
   * MQTT filters inside `publish` this hub is not granted (another hub's grant or ingest.topics may still cover
   * them): Home Assistant statestream's `homeassistant/+/+/+` without the discovery configs
   * `homeassistant/+/+/config` it never publishes. Absent = none.
   */
  readonly except?: readonly string[];
  /**
   * The topics it takes commands on, refused to every client but the daemon even where `publish`, another
   * hub's or ingest.topics cover them. MQTT filters in which a level `**` stands for one or more levels.
   */
  readonly commands: readonly string[];
  /** Whether it publishes Home Assistant discovery configs (`<homeassistant.prefix>/<component>/…/config`). */
  readonly discovery: boolean;
}

/** An ecosystem with no hub of its own on the broker: its readings are all it publishes. */
const NO_HUB: HubTopics = { publish: [], commands: [], discovery: false };

const BASE = RULE_DEFAULTS;

/**
 * A hub's word for a failed reading: ESPHome publishes `nan`, Tasmota `"Power":"nan"`, and a firmware that
 * prints a NaN float does the same. From every preset it is a missing reading (no reading now, not a
 * rejection), as a null field is; matched in any case (`NaN`). Outside the presets `nan` is rejected
 * `non_finite` unless a rule lists it in `missing`.
 */
const HUB_MISSING = ['nan'];

/**
 * zigbee2mqtt's own topics under its base topic, not a device's state (zigbee2mqtt.io, "MQTT Topics and
 * Messages"): `bridge/…`, `<friendly_name>/availability`, `<friendly_name>/set|get[/<attribute>]`.
 */
const Z2M_HUB_TOPICS = [
  'zigbee2mqtt/bridge',
  'zigbee2mqtt/bridge/*',
  'zigbee2mqtt/*/availability',
  'zigbee2mqtt/*/set',
  'zigbee2mqtt/*/set/*',
  'zigbee2mqtt/*/get',
  'zigbee2mqtt/*/get/*',
];

/** A zigbee2mqtt device's own health, not what it measures: radio, battery, its chip's temperature, its reboots, updates. */
const Z2M_HEALTH = [
  'linkquality',
  'last_seen',
  'battery',
  'battery_low',
  'battery_state',
  'battery_voltage',
  'device_temperature',
  'power_outage_count',
  'update',
  'update.*',
  'update_available',
  'elapsed',
  'device.*',
];

/**
 * Settings a zigbee2mqtt device reports in its state beside its measurements: what a person or an
 * automation sets on a light, a cover or a thermostat (brightness, color_temp, color, position, tilt, the
 * setpoints), and the device's configuration (calibrations, comfort limits, temperature limits, timeouts).
 * Names from the "Exposes" lists of zigbee2mqtt.io's device pages (e.g. IKEA LED1545G12: brightness,
 * color_temp; TRVs: current_heating_setpoint, occupied_heating_setpoint, local_temperature_calibration,
 * position). A rule before the preset reads any of them again (README, "Connect your devices").
 */
export const Z2M_SETTINGS = [
  'brightness',
  'color_temp',
  'color_temp_startup',
  'color.*',
  'level_config.*',
  'transition',
  'position',
  'tilt',
  '*_setpoint',
  '*_calibration',
  'comfort_*',
  'min_temperature',
  'max_temperature',
  'min_temperature_limit',
  'max_temperature_limit',
  'eco_temperature',
  'away_preset_temperature',
  'boost_time',
  'occupancy_timeout',
  'countdown',
];

/**
 * What a Zigbee2Tasmota device reports beside its measurements (tasmota.github.io, "Zigbee"): who it is
 * (Device, Name, IEEEAddr, Endpoint), its radio and battery (LinkQuality, BatteryPercentage, BatteryVoltage),
 * when it was last heard (LastSeen, LastSeenEpoch), and what a person or an automation sets on a light or a
 * plug (Power on/off, Dimmer, CT, Hue, Sat, X, Y, as zigbee2mqtt's settings).
 */
export const Z2T_NOT_MEASURED = ['Device', 'Name', 'IEEEAddr', 'Endpoint', 'LinkQuality', 'Battery*', 'LastSeen*', 'Reachable', 'Power', 'Dimmer', 'CT', 'Hue', 'Sat', 'X', 'Y'];

/**
 * The units zigbee2mqtt gives its common measurements, whatever the device (zigbee2mqtt.io, each device's
 * "Exposes": "Temperature (numeric) … The unit of this value is °C", humidity %, pressure hPa, a plug's power W,
 * voltage V, current A). A Tuya sensor's `temperature_unit` (`fahrenheit`) is its display's unit, not the
 * reading's: its `temperature` is still °C.
 */
const Z2M_UNITS = [
  { fields: ['temperature', 'local_temperature'], unit: '°C' },
  { fields: ['humidity'], unit: '%' },
  { fields: ['pressure'], unit: 'hPa' },
  { fields: ['power'], unit: 'W' },
  { fields: ['voltage'], unit: 'V' },
  { fields: ['current'], unit: 'A' },
  { fields: ['energy'], unit: 'kWh' },
  // "Illuminance (numeric) … The unit of this value is lx" (zigbee2mqtt 2.x; 1.x's `illuminance_lux`).
  { fields: ['illuminance', 'illuminance_lux'], unit: 'lx' },
];

/**
 * zigbee2mqtt's on/off sensings: the binary exposes of its sensors, sent as JSON `true`/`false` (zigbee2mqtt.io device
 * pages, "Exposes": Aqara MCCGQ11LM "Contact (binary) … true = closed", RTCGQ11LM "Occupancy (binary)", SJCGQ11LM
 * "Water leak (binary)", smoke, gas and CO detectors, "Tamper (binary)", Aqara DJT11LM "Vibration (binary)", mmWave
 * "Presence (binary)"). Each its own stream of 1 (true) and 0 (false). Not the device's health (`battery_low`) nor a
 * setting (`led_disabled_night`, `child_lock`), nor an actuator's `state` (what a person sets): those stay skipped.
 */
export const Z2M_ON_OFF = ['contact', 'occupancy', 'presence', 'water_leak', 'smoke', 'gas', 'carbon_monoxide', 'tamper', 'vibration', 'moving', 'sos'];

/**
 * The names of zigbee2mqtt's on/off states, as its device pages' "Exposes" describe them: "Indicates if the contact is
 * closed (= true) or open (= false)" (so a door's `contact` true is `closed`), "Indicates whether the device detected
 * occupancy / presence / a water leak / smoke / gas / carbon monoxide / vibration / movement", "Indicates whether the
 * device is tampered". A leak, smoke, gas, carbon monoxide, tamper and an SOS press are alarms: the device's own
 * judgement that something is wrong, told at once (docs/SCORING.md, "On/off streams"); a door's or motion sensor's
 * states are not.
 */
export const Z2M_ON_OFF_STATES: readonly OnOffStateNames[] = [
  // A door rests closed (true): its active state is open.
  { fields: ['contact'], on: 'closed', off: 'open', rest: 'on' },
  { fields: ['occupancy', 'presence'], on: 'detected', off: 'clear' },
  { fields: ['vibration'], on: 'vibrating', off: 'still' },
  { fields: ['moving'], on: 'moving', off: 'still' },
  { fields: ['water_leak'], on: 'leak', off: 'dry', alarm: true },
  { fields: ['smoke'], on: 'smoke', off: 'clear', alarm: true },
  { fields: ['gas'], on: 'gas', off: 'clear', alarm: true },
  { fields: ['carbon_monoxide'], on: 'carbon monoxide', off: 'clear', alarm: true },
  { fields: ['tamper'], on: 'tampered', off: 'clear', alarm: true },
  { fields: ['sos'], on: 'SOS', off: 'clear', alarm: true },
];

/** The words of an on/off state: ESPHome's `ON`/`OFF`, Home Assistant's `on`/`off` (any case). */
const ON_OFF_WORDS = { on: ['on'], off: ['off'] };

/** Home Assistant's words for "no state". */
const HA_MISSING = ['unavailable', 'unknown', 'none', ''];

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  zigbee2mqtt: {
    doc:
      "zigbee2mqtt device topics `zigbee2mqtt/<friendly_name>`, a friendly name of several levels (`kitchen/floor_light`) included; skips the bridge's topics (`zigbee2mqtt/bridge/…`), `…/availability` and `…/set`, `…/get`; drops the device's own health fields (linkquality, last_seen, battery, a battery device's voltage, device_temperature, power_outage_count), `illuminance` where `illuminance_lux` comes with it (zigbee2mqtt 1.x: the same reading twice), update info, and the settings of actuators and devices (brightness, color_temp, position, setpoints, calibrations, comfort limits …); reads a sensor's on/off fields (contact, occupancy, presence, water_leak, smoke, tamper …: JSON true/false) as streams of 1 and 0, told in their states' names (a contact's true is closed), judged on their silence and on how long their active state (a door open, motion detected) is held against how long it was before.",
    rule: {
      ...BASE,
      name: 'zigbee2mqtt',
      // zigbee2mqtt.io, "MQTT Topics and Messages": `zigbee2mqtt/FRIENDLY_NAME`, and "you can use the /
      // separator in friendly_name to structure devices and groups" (`kitchen/floor_light`).
      topics: ['zigbee2mqtt/{sensor#}'],
      // Its other topics under the same base: the bridge's (state, info, devices, logging, response …),
      // `<name>/availability` (online/offline), and commands `<name>/set|get[/<attribute>]`.
      ignoreTopics: Z2M_HUB_TOPICS,
      // zigbee2mqtt.io, "Device-Availability": with `availability` on, `zigbee2mqtt/<friendly_name>/availability`,
      // retained, `{"state":"online"}` / `{"state":"offline"}` (plain `online` / `offline` with the legacy payload).
      availability: { topics: ['zigbee2mqtt/{sensor#}/availability'], online: ['online'], offline: ['offline'], key: 'state' },
      exclude: [...Z2M_HEALTH, ...Z2M_SETTINGS],
      // `voltage` is the battery's (mV) on a battery device (an Aqara sensor sends it with `battery`), the
      // mains voltage (V) on a plug, which is a measurement and stays.
      // zigbee2mqtt 1.x sends a light sensor's reading twice, `illuminance` and `illuminance_lux` (2.x only
      // `illuminance`, in lx): one stream of it, `illuminance_lux`, not two that alert twice for one fault.
      excludeWith: [
        { fields: ['voltage'], when: 'battery' },
        { fields: ['illuminance'], when: 'illuminance_lux' },
      ],
      missing: HUB_MISSING,
      units: Z2M_UNITS,
      // A plug's or meter's `energy` (zigbee2mqtt.io, the devices' "Exposes": "Energy (numeric) Sum of consumed
      // energy. The unit of this value is kWh"; its Home Assistant discovery gives it `state_class: total_increasing`):
      // a counter from its first reading.
      counters: { fields: ['energy'] },
      // A door's `"contact":true`, a motion sensor's `"occupancy":false`: on/off readings, 1 and 0 (tryout 22, finding 7).
      onOff: { fields: Z2M_ON_OFF, ...ON_OFF_WORDS, states: Z2M_ON_OFF_STATES },
      // A button's `{"action":"single"}`, a group's `{"state":"ON"}`: no measurement, skipped `hub_event`.
      skipEvents: true,
    },
    sample: {
      topic: 'zigbee2mqtt/bedroom_sensor',
      payload: '{"battery":93.5,"device_temperature":24,"humidity":43.5,"linkquality":255,"power_outage_count":3,"temperature":21.3,"voltage":3005}',
      streams: ['bedroom_sensor/humidity', 'bedroom_sensor/temperature'],
    },
    homeAssistant: true,
    // Its bridge topics (state, info, devices …, retained), device availability; commands are
    // `<device>/set|get[/<attribute>]` (a device name may have several levels) and `bridge/request/…`.
    hub: { publish: ['zigbee2mqtt/#'], commands: ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/**/get/#', 'zigbee2mqtt/bridge/request/#'], discovery: true },
  },
  tasmota: {
    doc: 'Tasmota telemetry `tele/<device>/SENSOR`, nested sensors by path; a Zigbee bridge\'s `ZbReceived` (Zigbee2Tasmota) as one sensor per Zigbee device, named by its `Name` (else its short address), without its link, battery and settings fields; `Time` in ingest.timezone, a `Time` before 2000 (no NTP) replaced by the arrival time; of `ENERGY` the measurements (Power, Voltage, Current, Factor, ApparentPower, ReactivePower …) and `Total` (kWh), a counter from its first reading (TotalTariff, ExportTariff too), a multi-channel meter\'s arrays (a Dual R3\'s `"Power":[114,25]`) as one stream per element, `ENERGY.Power.0`, `ENERGY.Power.1`, with the field\'s unit; not Today (the same count started again at every midnight), Yesterday (a step once a day), Period (the energy since the last telemetry) and TotalStartTime; `"nan"` is a missing reading.',
    rule: {
      ...BASE,
      name: 'tasmota',
      topics: ['tele/{sensor}/SENSOR'],
      // tasmota.github.io, "MQTT": the retained LWT `tele/<topic>/LWT`, `Online` at connection, `Offline` as last will.
      availability: { topics: ['tele/{sensor}/LWT'], online: ['Online'], offline: ['Offline'] },
      // ENERGY's counters (tasmota.github.io, "Power Monitoring"; tele/<t>/SENSOR `{"ENERGY":{"TotalStartTime":…,
      // "Total":…,"Yesterday":…,"Today":…,"Period":…,"Power":…}}`): Total (kWh since TotalStartTime) is the meter's
      // running total, read as a counter (`counters` below), as a Shelly's `aenergy.total`. The others tell nothing
      // it does not, and would alert on their own normal: Today is Total less its value at local midnight, started
      // again at 0 every night (a reset a day, which an operator wants no alert for, and Total already carries every
      // watt-hour of it); Yesterday steps once a day; Period is the energy since the last telemetry (Power times
      // TelePeriod). Dropped as any metadata field (not counted: a field is dropped, not a message skipped).
      exclude: ['*Unit', '*.Id', '*.TotalStartTime', 'ENERGY.Today', 'ENERGY.Yesterday', 'ENERGY.Period'],
      // A multi-channel meter (Sonoff Dual R3, a Shelly 2.5 or a PZEM-004T three-phase under Tasmota) sends its channels as
      // arrays, `"Power":[114,25]`, `"Current":[0.485,0.108]` (arendst/Tasmota#21695): each element its own stream,
      // `ENERGY.Power.0`, `ENERGY.Power.1` (Home Assistant's Tasmota integration names them `ENERGY Power 0`, `… 1`), the
      // units, excludes and counters here holding for each element (tryout 37, finding 1). With per-phase energy
      // (SetOption129) Total is an array too; TotalTariff and ExportTariff (kWh per tariff) are counters as Total is.
      counters: { fields: ['ENERGY.Total', 'ENERGY.TotalTariff', 'ENERGY.ExportTariff'] },
      // Tasmota as a Zigbee bridge (tasmota.github.io, "Zigbee"): `tele/<bridge>/SENSOR`
      // `{"ZbReceived":{"0x8F10":{"Device":"0x8F10","Name":"Room10","Temperature":21.1,…,"Endpoint":1,"LinkQuality":65}}}`,
      // keyed by the short address (or the friendly name with SetOption83): each Zigbee device its own sensor.
      envelope: { path: 'ZbReceived', parts: 'sensors', nameKey: 'Name', exclude: Z2T_NOT_MEASURED },
      missing: HUB_MISSING,
      // The units a SENSOR message states for its temperatures and pressures (`"TempUnit":"F"` with SetOption8 1,
      // `"PressureUnit":"mmHg"` with SetOption24 1; tasmota.github.io "Commands"): the streams' unit, changes logged.
      units: [
        { fields: ['*Temperature*', '*DewPoint*'], key: 'TempUnit', names: { C: '°C', F: '°F' } },
        { fields: ['*Pressure*'], key: 'PressureUnit' },
        // A relative humidity (BME280, SHT3X, AM2301, DHT, a Zigbee device behind a bridge): %, whatever the options.
        { fields: ['*Humidity*'], unit: '%' },
        // tasmota.github.io, "Power Monitoring" (and the web UI's units, fixed in the firmware): Total kWh, Power W,
        // ApparentPower VA, ReactivePower var (Tasmota writes VAr), Voltage V, Current A, Frequency Hz; Factor is
        // a ratio without a unit, still a measurement (a text there is rejected, tryout 20 finding 12).
        { fields: ['ENERGY.Total', 'ENERGY.TotalTariff', 'ENERGY.ExportTariff'], unit: 'kWh' },
        { fields: ['ENERGY.Power'], unit: 'W' },
        { fields: ['ENERGY.ApparentPower'], unit: 'VA' },
        { fields: ['ENERGY.ReactivePower'], unit: 'var' },
        { fields: ['ENERGY.Voltage'], unit: 'V' },
        { fields: ['ENERGY.Current'], unit: 'A' },
        { fields: ['ENERGY.Frequency'], unit: 'Hz' },
        { fields: ['ENERGY.Factor'] },
      ],
    },
    sample: {
      topic: 'tele/garden/SENSOR',
      payload: '{"Time":"2026-11-30T10:00:00","BME280":{"Temperature":24.5,"Humidity":65.9,"Pressure":1016.5},"TempUnit":"C"}',
      streams: ['garden/BME280.Humidity', 'garden/BME280.Pressure', 'garden/BME280.Temperature'],
    },
    homeAssistant: true,
    // Telemetry (LWT, STATE, SENSOR …), command results, its native discovery; commands are `cmnd/<device>/…`.
    hub: { publish: ['tele/#', 'stat/#', 'tasmota/discovery/#'], commands: ['cmnd/#'], discovery: true },
  },
  esphome: {
    doc: 'ESPHome state topics `<topic_prefix>/sensor/<name>/state` (plain values; `nan` is a missing reading; a topic_prefix of one or two levels, `livingroom` or `home/livingroom`) and a climate\'s measured temperature `<topic_prefix>/climate/<name>/current_temperature/state` (the stream `<topic_prefix>/<name>`); not its settings (target temperatures, modes); a binary sensor `<topic_prefix>/binary_sensor/<name>/state` `ON`/`OFF` as the stream `<topic_prefix>/<name>` of 1 and 0, judged on its silence.',
    rule: {
      ...BASE,
      name: 'esphome',
      // esphome.io, "MQTT Client Component": `<TOPIC_PREFIX>/<COMPONENT_TYPE>/<COMPONENT_NAME>/state`; the
      // climate component's measured temperature is its custom state topic `…/current_temperature/state`.
      topics: ['{sensor#}/sensor/{field}/state', '{sensor#}/climate/{field}/current_temperature/state', '{sensor#}/binary_sensor/{field}/state'],
      // A binary sensor (esphome.io, "Binary Sensor Component": its MQTT state `ON` / `OFF`, a door, a motion, a
      // button): on/off readings of the stream `<topic_prefix>/<name>` (tryout 22, finding 7).
      onOff: { topics: ['{sensor#}/binary_sensor/{field}/state'], ...ON_OFF_WORDS },
      missing: [...HUB_MISSING, ...HA_MISSING],
      // esphome.io, "MQTT Client Component", "Last Will And Birth Messages": by default a retained birth message
      // `<TOPIC_PREFIX>/status` `online` at connection and the last will `offline` on the same topic (the broker sends
      // it when the device's connection dies: ESPHome's keepalive is 15 s).
      availability: { topics: ['{sensor#}/status'], online: ['online'], offline: ['offline'] },
    },
    sample: { topic: 'livingroom/sensor/temperature/state', payload: '21.5', streams: ['livingroom/temperature'] },
    homeAssistant: true,
    // esphome.io, "MQTT Client Component": discovery on by default (`discovery_prefix` homeassistant), one retained
    // config per sensor, `homeassistant/sensor/<node>/<object_id>/config`, with `stat_t` and `unit_of_meas`.
    discoveryUnits: true,
    // `<node>/status` (availability), `<node>/debug` (logs), every component's state (`<node>/<component>/<id>/state`,
    // a climate's `…/<id>/mode/state`), a topic_prefix of two levels too; commands are
    // `<node>/<component>/<id>[/<what>]/command`.
    hub: {
      publish: ['+/status', '+/debug', '+/+/status', '+/+/debug', '+/+/+/state', '+/+/+/+/state', '+/+/+/+/+/state'],
      commands: ['+/+/**/command'],
      discovery: true,
    },
  },
  homeassistant: {
    doc: "Home Assistant style state topics `homeassistant/sensor/<id>/state` (plain values; `unavailable`, `unknown` are missing; another text, `idle`, `on`, is the state of an entity that is not numeric: skipped, counted `text_state`; a number with its stream's own unit, `22.0 °C`, is read); and Home Assistant MQTT discovery configs `homeassistant/<sensor|binary_sensor|number>/[<node_id>/]<object_id>/config` (full or abbreviated keys, `~` expanded): the unit (`unit_of_measurement`) of the stream its state topic gives, and a state topic no rule reads (`office/th1/state`) subscribed at run time as the stream `[<node_id>/]<object_id>`, read through its simple value_template (`{{ value_json.x.y }}`, `{{ value_json['x'] | float }}`, `{{ value | round(1) }}`; another is rejected `unread_template`), a binary_sensor's `payload_on`/`payload_off` as 1 and 0; a binary_sensor config's `device_class` (`dev_cla`) of an alarm class (moisture, smoke, gas, carbon_monoxide, safety, tamper) makes its stream an alarm field, told at its first `on`; an emptied config unsubscribes; at most ingest.maxStreams entities.",
    // A text state (`idle`, `on`: a sensor entity that is not numeric) is skipped, counted `text_state`.
    rule: { ...BASE, name: 'homeassistant', topics: ['homeassistant/sensor/{sensor}/state'], missing: [...HUB_MISSING, ...HA_MISSING], ignoreTopics: ['homeassistant/sensor/anomalyd_*/state'], skipText: true },
    sample: { topic: 'homeassistant/sensor/outdoor_temperature/state', payload: '7.25', streams: ['outdoor_temperature'] },
    homeAssistant: true,
    // home-assistant.io, "MQTT Discovery": a device announces each entity with a retained
    // `homeassistant/<component>/[<node_id>/]<object_id>/config` naming its own state topic (Tasmota with SetOption19,
    // OpenMQTTGateway, ESP boards: `office/th1/state`, `tele/<t>/SENSOR` with a value_template) and its unit
    // (tryout 25, finding 8).
    discoveryUnits: true,
    discoveryEntities: true,
    hub: NO_HUB,
  },
  ha_statestream: {
    doc: "Home Assistant's MQTT statestream with `base_topic: homeassistant`: the state of sensor, number and input_number entities, and of binary_sensor entities (`on`/`off` as 1 and 0, judged on their silence and how long `on` is held) (`unavailable`, `unknown` are missing; a text state, `idle`, is skipped, counted `text_state`); with `publish_attributes: true`, a sensor whose `state_class` attribute is `total_increasing` is a counter from its first reading, an entity's `unit_of_measurement` attribute (`\"°C\"`) is its stream's unit, and a binary_sensor's `device_class` attribute of an alarm class (`\"moisture\"`, `\"smoke\"` …) makes it an alarm field, told at its first `on` (the attributes' messages skipped, counted `hub_topic`).",
    rule: {
      ...BASE,
      name: 'ha_statestream',
      topics: ['homeassistant/sensor/{sensor}/state', 'homeassistant/number/{sensor}/state', 'homeassistant/input_number/{sensor}/state', 'homeassistant/binary_sensor/{sensor}/state'],
      // A binary_sensor entity's state `on` / `off` (home-assistant.io, "Binary sensor": a door, a motion, a leak):
      // on/off readings of the stream `<entity>` (tryout 22, finding 7); `unavailable` is a missing reading.
      onOff: { topics: ['homeassistant/binary_sensor/{sensor}/state'], ...ON_OFF_WORDS },
      missing: [...HUB_MISSING, ...HA_MISSING],
      // anomalyd's own entities (score sensors) come back through statestream: never read them, and skip them
      // (hub_topic) rather than reject them: they are the daemon's own echo, not an input error (tryout 14, finding 2).
      ignoreTopics: ['homeassistant/*/anomalyd_*/state'],
      // Statestream publishes every sensor entity's state, a text one's too (`washing_machine_state` `idle`).
      skipText: true,
      // With publish_attributes, each attribute on `<base_topic>/<domain>/<entity>/<attribute>`, JSON-encoded:
      // `homeassistant/sensor/house_energy/state_class` `"total_increasing"` (a meter: a counter from its first reading).
      counters: { classTopics: ['homeassistant/sensor/{sensor}/state_class'] },
      // … and `homeassistant/sensor/outdoor_temperature/unit_of_measurement` `"°C"`: the stream's unit (tryout 22, finding 10).
      unitTopics: ['homeassistant/sensor/{sensor}/unit_of_measurement', 'homeassistant/number/{sensor}/unit_of_measurement', 'homeassistant/input_number/{sensor}/unit_of_measurement'],
      // … and `homeassistant/binary_sensor/bath_leak/device_class` `"moisture"`: an alarm field, told at its first `on` (tryout 32).
      deviceClassTopics: ['homeassistant/binary_sensor/{sensor}/device_class'],
    },
    sample: { topic: 'homeassistant/number/boiler_setpoint/state', payload: '57.5', streams: ['boiler_setpoint'] },
    homeAssistant: true,
    // home-assistant.io, "MQTT Statestream": `<base_topic>/<domain>/<entity>/state` for every domain not filtered
    // out, and with publish_attributes / publish_timestamps `<base_topic>/<domain>/<entity>/<attribute>`
    // (`unit_of_measurement`, `friendly_name`, `last_changed` …). The preset reads three domains' states; HA
    // publishes the rest anyway, so the embedded broker takes them (unread: not subscribed) rather than
    // refusing them every minute (tryout 14, finding 7). Not discovery configs (`…/config`): statestream
    // publishes none, and a hub that does has the discovery grant. No commands: HA takes none over statestream.
    hub: { publish: ['homeassistant/+/+/+'], except: ['homeassistant/+/+/config'], commands: [], discovery: false },
  },
  shelly: {
    doc: 'Shelly Gen2 RPC notifications `<device>/events/rpc` (NotifyStatus, NotifyFullStatus: on by default; other methods such as NotifyEvent are skipped) and status notifications `<device>/status/<component>` (sent only with "Generic status update over MQTT" on), both as the streams `<device>/<component>/<field>` (switch:0, em:0, temperature:0 …; once a device\'s notifications are read, its status topics are skipped, not read twice); skips sys, wifi, cloud, mqtt, ble, ws, eth and the battery (devicepower:<id>, the device\'s own health); reads a temperature once, as `tC` (°C), not again as its `tF`; drops ids.',
    rule: {
      ...BASE,
      name: 'shelly',
      // shelly-api-docs.shelly.cloud, Gen2 "Notifications": the device publishes NotifyStatus (the changed part of
      // a component's status) and NotifyFullStatus on `<device>/events/rpc`, `params` holding `ts` (Unix time,
      // UTC) and one object per component (`switch:0`, `temperature:0`); "Generic status update over MQTT"
      // (off by default) adds `<device>/status/<component>` with the component's status. Both give the same
      // streams, `<device>/<component>/<field>`.
      topics: ['{sensor}/status/{field}', '{sensor}/events/rpc'],
      // shelly-api-docs.shelly.cloud, Gen2 "MQTT": `<topic_prefix>/online`, retained, `true` at connection and
      // `false` as last will.
      availability: { topics: ['{sensor}/online'], online: ['true'], offline: ['false'] },
      // With both on, each change comes twice: once a device's notifications are read, its status/<component> is skipped.
      envelope: { path: 'params', parts: 'fields', time: 'params.ts', kind: { key: 'method', read: ['NotifyStatus', 'NotifyFullStatus'] }, supersedes: true },
      // The device's own components, not measurements; `sys` carries `"time":"18:05"`, not a date.
      // `devicepower:<id>` (shelly-api-docs.shelly.cloud, Gen2 "DevicePower": `{"id":0,"battery":{"V":4.2,"percent":78},
      // "external":{"present":false}}`) is the battery's charge: the device's own health, as zigbee2mqtt's `battery`.
      ignoreTopics: ['*/status/sys', '*/status/wifi', '*/status/cloud', '*/status/mqtt', '*/status/ble', '*/status/ws', '*/status/eth', '*/status/devicepower:*'],
      // A temperature comes twice, `tC` and `tF` (Gen2 "Temperature" component `{"id":0,"tC":21.3,"tF":70.3}`, a
      // switch's `"temperature":{"tC":41.2,"tF":106.2}`): the same reading in two units, read once, as `tC` (°C).
      // `aenergy.by_minute` (Gen2 "Switch": "energy consumption by minute (in Milliwatt-hours) for the last three
      // minutes", an array of three) is apower again, one, two and three minutes late: not read as streams.
      exclude: ['sys*', 'wifi*', 'cloud*', 'mqtt*', 'ble*', 'ws*', 'eth*', 'sys/*', 'wifi/*', 'cloud/*', 'mqtt/*', 'ble/*', 'ws/*', 'eth/*', 'devicepower:*', '*/id', '*/source', '*.minute_ts', '*.by_minute', '*.tF', '*/tF'],
      missing: HUB_MISSING,
      // The units the Gen2 API gives these fields (shelly-api-docs.shelly.cloud, "Switch", "Temperature", "Humidity").
      units: [
        { fields: ['*tC'], unit: '°C' },
        { fields: ['*/rh'], unit: '%' },
        { fields: ['*/apower'], unit: 'W' },
        { fields: ['*/voltage'], unit: 'V' },
        { fields: ['*/current'], unit: 'A' },
        { fields: ['*/aenergy.total'], unit: 'Wh' },
        { fields: ['*/ret_aenergy.total'], unit: 'Wh' },
      ],
      // A switch's or a meter's energy counters (Gen2 "Switch", "PM1": `aenergy.total`, "Total energy consumed in
      // Watt-hours"; `ret_aenergy.total`, the energy returned to the grid): counters from their first reading, so a
      // reboot's or `Switch.ResetCounters`' reset to 0 is told as one, however soon (tryout 15, finding 8).
      counters: { fields: ['*/aenergy.total', '*/ret_aenergy.total'] },
    },
    sample: {
      topic: 'shellyplus1pm-a8032ab1/status/switch:0',
      payload: '{"id":0,"source":"init","output":true,"apower":55.2,"voltage":229.8,"current":0.25,"aenergy":{"total":17.6,"by_minute":[0,0,0],"minute_ts":1764496800},"temperature":{"tC":41.2,"tF":106.2}}',
      streams: [
        'shellyplus1pm-a8032ab1/switch:0/aenergy.total',
        'shellyplus1pm-a8032ab1/switch:0/apower',
        'shellyplus1pm-a8032ab1/switch:0/current',
        'shellyplus1pm-a8032ab1/switch:0/temperature.tC',
        'shellyplus1pm-a8032ab1/switch:0/voltage',
      ],
    },
    homeAssistant: false,
    // `<device>/online` (availability, retained), notifications, debug logs; RPC requests and commands are
    // `<device>/rpc` and `<device>/command`.
    hub: { publish: ['+/online', '+/events/rpc', '+/debug/log'], commands: ['+/rpc', '+/command'], discovery: false },
  },
  rtl_433: {
    doc: 'rtl_433 JSON events `rtl_433/<host>/events`: one device per model-channel-id; drops radio metadata (mic, rssi, snr, freq …).',
    rule: {
      ...BASE,
      name: 'rtl_433',
      topics: ['rtl_433/+/events'],
      sensorFields: ['model', 'channel', 'id'],
      exclude: ['mic', 'mod', 'freq', 'freq1', 'freq2', 'rssi', 'snr', 'noise', 'battery_ok', 'subtype', 'protocol', 'sequence_num', 'button'],
      missing: HUB_MISSING,
      // rtl_433 names a field by its unit (`temperature_C`, `temperature_F`); its humidity is %.
      units: [
        { fields: ['temperature_C'], unit: '°C' },
        { fields: ['temperature_F'], unit: '°F' },
        { fields: ['humidity'], unit: '%' },
      ],
    },
    sample: {
      topic: 'rtl_433/pi/events',
      payload: '{"time":"2026-11-30 10:00:00","model":"Acurite-Tower","id":1234,"channel":"A","battery_ok":1,"temperature_C":21.3,"humidity":45,"mic":"CHECKSUM"}',
      streams: ['Acurite-Tower-A-1234/humidity', 'Acurite-Tower-A-1234/temperature_C'],
    },
    homeAssistant: false,
    // Events, device states and its own state under `rtl_433/<host>/…`; it takes no commands.
    hub: { publish: ['rtl_433/#'], commands: [], discovery: false },
  },
};
