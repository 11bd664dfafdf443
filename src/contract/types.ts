/**
 * The types every stage shares. Stages import from here, never from each other's internals.
 *
 * Data flow: MQTT message -> RawMessage -> (parse) -> Reading | Rejection
 *   -> (window, per sensor) -> Window -> (infer, batched per model) -> WindowResult
 *   -> (score: calibrate + hysteresis) -> ScoredWindow + AnomalyEvent[] -> (store, then alert)
 */

/** One MQTT message as it came off the wire. */
export interface RawMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** Arrival time, epoch ms (from the injected clock). */
  readonly receivedAt: number;
  /** The MQTT retain flag: a retained message was published before we subscribed. */
  readonly retain?: boolean;
  /**
   * The MQTT DUP flag, set by the MQTT adapter on every message it passes on (absent elsewhere: replay, bench): true
   * when the broker sent this QoS 1 message before (re-sent at a reconnect; the daemon may have read it:
   * src/pipeline/resent.ts).
   */
  readonly dup?: boolean;
  /** Position in the input, when the caller numbers messages (replay: the row); outputs carry it back. */
  readonly seq?: number;
}

/**
 * One reading of one stream: one value per channel, all at the same time.
 *
 * Streams, not payloads: `sensor` is the stream id the detector keys all its state on. A bare number or a
 * `{"value": v, "ts": t}` payload on a device's topic is the stream `<device>`; every other numeric field
 * of a JSON object is its own one-channel stream `<device>/<field>` (nested fields by their dotted path,
 * `<device>/BME280.Temperature`), so stream ids may contain `/`. A configured channel group
 * (`ingest.groups`) is the one multi-channel case: `<device>/<group>`, channels = the group's fields.
 */
export interface Reading {
  /** The stream id (see above), at most 256 characters, never empty, no MQTT wildcard or NUL. */
  readonly sensor: string;
  /**
   * The device the stream came from (the sensor id taken from the topic or payload), when it differs from
   * the stream id: `bedroom` for `bedroom/temperature`. Home Assistant discovery and the dashboard group a
   * device's streams by it. Absent when the stream is the device itself.
   */
  readonly source?: string;
  /** Epoch milliseconds. */
  readonly ts: number;
  /** Channel names, in the order of `values`. A single-channel sensor has ['value']. */
  readonly channels: readonly string[];
  readonly values: readonly number[];
}

export type RejectReason =
  | 'bad_topic'
  | 'oversize'
  | 'bad_json'
  | 'not_a_number'
  | 'non_finite'
  /** A finite value beyond ±1e15 (a glitch: it would overflow the stream's statistics). */
  | 'out_of_range'
  | 'bad_timestamp'
  | 'future_timestamp'
  | 'out_of_order'
  /**
   * Older than its stream's newest reading (within ingest.outOfOrderToleranceMs) at a time the stream already took: a
   * message re-sent after newer ones were read (an MQTT QoS 1 redelivery after a reconnect, a device re-sending its
   * last readings). Not judged twice (src/pipeline/admit.ts).
   */
  | 'redelivered'
  /** Older than its stream's newest reading (within the tolerance), at a time not read before: arrived out of order, not judged. */
  | 'late'
  /** A time stamp ahead of its stream's clock that the stream's next reading showed was wrong (admit.ts). */
  | 'clock_glitch'
  | 'empty'
  | 'too_many_readings'
  /** More streams than `ingest.maxStreamsPerSensor` for one device, or `ingest.maxStreams` in all. */
  | 'too_many_streams'
  /** JSON nested deeper than the decoder walks (checked on the bytes, before JSON.parse). */
  | 'too_deep'
  /** A retained message (the broker's last value, not a new reading) on a rule that does not take them. */
  | 'retained'
  /** An exception while decoding or admitting this one message; the detail names the stage. */
  | 'internal_error'
  /**
   * Dropped unread: its topic (or the topics that never gave a reading, together) had more rejected messages a second
   * than a real device's mistakes make (a flood; src/daemon/junk-gate.ts, docs/SECURITY.md). Sensor null.
   */
  | 'rate_limited'
  /**
   * A state of a Home Assistant discovery entity whose value_template anomalyd does not read (arithmetic, a condition:
   * src/pipeline/decode/value-template.ts lists what it reads); the detail names the template and its config.
   */
  | 'unread_template';

