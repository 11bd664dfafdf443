/**
 * The anomalyd configuration: the one place where every setting's default, type, range and meaning
 * is defined. `Config` is inferred from it; docs/CONFIG.md and the env overrides are derived from it.
 */
import type { CellKind } from '../model/spec.js';
import { deepFreeze } from './validate.js';
import { bool, defaultsOf, int, leaves, literal, mapList, num, oneOf, optStr, section, str, strList, type Infer } from './dsl.js';
import { PRESET_NAMES } from './presets.js';
import { groupModelProblems, groupProblem, presetProblem, RULE_KEYS_DOC, ruleProblem, timeZoneProblem, unreachableRules, type GroupConfig, type RuleConfig } from './ingest-rules.js';
import { DAEMON_BROKER_USERNAME, exposureProblems, type ExposureProblem } from './exposure.js';

/** Bump together with a migration in migrate.ts when a setting is renamed or its meaning changes. */
export const CURRENT_VERSION = 2;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const DAY_MS = 86_400_000;

function topicLevelsProblem(topic: string, allowWildcards: boolean): string | null {
  const levels = topic.split('/');
  for (const [i, level] of levels.entries()) {
    if (!allowWildcards && (level.includes('+') || level.includes('#'))) return 'must not contain MQTT wildcards + or #';
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' is only allowed as the whole last level";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return null;
}

function topicFilterProblem(topic: string): string | null {
  return topicLevelsProblem(topic, true);
}

function topicPrefixProblem(prefix: string): string | null {
  if (prefix.startsWith('/') || prefix.endsWith('/')) return 'must not start or end with /';
  return topicLevelsProblem(prefix, false);
}

function sensorPatternProblem(pattern: string): string | null {
  const levels = pattern.split('/');
  if (levels.filter((l) => l === '{sensor}').length !== 1) return 'must contain {sensor} exactly once, as a whole topic level';
  if (levels.some((l) => l !== '{sensor}' && l.includes('{'))) return 'may contain only the placeholder {sensor}';
  return topicLevelsProblem(levels.map((l) => (l === '{sensor}' ? '+' : l)).join('/'), true);
}

function mqttUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL such as mqtt://host:1883 or mqtts://host:8883';
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') return `must use mqtt:// or mqtts://, got ${parsed.protocol}//`;
  if (parsed.hostname === '') return 'must name a host';
  return null;
}

/** Hides a password written into a URL (mqtt://user:secret@host). */
function maskUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function hostProblem(host: string): string | null {
  return /^[A-Za-z0-9.:\-[\]%]+$/.test(host) ? null : 'must be a host name or IP address';
}

function unitEntryProblem(entry: string): string | null {
  const eq = entry.lastIndexOf('=');
  return eq > 0 && entry.slice(0, eq).trim() !== '' && entry.slice(eq + 1).trim() !== '' ? null : 'must look like pattern=unit, e.g. pump*/pressure=bar';
}

/**
 * Null when a learning.groups entry is name=pattern (name: letters, digits, _ . -; pattern: not empty, no space at
 * either end), else why not, saying which part is wrong (tryout 26, finding 5: "fans = fan*" was refused without a
 * reason). Spaces around '=' are refused rather than trimmed: a sensor id may hold spaces (a zigbee2mqtt friendly
 * name), so a pattern is taken as written.
 */
export function groupEntryProblem(entry: string): string | null {
  const eq = entry.indexOf('=');
  const shape = 'must look like name=pattern, e.g. pumps=pump-*';
  if (eq < 0) return `${shape} (no '=')`;
  const name = entry.slice(0, eq);
  const pattern = entry.slice(eq + 1);
  if (name !== name.trim() || (pattern !== pattern.trimStart() && pattern.trim() !== '')) {
    return `${shape}: no spaces around '=' (write ${JSON.stringify(`${name.trim()}=${pattern.trim()}`)}; a pattern is taken as written, spaces too)`;
  }
  if (name === '') return `${shape}: the name before '=' is empty`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `${shape}: the name ${JSON.stringify(name)} may hold only letters, digits, _ . and -`;
  if (pattern.trim() === '') return `${shape}: the pattern after '=' is empty`;
  if (pattern !== pattern.trimEnd()) return `${shape}: the pattern ${JSON.stringify(pattern)} ends in a space, which no sensor id is likely to (write ${JSON.stringify(`${name}=${pattern.trimEnd()}`)})`;
  return null;
}

/**
 * learning.retrainIntervalMs: 0 (never) or at least RETRAIN_MIN_MS. A shorter one is surely a unit mistake (tryout
 * 26, finding 5: 24 meant 24 h): one training run on the device (up to learning.epochs epochs in a worker) takes
 * longer than a minute on the boards this runs on, so an interval below it would only mean "retrain each time
 * learning.minReadings more readings came", which is not what an interval says.
 */
export const RETRAIN_MIN_MS = 60_000;

function retrainIntervalProblem(v: number): string | null {
  if (v === 0 || v >= RETRAIN_MIN_MS) return null;
  return `must be 0 (never) or at least ${RETRAIN_MIN_MS} (1 min), got ${v}: it is in milliseconds (${v} h is ${v * 3_600_000}, ${v} min is ${v * 60_000})`;
}

function brokerUsernameProblem(name: string): string | null {
  if (name === DAEMON_BROKER_USERNAME) return `${DAEMON_BROKER_USERNAME} is reserved for the daemon's own client`;
  return isTopicLevelName(name) ? null : 'must be 1 to 64 characters without / + # or NUL (it is also a topic level of operator commands)';
}

