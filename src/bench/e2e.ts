/**
 * End-to-end runs: a real mosquitto on loopback, a publisher process, a do-nothing subscriber process
 * on the same stream (the transport's limit), and the daemon in this process so that its counters can
 * be read. Definitions:
 *
 *   throughput  readings of the timed phase accepted by the parser, divided by the time from the first
 *               publish to the moment the last of them was accepted AND every window they completed was
 *               scored (the last increment of counters.windows). The subscriber's rate is its messages x
 *               readings per message over first publish -> last receipt.
 *   latency     for every reading that completes a window: its publish time in the publisher to the
 *               moment that window was scored. Scored windows leave the pipeline in the order of their
 *               completing readings (one connection, FIFO stages, one window per sensor per batch), so
 *               the n-th scored window belongs to the n-th completing reading; the counts are checked
 *               and a mismatch is reported instead of a latency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { DeepPartial } from '../config/dsl.js';
import { createLogger } from '../log.js';
import { Daemon, type DaemonCounters } from '../daemon.js';
import type { CellKind } from '../model/spec.js';
import { waitFor } from './broker.js';
import { MqttChild } from './children.js';
import type { PublishResult, SubscriberReport } from './mqtt-child.js';
import { INTERVAL_MS } from './payload.js';
import { epochMs, pairedDeltas, percentiles, type Percentiles } from './stats.js';

export interface E2eSetup {
  readonly brokerUrl: string;
  readonly modelDir: string;
  readonly cell: CellKind;
  readonly sensors: number;
  readonly window: number;
  readonly hop: number;
  readonly qos: 0 | 1;
  /** Readings per sensor before the timed phase: enough for every sensor's normalisation to be warm. */
  readonly warmupPerSensor: number;
}

/** A daemon in this process with a clock on its counters. */
export class InstrumentedDaemon {
  readonly daemon: Daemon;
  readonly dataDir: string;
  lastScoredAt = NaN;
  lastReadingAt = NaN;
  /** Scored-window times while recording (for latency). */
  scoredAt: number[] | null = null;
  startMs = NaN;

  constructor(config: Config) {
    this.dataDir = config.dataDir;
    this.daemon = new Daemon({ config, logger: createLogger(config.log.level, process.stderr) });
    this.clock(this.daemon.counters);
  }

  /**
   * The daemon exposes plain counters; wrapping two of them in accessors timestamps every increment
   * without touching the daemon's code (one epochMs() call per reading).
   */
  private clock(counters: DaemonCounters): void {
    let scored = counters.scored;
    let readings = counters.readings;
    Object.defineProperty(counters, 'scored', {
      get: () => scored,
      set: (v: number) => {
        scored = v;
        this.lastScoredAt = epochMs();
        this.scoredAt?.push(this.lastScoredAt);
      },
    });
    Object.defineProperty(counters, 'readings', {
      get: () => readings,
      set: (v: number) => {
        readings = v;
        this.lastReadingAt = epochMs();
      },
    });
  }

  get counters(): DaemonCounters {
    return this.daemon.counters;
  }

