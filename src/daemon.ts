/**
 * The composition root: builds the adapters (through `DaemonAdapters` factories, real ones by default)
 * and the detector from a frozen Config, starts them in order and stops them in reverse. It never calls
 * process.exit; main.ts owns the process. What each part does lives in its own module:
 * src/daemon/checkpoints.ts, sensor-status.ts, housekeeping.ts, http-view.ts, adapters.ts.
 */
import { existsSync } from 'node:fs';
import { loadSidecar } from './model/sidecar.js';
import type { Seq2SeqParams } from './model/spec.js';
import { hostname } from 'node:os';
import { join, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Subject, Subscription, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { resolveMqttConnection } from './config/derived.js';
import { ruleTopicOf } from './config/ingest-rules.js';
import type { AnomalyEvent, ParseResult, RawMessage, ScoredReading, SkipReason } from './contract/types.js';
import { topics as buildTopics, type AlertExplanation, type Topics } from './contract/alerts.js';
import type { EmbeddedBroker } from './adapters/broker.js';
import type { MqttAdapter } from './adapters/mqtt.js';
import { DB_FILE, type SqliteStore } from './adapters/sqlite-store.js';
import type { OutboxPublisher } from './adapters/outbox-publisher.js';
import type { HttpServer } from './adapters/http.js';
import type { InferenceWorkerHost } from './adapters/inference-worker.js';
import { MessageParser } from './pipeline/parse.js';
import { discoveryEnabled, discoveryEntitiesOn, ingestFilters, parseOptionsOf } from './pipeline/ingest-options.js';
import { birthTopicOf, discoveryFor, type HaDiscovery } from './adapters/ha-discovery.js';
import { scoreOfSurprise } from './contract/surprise.js';
import { AnchoredClock } from './util/clock.js';
import { formatDuration } from './util/duration.js';
import { RejectionCounter, rejectionSummaryText } from './pipeline/rejections.js';
import { futureAdvice } from './pipeline/admit.js';
import { OutOfOrderRuns, outOfOrderRunText } from './pipeline/out-of-order-runs.js';
import { Detector, detectorOptions, priorsOf, type DetectorOutput } from './pipeline/detector.js';
import { LATE_INTERVALS, LATE_MIN_MS, QUIET_MS as BACKFILL_QUIET_MS } from './pipeline/backfill.js';
import { DEFAULT_MAX_STREAMS as SERIES_MAX_STREAMS } from './pipeline/series.js';
import { CommandHandler, commandFilter } from './pipeline/commands.js';
import { otherCellNote } from './learn/own-model.js';
import { ModelRegistry, compileScopes } from './learn/registry.js';
import type { LoadedModel, ModelLoader } from './contract/ports.js';
import { Learner, learningOptionsOf, readingsKeptOf } from './learn/learner.js';
import { sharedWeightsOf } from './learn/shared-weights.js';
import { writeModel } from './model/onnx-export.js';
import { realAdapters, type DaemonAdapters } from './daemon/adapters.js';
import { Checkpoints, EpisodeTicks, detectorCheckpointSubject, restoreSpanMs, type StatedOnOff, type StatedUnits } from './daemon/checkpoints.js';
import { shortSpan, type OpenEpisodePeak } from './pipeline/scorer.js';
import { SensorStatusBoard } from './daemon/sensor-status.js';
import { Housekeeping } from './daemon/housekeeping.js';
import { systemTimeZone } from './pipeline/decode/time.js';
import { daemonView, episodeRecord, openEpisodeView } from './daemon/http-view.js';
import { logAlert, SignalBook } from './daemon/signals.js';
import { PINNED_READINGS } from './explain/explain.js';
import { brokerRolesOf, commandOperators, newDaemonLogin } from './daemon/access.js';
import { topicMatches } from './adapters/broker-roles.js';
import { FaultLatch, databaseFileTask, rescueDatabase } from './daemon/faults.js';
import { idleEvictionFor, storedResolveEvent, type IdleEviction } from './daemon/eviction.js';
import { FORGOTTEN_SUFFIX, forgetLive, type ForgetResult, type ForgetTarget } from './daemon/forget.js';
import { SummaryLog } from './daemon/summary-log.js';
import { DataDirLock } from './daemon/data-lock.js';
import { ReadPauses } from './daemon/read-pauses.js';
import { BackfillLog } from './daemon/backfill-log.js';
import { LoopLoad, eventLoopSampler, type UtilizationSampler } from './daemon/loop-load.js';
import type { StorageError } from './adapters/storage.js';
import type { OwnModelProgress } from './contract/own-model.js';
import { DeviceAvailability, SLEEP_KEY } from './daemon/availability.js';
import { DeviceSilences } from './daemon/device-silence.js';
import { DeviceFaults, togetherSentence } from './daemon/device-faults.js';
import { Relations } from './daemon/relations.js';
import { JunkGate, type JunkGateOptions } from './daemon/junk-gate.js';
import { KeptReadings } from './daemon/kept-readings.js';
import { StopPublishFailures } from './daemon/stop-publish-log.js';
import { keptReadings, type KeptStream } from './pipeline/kept.js';

export interface DaemonOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Wall clock, epoch ms (default Date.now). */
  readonly now?: () => number;
  /**
   * Arrival stamps of readings without a time, epoch ms (default: a monotonic clock anchored to `now`,
   * src/util/clock.ts). The demo passes its simulated clock, which is monotonic already and runs faster.
   */
  readonly arrivalNow?: () => number;
  /**
   * Readings sent to the daemon and not yet taken (a sender that knows: the demo, which publishes them itself
   * and lets the daemon lag behind its simulated clock). While any are in flight, no sensor's silence is judged
   * (Daemon.judgeSilences): a reading on its way is no silence. Default: none known.
   */
  readonly inFlight?: () => number;
  /**
   * The event loop's utilization since the previous call, 0..1 (default: Node's `performance.eventLoopUtilization`,
   * src/daemon/loop-load.ts), sampled every 250 ms: a span in which it reached 0.9 is one in which the daemon could
   * not hear its sensors in time (tests inject it).
   */
  readonly loopUtilization?: UtilizationSampler;
  /** The JunkGate's budgets and clock (src/daemon/junk-gate.ts; default its constants and performance.now): tests fix the clock. */
  readonly junkGate?: JunkGateOptions;
  /** Adapter factories to use instead of the real ones (tests start the daemon in-process with these). */
  readonly adapters?: Partial<DaemonAdapters>;
  /** Told about every scored reading and the episode events it caused, after they were stored (tests, embedding). */
  readonly onReading?: (reading: ScoredReading, events: readonly AnomalyEvent[]) => void;
}

export interface DaemonCounters {
  /**
   * Messages taken off the MQTT client (sensor topics only). Once parsed (`messages`), each is in exactly one of
   * `messagesWithReadings`, `messagesRejected`, `messagesHeld` and the skipped counts (GET /api/status `skipped`),
   * so `messages` = their sum, and `received` too once every message is parsed.
   */
  received: number;
  /** Messages parsed. */
  messages: number;
  /** Messages that gave at least one reading (some of their fields may have been rejected). */
  messagesWithReadings: number;
  /** Messages that gave no reading and at least one rejection (counted by reason in `rejections`). */
  messagesRejected: number;
  /** Messages whose only readings admission holds until their stream's next reading (pipeline/admit.ts); counted in `readings` or rejected then. */
  messagesHeld: number;
  /** Readings accepted by the parser (one per field: a message may give several). */
  readings: number;
  /** Rejections (one per rejected reading or message: a message may give several). */
  rejected: number;
  /** Readings scored (each accepted reading is, once its model call is done). */
  scored: number;
  /** Model calls that failed (their streams were scored without the model for those readings). */
  modelErrors: number;
  /** Messages or readings a stage failed on (reported, counted, skipped; the stream goes on). */
  internalErrors: number;
  /** Readings handed to the detector, and readings it finished (for the watchdog's progress check). */
  intoModel: number;
  modelDone: number;
  events: number;
  /** Events the store refused because their episode was past them (a second open or resolve). */
  refusedEvents: number;
  /**
   * Events of an episode the operator's forget resolved (`forgotten`) while the daemon ran, dropped quietly before the
   * store: one the pipeline or a device's silence still had on its way (tryout 37, finding 13b: a device's episode
   * resolved again when its last field was forgotten, a warn "anomaly event refused").
   */
  forgottenEvents: number;
  /** Detector `update`s not alerted (nor stored) because they repeated their episode's previous alert (SignalBook.explainAlert). */
  repeatedUpdates: number;
  /** Detector `update`s not alerted (nor stored) because they told the same fault as the episode's last alert only longer, not yet tenfold (SignalBook.explainAlert). */
  longerUpdates: number;
  /** Messages whose device time was a clock never set (before 2000, e.g. Tasmota without NTP), stamped on arrival instead. */
  unsetClocks: number;
  /** Streams whose device times lag arrival by about a whole number of hours, consistently (a time zone mix-up; pipeline/clock-lag.ts). */
  clockLags: number;
  /**
   * Readings missing at their stream's learnt interval inside backfill bursts: readings that arrived late and far
   * faster than their times move (history published at full speed), with holes between their messages, which a
   * broker's queue may have dropped (pipeline/backfill.ts; Detector.backfillMissing). Not what was never sent.
   */
  backfillMissing: number;
  /**
   * Readings of arrival-stamped bursts: readings stamped on arrival (a hub that sends no time) that came within a
   * quarter of their stream's interval after a hole or the daemon's deafness, a hub's queue flushed at a reconnect.
   * Their values are judged, not when they came (Detector.arrivalBurst; docs/SCORING.md, "Arrival-stamped bursts").
   */
  arrivalBurst: number;
  commands: number;
  /** Times MQTT reads were paused for backpressure. */
  pauses: number;
  /**
   * Readings taken in and not scored when this run's stop had to end its drain (shutdown.deadlineMs): written to the
   * database with the final checkpoint and scored first at the next start (src/daemon/kept-readings.ts). 0 until the
   * stop; the `stopped` line says it.
   */
  keptAtStop: number;
  /** Readings the last stop kept (its keptAtStop), given back at this start and scored before any live reading of their streams. */
  keptFromStop: number;
  /**
   * Readings the last stop kept that this start did not give back: they break a live reading's rules (a time ahead of
   * the clock or outside its stream's checkpoint, a missing or non-finite value, values not one per channel: a damaged
   * database; src/pipeline/kept.ts, admitKept). Logged once with their reasons.
   */
  keptRejected: number;
  /** Readings the last stop kept whose rows this start could not read (logged, the rows deleted). */
  keptLost: number;
}

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOUSEKEEPING_MS = 2_000;
/** Episode ids resolved by the operator's forget whose later events are dropped quietly (Daemon.forgottenEpisodes), at most. */
const FORGOTTEN_EPISODES_KEPT = 10_000;
/**
 * The share of shutdown.deadlineMs (ms, at most half of it) a graceful stop leaves after its pipeline drain, for the
 * steps after it: the final checkpoint with the readings kept (a few hundred ms for 1,000 streams), the store's flush,
 * the outbox and the MQTT client's end (offline status). The drain may take the rest: 5 s of the default 8 s.
 */
export const STOP_AFTER_DRAIN_MS = 3_000;

/**
 * How long a forced stop (Daemon.hurry, a second signal) waits for the model calls in flight before the process may
 * exit (ms): one call of a full batch takes a few ms to tens of ms on a Pi; an exit while onnxruntime runs could abort.
 */
export const FORCED_MODEL_WAIT_MS = 500;
/** The warn of a device clock ahead of arrival (once per device; bounded by clockSkewLog). */
export const CLOCK_SKEW_MSG =
  'device clock ahead of arrival: its readings are rejected (future_timestamp); fix its clock (NTP). About a whole number of hours ahead is a time zone mix-up: an epoch time (a number, or a text with Z or an offset) is UTC whatever ingest.timezone says, so a device that writes its local time as epoch must send UTC epoch or its local time as text (with its offset, or without one, read in ingest.timezone); only a text time without an offset is read in ingest.timezone: set it to the device\'s zone (each device\'s `advice` says which)';
/** Devices with a clock ahead warned of one line each per limits.logIntervalMs; more are summed up in one line. */
export const CLOCK_SKEW_BURST = 10;
/** How often (wall ms, at most) open episodes' progress is written to their records. */
const TOUCH_MS = 10_000;
/**
 * The length in readings at which an open episode is told again in data time (Daemon.retellByReadings) after its first
 * retelling at PINNED_READINGS, then at each doubling: a jump that held for more than 3 readings is a level shift
 * (docs/ALERTS.md, "What is told when").
 */
export const RETELL_FIRST_READINGS = 4;

/**
 * The data-time retelling schedule of an open episode (Daemon.retellByReadings), in its readings: the first retelling
 * at PINNED_READINGS (3: a value pinned far off is told stuck from its third reading), then RETELL_FIRST_READINGS,
 * then each doubling. `after` null: the first due; else the next due after a retelling at `after` readings.
 */
export function nextRetelling(after: number | null): number {
  if (after === null) return Math.min(PINNED_READINGS, RETELL_FIRST_READINGS);
  return after < RETELL_FIRST_READINGS ? RETELL_FIRST_READINGS : 2 * after;
}

/** A relative model dir is looked up from the working directory, then from the package (for installed copies). */
export function resolveModelDir(dir: string): string {
  if (isAbsolute(dir)) return dir;
  const fromCwd = resolve(dir);
  if (existsSync(fromCwd)) return fromCwd;
  return resolve(PACKAGE_ROOT, dir);
}

export function modelSidecarPath(config: Config): string {
  const name = config.model.name ?? config.model.cell;
  return join(resolveModelDir(config.model.dir), `${name}.json`);
}

/** The hop of the shared model the config names (its sidecar's), or undefined when it cannot be read (for check-config's and run's warnings). */
export function sharedModelHop(config: Config): number | undefined {
  try {
    return loadSidecar(modelSidecarPath(config)).hop;
  } catch {
    return undefined;
  }
}