export interface Rejection {
  /** The stream a rejection of one field is about, else the device (sensor id); null when the topic named none. */
  readonly sensor: string | null;
  readonly topic: string;
  readonly reason: RejectReason;
  /** Human-readable, one line, no payload dump beyond a short prefix. */
  readonly detail: string;
  readonly receivedAt: number;
  /**
   * The rejected reading's own time (epoch ms), for the rejections admission makes (`out_of_order`, `redelivered`,
   * `late`, `future_timestamp`, `clock_glitch`, `too_many_streams`); absent for the others.
   */
  readonly ts?: number;
}

/**
 * Why a message a rule takes is, by design, no reading and no error: counted apart from rejections.
 *   hub_topic   a hub's own topic under the ones the rule reads (MappingRuleSpec.ignoreTopics: zigbee2mqtt's
 *               bridge, availability, Shelly's status/sys, anomalyd's own entities echoed by HA statestream);
 *   hub_event   a message that carries no measurement: no field the rule takes, only ones it drops (metadata,
 *               settings) or none that is a number (Shelly's NotifyEvent, a Zigbee button press, a light's
 *               state, a door's contact);
 *   text_state  the text state of an entity that is not numeric (Home Assistant's `idle`, `on`);
 *   missing_value  every field the rule takes is a missing reading (null, `nan`, Home Assistant's
 *               `unavailable`/`unknown`): no reading now, not an error.
 * With these, every message parsed ends in exactly one of: readings, rejected, skipped (or held, ParseResult).
 */
export type SkipReason = 'hub_topic' | 'hub_event' | 'text_state' | 'missing_value';

export type ParseResult =
  | {
      readonly kind: 'readings';
      readonly readings: readonly Reading[];
      readonly rejections: readonly Rejection[];
      /**
       * Set when the whole message was skipped (no reading, no rejection) and why. No reading, no rejection
       * and no `skipped`: the message's readings are held by admission (parse.ts), to be released or rejected
       * with the stream's next message.
       */
      readonly skipped?: SkipReason;
    }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

/**
 * A fixed-length window of one sensor, ready for the model.
 * `data` is time-major raw (un-normalised) values: data[t * channels + c], length maxLen * channels.
 * Steps t >= validLength are padding (zeros) and must never count as error.
 */
export interface Window {
  readonly sensor: string;
  readonly channels: readonly string[];
  /** Timestamp of step 0 and of the last valid step, epoch ms. */
  readonly startTs: number;
  readonly endTs: number;
  readonly maxLen: number;
  readonly validLength: number;
  readonly data: Float32Array;
  /** (maxLen - validLength) / maxLen. Travels into the anomaly record. */
  readonly paddedFraction: number;
  /**
   * How many leading steps of this window the next window will not see again: the carried state
   * advances over these steps only (0 <= advance <= validLength; 0 while windows still grow from a
   * reset towards maxLen; = hop in steady state).
   */
  readonly advance: number;
  /** True when the sensor's hidden state must be reset before this window (first window, or after a long gap). */
  readonly resetState: boolean;
  /** Number of missing steps that were filled (interpolated / held) inside this window. */
  readonly filledSteps: number;
  /** Monotonic per-sensor window sequence number. */
  readonly seq: number;
}

/** What the model said about one window. */
export interface WindowResult {
  readonly window: Window;
  readonly modelId: string;
  /** Masked mean squared reconstruction error over valid steps and channels, in normalised units. */
  readonly reconError: number;
  /** Per channel masked mean squared reconstruction error, normalised units. */
  readonly channelErrors: readonly number[];
  /** Squared error of the previous window's next-step prediction against this window's first new reading, or null. */
  readonly predError: number | null;
}

export type SensorStatus = 'ok' | 'anomalous' | 'learning' | 'stale';

export interface ScoredWindow {
  readonly result: WindowResult;
  /** Calibrated anomaly score in [0, 1]: 0.5 ordinary, near 1 rare. */
  readonly score: number;
  readonly threshold: number;
  readonly above: boolean;
}

/**
 * What the detector says about one reading of one stream: every accepted reading gets one, when it
 * arrives (issue 10). Produced by the detector core (src/pipeline/detector.ts), one per reading.
 */