  async start(): Promise<void> {
    const t0 = epochMs();
    await this.daemon.start();
    this.startMs = epochMs() - t0;
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Waits until `readings` were accepted and `scored` readings scored (both counted since the daemon started). */
  async settle(readings: number, scored: number, timeoutMs: number): Promise<void> {
    const c = this.counters;
    await waitFor(
      () => c.readings >= readings && c.scored >= scored,
      timeoutMs,
      `${readings} readings accepted and ${scored} scored (have ${c.readings} and ${c.scored})`,
      2,
    );
  }
}

export function benchConfig(s: Pick<E2eSetup, 'brokerUrl' | 'modelDir' | 'cell' | 'window' | 'hop' | 'qos'>, extra: DeepPartial<Config> = {}): Config {
  const overrides: DeepPartial<Config> = {
    dataDir: mkdtempSync(join(tmpdir(), 'anomalyd-bench-data-')),
    log: { level: 'warn' },
    broker: { enabled: false },
    mqtt: { url: s.brokerUrl, qos: s.qos, clean: true, clientId: `anomalyd-bench-${process.pid}-${Date.now()}` },
    // normWarmup 1: every window is scored from the first one on, as in steady state. With the default
    // a sensor's first readings are inferred but not scored, which would hide how many windows to wait for.
    model: { dir: s.modelDir, cell: s.cell, normWarmup: 1 },
    window: { length: s.window, hop: s.hop, intervalMs: INTERVAL_MS },
    ingest: { topics: ['sensors/#'], sensorPattern: 'sensors/{sensor}' },
    // The detector's hot path with the shared model; on-device learning (its reading store and its
    // training worker) is measured apart, so it cannot skew these figures mid-run.
    learning: { enabled: false },
    http: { port: 0 },
  };
  const res = loadConfig({ env: {}, overrides: mergeDeep(overrides, extra) });
  if (!res.ok) throw new Error(`bench config invalid: ${res.errors.join('; ')}`);
  return res.config;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeDeep<T>(base: T, extra: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(extra)) return (extra === undefined ? base : extra) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) out[k] = mergeDeep(out[k], v);
  return out as T;
}

/** Synthetic time starts 60 days back so no reading is ever in the future. */
export function syntheticT0(): number {
  return Math.floor((Date.now() - 60 * 86_400_000) / 1000) * 1000;
}

export interface Rig {
  readonly daemon: InstrumentedDaemon;
  readonly publisher: MqttChild;
  readonly baseline: MqttChild;
  readonly t0: number;
  /** Readings per sensor published so far (the next plan's firstIndex). */
  next: number;
  stop(): Promise<void>;
}

export async function startRig(s: E2eSetup, extra: DeepPartial<Config> = {}): Promise<Rig> {
  const daemon = new InstrumentedDaemon(benchConfig(s, extra));
  await daemon.start();
  const tag = `${process.pid}-${Date.now()}`;
  const baseline = await MqttChild.start({ role: 'subscriber', url: s.brokerUrl, clientId: `bench-null-${tag}`, filter: 'sensors/#', qos: s.qos });
  const publisher = await MqttChild.start({ role: 'publisher', url: s.brokerUrl, clientId: `bench-pub-${tag}` });
  const rig: Rig = {
    daemon,
    publisher,
    baseline,
    t0: syntheticT0(),
    next: 0,
    stop: async () => {
      await publisher.stop();
      await baseline.stop();
      await daemon.stop();
    },
  };
  return rig;
}

/** Publishes the warm-up readings and waits until the daemon has digested them. */
export async function warmUp(rig: Rig, s: E2eSetup, perMessage: number): Promise<void> {
  const res = await rig.publisher.publish({
    sensors: s.sensors, firstIndex: rig.next, readingsPerSensor: s.warmupPerSensor, perMessage, rate: 0, qos: s.qos, t0: rig.t0, hop: s.hop,
  });
  rig.next += s.warmupPerSensor;
  await rig.daemon.settle(res.readings, res.readings, 120_000);
}

export interface ThroughputResult {
  readonly cell: CellKind;
  readonly sensors: number;
  readonly perMessage: number;
  readonly qos: 0 | 1;
  readonly readings: number;
  readonly messages: number;
  /** Readings per second offered by the publisher (its own send rate). */
  readonly publishRate: number;
  readonly daemonRate: number;
  readonly baselineRate: number;
  /** daemonRate / baselineRate. */
  readonly ratio: number;
  readonly windowsScored: number;
  readonly windowsExpected: number;
  readonly baselineMessages: number;
  readonly rejected: number;
  readonly events: number;
  /** Process CPU (all threads) per reading while the timed phase ran. */
  readonly cpuUsPerReading: number;
  readonly daemonStartMs: number;
}

