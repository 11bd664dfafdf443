/**
 * The composition root: builds the adapters and the pipeline from a frozen Config, and starts and stops
 * them in order. It never calls process.exit; main.ts owns the process.
 */
import { mkdirSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Subject, Subscription, filter, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { resolveMqttConnection } from './config/derived.js';
import type { ParseResult, RawMessage, SensorStatus, Window } from './contract/types.js';
import { topics as buildTopics, type Topics, type SensorStatePayload } from './contract/alerts.js';
import { EmbeddedBroker } from './adapters/broker.js';
import { MqttAdapter } from './adapters/mqtt.js';
import { OnnxModel } from './adapters/onnx-runner.js';
import { DB_FILE, SqliteStore } from './adapters/sqlite-store.js';
import { OutboxPublisher } from './adapters/outbox-publisher.js';
import { compileSensorPattern } from './pipeline/topic.js';
import { MessageParser } from './pipeline/parse.js';
import { ingest } from './pipeline/ingest.js';
import { RejectionCounter } from './pipeline/rejections.js';
import { Windower } from './pipeline/window.js';
import { InferenceEngine, type SensorInferenceSnapshot } from './pipeline/infer.js';
import { ScoringRegistry, scoreWindows, type ScoreOutput } from './pipeline/score.js';
import { CommandHandler, commandFilter } from './pipeline/commands.js';
import { ScoreHistory } from './pipeline/history.js';
import { HttpServer } from './adapters/http.js';
import { InferenceWorkerHost } from './adapters/inference-worker.js';
import type { DaemonView } from './http/view.js';
import { VERSION } from './version.js';
import { ModelRegistry, compileScopes, type LoadedModel } from './learn/registry.js';
import { Learner } from './learn/learner.js';
import { trainInWorker } from './train/in-worker.js';
import { writeModel } from './model/onnx-export.js';

export interface DaemonOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface DaemonCounters {
  /** Messages taken off the MQTT client (sensor topics only). */
  received: number;
  messages: number;
  readings: number;
  rejected: number;
  windows: number;
  droppedWindows: number;
  /** Windows handed to the model stage, and windows it finished (for the watchdog's progress check). */
  intoModel: number;
  modelDone: number;
  events: number;
  commands: number;
  /** Times MQTT reads were paused for backpressure. */
  pauses: number;
}

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOUSEKEEPING_MS = 2_000;

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

/** One sensor's state across a restart: parser, window buffer, hidden state and normalisation, score state. */
interface SensorCheckpoint {
  readonly parser?: unknown;
  readonly window?: unknown;
  readonly inference: SensorInferenceSnapshot | null;
  readonly scoring: unknown;
}

export class Daemon {
  readonly counters: DaemonCounters = { received: 0, intoModel: 0, modelDone: 0, commands: 0, pauses: 0, messages: 0, readings: 0, rejected: 0, windows: 0, droppedWindows: 0, events: 0 };
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly topics: Topics;
  private broker: EmbeddedBroker | null = null;
  private mqtt: MqttAdapter | null = null;
  private registry: ModelRegistry | null = null;
  private learner: Learner | null = null;
  private readonly trainingAbort = new AbortController();
  /** Windows waiting for the model above which MQTT reads pause, and below which they resume. */
  private readonly backlogHigh: number;
  private readonly backlogLow: number;
  private pausesLogged = 0;
  /** Recent scores per sensor, for the dashboard's plots (memory only). */
  private readonly history = new ScoreHistory();
  private http: HttpServer | null = null;
  private inferenceHost: InferenceWorkerHost | null = null;
  private startedAt = 0;
  private assignmentVersion = 0;
  private store: SqliteStore | null = null;
  private publisher: OutboxPublisher | null = null;
  private engine: InferenceEngine | null = null;
  private parser: MessageParser | null = null;
  private windower: Windower | null = null;
  private scoring: ScoringRegistry | null = null;
  private readonly rejections = new RejectionCounter();
  private readonly flushedRejections = new Map<string, number>();
  private input: Subject<RawMessage> | null = null;
  private feed: Subscription | null = null;
  private pipeline: Subscription | null = null;
  private pipelineDone: Promise<void> = Promise.resolve();
  private readonly sensorStatus = new Map<string, SensorStatus>();
  private readonly sensorStatusKey = new Map<string, string>();
  /** Wall-clock arrival of each sensor's latest accepted reading, for the stale status. */
  private readonly lastArrival = new Map<string, number>();
  private housekeeping: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private started = false;
  private starting: Promise<void> | null = null;
  private stopping: Promise<boolean> | null = null;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.logger.child({ module: 'daemon' });
    this.now = opts.now ?? Date.now;
    this.topics = buildTopics(opts.config.mqtt.topicPrefix);
    this.backlogHigh = 8 * opts.config.model.maxBatch;
    this.backlogLow = 2 * opts.config.model.maxBatch;
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
      await this.stop();
      throw err;
    }
    this.log.info({ ms: this.now() - t0, model: this.registry?.fallbackModel?.id ?? null, mqtt: this.mqttUrl(), http: this.httpUrl }, 'ready');
  }

  private mqttUrl(): string {
    return resolveMqttConnection(this.opts.config, hostname(), this.broker?.port).url;
  }

  private async startAll(): Promise<void> {
    const { config, logger } = this.opts;
    const dataDir = resolve(config.dataDir);
    mkdirSync(dataDir, { recursive: true });
    this.store = SqliteStore.open(join(dataDir, DB_FILE), {
      commitIntervalMs: config.store.commitIntervalMs,
      outboxMax: config.alerts.outboxMax,
      logger: logger.child({ module: 'store' }),
      now: this.now,
      daemonId: hostname(),
    });

    // Models live in one inference worker (or on the main thread with model.worker: false).
    let loadModel: (sidecarPath: string) => Promise<LoadedModel> = (path) => OnnxModel.load(path);
    if (config.model.worker) {
      const host = new InferenceWorkerHost(logger.child({ module: 'inference' }));
      host.start();
      this.inferenceHost = host;
      loadModel = (path) => host.load(path);
    }
    // The shared model scores every sensor without one of its own (unless learning without a fallback).
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
    const scopeOf = compileScopes(config.learning.groups);
    const registry = new ModelRegistry(fallback, scopeOf, logger.child({ module: 'models' }));
    this.registry = registry;
    this.learner = new Learner(
      {
        enabled: config.learning.enabled,
        minReadings: config.learning.minReadings,
        maxReadings: config.learning.maxReadings,
        retrainIntervalMs: config.learning.retrainIntervalMs,
        epochs: config.learning.epochs,
        hidden: config.learning.hidden,
        cell: config.model.cell,
        window: config.window.length,
        hop: config.window.hop,
      },
      {
        store: this.store,
        registry,
        scopeOf,
        train: (series, opts, onProgress) => trainInWorker(series, opts, onProgress, { signal: this.trainingAbort.signal }),
        writeModel,
        loadModel,
        modelsDir: join(dataDir, 'models'),
        logger: logger.child({ module: 'learn' }),
        now: this.now,
        onInstalled: (sensors) => {
          for (const sensor of sensors) this.refreshStatus(sensor, this.now());
        },
      },
    );
    await this.learner.restore();
    this.assignmentVersion = this.store.assignmentVersion();

    // Windows of a sensor without any model never reach the engine, so this lookup always finds one.
    this.engine = new InferenceEngine((sensor) => registry.modelFor(sensor)!, {
      batchTickMs: config.model.batchTickMs,
      maxBatch: config.model.maxBatch,
      normHorizon: config.model.normHorizon,
      normWarmup: config.model.normWarmup,
      holdNormalisation: (sensor) => this.scoring?.lifecycleFor(sensor).status === 'anomalous',
      onProcessed: (n) => {
        this.counters.modelDone += n;
        if (this.mqtt?.isPaused && (this.engine?.pending ?? 0) <= this.backlogLow) this.mqtt.resume();
      },
      onError: (err, windows) => {
        this.counters.droppedWindows += windows.length;
        this.log.error({ err, windows: windows.length }, 'model call failed; windows dropped');
      },
    });
    this.scoring = new ScoringRegistry({
      score: { mode: config.score.mode, shortWindow: config.score.shortWindow, longWindow: config.score.longWindow, priorWeight: config.score.priorWeight },
      threshold: config.score.threshold,
      alerts: config.alerts,
      priorFor: (modelId) => {
        const c = (registry.get(modelId) ?? fallback)?.sidecar.calibration;
        return c ? { logErrMean: c.logErrMean, logErrStd: c.logErrStd } : { logErrMean: 0, logErrStd: 1 };
      },
      newId: randomUUID,
      onRelearn: (sensor) => {
        this.engine?.resetNormalisation(sensor);
        this.log.warn({ sensor }, 'episode outlasted alerts.maxEpisodeMs: taken as the new normal, re-learning');
      },
    });
    this.buildIngest();
    this.restoreCheckpoints();
    this.resolveOrphanedEpisodes();

    if (config.broker.enabled && config.mqtt.url === null) {
      this.broker = new EmbeddedBroker({
        host: config.broker.host,
        port: config.broker.port,
        username: config.broker.username,
        password: config.broker.password,
        logger: logger.child({ module: 'broker' }),
      });
      await this.broker.start();
    }

    const conn = resolveMqttConnection(config, hostname(), this.broker?.port);
    const mqtt = new MqttAdapter({
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
      topics: [...config.ingest.topics, commandFilter(config.mqtt.topicPrefix)],
      statusTopic: this.topics.status,
      logger: logger.child({ module: 'mqtt' }),
      now: this.now,
    });
    this.mqtt = mqtt;

    this.input = new Subject<RawMessage>();
    this.pipelineDone = this.startPipeline(this.input);
    const commands = new CommandHandler(this.store, (topic, payload) => mqtt.publish(topic, payload, { qos: 1 }), {
      prefix: config.mqtt.topicPrefix,
      logger: logger.child({ module: 'commands' }),
      now: this.now,
    });
    this.feed = mqtt.messages$.subscribe((m) => {
      if (commands.matches(m.topic)) {
        this.counters.commands++;
        // handle() never rejects; the reply goes out on <prefix>/cmd/result.
        void commands.handle(m.topic, m.payload, { retain: m.retain === true });
        return;
      }
      this.counters.received++;
      this.input?.next(m);
      // Backpressure: with too many windows waiting for the model, stop reading; the broker holds the rest.
      if (!mqtt.isPaused && (this.engine?.pending ?? 0) > this.backlogHigh) {
        // Logged by housekeeping, at most once per interval: under sustained overload this flips often.
        mqtt.pause();
        this.counters.pauses++;
      }
    });
    await mqtt.start();

    this.publisher = new OutboxPublisher(this.store, (topic, payload) => mqtt.publishOnce(topic, payload), {
      logger: logger.child({ module: 'outbox' }),
      retryMinMs: 250,
      retryMaxMs: 10_000,
    });
    this.publisher.start();

    if (config.http.enabled) await this.startHttp();

    this.housekeeping = setInterval(() => this.houseKeep(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
    this.checkpointTimer = setInterval(() => this.checkpoint(), config.store.checkpointIntervalMs);
    this.checkpointTimer.unref();
  }

  /** A dashboard that cannot start (port taken) is logged; the detector goes on without it. */
  private async startHttp(): Promise<void> {
    const { config, logger } = this.opts;
    const http = new HttpServer({
      host: config.http.host,
      port: config.http.port,
      token: config.http.token,
      logger: logger.child({ module: 'http' }),
      view: this.view(),
    });
    try {
      await http.start();
      this.http = http;
    } catch (err) {
      this.log.error({ err, host: config.http.host, port: config.http.port }, 'dashboard/API not started; detecting without it');
    }
  }

  /** What the HTTP API may read of the running daemon. */
  private view(): DaemonView {
    const store = (): SqliteStore => {
      if (!this.store) throw new Error('the database is closed');
      return this.store;
    };
    return {
      status: () => {
        const url = new URL(this.mqttUrl());
        url.username = '';
        url.password = '';
        return {
          version: VERSION,
          startedAt: this.startedAt,
          counters: { ...this.counters },
          model: this.registry?.fallbackModel?.id ?? null,
          mqtt: { url: url.toString(), connected: this.mqtt?.connected ?? false },
        };
      },
      sensors: () =>
        [...this.sensorStatus.keys()].sort().map((sensor) => ({
          sensor,
          status: this.statusOf(sensor),
          model: this.registry?.modelFor(sensor)?.id ?? null,
          lastTs: this.history.latestTs(sensor),
        })),
      history: (sensor, since) => this.history.series(sensor, since),
      anomalies: (q) => store().listAnomalies(q),
      anomaly: (id) => store().getAnomaly(id),
      markAnomaly: (id, mark, note) => store().markAnomaly(id, mark, note),
    };
  }

  private buildIngest(): void {
    const { config } = this.opts;
    this.parser = new MessageParser({
      sensorOf: compileSensorPattern(config.ingest.sensorPattern),
      maxPayloadBytes: config.ingest.maxPayloadBytes,
      maxFutureMs: config.ingest.maxFutureMs,
      outOfOrderToleranceMs: config.ingest.outOfOrderToleranceMs,
      maxReadingsPerMessage: config.ingest.maxReadingsPerMessage,
      longBurst: config.ingest.longBurst,
      window: config.window.length,
    });
    this.windower = new Windower({
      length: config.window.length,
      hop: config.window.hop,
      intervalMs: config.window.intervalMs,
      maxFillSteps: config.window.maxFillSteps,
      gapResetMs: config.window.gapResetMs,
    });
  }

  private startPipeline(input: Observable<RawMessage>): Promise<void> {
    const parser = this.parser!;
    const windower = this.windower!;
    const engine = this.engine!;
    const scoring = this.scoring!;
    return new Promise<void>((done) => {
      this.pipeline = input
        .pipe(
          ingest(parser, windower, (res) => this.onParsed(res)),
          filter((w) => this.onWindow(w)),
          engine.operator(),
          scoreWindows(scoring),
        )
        .subscribe({
          next: (out) => this.onScored(out),
          error: (err: unknown) => {
            this.log.fatal({ err }, 'pipeline failed');
            done();
          },
          complete: () => done(),
        });
    });
  }

  /** Store, then alert: the event is committed (by the store's group commit) before the outbox publishes it. */
  private onScored(out: ScoreOutput): void {
    this.counters.windows++;
    this.history.record(out.scored, this.scoring?.lifecycleFor(out.scored.result.window.sensor).status === 'anomalous');
    const store = this.store;
    if (!store) return;
    const sensor = out.scored.result.window.sensor;
    for (const ev of out.events) {
      try {
        store.recordEvent(ev, this.topics.alerts(sensor));
        this.counters.events++;
      } catch (err) {
        this.log.error({ err, sensor, anomalyId: ev.anomalyId, kind: ev.kind }, 'could not record anomaly event');
      }
    }
    this.refreshStatus(sensor, out.scored.result.window.endTs);
  }

  private onParsed(res: ParseResult): void {
    this.counters.messages++;
    if (res.kind === 'rejected') {
      this.counters.rejected++;
      this.rejections.record(res.rejection);
      return;
    }
    for (const r of res.rejections) {
      this.counters.rejected++;
      this.rejections.record(r);
    }
    this.counters.readings += res.readings.length;
    const first = res.readings[0];
    if (first) this.lastArrival.set(first.sensor, this.now());
  }

  /**
   * Every window, before inference: feeds on-device learning and announces sensors that cannot be scored
   * yet. True when the window goes on to the model (its sensor has one).
   */
  private onWindow(w: Window): boolean {
    const anomalous = this.scoring?.lifecycleFor(w.sensor).status === 'anomalous';
    this.learner?.observe(w, anomalous);
    if (!this.sensorStatus.has(w.sensor)) this.refreshStatus(w.sensor, w.endTs);
    if (this.registry?.modelFor(w.sensor) == null) return false;
    this.counters.intoModel++;
    return true;
  }

  private statusOf(sensor: string): SensorStatus {
    const scoring = this.scoring!;
    const staleAfter = this.opts.config.alerts.staleAfterMs;
    const arrived = this.lastArrival.get(sensor);
    if (staleAfter > 0 && arrived !== undefined && this.now() - arrived > staleAfter) return 'stale';
    const hasModel = this.registry?.modelFor(sensor) != null;
    if (!hasModel || scoring.learning(sensor)) return 'learning';
    return scoring.lifecycleFor(sensor).status === 'anomalous' ? 'anomalous' : 'ok';
  }

  /** Publishes the sensor's retained state when it changed. */
  private refreshStatus(sensor: string, ts: number): void {
    if (!this.scoring) return;
    const status = this.statusOf(sensor);
    const key = `${status}|${this.registry?.modelFor(sensor)?.id ?? ''}`;
    if (this.sensorStatusKey.get(sensor) === key) return;
    this.sensorStatusKey.set(sensor, key);
    this.sensorStatus.set(sensor, status);
    const lifecycle = this.scoring.lifecycleFor(sensor);
    const model = this.registry?.modelFor(sensor)?.id;
    const learningOwn = this.learner?.isLearning(sensor) ?? false;
    const payload: SensorStatePayload = {
      status,
      since: new Date(ts).toISOString(),
      ...(lifecycle.anomalyId !== null && status === 'anomalous' ? { anomaly_id: lifecycle.anomalyId } : {}),
      ...(model !== undefined ? { model } : {}),
      ...(learningOwn ? { learning_progress: Math.round((this.learner?.progress(sensor) ?? 0) * 100) / 100 } : {}),
    };
    this.log.info({ sensor, status, model }, 'sensor status');
    this.mqtt?.publish(this.topics.state(sensor), JSON.stringify(payload), { qos: 1, retain: true }).catch((err: unknown) => {
      this.log.warn({ err, sensor }, 'could not publish sensor state');
    });
  }

  private houseKeep(): void {
    if (this.counters.pauses !== this.pausesLogged) {
      this.log.warn({ pauses: this.counters.pauses - this.pausesLogged, pending: this.engine?.pending }, 'model backlog high: MQTT reads were paused (backpressure)');
      this.pausesLogged = this.counters.pauses;
    }
    if (this.opts.config.alerts.staleAfterMs > 0) {
      for (const sensor of this.lastArrival.keys()) this.refreshStatus(sensor, this.now());
    }
    const learner = this.learner;
    const store = this.store;
    if (learner && store) {
      learner.flush();
      learner.maybeTrain();
      // A rollback made with `anomalyd models` lands in the store; pick it up.
      try {
        const version = store.assignmentVersion();
        if (version !== this.assignmentVersion) {
          this.assignmentVersion = version;
          learner.restore().catch((err: unknown) => this.log.warn({ err }, 'could not apply model assignments'));
        }
      } catch (err) {
        this.log.warn({ err }, 'could not read model assignments');
      }
    }
    for (const line of this.rejections.drainLogLines(this.now())) {
      this.log.warn({ reason: line.reason, sensor: line.sensor, count: line.count, example: line.example }, 'readings rejected');
    }
    try {
      // The store adds counts up; hand it only what is new since the last flush.
      const deltas = [];
      for (const r of this.rejections.snapshot()) {
        const key = `${r.reason}\u0000${r.sensor ?? ''}`;
        const delta = r.count - (this.flushedRejections.get(key) ?? 0);
        if (delta > 0) {
          deltas.push({ ...r, count: delta });
          this.flushedRejections.set(key, r.count);
        }
      }
      if (deltas.length > 0) this.store?.addRejections(deltas);
    } catch (err) {
      this.log.warn({ err }, 'could not store rejection counters');
    }
  }

  private restoreCheckpoints(): void {
    const store = this.store!;
    const engine = this.engine!;
    const maxAge = this.opts.config.store.checkpointMaxAgeMs;
    const now = this.now();
    const calibrators: Record<string, unknown> = {};
    const lifecycles: Record<string, unknown> = {};
    let restored = 0;
    let stale = 0;
    for (const [sensor, { blob, updatedAt }] of store.loadSensorStates()) {
      if (now - updatedAt > maxAge) {
        stale++;
        continue;
      }
      try {
        const cp = JSON.parse(blob.toString('utf8')) as SensorCheckpoint;
        const scoring = cp.scoring as { calibrator?: unknown; lifecycle?: unknown } | null;
        // A checkpoint taken under another model (or other window options) re-warms that part instead.
        if (cp.inference && cp.inference.modelId === this.registry?.modelFor(sensor)?.id) engine.restore(sensor, cp.inference);
        if (cp.parser) this.restorePart('parser', sensor, () => this.parser!.restore(sensor, cp.parser));
        if (cp.window) this.restorePart('window', sensor, () => this.windower!.restore(sensor, cp.window));
        if (scoring?.calibrator) calibrators[sensor] = scoring.calibrator;
        if (scoring?.lifecycle) lifecycles[sensor] = scoring.lifecycle;
        restored++;
      } catch (err) {
        this.log.warn({ err, sensor }, 'unreadable checkpoint ignored');
      }
    }
    const dropped = this.scoring!.restore({ calibrators, lifecycles });
    if (restored + stale > 0) this.log.info({ restored, stale, dropped }, 'sensor checkpoints');
  }

  /**
   * After a crash the restored lifecycles are as old as the last checkpoint, so an episode opened after it
   * is open in the database but known to no lifecycle, and would stay open for ever. Resolve each such
   * episode (its resolve alert goes out through the outbox like any other); if the anomaly goes on, the
   * detector opens a new episode.
   */
  private resolveOrphanedEpisodes(): void {
    const store = this.store!;
    const scoring = this.scoring!;
    for (const a of store.listAnomalies({ status: 'open', limit: 1_000_000 })) {
      const lifecycle = scoring.lifecycleFor(a.sensor);
      if (lifecycle.status === 'anomalous' && lifecycle.anomalyId === a.id) continue;
      try {
        store.recordEvent(
          {
            kind: 'resolve',
            sensor: a.sensor,
            anomalyId: a.id,
            startTs: a.startTs,
            endTs: a.endTs,
            peakScore: a.peakScore,
            score: a.lastScore,
            threshold: a.threshold,
            modelId: a.model,
            paddedFraction: a.paddedFraction,
            channelErrors: a.channels.map((c) => c.error),
            channels: a.channels.map((c) => c.name),
            windows: a.windows,
          },
          this.topics.alerts(a.sensor),
        );
        this.log.warn({ sensor: a.sensor, anomalyId: a.id }, 'episode left open by an unclean stop: resolved at start');
      } catch (err) {
        this.log.error({ err, anomalyId: a.id }, 'could not resolve an orphaned episode');
      }
    }
  }

  private restorePart(part: string, sensor: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.info({ sensor, part, reason: (err as Error).message }, 'checkpoint part not restored; it re-warms');
    }
  }

  /** Saves each sensor's parser state, window buffer, hidden state, normalisation and score state. */
  checkpoint(): void {
    const store = this.store;
    const engine = this.engine;
    const scoring = this.scoring;
    if (!store || !engine || !scoring) return;
    try {
      const snap = scoring.toJSON();
      const now = this.now();
      const rows = [];
      const sensors = new Set<string>([...engine.sensors(), ...Object.keys(snap.lifecycles), ...this.lastArrival.keys()]);
      for (const sensor of sensors) {
        const cp: SensorCheckpoint = {
          parser: this.parser?.snapshot(sensor) ?? null,
          window: this.windower?.snapshot(sensor) ?? null,
          inference: engine.snapshot(sensor),
          scoring: { calibrator: snap.calibrators[sensor] ?? null, lifecycle: snap.lifecycles[sensor] ?? null },
        };
        rows.push({ sensor, blob: Buffer.from(JSON.stringify(cp)), updatedAt: now });
      }
      store.saveSensorStates(rows);
    } catch (err) {
      this.log.warn({ err }, 'checkpoint failed');
    }
  }

  /**
   * Stops in reverse order within the shutdown deadline: input, pipeline drain, checkpoint + flush,
   * outbox, MQTT (offline status), broker, model, database. Idempotent; never throws. Resolves to
   * false when something failed to stop cleanly (main turns that into exit code 1).
   */
  stop(): Promise<boolean> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<boolean> {
    let clean = true;
    const step = async (what: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        clean = false;
        this.log.error({ err }, `stop: ${what} failed`);
      }
    };
    const deadline = this.now() + this.opts.config.shutdown.deadlineMs;
    const left = (): number => Math.max(0, deadline - this.now());
    // A stop during start (SIGTERM while waiting for the broker) lets the start step in progress finish first,
    // so nothing it opens afterwards escapes the stop. It may wait for a broker that never answers: bounded.
    if (this.starting) await raceTimeout(this.starting, Math.min(left(), 2000));
    if (this.housekeeping) clearInterval(this.housekeeping);
    await step('http', () => this.http?.stop());
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.feed?.unsubscribe();
    this.input?.complete();
    await step('pipeline drain', async () => {
      const drained = await raceTimeout(this.pipelineDone, Math.min(left(), 3000));
      if (!drained) {
        this.log.warn('pipeline did not drain in time');
        this.pipeline?.unsubscribe();
      }
    });
    await step('checkpoint', () => this.checkpoint());
    this.houseKeep();
    await step('store flush', () => this.store?.flush());
    if (this.publisher && this.mqtt?.connected) {
      const publisher = this.publisher;
      await step('outbox drain', async () => {
        const drained = await raceTimeout(publisher.drained(), Math.min(left(), 2000));
        if (!drained) this.log.warn('outbox not drained at stop; undelivered alerts are sent at next start');
      });
    }
    await step('outbox', () => this.publisher?.stop());
    await step('mqtt', () => this.mqtt?.stop(Math.min(left(), 2000)));
    await step('broker', () => this.broker?.stop());
    this.trainingAbort.abort(new Error('daemon stopping'));
    await step('learner', async () => {
      if (this.learner) await raceTimeout(this.learner.stop(), Math.min(left(), 1000));
    });
    await step('models', () => this.registry?.releaseAll());
    await step('inference worker', () => this.inferenceHost?.stop());
    await step('store', () => this.store?.close());
    this.log.info({ clean, counters: this.counters }, 'stopped');
    return clean;
  }
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