/** A name that can be one MQTT topic level (operator names are the last level of their command topics). */
function isTopicLevelName(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && !/[/+#]/.test(name) && !name.includes('\0');
}

function modelNameProblem(name: string): string | null {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? null : 'must be a file name without a path (letters, digits, . _ -)';
}

export const schema = section('anomalyd configuration', {
  version: literal(CURRENT_VERSION, 'Config file format version. Older versions are migrated on load.'),
  dataDir: str({
    default: './data',
    env: 'ANOMALYD_DATA_DIR',
    doc: 'Directory for the SQLite database and hidden-state checkpoints. Relative paths are relative to the working directory.',
  }),
  insecure: bool({
    default: false,
    doc: 'Lab use only: start even with unsafe exposure (a non-loopback http.host without http.token, a non-loopback embedded broker without broker.username, secrets shorter than 16 characters). Every waived problem is logged at warn at each start.',
  }),
  log: section('Logging (JSON lines on stdout; journald under systemd).', {
    level: oneOf(LOG_LEVELS, { default: 'info', env: 'ANOMALYD_LOG_LEVEL', doc: 'Lowest level that is logged.' }),
    format: oneOf(['auto', 'json', 'pretty'] as const, {
      default: 'auto',
      env: 'ANOMALYD_LOG_FORMAT',
      doc: 'auto = human-readable lines on a terminal, JSON lines otherwise (journald, pipes); json or pretty force one.',
    }),
  }),
  broker: section('The embedded MQTT broker (aedes) that sensors can publish to.', {
    enabled: bool({ default: true, doc: 'Run the embedded broker. Set to false when using an external broker via mqtt.url.' }),
    host: str({
      default: '127.0.0.1',
      env: 'ANOMALYD_BROKER_HOST',
      rule: hostProblem,
      doc: 'Bind address. 127.0.0.1 accepts local clients only; set the LAN address (or 0.0.0.0) to let sensors publish straight to the device.',
    }),
    port: int({ default: 1883, min: 0, max: 65535, env: 'ANOMALYD_BROKER_PORT', doc: 'TCP port. 0 picks a free port (for tests).' }),
    username: optStr({
      rule: brokerUsernameProblem,
      doc: 'The sensors\' and hubs\' login (role sensor: may publish on ingest.topics and, for each hub preset in ingest.presets, that hub\'s own topics but not its command topics; never under mqtt.topicPrefix). When set, anonymous clients are refused; when null, anonymous clients get the sensor role (allowed on a loopback broker.host only).',
    }),
    password: optStr({ secret: true, doc: 'Password for broker.username (required when username is set; at least 16 characters).' }),
    operator: section('The operators\' login on the embedded broker (role operator: may publish commands, see docs/ALERTS.md).', {
      username: optStr({
        rule: brokerUsernameProblem,
        doc: 'Operator login; its commands go to <prefix>/cmd/<verb>/<anomaly_id>/<this username>. null = no MQTT commands through the embedded broker (the CLI and the HTTP API still mark anomalies).',
      }),
      password: optStr({ secret: true, doc: 'Password for broker.operator.username (required with it; at least 16 characters).' }),
    }),
  }),
  mqtt: section('The MQTT client the daemon uses to read sensors and publish alerts.', {
    url: optStr({
      env: 'ANOMALYD_MQTT_URL',
      rule: mqttUrlProblem,
      mask: maskUrlPassword,
      doc: "Broker URL, mqtt:// or mqtts://. null = the embedded broker (mqtt://broker.host:broker.port, with broker's credentials).",
    }),
    username: optStr({ env: 'ANOMALYD_MQTT_USERNAME', doc: 'Username for the broker.' }),
    password: optStr({ secret: true, env: 'ANOMALYD_MQTT_PASSWORD', doc: 'Password for the broker (requires mqtt.username).' }),
    ca: optStr({ file: true, doc: 'PEM file with the CA certificate(s) to trust, for mqtts:// only.' }),
    cert: optStr({ file: true, doc: 'PEM client certificate for mqtts:// (requires mqtt.key).' }),
    key: optStr({ file: true, doc: 'PEM private key of mqtt.cert (requires mqtt.cert).' }),
    clientId: optStr({
      rule: (v) => (v.length > 64 ? 'must be at most 64 characters' : null),
      doc: 'MQTT client id; null = anomalyd-<hostname>. Must be stable for a persistent session to survive restarts, and unique: two clients with one id take the session from each other (logged as an error, and shown by `anomalyd status`, `GET /api/status` and the dashboard; the reconnects slow down while it lasts).',
    }),
    clean: bool({
      default: false,
      doc: 'false = persistent session: readings published while the daemon restarts are delivered afterwards: QoS 1 ones, and QoS 0 ones only if the broker keeps them (mosquitto queue_qos0_messages; docs/DEPLOY.md).',
    }),
    qos: oneOf([0, 1] as const, { default: 1, doc: 'QoS of the sensor subscriptions.' }),
    keepaliveSec: int({ default: 30, min: 0, max: 65535, doc: 'MQTT keepalive in seconds; 0 disables it. Also the bound on an alert’s PUBACK: an alert not acknowledged within this long (30 s when 0) on a live connection ends the connection, and the alert goes again on the next one, flagged resent (docs/ALERTS.md).' }),
    topicPrefix: str({
      default: 'anomalyd',
      rule: topicPrefixProblem,
      doc: 'Alerts go to <prefix>/alerts/<sensor>, the retained status to <prefix>/status. Give each anomalyd on one broker its own prefix: another client\'s offline on <prefix>/status (a second daemon\'s stop) is answered with online again and told as a clash (anomalyd status, GET /api/status mqtt.statusTopicClash).',
    }),
    operators: strList({
      default: [],
      minItems: 0,
      item: (v) => (isTopicLevelName(v) ? null : 'must be an MQTT username of 1 to 64 characters without / + # or NUL'),
      doc: 'External broker only: usernames whose commands on <prefix>/cmd/<verb>/<anomaly_id>/<username> are accepted. The broker\'s ACL must let each write only under its own name (deploy/mosquitto/). Empty = no MQTT commands from an external broker.',
    }),
  }),
  ingest: section('Turning MQTT messages into readings.', {
    topics: strList({
      default: ['sensors/#'],
      minItems: 1,
      item: topicFilterProblem,
      doc: 'Topic filters to subscribe to. check-config and run warn of a filter no mapping rule can read a message of (ingest.sensorPattern, ingest.rules, ingest.presets): every message there would be rejected as bad_topic.',
    }),
    sensorPattern: str({
      default: 'sensors/{sensor}',
      rule: sensorPatternProblem,
      doc: 'How the sensor id is taken from the topic: {sensor} captures one level, + matches any one level, # (last) the rest.',
    }),
    maxPayloadBytes: int({ default: 65536, min: 16, max: 16_777_216, doc: 'Larger messages are rejected (oversize).' }),
    maxFutureMs: int({ default: 60000, min: 0, max: DAY_MS, doc: 'Readings stamped further than this ahead of their arrival are rejected (future_timestamp). Within it, a reading ahead of its stream’s own clock by more than outOfOrderToleranceMs is held until the stream’s next reading: rejected as clock_glitch when that reading shows its time was wrong, else taken (a device clock ahead all along, or stepped forward, is followed after three messages).' }),
    outOfOrderToleranceMs: int({
      default: 5000,
      min: 0,
      max: DAY_MS,
      doc: 'Readings older than the stream’s latest by more than this are rejected as out_of_order; within it they are not judged either (a stream is judged in time order), and counted as redelivered (a time the stream already read: a message re-sent) or late. Also how far ahead of the stream’s own clock a reading may be before it is held (see maxFutureMs).',
    }),
    maxReadingsPerMessage: int({ default: 10000, min: 1, max: 1_000_000, doc: 'Upper bound on readings in one message (a batch).' }),
    longBurst: oneOf(['split', 'truncate'] as const, {
      default: 'split',
      doc: 'A burst longer than a window: split = keep every reading; truncate = keep only the newest window’s worth and reject the rest.',
    }),
    presets: strList({
      default: [],
      minItems: 0,
      item: presetProblem,
      doc: `Mapping rules for the devices people already have, one name each: ${PRESET_NAMES.join(', ')} (README "Connect your devices" lists what each reads and drops: zigbee2mqtt takes a friendly name of several levels, kitchen/floor_light, as the device and skips its bridge, availability and set/get topics and the devices' settings; esphome reads a topic_prefix of one or two levels and a climate's current_temperature, and the units of its Home Assistant discovery configs (unit_of_meas under homeassistant.prefix); tasmota reads ENERGY's Total as a counter and drops its Today, Yesterday and Period, reads a multi-channel meter's arrays ("Power":[114,25]) as one stream per element (ENERGY.Power.0, ENERGY.Power.1), and reads a Zigbee bridge's ZbReceived as one sensor per Zigbee device, by its Name; homeassistant and ha_statestream skip a text state such as idle, counted text_state; homeassistant reads Home Assistant MQTT discovery configs of sensors, binary_sensors and numbers (their unit, and a state topic no rule reads subscribed at run time as the stream [<node_id>/]<object_id>, through a simple value_template; another is rejected unread_template; at most ingest.maxStreams entities, kept in the database across a restart; an entity's availability_topic or availability list is its device's word, as below); ha_statestream reads an entity's unit_of_measurement attribute (publish_attributes) as its stream's unit; shelly reads its default channel <device>/events/rpc (NotifyStatus, NotifyFullStatus) and status/<component> as the same streams and skips status/sys, wifi, cloud …, NotifyEvent and the battery (devicepower:<id>), and reads a temperature once, as tC, not again as its tF. A counter its hub states (Shelly aenergy.total and ret_aenergy.total, Tasmota ENERGY.Total, zigbee2mqtt energy, a statestream sensor whose state_class attribute is total_increasing) is judged as one from its first reading (docs/SCORING.md, "Cumulative counters"). A device's own word that it is offline (its last will: ESPHome <topic_prefix>/status, zigbee2mqtt <name>/availability, Tasmota tele/<t>/LWT, Shelly <device>/online, a Home Assistant discovery entity's availability topics) is one device_offline episode of the device instead of a missing-data episode per stream (docs/ALERTS.md, "A device that says it is offline"); a device that says so before each sleep (ESPHome's deep sleep) is told for its first 3 sleeps only, then only when it does not wake within 3 of its usual sleeps. On the embedded broker, a hub's preset also lets the sensor login publish that hub's own topics (zigbee2mqtt/#, Tasmota's tele/# and stat/#, …), retained too, but never its command topics (docs/SECURITY.md, "Hubs on the embedded broker").`,
    }),
    rules: mapList<RuleConfig>({
      default: [],
      itemType: 'rules',
      item: ruleProblem,
      doc: `Field mapping rules, tried in order before the presets and the default rule (ingest.topics + ingest.sensorPattern); the first whose topic template matches reads the message. ${RULE_KEYS_DOC}`,
    }),
    groups: mapList<GroupConfig>({
      default: [],
      itemType: 'groups',
      item: groupProblem,
      doc: 'Multi-channel models, opt-in: each group {name, sensors (glob over sensor ids), fields (at least two), model (default: the shared model)} makes those fields of one message one reading of the stream <sensor>/<name>; the model must take that many channels (checked at load).',
    }),
    timezone: optStr({
      rule: timeZoneProblem,
      doc: 'IANA time zone of device times written without an offset (Tasmota, rtl_433, loggers); null = the host’s zone. The hour the zone repeats when its clocks go back is read per stream in the order its readings come: its first pass in summer time, its second (a time at or before the stream’s newest) in standard time, as anomalyd replay --timezone reads a file; a time in the hour it skips (clocks go forward) lands after the change. A device time before 2000 in a one-object payload is a clock never set (Tasmota without NTP: "Time":"1970-01-01T00:00:12"): that message is stamped on arrival instead, counted (status counters.unsetClocks) and logged once per device; a rule’s time: none stamps every reading on arrival. A stream whose device times lag arrival by about the same whole number of hours, reading after reading, is taken as stamped and warned about once per device (a time zone mix-up: set this to the device’s zone), counted per stream (status counters.clockLags).',
    }),
    retained: bool({
      default: false,
      doc: 'Whether retained messages (the broker’s last value, replayed at every subscribe) are readings, for the default rule; rules and presets say it themselves.',
    }),
    maxStreams: int({ default: 5000, min: 1, max: 1_000_000, doc: 'Streams tracked in all; a new stream beyond it is rejected (too_many_streams), unless a stream heard once (all its readings in one message: a one-shot topic) holds a slot: then a new stream takes the slot of the one heard least recently at its second message (docs/SECURITY.md, "Sensors"). Only an accepted reading takes a slot. Each stream holds about 20 kB at first and more as its score histories fill (docs/SECURITY.md, "Memory"): raise MemoryMax with it.' }),
    maxStreamsPerSensor: int({ default: 64, min: 1, max: 10_000, doc: 'Streams (fields) of one sensor; a new one beyond it is rejected (too_many_streams).' }),
  }),
  homeassistant: section('Home Assistant MQTT discovery: an anomaly binary_sensor and a score sensor per stream, grouped by device, from the stream’s third message with a reading (a topic of one message gets none).', {
    discovery: oneOf(['auto', 'on', 'off'] as const, {
      default: 'auto',
      doc: 'auto = on when a preset of a Home Assistant ecosystem (zigbee2mqtt, tasmota, esphome, homeassistant, ha_statestream) is on.',
    }),
    prefix: str({ default: 'homeassistant', rule: topicPrefixProblem, doc: 'Home Assistant’s discovery prefix; its birth message on <prefix>/status (online) makes anomalyd publish its configs and retained states again.' }),
    nodeId: optStr({
      rule: (v) => (/^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : 'must be 1 to 64 letters, digits, _ or -'),
      doc: 'Id of this detector in discovery topics and unique ids; null = from mqtt.clientId, else anomalyd_<hostname>. Keep it stable: it keeps entities across restarts.',
    }),
    scoreIntervalMs: int({
      default: 60000,
      min: 0,
      max: DAY_MS,
      doc: 'Least time between two score updates of one stream to Home Assistant (the status, and the episode keys of the score payload when they change, at once); 0 = every score.',
    }),
  }),
  limits: section('Bounds that keep memory, sensor slots and the log finite whatever clients send (docs/SECURITY.md).', {
    idleAfterIntervals: int({
      default: 1000,
      min: 10,
      max: 100_000_000,
      doc: 'A sensor with no valid reading for this many of its own reading intervals is evicted: its state checkpointed, its memory and slot freed, its Home Assistant entities removed. Never while an episode of it is open, of any kind (a silence alert, open until its next reading; an episode open when the sensor died, whose silence is then told in it; the device_offline episode of its device while the device says it is offline), in the detector or in the store; nor an on/off stream whose latest reading is its active state (a leak `on`, a door open: an on-change device sends nothing while it holds): it stays listed and keeps its slot, and nothing of it is resolved. Counted from its last reading, also across a restart (the downtime not counted); none is evicted while the daemon cannot hear its sensors (MQTT reads paused, a model backlog, its own loop saturated, the connection down), as no silence is judged then: a sensor is never evicted before its silence could be told. A valid reading brings it back (from the checkpoint while younger than store.checkpointMaxAgeMs since its eviction).',
    }),
    idleAfterMinMs: int({
      default: 600000,
      min: 1000,
      max: 365 * DAY_MS,
      doc: 'Never evict a sensor idle for less than this; also the idle span of a sensor whose interval is not known yet (e.g. one with a single reading).',
    }),
    logIntervalMs: int({
      default: 60000,
      min: 1000,
      max: DAY_MS,
      doc: 'Rejected input, evictions, status changes beyond a few, devices with a clock ahead of arrival beyond ten, the embedded broker’s refused logins and publishes, and repeats of one MQTT client error (one per reconnect attempt while the broker is down) are logged as one summary line per this interval, whatever the rate.',
    }),
  }),
  window: section('Each stream in its own time: the window the autoencoder reconstructs, and how readings fall on the stream’s interval. Every length is counted in readings.', {
    length: int({
      default: 64,
      min: 2,
      max: 4096,
      doc: 'Window W in readings: models trained on the device reconstruct their last W readings (a model keeps the window it was trained with; short histories train shorter ones).',
    }),
    hop: int({ default: 16, min: 1, max: 4096, doc: 'Readings between reconstructions (hop ≤ length); scaled for a model of another window.' }),
    intervalMs: int({
      default: 0,
      min: 0,
      max: DAY_MS,
      doc: 'Nominal reading interval (ms, for every stream); 0 = learn each stream’s own from its readings (the median of its last 31 gaps, so jitter, late, early and missed readings do not move it). check-config and run warn of 1 … 999, most likely seconds written as milliseconds (60 for a 1-minute sensor is 60000).',
    }),
    resetAfter: int({
      default: 64,
      min: 0,
      max: 1_000_000,
      doc: 'A silence of up to this many missing readings (of the stream’s interval) means "unchanged": the missing steps hold the last value (a report-on-change sensor). A longer one is a gap: the stream’s model state resets, and `stuck` judges the silence (the steps it missed) against the stream’s own runs (SCORING.md); the daemon judges it so while it lasts, and alerts `missing data` while the sensor is still silent once it is rare (ALERTS.md, “When a silence is told”).',
    }),
    learningSilenceMs: int({
      default: DAY_MS,
      min: 0,
      max: 365 * DAY_MS,
      doc: 'A stream in its learning period (`score.learnReadings`) whose silence is told no sooner is told `missing data` once it has been silent this long (ms) and 10 times its longest gap between readings so far, whichever is longer: a report-on-change sensor taken to send changes only, or one too young to know, is told, not never (ALERTS.md, “When a silence is told”). One whose longest gap recurs (a heartbeat, seen twice within 5 %) is told sooner, after 5 of its heartbeats. Not a sensor with fewer than 3 readings (no interval yet) nor an on/off stream that reports on change only (a door contact’s quiet is its state held). 0 = never by this.',
    }),
  }),
  model: section('Which autoencoder to run and how to batch it.', {
    dir: str({ default: './models', doc: 'Directory holding <name>.onnx and <name>.json.' }),
    cell: oneOf(['gru', 'lstm'] as const, { default: 'gru', doc: 'Picks the default model of this cell kind in model.dir.' }),
    name: optStr({ rule: modelNameProblem, doc: 'Explicit model name (file stem in model.dir); overrides model.cell.' }),
    batchTickMs: int({
      default: 0,
      min: 0,
      max: 1000,
      doc: 'Extra wait (ms) to gather a batch at low load. 0 = a batch starts at the end of the event-loop turn and takes every reading queued by then; under load, readings that arrive during a model call form the next batch (up to model.maxBatch streams).',
    }),
    maxBatch: int({ default: 256, min: 1, max: 65536, doc: 'Most streams in one model call (each with its new readings).' }),
    worker: bool({
      default: true,
      doc: 'Run onnxruntime in a worker thread (one for all models), so inference and MQTT/parsing overlap on two cores. false = on the main thread.',
    }),
    normWarmup: int({
      default: 32,
      min: 1,
      max: 10_000_000,
      doc: 'Readings whose trimmed mean and spread (the lowest and highest 10 % left out) start a stream’s running normalisation, so a few absurd values cannot poison it.',
    }),
    normHorizon: int({
      default: 20000,
      min: 1,
      max: 100_000_000,
      doc: 'Horizon, in readings, of the running normalisation once warmed up; values beyond ±20σ are clipped before they update it, and readings of an open episode are kept out.',
    }),
  }),
  score: section('Every reading’s calibrated score (docs/SCORING.md). Every length is counted in readings.', {
    mode: oneOf(['reconstruction', 'prediction', 'both'] as const, {
      default: 'both',
      doc: 'Which model errors count beside the model-free evidence (level, change, shift, spread, stuck, rarity, cycle): the window reconstruction, the next-reading prediction, or both.',
    }),
    threshold: num({
      default: 0.99999,
      min: 0.5,
      max: 0.999999999,
      doc: 'Threshold on the [0,1) score, the same for every stream: 0.99999 = surprise 5, about one reading in 100,000 of normal operation.',
    }),
    holdMargin: num({ default: 0.5, min: 0, max: 10, doc: 'An open episode goes on while a reading’s deviation is within this much surprise of the threshold (hysteresis).' }),
    smooth: int({ default: 16, min: 1, max: 100_000, doc: 'Readings in the short means that catch small departures that last (shift, bias, spread, rarity, cycle).' }),
    horizon: int({ default: 10000, min: 2, max: 100_000_000, doc: 'Memory of a stream’s normal history (reference), against which episodes are judged.' }),
    adaptiveHorizon: int({
      default: 500,
      min: 2,
      max: 100_000_000,
      doc: 'Memory of a stream’s recent history, against which each reading’s score is judged: a lasting change stops scoring high after about this long.',
    }),
    relations: bool({
      default: false,
      doc: 'Judge a stream by its relation to a duty-cycled stream of the same device (a bearing temperature that cools while its motor is off): per state of the duty cycle, the rate of change over 6 of its readings against the rate its level has had in that state; a break is told `relation` (ALERTS.md, “A stream that breaks its relation to another”). The daemon only, not replay or evaluation; learnt again after a restart. false = each stream judged alone.',
    }),
    learnReadings: int({ default: 256, min: 8, max: 100_000_000, doc: 'Readings a new stream learns from before it may alert: the scorer’s learning period (its status is learning); counted from its first movement when it did not move during them; longer when its kinds of evidence need longer to warm up: below max(model.normWarmup, score.smooth + 1) + 8 · score.smooth − 1 readings (159 with the shipped settings) a stream without gaps learns for that many, whatever the setting (no kind of evidence is ready sooner), and check-config and run warn (docs/SCORING.md section 6). Not its own model (learning.minReadings).' }),
  }),
  alerts: section('Anomaly episodes and their MQTT alerts (docs/SCORING.md, docs/ALERTS.md). Every length is counted in readings.', {
    openAfter: int({ default: 1, min: 1, max: 100_000, doc: 'Consecutive readings at or above the threshold that open an episode.' }),
    closeAfter: int({ default: 16, min: 1, max: 100_000, doc: 'Consecutive readings below the hold level that resolve it.' }),
    newNormalAfter: int({
      default: 1000,
      min: 0,
      max: 100_000_000,
      doc: 'An episode open this many readings is the new normal: it resolves and the stream re-baselines on its latest readings, without going blind. A stream stuck on one value never becomes normal, nor a level still drifting away from everything it had shown (counted from when it stops growing). Sooner for a set-point: once the stream has shown a switch (an episode that held a clean plateau away from its level and came back to it), a clean plateau held 4 · score.smooth readings is the new normal (docs/SCORING.md section 5). 0 = never.',
    }),
    staleAfter: num({
      default: 10,
      min: 0,
      max: 1_000_000,
      doc: 'A stream with no reading for this many of its own intervals is reported stale on its retained state topic (a report-on-change stream only once its silence is told, ALERTS.md, “Sensor state”); 0 = never. Not an alert: a silence is alerted (`missing data`) once it is rare against the stream’s own runs (ALERTS.md, “When a silence is told”), whatever this is.',
    }),
    outboxMax: int({ default: 100000, min: 1, max: 10_000_000, doc: 'Unpublished alerts kept while the broker is away; the oldest are dropped beyond.' }),
  }),
  store: section('SQLite persistence.', {
    commitIntervalMs: int({
      default: 100,
      min: 0,
      max: 60000,
      doc: 'Group commits; 0 = commit every write. A power cut can lose at most this much.',
    }),
    checkpointIntervalMs: int({ default: 60000, min: 1000, max: DAY_MS, doc: 'How often hidden states are checkpointed.' }),
    checkpointMaxAgeMs: int({
      default: 3600000,
      min: 1000,
      max: 30 * DAY_MS,
      doc: 'A sensor’s checkpoint older than this is restored only while the sensor has been silent (since its latest reading arrived, the downtime included) no longer than its idle span (limits.idleAfterIntervals of its own intervals, at least limits.idleAfterMinMs) plus this: how long a running daemon keeps a silent sensor’s state (evicted after its idle span, revived within this). So the age is judged in the sensor’s own intervals (1 h 17 min for a 1 Hz sensor, 41.7 days for an hourly meter); a sensor silent longer starts from a reset state, and an episode of it still open is resolved at start (`resolution: interrupted`).',
    }),
  }),
  explain: section('How alerts and the dashboard explain an anomaly in the sensor’s own units.', {
    units: strList({
      default: [],
      minItems: 0,
      item: unitEntryProblem,
      doc: 'Units of streams, as pattern=unit (* matches any characters, letters match in any case: *temperature*=°C also gives Tasmota’s Room10/Temperature its unit; the first match wins), e.g. pump*/pressure=bar. A stream no pattern matches takes the unit its hub states, where a preset reads one (Tasmota’s TempUnit and PressureUnit and its fixed units of ENERGY and Humidity, a Shelly’s tC, zigbee2mqtt’s and rtl_433’s documented units; README, beside explain.units), each reading in the unit stated for it (values are never converted: an alert keeps each figure’s own unit and says a change, docs/ALERTS.md “A unit its hub changed”; checkpointed with the stream); streams without either are shown without a unit.',
    }),
    timeZone: optStr({
      rule: timeZoneProblem,
      doc: 'IANA time zone of the clock times in alert sentences (since 10:42), and of the times the dashboard and `anomalyd anomalies list` show (labelled); null = the system’s.',
    }),
  }),
  http: section('The local HTTP API and dashboard (history, sensors, anomalies; plots).', {
    enabled: bool({ default: true, doc: 'Serve the API and the dashboard page.' }),
    host: str({
      default: '127.0.0.1',
      rule: hostProblem,
      doc: 'Bind address. 127.0.0.1 = this device only; another address exposes it to the network (set http.token then).',
    }),
    port: int({ default: 8080, min: 0, max: 65535, env: 'ANOMALYD_HTTP_PORT', doc: 'TCP port. 0 picks a free port (for tests).' }),
    token: optStr({ secret: true, doc: 'When set, every request must carry Authorization: Bearer <token>.' }),
  }),
  learning: section('Learning on the device: a model per sensor (or per group of sensors) trained from its own normal data.', {
    enabled: bool({
      default: true,
      doc: 'Store each new sensor’s readings and, once there are learning.minReadings, train a model for it (or its group) in a worker thread, then swap it in if it is measurably better than the model in use on the newest 20 % of those readings, kept apart from its training (docs/MODEL.md, “The gate”); a rejected model is logged and listed by anomalyd models, and the sensor tries again after learning.minReadings × 2^(tries − 1) more normal readings, stopping after 5 rejections until anomalyd models retrain.',
    }),
    minReadings: int({ default: 3600, min: 256, max: 100_000_000, doc: 'Readings (per sensor, or in all of a group) needed before training its own model; anomalyd status and GET /api/sensors (ownModel) show how far each sensor is. Below the fewest with which a first model can pass the gate against the shared model (400 for one sensor with the shipped hop of 16: 5 stretches of 16 in the newest 20 %; docs/MODEL.md, “The gate”) every first model is rejected: check-config and run warn, with the number for the configured hops.' }),
    maxReadings: int({ default: 50000, min: 256, max: 100_000_000, doc: 'Readings per sensor one training reads, at most (it learns from the oldest 80 % of them; the gate judges on the newest 20 %): the first training the oldest, up to the reading that made learning.minReadings; a retraining, or a new try after a rejection, the newest. Also what the database keeps of each sensor’s readings (its learning history): its newest learning.maxReadings, whatever their age or cadence (up to an eighth more between two prunes), so a slow sensor keeps all it needs (3,600 readings at 5 min are 12.5 days) and a fast one no more than learning reads; about 52 bytes a reading of one value in SQLite (a sensor’s 50,000: about 2.6 MB). Readings are stored only while a sensor learns (until its own model, then again after a rejection or rollback, and always with learning.retrainIntervalMs).' }),
    groups: strList({
      default: [],
      minItems: 0,
      item: groupEntryProblem,
      doc: 'Sensors that share one model, as name=pattern (* matches any characters in the sensor id). A sensor joining a group with a model only calibrates.',
    }),
    fallback: bool({
      default: true,
      doc: 'While a sensor learns, score it with the shared model (model.cell / model.name). false = no scores and no alerts until its own model is trained.',
    }),
    retrainIntervalMs: int({
      default: 0,
      min: 0,
      max: 365 * DAY_MS,
      rule: retrainIntervalProblem,
      doc: 'Re-train each learnt model this often (ms; 0 or at least 60000: a shorter one is surely a unit mistake, 24 meaning 24 h is 86400000) on its newest normal data (never on readings of an anomaly), swapped in only when the gate lets it; 0 = never.',
    }),
    epochs: int({ default: 20, min: 1, max: 1000, doc: 'Most training epochs (early stopping usually ends sooner).' }),
    hidden: int({ default: 32, min: 2, max: 512, doc: 'Hidden units of the models trained on the device; at the shared model’s (32 for the shipped ones) a sensor’s model starts from the shared model’s weights (fine-tuning, docs/MODEL.md), otherwise from scratch.' }),
  }),
  shutdown: section('Graceful stop.', {
    deadlineMs: int({ default: 8000, min: 100, max: 600000, doc: 'Hard deadline for a graceful stop; keep it below systemd’s TimeoutStopSec. It bounds the stop’s waits (drain, outbox, final status); the final checkpoint and flush are not cut (0.2–0.6 s for 1,000 sensors: docs/DEPLOY.md, "Stop").' }),
  }),
});

export type Schema = typeof schema;
export type Config = Infer<Schema>;
export type LogLevel = Config['log']['level'];
export type BrokerConfig = Config['broker'];
export type MqttConfig = Config['mqtt'];
export type IngestConfig = Config['ingest'];
export type WindowConfig = Config['window'];
export type ModelConfig = Config['model'];
export type ScoreConfig = Config['score'];
export type AlertsConfig = Config['alerts'];
export type StoreConfig = Config['store'];
export type ShutdownConfig = Config['shutdown'];

// Compile-time: the schema's cell enum and the model spec's CellKind must stay the same set.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const cellKindInSync: Same<CellKind, ModelConfig['cell']> = true;
void cellKindInSync;

/** The defaults alone, deeply frozen like a loaded config. */
export function defaultConfig(): Config {
  return deepFreeze(structuredClone(defaultsOf(schema)));
}

/** A rule over several settings, checked once the single values are valid. */
export interface CrossRule {
  /** For the docs. */
  readonly doc: string;
  /** Settings the rule reads; it is skipped when one of them is already reported invalid. */
  readonly inputs: readonly string[];
  /** Problems as [dotted path, message]. */
  check(config: Config): ReadonlyArray<readonly [string, string]>;
}

/** Settings marked secret (tokens and passwords; not files). */
function secretPaths(): string[][] {
  return leaves(schema)
    .filter((e) => e.leaf.secret && !e.leaf.file)
    .map((e) => [...e.path]);
}

/**
 * The exposure problems that `insecure: true` waives in a loaded config (empty when it is false, since
 * the loader refuses them then). The daemon logs each at warn when it starts.
 */
export function waivedExposure(config: Config): ExposureProblem[] {
  return config.insecure ? exposureProblems(config, secretPaths()) : [];
}

function isTls(config: Config): boolean {
  return config.mqtt.url?.startsWith('mqtts:') ?? false;
}

export const crossRules: readonly CrossRule[] = [
  {
    doc: 'Every rule in `ingest.rules` can match a topic no earlier rule takes, and keeps at least one field.',
    inputs: ['ingest.rules', 'ingest.presets', 'ingest.topics', 'ingest.sensorPattern', 'ingest.retained'],
    check: (c) => unreachableRules(c.ingest),
  },
  {
    doc: 'Each group in `ingest.groups` has as many fields as its model (its own `model`, else `model.name` / `model.cell` in `model.dir`) has channels.',
    inputs: ['ingest.groups', 'model.dir', 'model.name', 'model.cell'],
    check: (c) => groupModelProblems(c.ingest.groups, c.model),
  },
  {
    doc: '`learning.minReadings` ≤ `learning.maxReadings`: a training reads at most learning.maxReadings readings of a sensor, and the database keeps no more of them.',
    inputs: ['learning.minReadings', 'learning.maxReadings'],
    check: (c) =>
      c.learning.minReadings > c.learning.maxReadings
        ? [['learning.minReadings', `must be at most learning.maxReadings (${c.learning.maxReadings}), got ${c.learning.minReadings}: a training reads at most learning.maxReadings readings of a sensor, and the database keeps no more`]]
        : [],
  },
  {
    doc: '`window.hop` ≤ `window.length`.',
    inputs: ['window.hop', 'window.length'],
    check: (c) => (c.window.hop > c.window.length ? [['window.hop', `must be at most window.length (${c.window.length}), got ${c.window.hop}`]] : []),
  },
  {
    doc: '`score.smooth` ≤ `score.adaptiveHorizon` ≤ `score.horizon`.',
    inputs: ['score.smooth', 'score.adaptiveHorizon', 'score.horizon'],
    check: (c) => [
      ...(c.score.smooth > c.score.adaptiveHorizon ? [['score.smooth', `must be at most score.adaptiveHorizon (${c.score.adaptiveHorizon}), got ${c.score.smooth}`] as [string, string]] : []),
      ...(c.score.adaptiveHorizon > c.score.horizon ? [['score.adaptiveHorizon', `must be at most score.horizon (${c.score.horizon}), got ${c.score.adaptiveHorizon}`] as [string, string]] : []),
    ],
  },
  {
    doc: '`store.checkpointMaxAgeMs` ≥ `store.checkpointIntervalMs`.',
    inputs: ['store.checkpointMaxAgeMs', 'store.checkpointIntervalMs'],
    check: (c) =>
      c.store.checkpointMaxAgeMs < c.store.checkpointIntervalMs
        ? [['store.checkpointMaxAgeMs', `must be at least store.checkpointIntervalMs (${c.store.checkpointIntervalMs})`]]
        : [],
  },
  {
    doc: '`broker.username` and `broker.password` are set together.',
    inputs: ['broker.username', 'broker.password'],
    check: (c) => {
      if (c.broker.username !== null && c.broker.password === null) return [['broker.password', 'is required when broker.username is set']];
      if (c.broker.username === null && c.broker.password !== null) return [['broker.username', 'is required when broker.password is set']];
      return [];
    },
  },
  {
    doc: '`broker.operator.username` and `broker.operator.password` are set together; the operator and sensor logins differ.',
    inputs: ['broker.operator.username', 'broker.operator.password', 'broker.username'],
    check: (c) => {
      const op = c.broker.operator;
      if (op.username !== null && op.password === null) return [['broker.operator.password', 'is required when broker.operator.username is set']];
      if (op.username === null && op.password !== null) return [['broker.operator.username', 'is required when broker.operator.password is set']];
      if (op.username !== null && op.username === c.broker.username) {
        return [['broker.operator.username', 'must differ from broker.username: sensors and operators need their own logins']];
      }
      return [];
    },
  },
  {
    doc: '`mqtt.operators` needs an external broker with a login (`mqtt.url` and `mqtt.username`), whose ACL decides who may write each operator\'s topic.',
    inputs: ['mqtt.operators', 'mqtt.url', 'mqtt.username'],
    check: (c) => {
      if (c.mqtt.operators.length === 0) return [];
      if (c.mqtt.url === null) return [['mqtt.operators', 'only applies to an external broker (mqtt.url); the embedded broker takes broker.operator']];
      if (c.mqtt.username === null) return [['mqtt.operators', 'requires mqtt.username: a broker without logins cannot tell operators from anyone else']];
      return [];
    },
  },
  {
    doc: 'Unsafe exposure is refused unless `insecure: true`: a non-loopback `http.host` needs `http.token`, a non-loopback embedded `broker.host` needs `broker.username`, and every secret has at least 16 characters (docs/SECURITY.md).',
    inputs: ['insecure', 'http.enabled', 'http.host', 'http.token', 'broker.enabled', 'broker.host', 'broker.username', 'broker.password', 'broker.operator.password', 'mqtt.url', 'mqtt.password'],
    check: (c) => (c.insecure ? [] : exposureProblems(c, secretPaths())),
  },
  {
    doc: '`mqtt.password` requires `mqtt.username`.',
    inputs: ['mqtt.password', 'mqtt.username'],
    check: (c) => (c.mqtt.password !== null && c.mqtt.username === null ? [['mqtt.username', 'is required when mqtt.password is set']] : []),
  },
  {
    doc: 'With `broker.enabled: false`, `mqtt.url` must be set.',
    inputs: ['broker.enabled', 'mqtt.url'],
    check: (c) => (!c.broker.enabled && c.mqtt.url === null ? [['mqtt.url', 'is required when broker.enabled is false']] : []),
  },
  {
    doc: '`mqtt.ca`, `mqtt.cert` and `mqtt.key` only apply to an `mqtts://` URL; `cert` and `key` are set together; the files must exist.',
    inputs: ['mqtt.url', 'mqtt.ca', 'mqtt.cert', 'mqtt.key'],
    check: (c) => {
      const out: Array<readonly [string, string]> = [];
      if (!isTls(c)) {
        for (const key of ['ca', 'cert', 'key'] as const) {
          if (c.mqtt[key] !== null) out.push([`mqtt.${key}`, 'only applies to an mqtts:// mqtt.url']);
        }
        return out;
      }
      if (c.mqtt.cert !== null && c.mqtt.key === null) out.push(['mqtt.key', 'is required when mqtt.cert is set']);
      if (c.mqtt.key !== null && c.mqtt.cert === null) out.push(['mqtt.cert', 'is required when mqtt.key is set']);
      return out;
    },
  },
];