export interface ScoredReading {
  /** Stream id (`Reading.sensor`). */
  readonly stream: string;
  /** Epoch ms of the reading. */
  readonly ts: number;
  readonly channels: readonly string[];
  /**
   * The reading as the sensor sent it, in sensor units, one per channel (a counter's too: not the total the
   * detector judges it as, continued across its resets, src/pipeline/counter.ts; `expected` is moved with it).
   */
  readonly values: readonly number[];
  /** What the model expected for this reading, in sensor units, one per channel; null while it cannot say. */
  readonly expected: readonly number[] | null;
  /** One normal standard deviation around `expected`, in sensor units, one per channel; null with `expected`. */
  readonly spread: readonly number[] | null;
  /** Calibrated anomaly score in [0, 1]: 0.5 ordinary, near 1 rare. */
  readonly score: number;
  /**
   * The same score as surprise, -log10(1 - score): 0.3 ordinary, 3 = one in a thousand; the detector's own, up
   * to 30 (beyond 16 the score is 1 in float64). Outputs show it capped at 16 (src/contract/surprise.ts).
   */
  readonly surprise: number;
  /** The score threshold in force (score.threshold). */
  readonly threshold: number;
  readonly status: 'learning' | 'ok' | 'anomalous';
  /** The open episode's id while status is anomalous, else null. */
  readonly anomalyId: string | null;
  readonly modelId: string | null;
}

export type AnomalyEventKind = 'open' | 'update' | 'resolve';

/**
 * Why an episode ended (AnomalyEvent.resolution, the alert's `resolution`): `recovered` and `new_normal` are the
 * detector's verdicts; `forgotten` is the operator's retirement of the stream (src/daemon/forget.ts); `interrupted`
 * the daemon's own resolve of an episode no detector can go on with (at start: its stream's state was lost by an
 * unclean stop, or not restored, its checkpoint too old; at the return of a sensor an earlier version evicted with
 * its alert open), no verdict on the readings either.
 */
export type Resolution = 'recovered' | 'new_normal' | 'forgotten' | 'interrupted';

/**
 * One field's episode an alert tells (AlertPayload.fields): episodes of fields of one device that opened together are
 * told in one alert, the first one's (src/daemon/device-faults.ts, docs/ALERTS.md "Fields of a device that go wrong
 * together").
 */
export interface AlertField {
  /** The field's stream (`plug2/ENERGY.Current`). */
  readonly stream: string;
  /** Its own episode's id, as stored (listed by `anomalies list`, GET /api/anomalies). */
  readonly anomaly_id: string;
  /** Its kind as its own explanation told it when the alert was made; null when not told. */
  readonly kind: string | null;
}