async function baselineReport(baseline: MqttChild, expected: number, timeoutMs: number): Promise<SubscriberReport> {
  const start = Date.now();
  let last = await baseline.report();
  while (last.messages < expected && Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await baseline.report();
    if (now.messages === last.messages && Date.now() - start > 2000) return now;
    last = now;
  }
  return last;
}

export async function runThroughput(s: E2eSetup, opts: { readingsPerSensor: number; perMessage: number }): Promise<ThroughputResult> {
  const rig = await startRig(s);
  try {
    await warmUp(rig, s, opts.perMessage);
    const d = rig.daemon;
    const before = { ...d.counters };
    await rig.baseline.arm(rig.next, 0, opts.perMessage);
    const cpu0 = process.cpuUsage();
    const pub: PublishResult = await rig.publisher.publish({
      sensors: s.sensors, firstIndex: rig.next, readingsPerSensor: opts.readingsPerSensor, perMessage: opts.perMessage, rate: 0, qos: s.qos, t0: rig.t0, hop: s.hop,
    });
    const first = rig.next;
    rig.next += opts.readingsPerSensor;
    void first;
    const windowsExpected = pub.readings;
    await d.settle(before.readings + pub.readings, before.scored + windowsExpected, 120_000);
    const cpu = process.cpuUsage(cpu0);
    const base = await baselineReport(rig.baseline, pub.messages, 10_000);
    const end = Math.max(d.lastReadingAt, d.lastScoredAt);
    const readings = d.counters.readings - before.readings;
    return {
      cell: s.cell,
      sensors: s.sensors,
      perMessage: opts.perMessage,
      qos: s.qos,
      readings,
      messages: pub.messages,
      publishRate: pub.readings / ((pub.lastAt - pub.firstAt) / 1000),
      daemonRate: readings / ((end - pub.firstAt) / 1000),
      baselineRate: (base.messages * opts.perMessage) / ((base.lastAt - pub.firstAt) / 1000),
      ratio: readings / ((end - pub.firstAt) / 1000) / ((base.messages * opts.perMessage) / ((base.lastAt - pub.firstAt) / 1000)),
      windowsScored: d.counters.scored - before.scored,
      windowsExpected,
      baselineMessages: base.messages,
      rejected: d.counters.rejected - before.rejected,
      events: d.counters.events - before.events,
      cpuUsPerReading: (cpu.user + cpu.system) / Math.max(1, readings),
      daemonStartMs: d.startMs,
    };
  } finally {
    await rig.stop();
  }
}

export interface LatencyResult {
  readonly cell: CellKind;
  readonly sensors: number;
  readonly rate: number;
  readonly seconds: number;
  readonly windows: number;
  /** Publish of the completing reading -> window scored; null when the pairing did not line up. */
  readonly daemon: Percentiles | null;
  /** Publish -> receipt of the same readings by the do-nothing subscriber. */
  readonly baseline: Percentiles | null;
  readonly note: string;
}

export async function runLatency(s: E2eSetup, opts: { rate: number; seconds: number }): Promise<LatencyResult> {
  const rig = await startRig(s);
  try {
    await warmUp(rig, s, 1);
    const d = rig.daemon;
    const before = { ...d.counters };
    await rig.baseline.arm(rig.next, 1, 1);
    d.scoredAt = [];
    const readingsPerSensor = Math.max(s.hop, Math.round((opts.rate * opts.seconds) / s.sensors / s.hop) * s.hop);
    const pub = await rig.publisher.publish({
      sensors: s.sensors, firstIndex: rig.next, readingsPerSensor, perMessage: 1, rate: opts.rate, qos: s.qos, t0: rig.t0, hop: 1,
    });
    rig.next += readingsPerSensor;
    await d.settle(before.readings + pub.readings, before.scored + pub.completingAt.length, 120_000);
    const scored = d.scoredAt;
    d.scoredAt = null;
    const base = await baselineReport(rig.baseline, pub.messages, 10_000);
    const dDeltas = pairedDeltas(pub.completingAt, scored);
    const bDeltas = pairedDeltas(pub.completingAt, base.completingAt);
    const notes: string[] = [];
    if (!dDeltas) notes.push(`daemon scored ${scored.length} windows for ${pub.completingAt.length} completing readings: not paired`);
    if (!bDeltas) notes.push(`subscriber saw ${base.completingAt.length} of ${pub.completingAt.length} completing readings: not paired`);
    return {
      cell: s.cell,
      sensors: s.sensors,
      rate: pub.readings / ((pub.lastAt - pub.firstAt) / 1000),
      seconds: (pub.lastAt - pub.firstAt) / 1000,
      windows: scored.length,
      daemon: dDeltas ? percentiles(dDeltas) : null,
      baseline: bDeltas ? percentiles(bDeltas) : null,
      note: notes.join('; '),
    };
  } finally {
    await rig.stop();
  }
}