export class Daemon {
  readonly counters: DaemonCounters = {
    received: 0,
    intoModel: 0,
    modelDone: 0,
    commands: 0,
    pauses: 0,
    messages: 0,
    messagesWithReadings: 0,
    messagesRejected: 0,
    messagesHeld: 0,
    readings: 0,
    rejected: 0,
    scored: 0,
    modelErrors: 0,
    internalErrors: 0,
    events: 0,
    refusedEvents: 0,
    forgottenEvents: 0,
    repeatedUpdates: 0,
    longerUpdates: 0,
    unsetClocks: 0,
    clockLags: 0,
    backfillMissing: 0,
    arrivalBurst: 0,
    keptAtStop: 0,
    keptFromStop: 0,
    keptRejected: 0,
    keptLost: 0,
  };
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly topics: Topics;
  private readonly adapters: DaemonAdapters;
  private discovery: HaDiscovery | null = null;
  private readonly rejections: RejectionCounter;
  /** Floods of rejected input dropped unread, `rate_limited` (src/daemon/junk-gate.ts). */
  private readonly junkGate: JunkGate;
  /** The topic of the message being parsed (the detector parses synchronously within the feed's `next`), else null. */
  private parsingTopic: string | null = null;
  /** Messages skipped since start per reason (ParseResult.skipped): by design no reading, no error. */
  private readonly skipped: Record<SkipReason, number> = { hub_topic: 0, hub_event: 0, text_state: 0, missing_value: 0 };
  /** Runs of out_of_order readings per stream: one warning per stream and hour (a gateway's buffer flushed after a live reading). */
  private readonly outOfOrderRuns = new OutOfOrderRuns();
  /** Sensors with no valid reading for long are evicted (limits.*, docs/SECURITY.md). */
  private eviction: IdleEviction | null = null;
  /** Sensor status changes beyond a few a minute are summed up (made-up sensors must not flood the log). */
  private readonly statusLog: SummaryLog;
  /**
   * A device whose clock is ahead of arrival is warned of once (admission reports it once per device): the first
   * CLOCK_SKEW_BURST devices of a limits.logIntervalMs one line each, any more summed up in one line per interval
   * (junk on new topics is one device per topic; their readings are in the rejection summary as future_timestamp).
   */
  private readonly clockSkewLog: SummaryLog;
  /** Readings, expectation and surprise per stream (dashboard) and the explanations built from them. */
  private signals: SignalBook | null = null;
  private readonly startedMono = performance.now();
  private readonly trainingAbort = new AbortController();
  /** The daemon's own login to the embedded broker, made up at each start (docs/SECURITY.md). */
  private readonly daemonLogin = newDaemonLogin();
  /** Readings waiting in the detector above which MQTT reads pause, and below which they resume. */
  private readonly backlogHigh: number;
  private readonly backlogLow: number;
  private startedAt = 0;
  private store: SqliteStore | null = null;
  private dataLock: DataDirLock | null = null;
  private broker: EmbeddedBroker | null = null;
  private mqtt: MqttAdapter | null = null;
  private publisher: OutboxPublisher | null = null;
  private http: HttpServer | null = null;
  private inferenceHost: InferenceWorkerHost | null = null;
  private registry: ModelRegistry | null = null;
  private learner: Learner | null = null;
  private detector: Detector | null = null;
  /** Devices that said they are offline (their birth and last will: src/daemon/availability.ts); made with the store. */
  private availability: DeviceAvailability | null = null;
  /** Devices whose every field went silent together: one episode each (src/daemon/device-silence.ts); made with the store. */
  private deviceSilences: DeviceSilences | null = null;
  /** Fields of one device whose episodes opened together, told in one alert (src/daemon/device-faults.ts). */
  private deviceFaults: DeviceFaults | null = null;
  /** Streams of a device judged by their relation to a duty-cycled stream of it (score.relations; src/daemon/relations.ts). */
  private relations: Relations | null = null;
  /** The detector's parser: the units hubs state for their streams (statedUnit). */
  private parser: MessageParser | null = null;
  /** Errors of one kind logged at most once per housekeeping interval, with how many were not. */
  private readonly quiet = new Map<string, { count: number; example: string }>();
  /**
   * The state and availability topics of Home Assistant discovery entities (the homeassistant preset; MessageParser's
   * discoveryEntities), subscribed at run time (and at start, those of the entities kept in the store); the embedded broker lets sensors publish on them (BrokerRolesOptions.discoveredTopics).
   */
  private readonly discoveredTopics = new Set<string>();
  /** The MQTT filters subscribed from the start (ingestFilters): a discovered state topic they match is not subscribed again. */
  private readonly staticFilters: readonly string[];
  private board: SensorStatusBoard | null = null;
  private checkpoints: Checkpoints | null = null;
  /** The readings a stop kept unscored: given back at start, written at stop (src/daemon/kept-readings.ts). */
  private kept: KeptReadings | null = null;
  private housekeeping: Housekeeping | null = null;
  /** The spans in which MQTT reads were paused for backpressure (Daemon.deafUntil, judgeSilences). */
  private readonly readPauses: ReadPauses;
  /** The clock that stamps each message's arrival (RawMessage.receivedAt): monotonic, anchored to the wall clock. */
  private readonly arrivalNow: () => number;
  /** The backfill bursts told since start (src/daemon/backfill-log.ts). */
  private readonly backfills: BackfillLog;
  /** The event loop's saturated spans (Daemon.deafUntil, judgeSilences); started with housekeeping. */
  private loopLoad: LoopLoad | null = null;
  /** Streams with an open episode due a checkpoint at the next housekeeping tick (EpisodeTicks; Checkpoints.saveStreams); made at start. */
  private episodeTicks: EpisodeTicks | null = null;
  /** When open episodes' progress was last written (wall ms), and each one's length (readings) and end (epoch ms) then. */
  private touchedAt = 0;
  private touched = new Map<string, { readonly readings: number; readonly lastAboveTs: number }>();
  /**
   * Per stream with an open episode: its id and the length in readings at which it is next told again from its
   * readings in data time (retellByReadings), besides touchOpenEpisodes' every TOUCH_MS of wall time. Dropped at the
   * stream's first reading with no episode open.
   */
  private readonly retellDue = new Map<string, { readonly id: string; next: number; drift: boolean }>();
  private input: Subject<RawMessage> | null = null;
  private feed: Subscription | null = null;
  private pipeline: Subscription | null = null;
  private pipelineDone: Promise<void> = Promise.resolve();
  private started = false;
  private starting: Promise<void> | null = null;
  private stopping: Promise<boolean> | null = null;
  /** Set by hurry() (a second signal): the stop cuts every wait short (see hurry). */
  private hurried = false;
  /** Resolves once hurry() is called: ends the stop's wait for the start or the drain at once. */
  private readonly hurrySignal: Promise<void>;
  private hurryNow: () => void = () => undefined;
  /** The sensor states the stop could not publish: one line for all of them (src/daemon/stop-publish-log.ts). */
  private readonly stopPublishFailures = new StopPublishFailures();
  /** Set when the start failed (e.g. the data directory in use): the stop then closes what it opened, and says so. */
  private startFailed = false;
  /** Set once the stop's final checkpoint (with the readings kept) is committed: nothing taken in is unsaved from then on. */
  private savedAtStop = false;
  /** Storage faults during the run (docs/DEPLOY.md, "Storage faults"). */
  private readonly faults: FaultLatch;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.logger.child({ module: 'daemon' });
    this.hurrySignal = new Promise<void>((resolve) => {
      this.hurryNow = resolve;
    });
    this.now = opts.now ?? Date.now;
    this.readPauses = new ReadPauses(this.now);
    this.arrivalNow = opts.arrivalNow ?? new AnchoredClock({ wall: this.now }).now;
    this.backfills = new BackfillLog(this.log, opts.config.explain.timeZone ?? systemTimeZone(), opts.config.limits.logIntervalMs);
    this.topics = buildTopics(opts.config.mqtt.topicPrefix);
    this.staticFilters = ingestFilters(opts.config);
    this.adapters = { ...realAdapters, ...opts.adapters };
    this.backlogHigh = 64 * opts.config.model.maxBatch;
    this.backlogLow = 16 * opts.config.model.maxBatch;
    this.rejections = new RejectionCounter({ logIntervalMs: opts.config.limits.logIntervalMs });
    this.junkGate = new JunkGate(opts.junkGate);
    this.statusLog = new SummaryLog(this.log, 'info', 'sensor status', opts.config.limits.logIntervalMs, 10);
    this.clockSkewLog = new SummaryLog(this.log, 'warn', CLOCK_SKEW_MSG, opts.config.limits.logIntervalMs, CLOCK_SKEW_BURST);
    this.faults = new FaultLatch(this.log, this.now, () => {
      this.mqtt?.setStatus('fault').catch(() => undefined);
    });
  }

  /** Resolves with the first storage fault of the run; `anomalyd run` then stops with EXIT_STORAGE_FAULT. */
  get failed(): Promise<StorageError> {
    return this.faults.failed;
  }

  /** The dashboard's URL, when it is serving. */
  get httpUrl(): string | null {
    return this.http?.url ?? null;
  }

  /** The embedded broker's URL, when there is one (its port may have been chosen by the OS). */
  get brokerUrl(): string | null {
    return this.broker ? this.broker.url : null;
  }

  get database(): SqliteStore | null {
    return this.store;
  }

  /** How far a sensor's own model is; null when it is not learning one (the demo paces itself by it and prints it). */
  ownModel(sensor: string): OwnModelProgress | null {
    return this.learner?.ownModel(sensor) ?? null;
  }

  /** Starts everything; on failure, stops what was started and rethrows. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const t0 = this.now();
    this.startedAt = this.now();
    this.starting = this.startAll();
    try {
      await this.starting;
    } catch (err) {
      this.startFailed = true;
      await this.stop();
      throw err;
    }
    this.log.info({ ms: this.now() - t0, model: this.registry?.fallbackModel?.id ?? null, mqtt: this.mqttUrl(), http: this.httpUrl }, 'ready');
  }

  private mqttUrl(): string {
    return resolveMqttConnection(this.opts.config, hostname(), this.broker?.port).url;
  }

  /**
   * Start order: data-directory lock, store, models, learner, detector (+ checkpoints), broker, HTTP, then MQTT +
   * pipeline, outbox, timers. All that binds locally comes before the MQTT connection (the only step with an effect
   * outside this process), so a start that fails has touched no broker.
   */
  private async startAll(): Promise<void> {
    const { config, logger } = this.opts;
    // The store makes the directory (safely: a path under /proc fails at once) and proves it can write.
    const dataDir = resolve(config.dataDir);
    // One daemon per data directory (src/daemon/data-lock.ts): refused before the store is opened.
    this.dataLock = new DataDirLock(dataDir);
    this.dataLock.acquire();
    const store = this.adapters.openStore(join(dataDir, DB_FILE), {
      onFault: (fault) => this.faults.raise(fault),
      commitIntervalMs: config.store.commitIntervalMs,
      outboxMax: config.alerts.outboxMax,
      logger: logger.child({ module: 'store' }),
      now: this.now,
      daemonId: hostname(),
      readingsKept: readingsKeptOf(config),
    });
    this.store = store;
    // One explanation per episode: an episode the book does not know (restored after a restart) goes on from its record's.
    this.signals = new SignalBook({
      units: config.explain.units,
      timeZone: config.explain.timeZone,
      persist: store,
      logger: this.log,
      // The streams read most recently have their raw readings in memory, which their alerts are explained from
      // (tryout 25, finding 4): past SERIES_MAX_STREAMS a new stream takes the place of the one read least recently.
      maxStreams: Math.min(config.ingest.maxStreams, SERIES_MAX_STREAMS),
      recorded: (id) => store.getAnomaly(id)?.explanation ?? null,
      stated: (stream) => this.parser?.statedUnit(stream) ?? null,
      onOff: (stream) => this.parser?.onOffWords(stream) ?? null,
      // The stream's latest reading arrived late as a backfill's do (a buffer flushed after an outage): a silence it
      // ends is told so (SignalBook.explainSilence).
      arrivedLate: (stream) => {
        const heard = this.board?.heardAt(stream) ?? null;
        const ts = this.signals?.latest(stream)?.ts ?? null;
        if (heard === null || ts === null) return null;
        const late = heard - ts;
        return late >= Math.max(LATE_MIN_MS, LATE_INTERVALS * (this.detector?.intervalOf(stream) ?? 0)) ? late : null;
      },
    });

    this.availability = new DeviceAvailability({
      streamsOf: (device) => this.streamsOf(device),
      record: (ev, explanation) => this.recordEvent(store, ev, explanation),
      newId: randomUUID,
      threshold: config.score.threshold,
      timeZone: config.explain.timeZone ?? undefined,
      log: this.log,
      // Its streams' retained states tell the device's episode (Home Assistant's problem entities of its streams).
      changed: (_device, streams) => {
        for (const stream of streams) this.board?.refresh(stream);
      },
      // A device whose streams' silences are all told already (their missing-data episodes open) opens none of its own.
      silenceTold: (stream) => this.detector?.silenceOpen(stream) === true,
      // The sleepers' cadences, kept as a checkpoint row: a restart must not make the next sleep an alert (tryout 32).
      saveSleep: (state) => store.saveSensorStates([{ sensor: SLEEP_KEY, blob: Buffer.from(state, 'utf8'), updatedAt: this.now() }]),
    });
    try {
      const kept = store.loadSensorState(SLEEP_KEY);
      if (kept !== null) this.availability.restoreSleep(kept.blob.toString('utf8'));
    } catch (err) {
      this.log.warn({ err }, 'the sleepers’ cadences kept in the store could not be read: learnt again (their first sleeps told)');
    }
    this.deviceSilences = new DeviceSilences({
      streamsOf: (device) => this.streamsOf(device),
      heardAt: (stream) => this.board?.heardAt(stream) ?? null,
      lastReadingAt: (stream) => this.signals?.latest(stream)?.ts ?? null,
      intervalOf: (stream) => this.detector?.intervalOf(stream),
      record: (ev, explanation) => this.recordEvent(store, ev, explanation),
      newId: randomUUID,
      threshold: config.score.threshold,
      timeZone: config.explain.timeZone ?? undefined,
      log: this.log,
    });
    this.deviceFaults = new DeviceFaults({
      streamsOf: (device) => this.streamsOf(device),
      intervalOf: (stream) => this.detector?.intervalOf(stream),
      // A stop may have closed the store by the time a held open's turn is over: it settled them first (stopAll).
      record: (ev, explanation) => this.store !== null && this.recordEvent(this.store, ev, explanation, true),
      later: (fn) => setImmediate(fn),
      log: this.log,
    });
    this.relations = config.score.relations
      ? new Relations({
          streamsOf: (device) => this.streamsOf(device),
          record: (ev, explanation) => this.store !== null && this.recordEvent(this.store, ev, explanation),
          newId: randomUUID,
          threshold: config.score.threshold,
          holdMargin: config.score.holdMargin,
          unitOf: (stream) => this.signals?.unitOf(stream, this.signals.latest(stream)?.ts) ?? null,
          timeZone: config.explain.timeZone ?? undefined,
          log: this.log,
        })
      : null;

    const loadModel = this.startModels();
    const registry = await this.startRegistry(loadModel);
    const learner = await this.startLearner(store, registry, loadModel, join(dataDir, 'models'));
    const detector = this.buildDetector(registry);
    this.detector = detector;
    this.board = new SensorStatusBoard(
      {
        modelOf: (sensor) => registry.modelFor(sensor)?.id ?? null,
        learning: (sensor) => detector.learning(sensor) || this.mayNotAlert(sensor),
        // A field's silence told in its device's one episode carries that episode (the one alerted: DeviceSilences).
        openAnomaly: (sensor) => {
          const id = detector.openAnomaly(sensor);
          return id === null ? null : (this.deviceSilences?.episodeOfMember(id) ?? id);
        },
        ownModel: (sensor) => learner.ownModel(sensor),
        intervalOf: (sensor) => detector.intervalOf(sensor),
        ownQuiet: (sensor) => detector.ownQuiet(sensor),
        silenceJudged: (sensor) => detector.silenceJudged(sensor) && !this.mayNotAlert(sensor),
        silenceTold: (sensor) => detector.silenceOpen(sensor),
        heldProgress: (sensor) => detector.heldProgress(sensor),
        newestReadingTs: (sensor) => this.signals?.latest(sensor)?.ts ?? null,
        deviceEpisode: (sensor) => {
          const availability = this.availability;
          if (availability?.active !== true) return null;
          return availability.episodeOf(availability.deviceOf(sensor, (stream) => detector.sourceOf(stream)));
        },
        // The state tells the open episode as the score payload and GET /api/sensors do: from its stored record.
        episodeTold: (_sensor, episode) => {
          const v = openEpisodeView(episode.id, episode.device, episodeRecord(() => store, episode.id));
          return { kind: v.kind, since: v.since, sentence: v.sentence };
        },
      },
      {
        staleAfter: config.alerts.staleAfter,
        resetAfter: config.window.resetAfter,
        now: this.now,
        logger: this.log,
        publish: (sensor, payload) => {
          this.mqtt?.publish(this.topics.state(sensor), JSON.stringify(payload), { qos: 1, retain: true }).catch((err: unknown) => {
            // While stopping, counted and said once after the MQTT client ended (stopPublishFailures).
            if (this.stopping !== null) this.stopPublishFailures.note(sensor, err);
            else this.log.warn({ err, sensor }, 'could not publish sensor state');
          });
          // The score entity's episode attributes follow the state's (tryout 30, finding 7), with no new reading too.
          this.discovery?.episodeChanged(sensor);
        },
        clear: (sensor) => void this.mqtt?.publish(this.topics.state(sensor), '', { qos: 1, retain: true }).catch(() => undefined),
        logStatus: (detail) => this.statusLog.note(this.now(), detail),
      },
    );
    const series = this.signals.series;
    this.kept = new KeptReadings(store, detector, this.log, {
      now: this.now,
      maxFutureMs: config.ingest.maxFutureMs,
      // Restored from the checkpoints (restore, below, runs first).
      scoredTs: (stream) => this.signals?.latest(stream)?.ts ?? null,
      // The series of the readings given back, in the transaction that deletes their kept rows (tryout 37, finding 2).
      writeSeries: (streams) => series.writeStreams(streams),
    });
    this.checkpoints = new Checkpoints(
      // Through the kept readings: a stream's checkpoint written once its kept readings are scored takes their row.
      this.kept.checkpointStore(),
      // Each checkpoint carries the stream's newest scored reading too (the sensor list shows it after a restart),
      // and its open episode's explanation state (an episode is told after a restart as without one).
      // and when its latest reading arrived (a sensor silent at the stop is as silent at the start: its state as before),
      // and the unit its hub stated with its changes (known at once after a restart; a change across it is told).
      detectorCheckpointSubject(detector, (id) => store.getAnomaly(id)?.status ?? null, this.signals, this.board, this.statedUnits(), this.statedOnOff()),
      {
        intervalMs: config.store.checkpointIntervalMs,
        maxAgeMs: config.store.checkpointMaxAgeMs,
        // A checkpoint is too old in the stream's own intervals, as a silence is while the daemon runs: kept through its
        // idle span (evicted then, its state checkpointed) and revived while younger than checkpointMaxAgeMs after it.
        keptForMs: (interval) => restoreSpanMs(config, interval),
        maxFutureMs: config.ingest.maxFutureMs,
        now: this.now,
        logger: this.log,
      },
    );
    this.episodeTicks = new EpisodeTicks(shortSpan(config.score.smooth) + config.alerts.closeAfter);
    // With the sensors an earlier version evicted while their silence alarm was open (restored too: listed again).
    const restored = this.checkpoints.restore();
    restored.push(...this.resolveOrphanedEpisodes());
    // The readings the last stop kept unscored, queued before any message (scored first, in order, once the pipeline
    // runs): their streams' checkpoints, just restored, hold their cadences past them and their scorers before them.
    try {
      const given = this.kept.restore();
      this.counters.keptFromStop = given.readings;
      this.counters.keptRejected = given.rejected;
      this.counters.keptLost = given.lost;
      this.counters.intoModel += given.readings;
    } catch (err) {
      // Not left for the next start: this run's checkpoints move past them, so they could not be scored then.
      let deleted = true;
      try {
        store.replaceKeptReadings([]);
      } catch {
        deleted = false;
      }
      this.log.error({ err, deleted }, 'the readings kept at the last stop could not be read: they are lost');
    }
    // The dashboard's raw readings kept at the last clean stop (SignalBook.keepRaw), after the checkpoints' (an open
    // episode's newest are in its ring already): the 1-hour plot shows them as before the stop (tryout 26, finding 7).
    try {
      const taken = this.signals.restoreRaw(store.takeSeriesRaw());
      if (taken > 0) this.log.debug({ readings: taken }, 'raw readings of the dashboard taken back');
    } catch (err) {
      this.log.warn({ err }, 'could not take back the raw readings kept at the last stop; the dashboard shows their minutes');
    }
    this.restoreDiscoveredEntities(store);
    this.eviction = idleEvictionFor(
      {
        detector,
        board: this.board,
        others: () => [this.signals, this.episodeTicks, this.availability],
        learner,
        discovery: () => this.discovery,
        deviceOffline: (stream) => {
          const availability = this.availability;
          return availability?.active === true && availability.silenced(availability.deviceOf(stream, (s) => detector.sourceOf(s)));
        },
        holdsActive: (stream) => {
          const words = this.parser?.onOffWords(stream) ?? null;
          const latest = words === null ? null : (this.signals?.latest(stream) ?? null);
          return words !== null && latest !== null && latest.values[0] === words.active;
        },
        checkpoints: this.checkpoints,
        store,
        alertTopic: (s) => this.topics.alerts(s),
        log: this.log,
      },
      { ...config.limits, now: this.now, busy: () => this.cannotHear() },
    );
    // A restored sensor is listed (HTTP API, retained state) at once, not only when it next sends: silent for as
    // long as it was at the stop (its checkpoint's arrival: a stale one stays stale, a live one ok; the downtime is
    // not counted), or, with no arrival in its checkpoint, as if its last reading came now.
    for (const sensor of restored) if (this.board?.hasArrival(sensor) !== true) this.board?.arrived(sensor);
    // Idle from that same arrival: a sensor silent at the stop is not given a new idle span by the restart (tryout 16,
    // finding 5: junk streams outlived every restart by limits.idleAfterMinMs).
    this.eviction.track(restored, (sensor) => this.board?.arrivalOf(sensor)?.arrivedAt);
    // A silence alarmed while it lasted and restored open is told as one as it grows (SignalBook.noteSilence).
    for (const sensor of restored) this.noteSilence(sensor);

    if (config.broker.enabled && config.mqtt.url === null) {
      this.broker = this.adapters.createBroker({
        host: config.broker.host,
        port: config.broker.port,
        roles: { ...brokerRolesOf(config, this.daemonLogin, hostname()), discoveredTopics: this.discoveredTopics },
        logger: logger.child({ module: 'broker' }),
        // One summary line of refusals per limits.logIntervalMs, as for every other repeated line.
        denialLogIntervalMs: config.limits.logIntervalMs,
      });
      await this.broker.start();
    }
    // Every local resource (the data-directory lock, the broker's port, the HTTP port) is held before the first
    // MQTT connection: a start that fails on one never connects, so it never takes over the session of a daemon
    // already running with the same client id, nor publishes `offline` on its status topic (tryout 15 finding 6).
    // Until MQTT is up the API answers with `mqtt.connected: false`; everything it reads exists by now.
    if (config.http.enabled) await this.startHttp();
    const mqtt = this.startMqtt(store);
    await mqtt.start();
    this.discovery?.start();
    this.clearForgotten(store);
    // The restored streams' discovery configs (a broker may have lost them: the embedded broker's retained store
    // dies with the process), of those that were real streams already (ANNOUNCE_AFTER_READINGS: its interval learnt
    // from its own readings, past its learning period, or an open episode); the others once they have had their
    // readings in this run. Then their retained states (republished as any status change is).
    this.discovery?.restored(restored);
    for (const stream of restored) if (this.realStream(stream)) this.discovery?.announce(stream, detector.sourceOf(stream));
    this.board?.refreshAll();

    this.publisher = this.adapters.createOutbox(store, (topic, payload) => mqtt.publishOnce(topic, payload), {
      logger: logger.child({ module: 'outbox' }),
      retryMinMs: 250,
      retryMaxMs: 10_000,
    });
    this.publisher.start();

    this.loopLoad = new LoopLoad(this.opts.loopUtilization ?? eventLoopSampler(), this.now);
    this.loopLoad.start();

    this.housekeeping = new Housekeeping(
      [
        { name: 'backpressure log', run: () => this.logPauses() },
        { name: 'silences', run: () => this.judgeSilences() },
        { name: 'stale status', run: () => this.board?.refreshAll() },
        { name: 'learning', run: () => this.learnerTick() },
        { name: 'rejections', run: () => this.flushRejections() },
        { name: 'junk gate', run: () => this.junkGate.sweep() },
        { name: 'repeated errors', run: () => this.flushQuiet() },
        { name: 'dashboard series', run: () => this.signals?.flush() },
        { name: 'open episodes', run: () => this.touchOpenEpisodes() },
        { name: 'checkpoint open episodes', run: () => this.checkpointEpisodes() },
        // The streams given back kept readings: checkpointed once those are scored, which drops their rows.
        { name: 'kept readings', run: () => this.kept !== null && this.kept.waiting().size > 0 && this.checkpoints?.saveStreams(this.kept.waiting()) },
        databaseFileTask(() => store.checkFile(), this.faults),
        this.eviction.task(),
        { name: 'status log', run: () => this.statusLog.drain(this.now()) },
        { name: 'clock skew log', run: () => this.clockSkewLog.drain(this.now()) },
        { name: 'backfill log', run: () => this.logBackfills(false) },
      ],
      HOUSEKEEPING_MS,
      this.log,
    );
    this.housekeeping.start();
    this.checkpoints.start();
  }

  /**
   * True when a stream restored at start was a real stream already, to be announced to Home Assistant at once
   * (HaDiscovery.announce): it has an open episode, is past the scorer's learning period, or its interval was learnt
   * from its own readings (three at least: src/pipeline/cadence.ts; not when window.intervalMs sets every stream's).
   */
  private realStream(stream: string): boolean {
    const detector = this.detector;
    if (detector === null) return false;
    if (detector.openAnomaly(stream) !== null || !detector.learning(stream)) return true;
    return this.opts.config.window.intervalMs === 0 && (detector.intervalOf(stream) ?? 0) > 0;
  }

  /** The model loader: through the one inference worker, or on the main thread with model.worker: false. */
  private startModels(): ModelLoader {
    if (!this.opts.config.model.worker) return (path) => this.adapters.loadModel(path);
    const host = this.adapters.createInferenceHost(this.opts.logger.child({ module: 'inference' }));
    host.start();
    this.inferenceHost = host;
    return (path) => host.load(path);
  }

  /** The shared model scores every sensor without one of its own (unless learning without a fallback). */
  private async startRegistry(loadModel: ModelLoader): Promise<ModelRegistry> {
    const { config, logger } = this.opts;
    let fallback: LoadedModel | null = null;
    if (!config.learning.enabled || config.learning.fallback) {
      const sidecarPath = modelSidecarPath(config);
      if (!existsSync(sidecarPath)) {
        throw new Error(`model not found: ${sidecarPath} (set model.dir / model.name, or train one with 'anomalyd train')`);
      }
      fallback = await loadModel(sidecarPath);
      if (fallback.sidecar.window !== config.window.length) {
        this.log.warn({ model: fallback.id, modelWindow: fallback.sidecar.window, window: config.window.length }, 'window.length differs from the window the model was trained on');
      }
    }
    this.registry = new ModelRegistry(fallback, compileScopes(config.learning.groups), logger.child({ module: 'models' }));
    return this.registry;
  }

  private async startLearner(store: SqliteStore, registry: ModelRegistry, loadModel: ModelLoader, modelsDir: string): Promise<Learner> {
    const { config, logger } = this.opts;
    const learner = new Learner(
      learningOptionsOf(config),
      {
        store,
        registry,
        scopeOf: compileScopes(config.learning.groups),
        // An on/off stream by a reading since the start, or, before its first one, by the words its checkpoint gave
        // back (onOffWords): after a restart it is not listed `learning its own model: 0 / 3,600` until its next
        // reading, which for an on-change ESPHome binary_sensor may be hours (tryout 24, finding 4).
        valuesIgnored: (sensor) => (this.parser?.onOffWords(sensor) ?? null) !== null,
        train: (series, opts, onProgress) => this.adapters.train(series, opts, onProgress, { signal: this.trainingAbort.signal }),
        writeModel,
        loadModel,
        modelsDir,
        logger: logger.child({ module: 'learn' }),
        now: this.now,
        startFrom: this.sharedWeights(),
        onInstalled: (sensors) => {
          for (const sensor of sensors) this.board?.refresh(sensor);
        },
      },
    );
    this.learner = learner;
    await learner.restore();
    this.assignmentVersion = store.assignmentVersion();
    // Own models learnt in another cell than model.cell (changed on a running install): said once at start, with how
    // they are retrained (tryout 39, finding 11: silent, the header showing the shared lstm model over gru own models).
    const other = store.assignments().flatMap((a) => {
      const note = a.modelId === null ? null : this.otherCellNote(a.sensor);
      return note === null ? [] : [{ sensor: a.sensor, model: a.modelId, cell: registry.modelFor(a.sensor)?.sidecar.cell ?? null }];
    });
    if (other.length > 0) {
      const example = other[0].sensor;
      logger.warn(
        { cell: config.model.cell, sensors: other, retrainIntervalMs: config.learning.retrainIntervalMs },
        `${other.length} sensor${other.length === 1 ? ' keeps its' : 's keep their'} own model${other.length === 1 ? '' : 's'} of another cell than model.cell ${config.model.cell} until retrained: ${this.otherCellNote(example) ?? ''}${other.length > 1 ? ' (each sensor alike)' : ''}`,
      );
    }
    return learner;
  }

  /** otherCellNote for the sensor's model in use when it is its own of another cell than model.cell, else null. */
  private otherCellNote(sensor: string): string | null {
    const registry = this.registry;
    const model = registry?.modelFor(sensor) ?? null;
    if (registry === null || model === null || model === registry.fallbackModel) return null;
    const { config } = this.opts;
    return otherCellNote(sensor, model.sidecar.cell, config.model.cell, config.learning.retrainIntervalMs);
  }

  private assignmentVersion = 0;

  /**
   * The shared model's weights, which a sensor's own model starts from (read once, at the first training); null
   * (trained from scratch) when the model file is missing or unreadable, said once in the log.
   */
  private sharedWeights(): () => Seq2SeqParams | null {
    let weights: Seq2SeqParams | null | undefined;
    return () => {
      if (weights !== undefined) return weights;
      const path = modelSidecarPath(this.opts.config);
      weights = sharedWeightsOf(path, (message, err) => this.log.warn({ err, model: path }, message));
      return weights;
    };
  }

  /** The detector (src/pipeline/detector.ts) from the config, with the model registry as its model port. */
  /**
   * The units hubs state for their streams as checkpoints carry them (StatedUnits): the parser's stated unit (and
   * whether it changed before) with the SignalBook's changes; given back at start to both, so the unit is known
   * before a stream's next message and a change across the restart is told as one during a run.
   */
  private statedUnits(): StatedUnits {
    return {
      unitsOf: (stream) => {
        const stated = this.parser?.statedUnit(stream) ?? null;
        if (stated === null) return null;
        const knownFrom = this.signals?.unitKnownFromOf(stream);
        return { stated, changed: this.parser?.unitChangedBefore(stream) ?? false, changes: [...(this.signals?.unitChangesOf(stream) ?? [])], ...(knownFrom !== undefined ? { knownFrom } : {}) };
      },
      restoreUnits: (stream, u) => {
        this.parser?.restoreStatedUnit(stream, u.stated, u.changed, u.changes);
        this.signals?.restoreUnitChanges(stream, u.changes, u.knownFrom);
      },
    };
  }

  /**
   * The words of on/off streams' states as checkpoints carry them (StatedOnOff): the parser's (MessageParser.onOffWords),
   * given back at start (restoreOnOffWords), so a stream silent since the restart is told in them.
   */
  private statedOnOff(): StatedOnOff {
    return {
      onOffOf: (stream) => this.parser?.onOffWords(stream) ?? null,
      restoreOnOff: (stream, words) => this.parser?.restoreOnOffWords(stream, words),
    };
  }

  /**
   * A discovered entity's state topic that has an entity now (`on`) or none left: added to (removed from) the embedded
   * broker's sensor topics and the MQTT subscriptions, unless an ingest filter covers it already (subscribed once).
   */
  private discoveredStateTopic(topic: string, on: boolean): void {
    if (on) this.discoveredTopics.add(topic);
    else this.discoveredTopics.delete(topic);
    if (this.staticFilters.some((f) => topicMatches(f, topic))) return;
    if (on) this.mqtt?.addTopic(topic);
    else this.mqtt?.removeTopic(topic);
  }

  /**
   * Gives the parser back the Home Assistant discovery entities kept in the store (MessageParser.restoreEntityConfigs)
   * before MQTT connects: their state and availability topics subscribed (at the connection: startMqtt), so that
   * states queued for the persistent session, which the broker sends before the retained configs replay, are read,
   * and on the embedded broker (whose retained configs die with the daemon) a device that does not announce again is
   * read too. Rows no longer taken (the preset or prefix changed) are deleted. A store that cannot answer: logged,
   * the entities come back with their retained configs.
   */
  private restoreDiscoveredEntities(store: SqliteStore): void {
    const parser = this.parser;
    if (parser === null) return;
    try {
      const rows = store.loadDiscoveryConfigs();
      if (rows.length === 0) return;
      const dropped = parser.restoreEntityConfigs(rows, this.now());
      parser.restoreEntityAvailability(rows);
      for (const topic of dropped) store.saveDiscoveryConfig(topic, null, this.now());
      this.log.info({ entities: rows.length - dropped.length, dropped: dropped.length }, 'Home Assistant discovery entities of the run before given back: their state topics are read from the first message');
    } catch (err) {
      this.log.warn({ err }, 'the Home Assistant discovery entities kept in the store could not be read: they come back with their retained configs');
    }
  }

  private buildDetector(registry: ModelRegistry): Detector {
    const { config } = this.opts;
    const parser = new MessageParser(
      parseOptionsOf(config, {
        onClockSkew: (sensor, aheadMs) => this.clockSkewLog.note(this.now(), { sensor, aheadMs: Math.round(aheadMs), advice: futureAdvice(aheadMs) }),
        onDisplace: (stream) => this.displace(stream),
        onUnsetClock: (sensor, time, first) => {
          this.counters.unsetClocks++;
          if (first) this.log.warn({ sensor, time }, 'device clock never set (a time before 2000, e.g. Tasmota without NTP): its readings are stamped on arrival (counters.unsetClocks); set its clock (NTP) for its own times');
        },
        onClockLag: (sensor, hours, lagMs, device, firstOfDevice) => {
          // Counted per stream (status's clocks line), warned once per device: a plug's six fields are one clock.
          this.counters.clockLags++;
          if (!firstOfDevice) return;
          const zone = config.ingest.timezone ?? systemTimeZone();
          this.log.warn(
            { device, sensor, hours, lagMs, timezone: zone },
            `device times lag arrival by about ${hours} hour${hours === 1 ? '' : 's'}, reading after reading: a time zone mix-up? Times without an offset are read in ingest.timezone (${zone}); set it to the device's zone (or make the device send UTC or an offset). Its readings are taken as stamped, so its sentences and plots are ${hours} h off (said once per device; counters.clockLags counts its streams)`,
          );
        },
        onDecimalComma: (sensor, state, topic) =>
          this.log.warn(
            { sensor, state, topic },
            `the state of ${sensor} is "${state}", a number with a decimal comma: skipped as a text state (counted text_state), never read. To read it, add a rule for its topic with decimal: "," to ingest.rules (tried before the presets), e.g. topics: ["${ruleTopicOf(topic, sensor)}"] (README "Connect your devices"); said once per sensor`,
          ),
        onAvailability: (device, online, topic, receivedAt, _retained, expired) => {
          // A discovered entity's state expired (its expire_after, judgeEntityExpiry): told at the moment it expired.
          if (expired !== undefined) {
            this.availability?.said(device, online, topic, receivedAt, `no state on ${topic} for ${formatDuration(expired.afterMs)}, its expire_after`);
            return;
          }
          // The daemon's own status and Home Assistant's birth are no device's (a `{sensor#}/status` template takes both).
          if (topic === this.topics.status || topic === birthTopicOf(config)) return;
          // On the wall clock, as its streams' arrivals (SensorStatusBoard) and their silences are judged.
          this.availability?.said(device, online, topic, this.now());
        },
        onUnitChange: (sensor, from, to, first, ts, restored) => {
          // Each reading's unit for the explanations (an episode is told in the units of its readings).
          this.signals?.noteUnitChange(sensor, ts, from, to);
          // Said at warn once per stream and direction (a hub set to °F is one decision, set back to °C another; tryout 25,
          // finding 7), a repeat of either at debug; but one found at the
          // stream's first message after a restart at info at least (it happened unseen: at most once per stream a run).
          const level = first ? 'warn' : restored ? 'info' : 'debug';
          this.log[level](
            { sensor, from, to, at: new Date(ts).toISOString(), ...(restored ? { whileStopped: true } : {}) },
            `the unit its hub states for ${sensor} changed from ${from} to ${to}${restored ? ' while anomalyd was stopped (its last message before the stop stated ' + from + ')' : ''}: readings are not converted, so this is a level shift the model will see (it may alert, and learns the new level in time); alerts tell each reading in its own unit${first ? `; a later change of this stream from ${from} to ${to} is logged at debug` : ''}`,
          );
        },
      }, {
        // A Home Assistant discovery entity whose state topic no rule reads (the homeassistant preset): its topic
        // subscribed while it has an entity (tryout 25, finding 8).
        onStateTopic: (topic, on) => this.discoveredStateTopic(topic, on),
        onEntityProblem: (stream, configTopic, problem) =>
          this.log.warn({ sensor: stream, ...(configTopic === '' ? {} : { configTopic }) }, `Home Assistant discovery entity ${stream}: ${problem} (said once per config)`),
        // Kept in the store: given back at the next start before the first message (restoreDiscoveredEntities).
        onEntityConfig: (configTopic, payload) => {
          try {
            this.store?.saveDiscoveryConfig(configTopic, payload, this.now());
          } catch (err) {
            this.quietly('a Home Assistant discovery entity could not be kept in the store (it is read until the stop; after a restart once its retained config comes back)', err, { configTopic });
          }
        },
        // Its availability state beside it: given back at the next start (restoreDiscoveredEntities).
        onEntityAvailability: (configTopic, state) => {
          try {
            this.store?.saveDiscoveryAvailability(configTopic, state);
          } catch (err) {
            this.quietly('a Home Assistant discovery entity’s availability could not be kept in the store (after a restart its devices’ words come again)', err, { configTopic });
          }
        },
      }),
    );
    this.parser = parser;
    return new Detector(detectorOptions(config), {
      parser,
      // Messages are stamped with their arrival (MqttSource): a reading stamped on arrival may be of a burst.
      stampsOnArrival: true,
      modelFor: (stream) => {
        const model = registry.modelFor(stream);
        return model === null ? null : { model, own: registry.learntOnAlone(stream) };
      },
      // A model learnt on the stream knows its errors (its validation priors); the shared generic model's
      // priors describe a family of signals, not this stream, and would only blunt its tail.
      priorsFor: (modelId) => {
        const model = registry.get(modelId);
        return model && model !== registry.fallbackModel ? priorsOf(model.sidecar) : null;
      },
      newId: randomUUID,
      learning: (stream) => this.mayNotAlert(stream),
      // The registry owns the models' lifetime: one swapped out is freed only once no stream or call holds it.
      holdModel: (model) => registry.hold(model),
      letGoModel: (model) => registry.letGo(model),
      onModelError: (err, modelId, streams) => {
        this.counters.modelErrors++;
        this.quietly('model call failed; its streams were scored without the model', err, { model: modelId, streams: streams.length });
      },
    });
  }

  /** A stream learning its own model without a fallback may not alert yet (learning.fallback: false). */
  private mayNotAlert(stream: string): boolean {
    return this.registry?.modelFor(stream) == null && this.opts.config.learning.enabled;
  }

  /** Logs an error of a kind at most once per housekeeping interval (the rest are counted in the next line). */
  private quietly(msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
    const seen = this.quiet.get(msg);
    if (seen) {
      seen.count++;
      return;
    }
    this.quiet.set(msg, { count: 0, example: err instanceof Error ? err.message : String(err) });
    this.log.error({ err, ...fields }, msg);
  }

  private flushQuiet(): void {
    for (const [msg, { count, example }] of this.quiet) {
      if (count > 0) this.log.error({ more: count, example }, `${msg} (repeated)`);
    }
    this.quiet.clear();
  }

  private startMqtt(store: SqliteStore): MqttAdapter {
    const { config, logger } = this.opts;
    const conn = resolveMqttConnection(config, hostname(), this.broker?.port, this.daemonLogin);
    const operators = commandOperators(config);
    const mqtt = this.adapters.createMqtt({
      url: conn.url,
      username: conn.username,
      password: conn.password,
      ca: config.mqtt.ca,
      cert: config.mqtt.cert,
      key: config.mqtt.key,
      clientId: conn.clientId,
      clean: config.mqtt.clean,
      qos: config.mqtt.qos,
      keepaliveSec: config.mqtt.keepaliveSec,
      // Home Assistant's birth message too when discovery is on: it asks for the configs again (HaDiscovery.homeAssistantStatus).
      topics: [...ingestFilters(config), ...(operators.size > 0 ? [commandFilter(config.mqtt.topicPrefix)] : []), ...(discoveryEnabled(config) ? [birthTopicOf(config)] : [])],
      // The discovery configs the parser reads: in memory only, so their retained copies are needed at every start.
      retainedAtStart: ingestFilters(config).filter((f) => f.endsWith('/config')),
      statusTopic: this.topics.status,
      logger: logger.child({ module: 'mqtt' }),
      logIntervalMs: config.limits.logIntervalMs,
      // Arrival stamps: monotonic, anchored to the wall clock, so a wall-clock step cannot reorder live readings.
      now: this.arrivalNow,
      // A reconnection without our session: the broker may have lost its retained messages (restarted without
      // persistence), so every retained state and discovery config goes out again (tryout 18, finding 6).
      onConnect: ({ first, sessionPresent }) => {
        // Back after an outage: the gap in an open episode's readings across it is ours, not the sensor's silence.
        if (!first) this.signals?.linkResumed();
        if (first || sessionPresent) return;
        const states = this.board?.republishAll() ?? 0;
        const configs = this.discovery?.republish() ?? 0;
        logger.info({ states, configs }, 'mqtt reconnected without its session: retained states and discovery configs published again');
      },
    });
    this.mqtt = mqtt;
    // The discovered entities' topics given back at start (restoreDiscoveredEntities): subscribed at the connection.
    for (const topic of this.discoveredTopics) if (!this.staticFilters.some((f) => topicMatches(f, topic))) mqtt.addTopic(topic);
    this.discovery = discoveryFor(
      config,
      this.topics,
      (t, p, o) => mqtt.publish(t, p, o),
      logger.child({ module: 'homeassistant' }),
      this.now,
      () => void this.board?.republishAll(),
      // The score entity's attributes tell the open episode beside the reading's own score (tryout 29, finding F7).
      (stream) => {
        const episode = this.board?.episodeOf(stream) ?? null;
        if (episode === null) return null;
        const v = openEpisodeView(episode.id, episode.device, episodeRecord(() => store, episode.id));
        return { anomalyId: v.id, kind: v.kind, since: v.since, sentence: v.sentence };
      },
      // Before a stream's first score of this run: its newest reading kept from before the restart, and its surprise.
      (stream) => {
        const latest = this.signals?.latest(stream) ?? null;
        return latest !== null && Number.isFinite(latest.surprise) ? { score: scoreOfSurprise(latest.surprise), ts: latest.ts } : null;
      },
      // An on/off stream has no score entity: its states, silence and holds are judged, not its readings.
      (stream) => (this.parser?.onOffWords(stream) ?? null) !== null,
    );
    this.input = new Subject<RawMessage>();
    this.pipelineDone = this.startPipeline(this.input);
    const commands = new CommandHandler(store, (topic, payload) => mqtt.publish(topic, payload, { qos: 1 }), {
      prefix: config.mqtt.topicPrefix,
      operators,
      logger: logger.child({ module: 'commands' }),
      now: this.now,
    });
    const birthTopic = this.discovery?.birthTopic ?? null;
    this.feed = mqtt.messages$.subscribe((m) => {
      if (m.topic === birthTopic) {
        // Home Assistant's birth or last will: not a reading (counted as neither received nor rejected).
        this.discovery?.homeAssistantStatus(m.payload.toString('utf8'));
        return;
      }
      if (commands.matches(m.topic)) {
        this.counters.commands++;
        // handle() never rejects; the reply goes out on <prefix>/cmd/result.
        void commands.handle(m.topic, m.payload, { retain: m.retain === true });
        return;
      }
      this.counters.received++;
      // A flood of rejected input is dropped here, unread, and counted (tryout 18, finding 7).
      const limited = this.junkGate.check(m.topic);
      if (limited !== null) {
        this.rateLimited(m, limited);
        return;
      }
      this.parsingTopic = m.topic;
      try {
        this.input?.next(m);
      } finally {
        this.parsingTopic = null;
      }
      // Backpressure: with too many readings waiting for the model, stop reading; the broker holds the rest.
      const pending = this.detector?.pending ?? 0;
      if (!mqtt.isPaused && pending > this.backlogHigh) {
        // Logged by housekeeping, at most once per interval: under sustained overload this flips often.
        mqtt.pause();
        this.counters.pauses++;
      }
      // Behind (reads paused, or more readings waiting for the model than the daemon resumes at): deaf until it caught up.
      if (pending > this.backlogLow || mqtt.isPaused) this.readPauses.paused();
    });
    return mqtt;
  }

  /** Starts the dashboard/API; rejects when its port cannot be bound (the daemon then does not start). */
  private async startHttp(): Promise<void> {
    const { config, logger } = this.opts;
    const registry = this.registry;
    const http = this.adapters.createHttp({
      host: config.http.host,
      port: config.http.port,
      token: config.http.token,
      logger, // the HTTP adapter names its module itself
      view: daemonView({
        startedAt: this.startedAt,
        now: this.now,
        uptimeMs: () => performance.now() - this.startedMono,
        counters: () => {
          this.counters.backfillMissing = this.detector?.backfillMissing ?? 0;
          this.counters.arrivalBurst = this.detector?.arrivalBurst ?? 0;
          return this.counters as unknown as Record<string, number>;
        },
        backfill: () => this.backfills.view(this.detector?.backfillMissing ?? 0),
        rejections: () => this.rejections.totalByReason(),
        streams: () => this.parser?.streamTable() ?? null,
        skipped: () => this.skipped,
        discovery: () => {
          const t = discoveryEntitiesOn(config) ? (this.parser?.discoveryTable() ?? null) : null;
          if (t === null) return null;
          return { entities: t.entities, inUse: t.streams.filter((s) => this.board?.has(s) === true).length, units: t.units, refused: { ...t.refused } };
        },
        brokerRefusals: () => this.broker?.refusals() ?? null,
        defaultModel: () => registry?.fallbackModel?.id ?? null,
        modelOf: (sensor) => registry?.modelFor(sensor)?.id ?? null,
        pinned: (sensor) => this.learner?.isPinned(sensor) ?? false,
        modelNote: (sensor) => this.otherCellNote(sensor),
        mqtt: () => {
          const url = new URL(this.mqttUrl());
          url.username = '';
          url.password = '';
          // A client id another client takes the session of (a copy with the same mqtt.clientId): said, not only logged.
          // Another daemon on this one's status topic (the same mqtt.topicPrefix): said too (tryout 26, finding 3).
          return { url: url.toString(), connected: this.mqtt?.connected ?? false, clientIdClash: this.mqtt?.clientIdClash ?? null, statusTopicClash: this.mqtt?.statusTopicClash ?? null };
        },
        fault: () => this.faults.view(),
        outboxOverdue: () => this.publisher?.overdue() ?? null,
        board: this.board!,
        series: this.signals!.series,
        // The unit of the value shown (its latest reading's: a hub that changed its unit sent it in the one in force then).
        unitOf: (sensor) => this.signals?.unitOf(sensor, this.signals.latest(sensor)?.ts) ?? null,
        unitChangesOf: (sensor) => this.signals?.unitChangesOf(sensor) ?? [],
        onOffOf: (sensor) => this.parser?.onOffWords(sensor) ?? null,
        counterOf: (sensor) => this.detector?.counterOf(sensor) ?? null,
        deviceOf: (sensor) => this.detector?.sourceOf(sensor),
        forget: (target) => this.forget(target),
        learningEnabled: config.learning.enabled,
        timeZone: config.explain.timeZone ?? systemTimeZone(),
        store: () => {
          if (!this.store) throw new Error('the database is closed');
          return this.store;
        },
      }),
    });
    // A port that cannot be bound fails the start (never a quiet run without the API): http.start() rejects
    // with a one-line reason naming the address and the setting.
    await http.start();
    this.http = http;
  }

  private startPipeline(input: Observable<RawMessage>): Promise<void> {
    const detector = this.detector!;
    return new Promise<void>((done) => {
      this.pipeline = input.pipe(detector.operator()).subscribe({
        next: (out) => this.onOutput(out),
        error: (err: unknown) => {
          this.log.fatal({ err }, 'pipeline failed');
          done();
        },
        complete: () => done(),
      });
    });
  }

  private onOutput(out: DetectorOutput): void {
    switch (out.type) {
      case 'parsed':
        this.onParsed(out.result);
        return;
      case 'reading':
        this.onReading(out.reading, out.events, out.duplicate);
        // A stream given back kept readings is checkpointed as soon as they are scored (its kept row goes with it):
        // a crash from then on does not score them again. After this output's round step (a snapshot in the middle of
        // one is no consistent point), and no sooner than the stream is idle (saveStreams defers a busy one).
        if (this.kept !== null && this.kept.waiting().size > 0 && this.kept.waiting().has(out.reading.stream)) this.settleKeptSoon();
        return;
      case 'error':
        this.counters.internalErrors++;
        this.quietly(`${out.stage} failed on a message; it was skipped`, out.detail, { stage: out.stage, stream: out.stream });
        return;
    }
  }

  /** Set while a save of the streams given back kept readings is scheduled (settleKeptSoon). */
  private keptSettling = false;

  /** Schedules one checkpoint of the streams whose kept readings wait for it (KeptReadings.waiting), after this turn. */
  private settleKeptSoon(): void {
    if (this.keptSettling) return;
    this.keptSettling = true;
    setImmediate(() => {
      this.keptSettling = false;
      const waiting = this.kept?.waiting();
      // Not once stopping: the stop's final checkpoint writes them (and the store may be closed by now).
      if (waiting !== undefined && waiting.size > 0 && this.stopping === null) this.checkpoints?.saveStreams(waiting);
    });
  }

  /** Store, then alert: each event is committed (by the store's group commit) before the outbox publishes it. */
  private onReading(reading: ScoredReading, events: readonly AnomalyEvent[], duplicate: boolean): void {
    this.counters.scored++;
    this.counters.modelDone++;
    const stream = reading.stream;
    this.signals?.record(reading);
    if (!duplicate) this.learner?.observe(stream, reading.ts, reading.values, reading.status === 'anomalous');
    const store = this.store;
    if (store) {
      for (const ev of events) {
        // SignalBook.explainAlert never throws (a failure is logged and the episode's explanation so far is used).
        const told = this.signals?.explainAlert(ev) ?? null;
        // An update that repeats the episode's previous alert word for word (kind and sentence), or tells the same fault
        // only longer (not yet tenfold), is not sent (nor stored as an event: the record's progress is written by
        // touchOpenEpisodes, the resolve is final).
        if (told !== null && this.heldBack(ev, told)) continue;
        // A resolve whose kind no alert of the open episode told: an update tells it first, at the same end.
        if (told?.untold === true) this.recordEvent(store, { ...ev, kind: 'update' }, told.explanation);
        // A resolve ends at the first reading that was back (SignalBook.resolvedEnd): at least one reading interval.
        this.recordEvent(store, ev.kind === 'resolve' ? { ...ev, endTs: this.signals?.resolvedEnd(ev) ?? ev.endTs } : ev, told?.explanation ?? null);
      }
      // A resolved episode is shaded over its own readings, to its last that held it (ev.endTs), not the closing ones
      // after it up to this reading (the twenty-ninth session's tryout, finding 2).
      for (const ev of events) if (ev.kind === 'resolve') this.signals?.settleEpisode(stream, ev.endTs, reading.ts);
      // A reading far beyond what its open episode told (tenfold as far as it reached), whatever its kind, is news:
      // an `update` tells it, and the episode's explanation follows it (SignalBook.farther; tryout 20, finding 1).
      if (reading.anomalyId !== null) {
        const peak = this.detector?.openPeak(stream) ?? null;
        // The plots shade its readings to its end as told so far, not the closing readings that hold it open after it.
        if (peak !== null) this.signals?.settleEpisode(stream, peak.lastAboveTs);
        const far = this.signals?.farther(reading, peak) ?? null;
        if (far !== null) this.recordEvent(store, far.event, far.explanation);
        else if (peak !== null) this.retellByReadings(store, stream, peak);
      } else if (this.retellDue.size > 0) this.retellDue.delete(stream);
    }
    // A stream of a device with a duty-cycled stream: its rate against that stream's state (score.relations), after
    // its own events are stored.
    if (this.relations !== null && !duplicate && reading.values.length === 1) this.relations.reading(stream, this.detector?.sourceOf(stream) ?? stream, reading.ts, reading.values[0]);
    // After its events are stored: a score published with the episode this reading opened tells it.
    this.discovery?.score(stream, reading.score, reading.ts);
    // Checkpointed at the next tick while its episode is young or when it had an event: an episode open at a
    // kill -9 goes on from then, not from its open.
    this.episodeTicks?.note(stream, reading.anomalyId, events.length);
    if (this.readPauses.pausedNow && (this.detector?.pending ?? 0) <= this.backlogLow) {
      this.mqtt?.resume();
      this.readPauses.resumed();
    }
    this.board?.refresh(stream, reading.ts);
    this.opts.onReading?.(reading, events);
  }

  /**
   * A message the JunkGate dropped unread: counted as parsed and rejected (`rate_limited`, sensor null, its topic), so
   * `received` = `messages` and every message is in one outcome (DaemonCounters) as for any other rejection.
   */
  private rateLimited(m: RawMessage, detail: string): void {
    this.counters.messages++;
    this.counters.messagesRejected++;
    this.counters.rejected++;
    this.rejections.record({ sensor: null, topic: m.topic, reason: 'rate_limited', detail, receivedAt: m.receivedAt });
  }

  private onParsed(res: ParseResult): void {
    this.counters.messages++;
    if (res.kind === 'readings' && res.skipped !== undefined) {
      this.skipped[res.skipped]++;
      return;
    }
    const topic = this.parsingTopic;
    if (topic !== null) {
      // The JunkGate's budgets: a wholly rejected message spends its topic's (a retained one, replayed at subscribe,
      // does not); one with a reading makes the topic good.
      if (res.kind === 'rejected') {
        if (res.rejection.reason !== 'retained') this.junkGate.rejected(topic);
      } else if (res.readings.length > 0) this.junkGate.gaveReading(topic);
      else if (res.rejections.length > 0) this.junkGate.rejected(topic);
    }
    if (res.kind === 'rejected') {
      this.counters.messagesRejected++;
      this.counters.rejected++;
      this.rejections.record(res.rejection);
      if (res.rejection.reason === 'out_of_order' && res.rejection.sensor !== null) this.outOfOrderRuns.rejected(res.rejection.sensor, res.rejection.ts);
      return;
    }
    // Per message: a reading, else a rejection, else (neither, not skipped) its readings are held (ParseResult).
    if (res.readings.length > 0) this.counters.messagesWithReadings++;
    else if (res.rejections.length > 0) this.counters.messagesRejected++;
    else this.counters.messagesHeld++;
    // A stream's readings rejected out_of_order out of one message (a gateway's buffer sent after a live reading) are
    // told however few (OutOfOrderRuns MIN_BATCH).
    let inMessage: Map<string, number> | null = null;
    for (const r of res.rejections) if (r.reason === 'out_of_order' && r.sensor !== null) (inMessage ??= new Map()).set(r.sensor, (inMessage.get(r.sensor) ?? 0) + 1);
    for (let i = 0; i < res.rejections.length; i++) {
      const r = res.rejections[i];
      this.counters.rejected++;
      this.rejections.record(r, i > 0);
      if (r.reason === 'out_of_order' && r.sensor !== null) this.outOfOrderRuns.rejected(r.sensor, r.ts, inMessage?.get(r.sensor) ?? 1);
    }
    // A taken reading ends its stream's run of out_of_order ones (looked up only while some stream has one).
    if (this.outOfOrderRuns.active) for (const r of res.readings) this.outOfOrderRuns.taken(r.sensor);
    this.counters.readings += res.readings.length;
    this.counters.intoModel += res.readings.length;
    // One message may carry several streams: each one arrived. A stream back after its eviction is
    // revived first (the detector queues a message's readings after this 'parsed' output).
    let last: string | null = null;
    for (const r of res.readings) {
      if (r.sensor === last) continue;
      last = r.sensor;
      const revived = this.eviction?.seen(r.sensor) === true;
      // A silence alarmed while it lasted ends at this reading: its resolve is told as the silence it was, also
      // when it was restored (a restart) or revived (an eviction) rather than judged in this run.
      this.noteSilence(r.sensor);
      // The first reading of a sensor last heard before this connection began (a broker outage, a restart): a gap
      // across the time the daemon could not hear is its own (readings lost meanwhile), not the sensor's silence:
      // not taught (Detector.excuseGap).
      let deaf = this.deafUntil(r.sensor);
      // A gap across the span its device said it was offline is the device's (told as its episode): not taught either.
      if (this.availability?.active === true && this.availability.reading(r.source ?? r.sensor, this.board?.heardAt(r.sensor) ?? null, this.now()) && (deaf === null || r.ts > deaf)) deaf = r.ts;
      // A device whose every field went silent, its fields' silences resolved at a restart: its first reading ends it.
      if (this.deviceSilences?.active === true) this.deviceSilences.reading(r.source ?? r.sensor, this.now());
      if (deaf !== null) this.detector?.excuseGap(r.sensor, deaf);
      this.board?.arrived(r.sensor);
      // Home Assistant entities once it is a real stream (HaDiscovery.streamSeen); a revived one that was real, at once.
      if (revived && this.realStream(r.sensor)) this.discovery?.announce(r.sensor, r.source);
      else this.discovery?.streamSeen(r.sensor, r.source);
    }
  }

  /**
   * Warns once per backfill burst that ended with readings missing at its stream's interval (Detector.backfillBursts;
   * src/daemon/backfill-log.ts), and keeps counters.backfillMissing current. Not while MQTT reads are paused nor within
   * 10 s after (the burst goes on after the pause); `all` (at stop): every burst going on ends.
   */
  private logBackfills(all: boolean): void {
    const detector = this.detector;
    if (detector === null) return;
    this.counters.backfillMissing = detector.backfillMissing;
    this.counters.arrivalBurst = detector.arrivalBurst;
    // Not while reads are paused, nor within a burst's quiet after (BACKFILL_QUIET_MS): its readings come after the pause.
    if (!all && this.readPauses.pausedAfter(this.now() - BACKFILL_QUIET_MS) !== null) return;
    this.backfills.tell(detector.backfillBursts(this.arrivalNow(), all), this.now());
  }

  private pausesLogged = 0;

  private logPauses(): void {
    if (this.counters.pauses === this.pausesLogged) return;
    this.log.warn({ pauses: this.counters.pauses - this.pausesLogged, pending: this.detector?.pending }, 'model backlog high: MQTT reads were paused (backpressure)');
    this.pausesLogged = this.counters.pauses;
  }

  private learnerTick(): void {
    const learner = this.learner;
    const store = this.store;
    if (!learner || !store) return;
    learner.flush();
    learner.maybeTrain();
    // A rollback made with `anomalyd models` lands in the store; pick it up.
    const version = store.assignmentVersion();
    if (version !== this.assignmentVersion) {
      this.assignmentVersion = version;
      learner.restore().catch((err: unknown) => this.log.warn({ err }, 'could not apply model assignments'));
    }
  }

  /**
   * Writes each open episode's progress to its record (the time of its last reading that held it, its length
   * in readings), so the CLI, the HTTP API and the dashboard show a lasting episode as it goes, not as it was
   * at its open; no event, no alert. Once its readings tell its kind (SignalBook.retell: a jump that held is a
   * level shift), an `update` carries it, once per episode, and again when more of its readings overturn a kind
   * told from its first few (a noise burst's first readings told a spike). A stuck value's record also tells its
   * length so far (SignalBook.retellStuck), and a drift's its latest reading and rate (retellDrift), with no event.
   * Episodes without readings follow the time: an open silence's record, its end and its sentence, at every touch
   * to how long the sensor has been silent (silentUntil, SignalBook.retellSilence), whether or not its length in
   * readings moved; a device's `device_offline` episode's end and `duration_ms` to now (DeviceAvailability.progress).
   * An episode whose record is not stored yet (its open still in the batch) or already resolved is left alone by
   * the store.
   */
  private touchOpenEpisodes(): void {
    const store = this.store;
    const detector = this.detector;
    if (store === null || detector === null) return;
    // At most every TOUCH_MS of wall time, and only episodes that moved since (an SD card is written less).
    const now = Date.now();
    if (now - this.touchedAt < TOUCH_MS) return;
    this.touchedAt = now;
    const seen = new Map<string, { readonly readings: number; readonly lastAboveTs: number }>();
    for (const ep of detector.openEpisodes()) {
      seen.set(ep.id, { readings: ep.readings, lastAboveTs: ep.lastAboveTs });
      // A silence goes on without readings, so its length in readings may not move for long (one that took over an
      // episode of more readings than it has missed yet, a slow sensor's): its record follows how long the sensor has
      // been silent at every touch, its end and its sentence (tryout 23, finding F1: `no reading for 45 s` and its
      // LASTED frozen for minutes), also while its device says it is offline (no silence is judged then).
      if (detector.silenceOpen(ep.stream)) {
        const until = this.silentUntil(ep.stream, ep.lastAboveTs);
        store.touchAnomaly(ep.id, Math.max(ep.lastAboveTs, until), ep.readings, this.toldTogether(ep.id, ep.stream, this.signals?.retellSilence(ep.id, until) ?? null));
        continue;
      }
      // Unmoved since the last touch: neither a reading of it nor its end. An on/off state held between readings (a door
      // left open on a device that reports on change only: Detector.judgeHeld) moves its end with the clock, not its
      // readings: its record, its end and its sentence (`open for 2.5 h`) follow it as a silence's do (tryout 38,
      // finding 11: `open for 2.5 h` stood while the door was open 3.1 h).
      const last = this.touched.get(ep.id);
      if (last !== undefined && last.readings === ep.readings && last.lastAboveTs === ep.lastAboveTs) continue;
      // The episode's kind, once its readings tell it, is news: an `update` carries it (stored, then sent).
      const told = this.signals?.retell(ep.id, ep.lastAboveTs, ep.readings, ep.held, ep.excursion) ?? null;
      if (told !== null) this.recordEvent(store, told.event, told.explanation);
      // A stuck value's sentence follows its length in its record (no event: its updates are the episode rules'; a
      // value stuck past the score's ceiling gets none: tryout 14, finding 1).
      const stuck = told === null ? (this.signals?.retellStuck(ep.id, ep.lastAboveTs, ep.readings) ?? null) : null;
      // A drift's record follows its latest reading and rate (tryout 22, finding 8), with no event either.
      const drift = told === null && stuck === null ? (this.signals?.retellDrift(ep.id, ep.lastAboveTs, ep.readings) ?? null) : null;
      store.touchAnomaly(ep.id, ep.lastAboveTs, ep.readings, this.toldTogether(ep.id, ep.stream, told?.explanation ?? stuck ?? drift ?? null));
      // Its stream's state follows a retold sentence (published again only when it changed).
      if (told !== null || stuck !== null || drift !== null) {
        this.board?.episodeMoved(ep.stream);
        this.board?.refresh(ep.stream);
      }
    }
    this.touched = seen;
    // A device that says it is offline has no reading at all: its episode lasts until now, and its record's
    // `duration_ms` says so (tryout 23, finding F6: `LASTED 0s`, `duration_ms: 0` while it was open).
    for (const d of this.availability?.progress(this.now()) ?? []) store.touchAnomaly(d.anomalyId, d.endTs, 0, d.explanation);
    // So does a device whose every field went silent together (DeviceSilences.progress).
    for (const d of this.deviceSilences?.progress(this.now()) ?? []) store.touchAnomaly(d.anomalyId, d.endTs, 0, d.explanation);
  }

  /**
   * The explanation a lead's record keeps (DeviceFaults): its sentence names the other fields its alert tells, as its
   * alerts' do; any other episode's as it is.
   */
  private toldTogether(anomalyId: string, stream: string, explanation: AlertExplanation | null): AlertExplanation | null {
    const together = explanation === null ? null : (this.deviceFaults?.together(anomalyId) ?? null);
    if (explanation === null || together === null) return explanation;
    return { ...explanation, sentence: togetherSentence(explanation.sentence, this.detector?.sourceOf(stream) ?? stream, together) };
  }

  /**
   * The open episode's retelling in data time (tryout 29, finding F4): at PINNED_READINGS of its readings (3: a value
   * pinned far off its normal is told stuck from its third reading, also where readings come faster than the wall
   * clock's retelling, as a backfill's or a replayed day's do; session 29, branch deadbat: told at the fourth before),
   * at RETELL_FIRST_READINGS and each time their count doubles, its kind is told again from its readings (SignalBook.retell, as touchOpenEpisodes
   * does every TOUCH_MS of wall time), and an `update` carries a kind newly told. Readings that arrive far faster than
   * their times move (a backfill: a device's stored history, thousands a second) see no wall-clock retelling within an
   * episode, which went from its open without a kind to its resolve (a level shift held 1,000 readings to the new
   * normal told no kind for all of them), where the same readings live (one a minute: one retelling per reading) told
   * the kind at its fourth. A logarithmic number of retellings per episode however long it lasts, and one more at the
   * reading the detector's level excursion first holds it (OpenEpisodePeak.excursion: told a drift since its onset).
   */
  private retellByReadings(store: SqliteStore, stream: string, peak: OpenEpisodePeak): void {
    let due = this.retellDue.get(stream);
    if (due === undefined || due.id !== peak.id) {
      // First at the reading that can tell a value pinned far off its normal (PINNED_READINGS, its third: README,
      // "from its third reading"), then at RETELL_FIRST_READINGS (a level shift's), then at each doubling.
      due = { id: peak.id, next: nextRetelling(null), drift: false };
      this.retellDue.set(stream, due);
    }
    // The detector's level excursion newly holding it is told at once (SignalBook.retell's `excursion`), once.
    const drift = peak.excursion !== undefined && !due.drift;
    if (peak.readings < due.next && !drift) return;
    if (drift) due.drift = true;
    else due.next = nextRetelling(peak.readings);
    const told = this.signals?.retell(peak.id, peak.lastAboveTs, peak.readings, undefined, peak.excursion) ?? null;
    if (told !== null) this.recordEvent(store, told.event, told.explanation);
  }

  /** Runs housekeeping's tasks once now, in their order (Housekeeping.tick; its timer does every HOUSEKEEPING_MS): public for tests. */
  housekeep(): void {
    this.housekeeping?.tick();
  }

  /** Samples the event loop's utilization now (LoopLoad.sample; its timer does every 250 ms): public for tests. */
  sampleLoad(): void {
    this.loopLoad?.sample();
  }

  /**
   * Judges every sensor's silence as it grows (Detector.judgeSilence; docs/SCORING.md, "A silence is judged while
   * it lasts"), counted as `stale` is: the wall time since its latest reading arrived, in its own learnt
   * intervals. A silence whose evidence reaches the threshold opens a missing-data episode while the sensor is
   * still silent (store, then alert, as every event), updated by the episode rules as it grows and resolved at
   * the sensor's next reading. Not while readings wait unread (MQTT reads paused, a model backlog: a sensor whose
   * readings wait is not silent), nor while the MQTT connection is down or readings are known to be in flight
   * (DaemonOptions.inFlight), nor for a sensor that may not alert yet; a silence counts from the connection's
   * start at the earliest (MqttAdapter.listeningSince). Run by housekeeping every
   * HOUSEKEEPING_MS (so an alarm comes at most that late); public so tests drive it with an injected clock.
   */
  judgeSilences(): void {
    const store = this.store;
    const detector = this.detector;
    const board = this.board;
    if (store === null || detector === null || board === null) return;
    if (this.cannotHear()) return;
    // A sensor is not heard while the connection that delivers it is down: its silence counts from the
    // connection's start (a broker outage or a restart is ours, not the sensors').
    const listening = this.mqtt === null ? null : this.mqtt.listeningSince;
    const now = this.now();
    // A discovered entity whose state expired (its expire_after) is its device's word that it is offline, told at the
    // moment it expired, before its streams' silence is judged (DeviceAvailability: one device_offline episode).
    this.parser?.judgeEntityExpiry(now, listening);
    // A sleeper that has not woken within a few of its usual sleeps is told (DeviceAvailability.judgeSleepers).
    this.availability?.judgeSleepers(now, listening);
    const availability = this.availability?.active === true ? this.availability : null;
    const linkMs = silenceLinkMs(this.opts.config.mqtt.keepaliveSec);
    for (const [sensor, arrived] of board.arrivals()) {
      if (this.mayNotAlert(sensor)) continue;
      // A device that says it is offline is one episode of its own (src/daemon/availability.ts), not a silence of each
      // of its streams; back, its streams' silence counts from its return.
      let back: number | undefined;
      if (availability !== null) {
        const device = availability.deviceOf(sensor, (stream) => detector.sourceOf(stream));
        if (availability.silenced(device)) continue;
        back = availability.backAt(device);
      }
      // Nor the time the loop was saturated or MQTT reads were paused within it (its readings may have waited or been
      // dropped then): the silence is shortened by that much, not restarted (a busy second must not hide a sensor
      // dead for an hour). A span both saturated and paused is taken off twice: the silence is told that much later.
      let heard = listening === null ? arrived : Math.max(arrived, listening);
      if (back !== undefined && back > heard) heard = back;
      const arrivedAt = heard + (this.loopLoad?.saturatedWithin(heard, now) ?? 0) + this.readPauses.pausedWithin(heard, now);
      // An on/off stream's state held between its readings (a door left open on a device that reports on change
      // only), judged before its silence: its held-state episode, once open, is what a later silence takes over.
      const held = detector.judgeHeld(sensor, arrived, arrivedAt, now).events;
      const silent = detector.judgeSilence(sensor, arrivedAt, now, linkMs).events;
      const events = held.length === 0 ? silent : [...held, ...silent];
      if (events.length === 0) continue;
      // SignalBook.explainAlert never throws; the episode has no reading: it is told missing data from the readings
      // before it, for as long as the sensor has been silent by its last reading's arrival (silentUntil), not only
      // as long as it was counted (from a reconnection or a restart at the latest).
      for (const ev of events) {
        // A held state's event is told from the stream's readings, as its readings' would be (not as a silence).
        if (held.includes(ev)) {
          const told = this.signals?.explainAlert(ev) ?? null;
          if (told !== null && this.heldBack(ev, told)) continue;
          if (told?.untold === true) this.recordEvent(store, { ...ev, kind: 'update' }, told.explanation);
          this.recordEvent(store, ev, told?.explanation ?? null);
          continue;
        }
        // A fault the silence takes over (a sensor that went faulty, then died) whose kind no alert told yet (its open
        // came before its readings could tell a spike from a jump, and the silence before the open episodes' next
        // retelling, every TOUCH_MS): told first from its readings, as touchOpenEpisodes would have, since no later
        // retelling tells it (the episode is the silence's from now on). Null for an episode already a silence's, one
        // whose kind is told, or one its readings tell no kind of.
        const fault = ev.kind === 'update' ? (this.signals?.retell(ev.anomalyId, this.signals.latest(sensor)?.ts ?? ev.startTs, 0) ?? null) : null;
        if (fault !== null) this.recordEvent(store, fault.event, fault.explanation);
        const told = this.signals?.explainAlert(ev, true, this.silentUntil(sensor, ev.endTs)) ?? null;
        // A silence's update that tells it only longer (not yet tenfold) is not sent; its record follows it.
        if (told !== null && this.heldBack(ev, told)) continue;
        // A field whose device went silent as a whole (every field together) is told in the device's one episode
        // (opened now, stored and alerted before this), its own stored without an alert (DeviceSilences).
        // So is a silence told in an episode of another kind that was open when the field died (an update of it: tryout
        // 37, finding 7): the device's episode is the silence's one alert; that update is stored, not alerted.
        const silences = this.deviceSilences;
        if (silences !== null && detector.silenceOpen(sensor)) {
          if (ev.kind === 'open') silences.silenceOpened(sensor, detector.sourceOf(sensor) ?? sensor, ev.anomalyId, now);
          else if (ev.kind === 'update' && !silences.memberOf(ev.anomalyId)) silences.silenceOpened(sensor, detector.sourceOf(sensor) ?? sensor, ev.anomalyId, now, true);
        }
        this.recordEvent(store, ev, told?.explanation ?? null);
      }
      this.episodeTicks?.note(sensor, detector.openAnomaly(sensor), events.length);
      board.refresh(sensor);
    }
  }

  /**
   * Whether the daemon cannot hear its sensors now, so no silence is judged (judgeSilences) and no sensor is evicted
   * as idle (IdleEviction.sweep: a sensor evicted before its silence was judged is never told dead): MQTT reads paused
   * or a model backlog (readings wait unread), the daemon's own loop saturated (they wait in the socket and the
   * broker), readings known to be in flight (DaemonOptions.inFlight), or the MQTT connection down.
   */
  private cannotHear(): boolean {
    if (this.mqtt?.isPaused === true || (this.detector?.pending ?? 0) > this.backlogLow) return true;
    if (this.loopLoad?.saturated === true) return true;
    if ((this.opts.inFlight?.() ?? 0) > 0) return true;
    return this.mqtt !== null && this.mqtt.listeningSince === null;
  }

  /**
   * Until when, on the sensor's own clock, the daemon could not hear it since its latest reading arrived (epoch ms:
   * its newest reading's time plus the wall time from that reading's arrival to the end of the deafness), or null
   * when it could all along. Deaf: before the MQTT connection's start (a sensor restored at start, or heard before
   * a broker outage), and across a span in which the daemon's event loop was saturated (LoopLoad: its readings
   * waited in the socket and the broker, which drops what it cannot queue, and were stamped late; tryout 16,
   * finding 4: a junk flood on other topics opened `no reading for 3 s` on healthy 5 Hz sensors). Per reading: two
   * comparisons unless the sensor was heard before one of those.
   */
  private deafUntil(sensor: string): number | null {
    const heard = this.board?.heardAt(sensor) ?? null;
    if (heard === null) return null;
    const since = this.mqtt?.listeningSince ?? null;
    let end = since !== null && heard < since ? since : null;
    const busy = this.loopLoad?.saturatedAfter(heard) ?? null;
    if (busy !== null && (end === null || busy > end)) end = busy;
    // MQTT reads paused for backpressure after it was heard (ReadPauses; tryout 25, finding 9): the readings sent
    // meanwhile waited in the socket and the broker and were stamped on their late arrival.
    const paused = this.readPauses.pausedAfter(heard);
    if (paused !== null && (end === null || paused > end)) end = paused;
    if (end === null) return null;
    // The newest reading placed on its cadence (the one that arrived at `heard`), not the newest scored: with a
    // model backlog the latter is thousands of readings older, and the excuse ended before the gap began.
    const newest = this.detector?.latestTsOf(sensor) ?? this.signals?.latest(sensor)?.ts ?? null;
    if (newest === null) return null;
    return newest + (end - heard);
  }

  /** The streams anomalyd knows of `device` (its listed streams whose source is the device). */
  private streamsOf(device: string): string[] {
    const detector = this.detector;
    const board = this.board;
    if (detector === null || board === null) return [];
    const out: string[] = [];
    for (const [stream] of board.arrivals()) if ((detector.sourceOf(stream) ?? stream) === device) out.push(stream);
    return out;
  }

  /** Tells the SignalBook that the stream's open episode is a silence alarmed while it lasted, when it is one. */
  private noteSilence(stream: string): void {
    const detector = this.detector;
    if (detector === null || !detector.silenceOpen(stream)) return;
    const id = detector.openAnomaly(stream);
    if (id !== null) this.signals?.noteSilence(id, stream);
  }

  /**
   * How far a silent sensor's silence has gone on its own clock, for telling it (epoch ms): its newest reading's time
   * plus the wall time since that reading arrived (SensorStatusBoard.heardAt, across restarts), or `judged` (the
   * silence as Detector.judgeSilence counted it: from a reconnection or a restart at the latest) when later or when
   * either is unknown. The count is for judging; the sentence tells how long the sensor has been silent (tryout 12,
   * finding 3: `no reading for 2 min` for a silence of 4 min 46 s after a broker outage).
   */
  private silentUntil(sensor: string, judged: number): number {
    const heard = this.board?.heardAt(sensor) ?? null;
    const newest = this.signals?.latest(sensor)?.ts ?? null;
    if (heard === null || newest === null) return judged;
    // A newest reading that came late in a dense burst (a buffer flushed after an outage: Detector.flushedLate) was kept,
    // not stamped by a clock behind: the silence on the stream's clock runs from its time to now, not from its time
    // for only as long as nothing arrived since (which mixed its time with the arrival clock: `no reading for 3 min
    // since 00:44` at 03:14).
    const late = this.detector?.flushedLate(sensor, newest) ?? null;
    return Math.max(judged, newest + (late ?? 0) + (this.now() - heard));
  }

  /**
   * Store, then alert: commits the event (the outbox publishes it once committed) and logs its line. False
   * when the store refused a transition its episode is past (counted, never alerted) or failed (logged);
   * never throws.
   */
  /**
   * Whether an event explained by SignalBook.explainAlert is held back (not stored as an event, not sent): an `update`
   * that repeats the episode's previous alert, counted in counters.repeatedUpdates, or one that tells the same fault
   * only longer, counted in counters.longerUpdates (docs/ALERTS.md, "Alert payload").
   */
  private heldBack(ev: AnomalyEvent, told: { readonly repeats: boolean; readonly onlyLonger: boolean }): boolean {
    if (told.repeats) {
      this.counters.repeatedUpdates++;
      this.log.debug({ sensor: ev.sensor, anomalyId: ev.anomalyId }, 'update not sent: it repeats the previous alert');
      return true;
    }
    if (told.onlyLonger) {
      this.counters.longerUpdates++;
      this.log.debug({ sensor: ev.sensor, anomalyId: ev.anomalyId }, 'update not sent: it tells the same fault only longer, not yet tenfold');
      return true;
    }
    return false;
  }

  /**
   * `fromBook`: the event comes from DeviceFaults (a held open stored at its flush, a lead's held resolve), not held
   * again.
   */
  private recordEvent(store: SqliteStore, given: AnomalyEvent, givenExplanation: AlertExplanation | null, fromBook = false): boolean {
    let ev = given;
    let explanation = givenExplanation;
    // An episode the operator forgot is over: what was still on its way for it is dropped, counted, not refused by
    // the store with a warn (a device's episode ended again by its last forgotten field's resolve: tryout 37, 13b).
    if (this.forgottenEpisodes.has(ev.anomalyId)) {
      this.counters.forgottenEvents++;
      this.log.debug({ sensor: ev.sensor, anomalyId: ev.anomalyId, kind: ev.kind }, 'event of an episode forgotten by the operator dropped');
      return false;
    }
    try {
      // The stream's device goes with the stored episode (the list, the API and the page group a device's episodes).
      const device = this.detector?.sourceOf(ev.sensor);
      const faults = this.deviceFaults;
      if (faults !== null && !fromBook) {
        // Fields of one device whose episodes open together are told in one alert: an open is held to the end of its
        // turn, an event of an episode whose open is held waits for it, a lead's resolve for its members (DeviceFaults).
        if (ev.kind === 'open' && faults.hold(ev, explanation, ev.sensor, device ?? ev.sensor)) return true;
        faults.flushFor(ev.anomalyId);
      }
      // A lead's alert names the fields it tells (its sentence, and the payload's `fields`); a member's is not sent.
      const together = faults?.together(ev.anomalyId) ?? (ev.together !== undefined && ev.together.length > 1 ? ev.together : null);
      if (faults !== null && !fromBook && faults.leadEnded(ev, explanation)) return true;
      if (together !== null) {
        ev = { ...ev, together };
        if (explanation !== null) explanation = { ...explanation, sentence: togetherSentence(explanation.sentence, device ?? ev.sensor, together) };
      }
      const lead = faults?.leadOf(ev.anomalyId);
      if (lead !== undefined && ev.toldWith === undefined) ev = { ...ev, toldWith: lead };
      const stored = device !== undefined && device !== ev.sensor && ev.device === undefined ? { ...ev, device } : ev;
      // A field's silence told in its device's one episode: stored, not alerted (DeviceSilences); an announced one
      // (an episode of another kind its silence was told in) alerts its resolve only.
      const silences = this.deviceSilences;
      const member = silences?.memberOf(ev.anomalyId) === true;
      const publish = (silences === null || silences.alerts(ev.anomalyId, ev.kind)) && ev.toldWith === undefined;
      const toldIn = member ? silences.toldIn(ev.anomalyId) : undefined;
      if (store.recordEvent(stored, this.topics.alerts(ev.sensor), explanation, publish, toldIn) === null) {
        this.counters.refusedEvents++;
        return false;
      }
      // The stream's state tells what the event told of its episode at its next refresh (its kind, its sentence).
      this.board?.episodeMoved(ev.sensor);
      if (publish) logAlert(this.log, ev, explanation);
      else this.log.debug({ sensor: ev.sensor, anomalyId: ev.anomalyId, kind: ev.kind, toldIn, toldWith: ev.toldWith }, 'a field’s episode event stored, told in another alert');
      // Its device's episode ends with its last member (stored, then alerted, after this resolve); a lead's held
      // resolve with its last member.
      if (member && ev.kind === 'resolve') silences.memberEnded(ev.anomalyId, this.now());
      if (ev.toldWith !== undefined && ev.kind === 'resolve') faults?.memberEnded(ev.anomalyId, ev.endTs);
      this.counters.events++;
      return true;
    } catch (err) {
      this.log.error({ err, sensor: ev.sensor, anomalyId: ev.anomalyId, kind: ev.kind }, 'could not record anomaly event');
      return false;
    }
  }

  /**
   * Checkpoints the streams whose open episode is young (its first shortSpan(score.smooth) + alerts.closeAfter
   * readings) or had an event since the last tick (within HOUSEKEEPING_MS of them, after the store took their
   * events), and those a save deferred while busy, so a stop before the next periodic checkpoint (kill -9,
   * power loss) restores a young episode as it stood at most a tick before the stop: restored from its open, an
   * episode whose first readings held it (a borderline one) was resolved 16 readings after the restart with
   * end = start while the fault went on (tryout). An older episode waits for the periodic checkpoint
   * (EpisodeTicks). Costs one stream state (tens of kB) per tick per stream with a young episode that is reading.
   */
  private checkpointEpisodes(): void {
    this.checkpoints?.saveStreams(this.episodeTicks?.drain() ?? []);
  }

  private flushRejections(): void {
    // One line per interval for every rejection together, however many topics they come from (issue 12).
    const summary = this.rejections.drainSummary(this.now());
    if (summary !== null) this.log.warn(summary, rejectionSummaryText(summary));
    for (const run of this.outOfOrderRuns.drain(this.now())) {
      const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
      this.log.warn({ stream: run.stream, count: run.count, firstTs: iso(run.firstTs), lastTs: iso(run.lastTs), unwarned: run.unwarned }, outOfOrderRunText(run));
    }
    // The store adds counts up; hand it only what is new since the last flush.
    const deltas = this.rejections.drainDeltas();
    if (deltas.length > 0) this.store?.addRejections(deltas);
  }

  /**
   * After a crash the restored lifecycles are as old as the last checkpoint, so an episode opened after it
   * is open in the database but known to no lifecycle, and would stay open for ever; so is one of a stream whose
   * checkpoint was too old to restore (Checkpoints.stale), or that had none. Resolve each such episode with
   * `resolution: interrupted` (its resolve alert goes out through the outbox like any other; the log line says
   * which of the three it was); if the anomaly goes on, the detector opens a new episode. An episode the restored
   * detector holds goes on (a clean stop's checkpoint carries every open episode: docs/ALERTS.md, "Through a
   * restart"). Returns the sensors brought back from their evicted checkpoint (below).
   */
  private resolveOrphanedEpisodes(): string[] {
    const store = this.store!;
    const detector = this.detector!;
    const revived: string[] = [];
    const open = store.listAnomalies({ status: 'open', limit: 1_000_000 });
    // A device whose every field went silent together: its episode goes on until its fields read again, its open
    // members (its fields' silences the detector restored open) still told in it (DeviceSilences).
    const silences = this.deviceSilences;
    // Never a stream's own episode (a stream the detector knows is no device of several).
    const streams = new Set(detector.streams());
    const deviceEpisode = (a: (typeof open)[number]): boolean => silences !== null && !streams.has(a.sensor) && DeviceSilences.isDeviceEpisode(a);
    for (const a of open) if (silences !== null && deviceEpisode(a)) silences.restore(a.sensor, a.id, a.startTs, a.explanation?.sentence ?? null);
    for (const a of open) {
      if (deviceEpisode(a)) continue;
      // A member: stored with its device episode's id (toldIn; its open never sent), or, stored before schema 11, a
      // field's silence of a device whose episode is open.
      const member = silences !== null && (a.toldIn !== undefined || (a.sensor !== a.device && a.explanation?.kind === 'missing_data' && silences.openFor(a.device)));
      // An episode of another kind its field's silence was told in (its open alerted, no toldIn: tryout 37, finding 7).
      const announced = member && a.toldIn === undefined && a.explanation?.before_silence !== undefined;
      if (detector.openAnomaly(a.sensor) === a.id) {
        if (member) silences.restoreMember(a.device, a.id, announced);
        // A field's episode told in another field's alert (DeviceFaults): still stored only; a lead: still names them.
        if (a.toldWith !== undefined) this.deviceFaults?.restoreMember(a.toldWith, a.id, a.sensor, a.device, a.kind, open.some((o) => o.id === a.toldWith && detector.openAnomaly(o.sensor) === o.id));
        continue;
      }
      // A device that said it was offline is so until it says otherwise or reads again: its episode goes on.
      if (a.explanation?.kind === 'device_offline') {
        this.availability?.restore(a.sensor, a.id, a.startTs, a.explanation.sentence);
        continue;
      }
      // A silence alarm an eviction left open (the sensor is silent; an earlier version evicted such a sensor): its
      // return resolves it, not a restart. Its sensor is brought back from that checkpoint (while young enough), so
      // it is listed with its open alert again (tryout 16, finding 2), and is not evicted while the alert is open.
      if (this.checkpoints?.evictedWithOpen(a.sensor, a.id) === true) {
        if (!revived.includes(a.sensor) && this.checkpoints.revive(a.sensor) && detector.openAnomaly(a.sensor) === a.id) revived.push(a.sensor);
        continue;
      }
      try {
        // A member's resolve is stored only, as its open was: its device's episode tells the silence (an announced
        // member's is sent: its open was); so is a field's told in another field's alert (toldWith).
        store.recordEvent({ ...storedResolveEvent(a), resolution: 'interrupted' }, this.topics.alerts(a.sensor), a.explanation, (!member || announced) && a.toldWith === undefined);
        const why = this.checkpoints?.stale().has(a.sensor) === true ? 'checkpoint too old' : streams.has(a.sensor) ? 'unclean stop' : 'no checkpoint';
        const line =
          why === 'checkpoint too old'
            ? 'episode whose stream’s checkpoint was too old to restore (store.checkpointMaxAgeMs and its idle span): resolved at start, interrupted'
            : why === 'unclean stop'
              ? 'episode left open by an unclean stop (opened after the checkpoint restored): resolved at start, interrupted'
              : 'episode of a stream with no checkpoint (an unclean stop before its first one): resolved at start, interrupted';
        this.log.warn({ sensor: a.sensor, anomalyId: a.id, why }, line);
      } catch (err) {
        this.log.error({ err, anomalyId: a.id }, 'could not resolve an orphaned episode');
      }
    }
    // A lead restored open with members restored open: its alerts name them still, its resolve waits for them.
    const leads = new Set(open.flatMap((a) => (a.toldWith !== undefined ? [a.toldWith] : [])));
    for (const a of open) {
      if (!leads.has(a.id) || detector.openAnomaly(a.sensor) !== a.id) continue;
      const since = a.explanation?.since === undefined ? NaN : Date.parse(a.explanation.since);
      this.deviceFaults?.restoreLead(a.id, a.sensor, a.device, a.startTs, Number.isFinite(since) ? since : a.startTs, a.kind);
    }
    if (revived.length > 0) this.log.info({ sensors: revived.length }, 'sensors evicted with a silence alert open brought back: listed while it is open');
    return revived;
  }

  /**
   * The operator retires a stream or a device's streams (src/daemon/forget.ts: `anomalyd sensors forget`, POST
   * /api/sensors/:sensor/forget, POST /api/devices/:device/forget): its open episodes resolved `forgotten` (stored,
   * then published), its checkpoint deleted, its state dropped, its retained state and Home Assistant entities
   * cleared. Null when the daemon knows no such stream or device (no state, checkpoint or open episode); throws
   * when the store fails or the daemon is not running.
   */
  forget(target: ForgetTarget): ForgetResult | null {
    const store = this.store;
    const detector = this.detector;
    if (store === null || detector === null) throw new Error('the daemon is not running');
    return forgetLive(
      {
        streams: () => detector.streams(),
        deviceOf: (stream) => detector.sourceOf(stream),
        store,
        record: (ev, explanation) => {
          const device = detector.sourceOf(ev.sensor);
          const stored = device !== undefined && device !== ev.sensor ? { ...ev, device } : ev;
          // Store, then alert, as any resolve; a failing store throws (the forget stops there: the alert stays open).
          // A field's silence told in its device's one episode is stored only, as its open was (DeviceSilences); the
          // device's episode is resolved `forgotten` by a device's forget, or ends with its last member.
          // A field's episode told in another field's alert (DeviceFaults) is stored only too; an announced member's
          // resolve is sent (its open was).
          this.deviceFaults?.flushFor(ev.anomalyId);
          const member = this.deviceSilences?.memberOf(ev.anomalyId) === true;
          const lead = this.deviceFaults?.leadOf(ev.anomalyId);
          const publish = (this.deviceSilences?.alerts(ev.anomalyId, ev.kind) ?? true) && lead === undefined;
          if (store.recordEvent(lead === undefined ? stored : { ...stored, toldWith: lead }, this.topics.alerts(ev.sensor), explanation, publish) === null) return false;
          this.noteForgotten(ev.anomalyId);
          if (member) this.deviceSilences?.memberEnded(ev.anomalyId, this.now());
          if (ev.kind === 'resolve') this.deviceFaults?.gone(ev.anomalyId, ev.endTs);
          if (publish) logAlert(this.log, ev, explanation);
          this.counters.events++;
          return true;
        },
        dropCheckpoint: (stream) =>
          store.atomically(() => {
            this.checkpoints?.drop(stream);
            store.deleteReadings(stream);
          }),
        dropState: (stream) => {
          this.relations?.forget(stream);
          detector.forget(stream);
          this.board?.forget(stream);
          this.signals?.forget(stream);
          this.episodeTicks?.forget(stream);
          // Its readings not yet stored go too: they are gone from the store (dropCheckpoint).
          this.learner?.forget(stream, false);
          this.discovery?.streamForgotten(stream, true);
          this.eviction?.drop(stream);
        },
        log: this.log,
      },
      target,
    );
  }

  /**
   * Episode ids the operator's forget resolved while the daemon runs (recordEvent drops their later events, counted in
   * forgottenEvents). Bounded: the oldest id goes past FORGOTTEN_EPISODES_KEPT (an event of an episode is on its way
   * for moments, not for thousands of forgets).
   */
  private readonly forgottenEpisodes = new Set<string>();

  private noteForgotten(anomalyId: string): void {
    this.forgottenEpisodes.add(anomalyId);
    if (this.forgottenEpisodes.size > FORGOTTEN_EPISODES_KEPT) {
      const oldest = this.forgottenEpisodes.values().next();
      if (oldest.done !== true) this.forgottenEpisodes.delete(oldest.value);
    }
  }

  /**
   * A stream heard once, displaced by a new stream's second message with the table full (src/pipeline/admit.ts,
   * streams heard once): every stage forgets it, as at an idle eviction, with no checkpoint (one message is nothing to
   * restore) and nothing to resolve (a stream heard once has no episode); its retained state and, were it announced,
   * its Home Assistant entities are cleared. Called from inside the parser's admission of the new stream's reading.
   */
  private displace(stream: string): void {
    this.relations?.forget(stream);
    this.detector?.forget(stream);
    this.board?.forget(stream);
    this.signals?.forget(stream);
    this.episodeTicks?.forget(stream);
    this.availability?.forget(stream);
    this.learner?.forget(stream);
    this.discovery?.streamForgotten(stream);
    this.eviction?.drop(stream);
  }

  /**
   * The streams forgotten while the daemon was stopped (`anomalyd sensors forget` on the database: a
   * `<stream>#forgotten` row, src/daemon/forget.ts): their retained state, Home Assistant entities and score are
   * cleared now that the daemon is connected (empty retained messages), and the rows deleted. Never throws (logged).
   */
  private clearForgotten(store: SqliteStore): void {
    try {
      const rows = [...store.loadSensorStates().keys()].filter((k) => k.endsWith(FORGOTTEN_SUFFIX));
      if (rows.length === 0) return;
      for (const key of rows) {
        const stream = key.slice(0, -FORGOTTEN_SUFFIX.length);
        // Not while it is a stream again (it cannot be before its next reading; a checkpoint of it would say so).
        if (this.detector?.streams().includes(stream) === true) continue;
        this.mqtt?.publish(this.topics.state(stream), '', { qos: 1, retain: true }).catch(() => undefined);
        this.discovery?.streamForgotten(stream, true);
      }
      store.deleteSensorStates(rows);
      this.log.info({ streams: rows.length }, 'retained topics of the streams forgotten while anomalyd was stopped cleared');
    } catch (err) {
      this.log.warn({ err }, 'could not clear the retained topics of the streams forgotten while anomalyd was stopped');
    }
  }

  /** Saves every sensor's state now (also done periodically and at stop). */
  checkpoint(): void {
    this.checkpoints?.save();
  }

  /**
   * Stops in reverse order within the shutdown deadline: input, pipeline drain, checkpoint + flush,
   * outbox, MQTT (offline status), broker, model, database, data-directory lock. Idempotent; never throws. Resolves to
   * false when something failed to stop cleanly (main turns that into exit code 1).
   */
  stop(): Promise<boolean> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /**
   * Cuts the stop short (a second SIGTERM or SIGINT: `anomalyd run` exits 1 once it resolves), starting it if it was
   * not: the wait for a start in progress and the pipeline drain end at once; what is not scored is taken off the
   * detector and written with the final checkpoint in one transaction, as at a graceful stop whose drain ran out of
   * time (src/daemon/kept-readings.ts), then the store is flushed. Every network step after that is skipped or given
   * no time: no outbox drain, no final status (the connection is dropped without a DISCONNECT, so the broker publishes
   * the client's last will, `offline`), no wait for the learner. The model calls in flight are waited for (at most
   * FORCED_MODEL_WAIT_MS), so that the process never exits while onnxruntime runs (an exit then could abort it:
   * `terminate called after throwing an instance of 'Napi::Error'`, status 134). Resolves to false (a forced stop is
   * never clean); the `stopped` line says `forced: true`. Idempotent; never throws.
   */
  hurry(): Promise<boolean> {
    this.hurried = true;
    this.hurryNow();
    return this.stop();
  }

  /**
   * Readings taken in (parsed, and at QoS 1 acknowledged to the broker) that are neither scored nor committed to the
   * store as kept: what an exit now would drop. 0 once the stop's final checkpoint with the kept readings is committed.
   */
  get unsavedReadings(): number {
    if (this.savedAtStop) return 0;
    return Math.max(0, this.counters.intoModel - this.counters.modelDone);
  }

  /**
   * Makes an exit safe for onnxruntime when the stop could not finish (a third signal, or a forced stop past its bound):
   * hurries the stop (it goes on writing what it can meanwhile), waits for the model calls in flight, at most
   * FORCED_MODEL_WAIT_MS, then ends the inference worker. Read unsavedReadings after it, right before the exit: what
   * the exit drops. Never throws.
   */
  async abandon(): Promise<void> {
    this.hurried = true;
    this.hurryNow();
    await raceTimeout(this.idleModels(), FORCED_MODEL_WAIT_MS);
    await this.inferenceHost?.stop();
  }

  /** Settles once no model call is in flight (the inference worker's, or a main-thread session's). */
  private async idleModels(): Promise<void> {
    await this.inferenceHost?.idle();
  }

  private async stopAll(): Promise<boolean> {
    let clean = true;
    const step = async (what: string, fn: () => unknown): Promise<void> => {
      const t0 = performance.now();
      try {
        await fn();
      } catch (err) {
        clean = false;
        this.log.error({ err }, `stop: ${what} failed`);
      }
      // Where a stop's time goes (ms of wall time per step), for a deadline that is overrun.
      this.log.debug({ step: what, ms: Math.round(performance.now() - t0) }, 'stop step');
    };
    const deadline = this.now() + this.opts.config.shutdown.deadlineMs;
    // A hurried stop (hurry: a second signal) has no time left for anything that waits.
    const left = (): number => (this.hurried ? 0 : Math.max(0, deadline - this.now()));
    // A stop during start (SIGTERM while waiting for the broker) lets the start step in progress finish first,
    // so nothing it opens afterwards escapes the stop. It may wait for a broker that never answers: bounded.
    if (this.starting) await raceTimeout(Promise.race([this.starting, this.hurrySignal]), Math.min(left(), 2000));
    this.housekeeping?.stop();
    this.loopLoad?.stop();
    // Before the MQTT client ends: a training that ends during the stop installs no model, so no sensor state is
    // published through the ended client (tryout 37, finding 13a). The learner is stopped (waited for) further down.
    this.learner?.halt();
    // After a storage fault /api/status keeps saying so until the very end of the stop.
    if (!this.faults.fault) await step('http', () => this.http?.stop());
    this.checkpoints?.stop();
    // Reading stops first: a message that arrives from now on is not acknowledged, so the broker keeps it for the
    // next process (a persistent session), rather than acknowledged and then dropped by the drain (tryout 25, finding 3).
    this.mqtt?.stopReading();
    this.feed?.unsubscribe();
    this.input?.complete();
    // The drain may take the deadline but the share the steps after it need (STOP_AFTER_DRAIN_MS). What it has not
    // scored by then is taken off the detector (nothing more is scored) and kept with the final checkpoint: given back
    // at the next start and scored first (src/daemon/kept-readings.ts), not dropped (4,352 readings in one run before).
    let drained = false;
    let kept: KeptStream[] = [];
    await step('pipeline drain', async () => {
      const reserve = Math.min(STOP_AFTER_DRAIN_MS, this.opts.config.shutdown.deadlineMs / 2);
      // A second signal (hurry) ends the wait at once: the drain is cut short, what is unscored kept as below.
      drained = (await raceUntil(this.pipelineDone, this.hurrySignal, Math.max(0, left() - reserve)));
      if (!drained) {
        kept = this.detector?.takeKept() ?? [];
        this.pipeline?.unsubscribe();
      }
    });
    // Whether the messages read are all scored or kept (stored): those a pause held unacknowledged may then be acknowledged.
    let settled = drained;
    // The opens held to the end of their turn and the leads' resolves held for their members are stored as they
    // stand (DeviceFaults.settle): store, then alert, before the final checkpoint.
    await step('held alerts', () => this.deviceFaults?.settle());
    await step('checkpoint', () => {
      const store = this.store;
      const checkpoints = this.checkpoints;
      const keeper = this.kept;
      if (store === null || checkpoints === null || keeper === null) return;
      // Nothing to keep and no kept rows left from the start: the checkpoint alone (a failure is logged by it).
      if (drained && keeper.waiting().size === 0) {
        checkpoints.save('write');
        return;
      }
      // The checkpoint and the kept readings in one transaction: neither without the other (the checkpoint's cadences
      // are past the kept readings).
      const readings = kept.reduce((n, k) => n + keptReadings(k.items), 0);
      const t0 = performance.now();
      try {
        const count = store.atomically(() => {
          if (!checkpoints.save('write')) throw new Error('the final checkpoint failed');
          return keeper.save(kept, this.now());
        });
        this.counters.keptAtStop = count.readings;
        settled = true;
        if (!drained) {
          this.log.warn(
            // ms: the checkpoint and the kept readings written (one transaction, committed by the flush after it).
            { kept: count.readings, streams: count.streams, ms: Math.round(performance.now() - t0) },
            `${this.hurried ? 'stop forced by a second signal' : 'pipeline did not drain in time'}: ${count.readings} readings of ${count.streams} streams taken in and not scored are kept in the database with the final checkpoint, scored first at the next start`,
          );
        }
      } catch (err) {
        if (!drained) this.log.error({ err, lost: readings }, `${this.hurried ? 'stop forced by a second signal' : 'pipeline did not drain in time'} and the final checkpoint failed: ${readings} readings taken in and not scored are lost`);
        throw err;
      }
    });
    await step('final flush', () => {
      this.learner?.flush();
      this.outOfOrderRuns.endAll();
      this.flushRejections();
      this.logBackfills(true);
      this.clockSkewLog.drain(this.now(), true);
      this.signals?.close();
      // Each stream's newest hour of raw readings for the dashboard after the restart (SignalBook.keepRaw): a clean
      // stop only (a crash loses them; the 1- and 15-minute buckets stay either way).
      // Not at a forced stop (hurry): its exit comes first, as after a crash (100-250 ms for 1,000 streams).
      if (this.signals !== null && this.store !== null && !this.faults.fault && !this.hurried) this.store.replaceSeriesRaw(this.signals.keepRaw());
    });
    await step('store flush', () => this.store?.flush());
    // What the readings taken in came to is in the database: a forced exit from now on drops none (unsavedReadings).
    if (settled && clean) this.savedAtStop = true;
    // Messages read but held unacknowledged by a pause (backpressure) are acknowledged once scored or kept and stored;
    // not when the keeping or the flush failed: the broker re-sends them to the next process.
    if (settled && clean) this.mqtt?.acknowledgeHeld();
    if (this.publisher && this.mqtt?.connected && !this.hurried) {
      const publisher = this.publisher;
      await step('outbox drain', async () => {
        const drained = await raceTimeout(publisher.drained(), Math.min(left(), 2000));
        if (!drained) this.log.warn('outbox not drained at stop; undelivered alerts are sent at next start');
      });
    }
    // Bounded by the deadline: an unacknowledged publish is resent at the next start (flagged resent).
    await step('outbox', () => this.publisher?.stop(Math.min(left(), 5000)));
    await step('homeassistant', () => (this.hurried ? raceTimeout(this.discovery?.stop() ?? Promise.resolve(), 0) : this.discovery?.stop()));
    // After a storage fault the retained status stays `fault` (not `offline`) until the restart says `online`.
    // mqtt.stop ends the client by this share of the deadline whatever is unacknowledged (force-ended at it).
    await step('mqtt', () => this.mqtt?.stop(Math.min(left(), 4000), this.faults.fault ? 'fault' : 'offline'));
    // The publishes the client's end failed settle in the turns after it: then one line for them all.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const unpublished = this.stopPublishFailures.line();
    if (unpublished !== null) this.log.warn(unpublished.fields, unpublished.msg);
    await step('broker', () => this.broker?.stop());
    this.trainingAbort.abort(new Error('daemon stopping'));
    await step('learner', async () => {
      if (this.learner) await raceTimeout(this.learner.stop(), Math.min(left(), 1000));
    });
    // A hurried stop waits for the model calls in flight (bounded) before the sessions go: never an exit while one runs.
    if (this.hurried) await raceTimeout(this.idleModels(), FORCED_MODEL_WAIT_MS);
    await step('models', () => (this.hurried ? raceTimeout(this.registry?.releaseAll() ?? Promise.resolve(), FORCED_MODEL_WAIT_MS) : this.registry?.releaseAll()));
    await step('inference worker', () => this.inferenceHost?.stop());
    const fault = this.faults.fault;
    const finishRescue = fault && this.store ? rescueDatabase(this.store, fault, this.log, this.now) : null;
    await step('store', () => this.store?.close());
    finishRescue?.();
    this.dataLock?.release();
    if (this.faults.fault) await step('http', () => this.http?.stop());
    // A start that failed ran nothing: no `stopped` with clean: true for it (tryout, finding 4: the data directory in use).
    if (this.startFailed) {
      this.log.info({ started: false, clean: false }, 'start failed: what it had opened is closed');
      return false;
    }
    if (this.hurried) clean = false;
    this.log.info({ clean, ...(this.hurried ? { forced: true } : {}), counters: this.counters }, 'stopped');
    return clean;
  }
}

/**
 * True when `p` settles first, false when `cut` settles first or `ms` (ms) pass; the timer is cleared either way.
 */
async function raceUntil(p: Promise<unknown>, cut: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  const settled = p.then(
    () => (done = true),
    () => (done = true),
  );
  await raceTimeout(Promise.race([settled, cut]), ms);
  return done;
}

async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The span (ms) within which a sensor's silence may be a link's stall, not the sensor's: one and a half keepalive
 * intervals (`keepaliveSec` s, 30 s when 0), as an MQTT broker waits on a client before it takes the connection for
 * dead (MQTT 3.1.1, section 3.1.2.10), so a hub's or the daemon's stalled connection is known down only then. A
 * silence shorter than `window.resetAfter` intervals is judged while it lasts only once longer than this
 * (Detector.judgeSilence): a 25 s pause of a 1 Hz hub opens nothing (tryout 15, finding 4), a 5 min sensor's death
 * is told a few intervals after it (issue 10). 45,000 ms for the shipped 30 s.
 */
export function silenceLinkMs(keepaliveSec: number): number {
  return 1.5 * (keepaliveSec > 0 ? keepaliveSec : 30) * 1000;
}