/** A change in an anomaly episode's life, produced by the hysteresis stage. */
export interface AnomalyEvent {
  readonly kind: AnomalyEventKind;
  readonly sensor: string;
  /** Stable id of the episode (assigned when it opens, e.g. a ULID/uuid). */
  readonly anomalyId: string;
  readonly startTs: number;
  readonly endTs: number;
  /** Highest score seen in the episode so far. */
  readonly peakScore: number;
  readonly score: number;
  readonly threshold: number;
  readonly modelId: string;
  /**
   * Always 0: every reading is scored on its own, so no step of what was scored is padding. Kept from the
   * per-window detector for consumers (alert `padded_fraction`, the SQLite column, the HTTP API's field).
   */
  readonly paddedFraction: number;
  readonly channelErrors: readonly number[];
  readonly channels: readonly string[];
  /**
   * Readings from the episode's first to its last that held it (the one `endTs` names), not the closing readings
   * after it that end it (alerts.closeAfter; tryout 26, finding 8). The name is the per-window detector's, when it
   * counted windows; kept so the SQLite column and the HTTP API's `windows` field stay compatible.
   */
  readonly windows: number;
  /** Surprise of each kind of evidence at the episode's peak (prediction, reconstruction, level, spread, stuck). */
  readonly evidence?: Readonly<Record<string, number>>;
  /**
   * The device the stream belongs to (Reading.source: `plug-washer` for `plug-washer/ENERGY.Power`), when it
   * differs from the stream and is known. The detector does not set it; the daemon adds it as it records the
   * event (src/daemon.ts recordEvent), so the stored episode can be listed with its device's others
   * (AnomalyRecord.device). Not in the alert payload.
   */
  readonly device?: string;
  /**
   * A field's episode told in the alert of another field's episode of its device (src/daemon/device-faults.ts): that
   * episode's id, stored with it (AnomalyRecord.toldWith). Set by the daemon as it records the event; not in the
   * alert payload (the event is not published).
   */
  readonly toldWith?: string;
  /**
   * An episode whose alert tells the episodes of other fields of its device that opened with it (device-faults.ts):
   * every field's episode it tells, its own first. Set by the daemon as it records the event; the alert payload's
   * `fields` (AlertPayload.fields).
   */
  readonly together?: readonly AlertField[];
  /**
   * On `resolve` only: why it ended. `recovered`: alerts.closeAfter readings in a row below the hold level;
   * `new_normal`: it lasted alerts.newNormalAfter readings and its level is the stream's normal from now on
   * (the readings may well still be off what they were before it); `forgotten`: the operator retired the stream
   * (`anomalyd sensors forget`, POST /api/sensors/:sensor/forget): it ended with no verdict on the readings;
   * `interrupted`: the daemon could not go on with it (Resolution), no verdict either.
   */
  readonly resolution?: Resolution;
  /**
   * A cumulative counter's step back (src/pipeline/counter.ts: a reset, a power cut's rollback, a replaced meter):
   * the total before and after, sensor units. Present on both events of the one-reading episode that tells it
   * (opened and resolved `new_normal` at that reading: the count goes on from the new value); explained as the
   * kind `counter_reset`.
   */
  readonly counterReset?: { readonly from: number; readonly to: number };
  /**
   * A state held far longer than the stream's own dwells there carried the episode (src/pipeline/dwell.ts: a duty
   * cycle's plug left on): the channel (an index of `channels`), `since`, the stream's first reading in that state
   * (epoch ms), and `longestMs`, the longest the stream held that state before (ms, from its readings' times).
   * Explained as a stuck value held since then. `level`: the state held (sensor units), where the detector knows it
   * apart from the readings (an on/off stream's 1 or 0: told so with no reading of the state recorded, after a
   * restart); absent: from the readings. Absent otherwise, and after a restart (not checkpointed).
   */
  readonly held?: { readonly channel: number; readonly since: number; readonly longestMs: number; readonly level?: number };
  /**
   * An alarm field's active state (an on/off stream whose on state is an alarm: a leak, smoke, gas; OnOffWords.alarm)
   * carried the episode: the stream's reading in it, `level` (1 or 0), since `since` (epoch ms, its first reading in
   * it). Opened at that first reading, resolved at its first reading out of it; explained as the kind `alarm`.
   */
  readonly alarm?: { readonly since: number; readonly level: number };
  /**
   * A channel's level drifting away from everything it had shown (src/pipeline/excursion.ts) opened or held the
   * episode: the channel (an index of `channels`), `since`, the first reading of its level's first block beyond that
   * envelope (epoch ms; the episode's start when not known), `up` (above it, or below), and the envelope it left,
   * `lo` … `hi` (the lowest and highest level, a mean of its short-mean span of readings, it had shown in normal
   * operation; sensor units). Explained as a drift since then, by how far beyond anything seen. Absent otherwise.
   * A drift of the level off the channel's long cycle (src/pipeline/drift.ts) is noted the same way, with `expected`:
   * what the cycle's profile expected (the stream's normal at that phase, sensor units) of its reading furthest off it
   * the drift's way, `value`, at `at` (epoch ms); `lo` … `hi` is then `expected` ± how far the level moves in a period
   * in normal operation, and `since` the reading whose one-period change first left that band. Explained as a drift
   * since then, against that normal.
   */
  readonly excursion?: {
    readonly channel: number;
    readonly since: number;
    readonly up: boolean;
    readonly lo: number;
    readonly hi: number;
    readonly expected?: number;
    readonly value?: number;
    readonly at?: number;
  };
  /**
   * A cumulative counter's rate far above anything it had counted at opened or held the episode (src/pipeline/scorer.ts
   * judgeCounter): its rate at the largest (`perHour`) and the largest it had shown before (`usualPerHour`), sensor
   * units per hour (a kWh meter's kW). Explained as the counter counting fast. Absent otherwise.
   */
  readonly counterRate?: { readonly perHour: number; readonly usualPerHour: number };
  /**
   * A cumulative counter whose increments come in runs with rests between has counted without a rest far longer than
   * every busy run it ended (src/pipeline/counter.ts CounterStep.busy: a leak all night): the run's first increment's
   * time (`since`, epoch ms), its length at the latest reading judged so (`ms`), the longest run before it
   * (`longestMs`), what it counted since it began (`rise`, sensor units) and the rest it is measured by (`restMs`).
   * Explained as continuous flow. Absent otherwise.
   */
  readonly counterBusy?: { readonly since: number; readonly ms: number; readonly longestMs: number; readonly rise: number; readonly restMs: number };
  /**
   * A cumulative counter's first move after a hold that `stuck` called rare (a meter that stopped counting, then
   * counted its backlog at once: src/pipeline/scorer.ts judgeCounter): the increment (`amount`, sensor units, > 0) and
   * the steps of the stream's own interval it covers (`steps`, the held ones and its own). Its rate is judged over
   * them, and it is told as the end of the episode's story: `…, then resumed with a catch-up of 7.94 kWh`. Absent
   * otherwise.
   */
  readonly catchUp?: { readonly amount: number; readonly steps: number };
}