export interface BackpressureSample {
  readonly t: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly accepted: number;
  /** Readings covered by scored windows (windows x hop). */
  readonly scored: number;
}

export interface BackpressureResult {
  readonly cell: CellKind;
  readonly sensors: number;
  readonly offeredRate: number;
  readonly acceptedRate: number;
  readonly scoredRate: number;
  readonly rssStartMb: number;
  readonly rssMaxMb: number;
  /** Readings accepted but not yet scored, at the end of publishing (held inside the daemon). */
  readonly lagAtEnd: number;
  /** Readings published but not yet accepted at the end of publishing (held by the broker / TCP). */
  readonly heldOutside: number;
  readonly drainSeconds: number;
  readonly samples: readonly BackpressureSample[];
}

/** QoS 1 at `rate` (meant: twice what the daemon sustains), sampling memory and lag every 250 ms. */
export async function runBackpressure(s: E2eSetup, opts: { rate: number; seconds: number }): Promise<BackpressureResult> {
  const rig = await startRig({ ...s, qos: 1 });
  try {
    await warmUp(rig, { ...s, qos: 1 }, 1);
    const d = rig.daemon;
    const before = { ...d.counters };
    const samples: BackpressureSample[] = [];
    const t0 = epochMs();
    const sample = (): void => {
      const m = process.memoryUsage();
      samples.push({
        t: (epochMs() - t0) / 1000,
        rssMb: m.rss / 2 ** 20,
        heapMb: m.heapUsed / 2 ** 20,
        accepted: d.counters.readings - before.readings,
        scored: d.counters.scored - before.scored,
      });
    };
    sample();
    const timer = setInterval(sample, 250);
    const readingsPerSensor = Math.max(s.hop, Math.round((opts.rate * opts.seconds) / s.sensors));
    let pub: PublishResult;
    try {
      pub = await rig.publisher.publish({
        sensors: s.sensors, firstIndex: rig.next, readingsPerSensor, perMessage: 1, rate: opts.rate, qos: 1, t0: rig.t0, hop: s.hop,
      });
      sample();
      const atEnd = samples[samples.length - 1];
      const first = rig.next;
      rig.next += readingsPerSensor;
      const endPub = epochMs();
      void first;
      await d.settle(before.readings + pub.readings, before.scored + pub.readings, 120_000);
      sample();
      const pubSeconds = (pub.lastAt - pub.firstAt) / 1000;
      return {
        cell: s.cell,
        sensors: s.sensors,
        offeredRate: pub.readings / pubSeconds,
        acceptedRate: atEnd.accepted / pubSeconds,
        scoredRate: atEnd.scored / pubSeconds,
        rssStartMb: samples[0].rssMb,
        rssMaxMb: Math.max(...samples.map((x) => x.rssMb)),
        lagAtEnd: atEnd.accepted - atEnd.scored,
        heldOutside: pub.readings - atEnd.accepted,
        drainSeconds: (Math.max(d.lastScoredAt, d.lastReadingAt) - endPub) / 1000,
        samples,
      };
    } finally {
      clearInterval(timer);
    }
  } finally {
    await rig.stop();
  }
}
