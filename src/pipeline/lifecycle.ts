/**
 * The life of one sensor's anomaly episodes: hysteresis on the calibrated score, turned into
 * open / update / resolve events. One instance per sensor; time comes only from the windows.
 *
 *   above:  - - X - X X X - X - - - - - -        (openAfter = 2, closeAfter = 3, cooldown 0)
 *   events:          open            resolve
 *
 * Rules (docs/SCORING.md explains the choices):
 * - An episode opens after `openAfter` consecutive windows above threshold. Its start is the end of the
 *   first of them (when the evidence was first seen).
 * - While open, any window above threshold extends it. It resolves at the first window where all hold:
 *   `closeAfter` consecutive windows were below, it has lasted `minDurationMs` since its start, and
 *   `cooldownMs` have passed since its last window above threshold. A recurrence inside the cooldown is
 *   therefore the same episode, and a resolve is final: no event ever follows it for that id.
 * - `update` is emitted when the score rose by `updateMinDelta` since the last event, or the peak did,
 *   at most once per `updateIntervalMs`.
 */
import type { AnomalyEvent, AnomalyEventKind, ScoredWindow } from '../contract/types.js';

export interface LifecycleOptions {
  readonly openAfter: number;
  readonly closeAfter: number;
  readonly minDurationMs: number;
  readonly cooldownMs: number;
  readonly updateIntervalMs: number;
  readonly updateMinDelta: number;
  /**
   * An episode open this long is taken as a new normal: it resolves, and the sensor re-learns its normal
   * (score history and normalisation). 0 = episodes may last for ever.
   */
  readonly maxEpisodeMs: number;
}

export const DEFAULT_LIFECYCLE_OPTIONS: LifecycleOptions = {
  openAfter: 2,
  closeAfter: 3,
  minDurationMs: 0,
  cooldownMs: 60_000,
  updateIntervalMs: 30_000,
  updateMinDelta: 0.0005,
  maxEpisodeMs: 0,
};

export type LifecycleStatus = 'ok' | 'anomalous';

/** What an event says about the window that explains the episode best (its peak). */
export interface PeakWindow {
  readonly ts: number;
  readonly score: number;
  readonly modelId: string;
  readonly paddedFraction: number;
  readonly channelErrors: readonly number[];
  readonly channels: readonly string[];
}

/** Consecutive windows above threshold that have not opened an episode (yet). */
export interface PendingRun {
  readonly startTs: number;
  readonly count: number;
  readonly peak: PeakWindow;
}

export interface OpenEpisode {
  readonly anomalyId: string;
  readonly startTs: number;
  readonly lastAboveTs: number;
  /** Windows from the first to the last window above threshold. */
  readonly windows: number;
  /** Windows seen since the last one above threshold. */
  readonly belowRun: number;
  readonly peak: PeakWindow;
  readonly reportedScore: number;
  readonly reportedPeak: number;
  readonly reportedAt: number;
}

export interface LifecycleState {
  readonly format: 'anomalyd-lifecycle';
  readonly version: 1;
  readonly sensor: string;
  readonly run: PendingRun | null;
  readonly episode: OpenEpisode | null;
}

export class AnomalyLifecycle {
  private run: PendingRun | null = null;
  private episode: OpenEpisode | null = null;
  private relearnDue = false;

  constructor(
    readonly sensor: string,
    private readonly options: LifecycleOptions,
    private readonly newId: () => string,
  ) {
    assertOptions(options);
  }

  get status(): LifecycleStatus {
    return this.episode ? 'anomalous' : 'ok';
  }

  /** Id of the open episode, null while `ok`. */
  get anomalyId(): string | null {
    return this.episode?.anomalyId ?? null;
  }

  /** Feeds one scored window of this sensor (in window order); returns the events it caused (0 or 1). */
  update(scored: ScoredWindow): AnomalyEvent[] {
    const window = peakWindowOf(scored);
    return this.episode ? this.continueEpisode(this.episode, window, scored) : this.watch(window, scored);
  }

  toJSON(): LifecycleState {
    return { format: 'anomalyd-lifecycle', version: 1, sensor: this.sensor, run: this.run, episode: this.episode };
  }

  /** Restores saved state under the current options (they come from config, not from the state). */
  static fromJSON(json: unknown, options: LifecycleOptions, newId: () => string): AnomalyLifecycle {
    const state = parseState(json);
    const lifecycle = new AnomalyLifecycle(state.sensor, options, newId);
    lifecycle.run = state.run;
    lifecycle.episode = state.episode;
    return lifecycle;
  }

  private watch(window: PeakWindow, scored: ScoredWindow): AnomalyEvent[] {
    if (!scored.above) {
      this.run = null;
      return [];
    }
    const run = this.run;
    const next: PendingRun = run
      ? { startTs: run.startTs, count: run.count + 1, peak: higher(run.peak, window) }
      : { startTs: window.ts, count: 1, peak: window };
    if (next.count < this.options.openAfter) {
      this.run = next;
      return [];
    }
    this.run = null;
    const episode: OpenEpisode = {
      anomalyId: this.newId(),
      startTs: next.startTs,
      lastAboveTs: window.ts,
      windows: next.count,
      belowRun: 0,
      peak: next.peak,
      reportedScore: window.score,
      reportedPeak: next.peak.score,
      reportedAt: window.ts,
    };
    this.episode = episode;
    return [this.event('open', episode, window.score, scored.threshold)];
  }

  /** True once after an episode was ended by maxEpisodeMs: the caller re-learns the sensor's normal. */
  takeRelearn(): boolean {
    const r = this.relearnDue;
    this.relearnDue = false;
    return r;
  }

  private continueEpisode(ep: OpenEpisode, window: PeakWindow, scored: ScoredWindow): AnomalyEvent[] {
    const extended: OpenEpisode = scored.above
      ? { ...ep, lastAboveTs: window.ts, windows: ep.windows + ep.belowRun + 1, belowRun: 0, peak: higher(ep.peak, window) }
      : { ...ep, belowRun: ep.belowRun + 1 };
    const max = this.options.maxEpisodeMs;
    if (max > 0 && window.ts - ep.startTs >= max) {
      // Anomalous for this long is the new normal (a replaced part, a new operating point): say so and re-learn.
      this.episode = null;
      this.relearnDue = true;
      return [this.event('resolve', extended, window.score, scored.threshold)];
    }
    if (this.mayResolve(extended, window.ts)) {
      this.episode = null;
      return [this.event('resolve', extended, window.score, scored.threshold)];
    }
    if (this.updateDue(extended, window)) {
      const reported: OpenEpisode = { ...extended, reportedScore: window.score, reportedPeak: extended.peak.score, reportedAt: window.ts };
      this.episode = reported;
      return [this.event('update', reported, window.score, scored.threshold)];
    }
    this.episode = extended;
    return [];
  }

  private mayResolve(ep: OpenEpisode, now: number): boolean {
    const o = this.options;
    return ep.belowRun >= o.closeAfter && now - ep.startTs >= o.minDurationMs && now - ep.lastAboveTs >= o.cooldownMs;
  }

  private updateDue(ep: OpenEpisode, window: PeakWindow): boolean {
    const o = this.options;
    if (window.ts - ep.reportedAt < o.updateIntervalMs) return false;
    return window.score - ep.reportedScore >= o.updateMinDelta || ep.peak.score - ep.reportedPeak >= o.updateMinDelta;
  }

  private event(kind: AnomalyEventKind, ep: OpenEpisode, score: number, threshold: number): AnomalyEvent {
    return {
      kind,
      sensor: this.sensor,
      anomalyId: ep.anomalyId,
      startTs: ep.startTs,
      endTs: ep.lastAboveTs,
      peakScore: ep.peak.score,
      score,
      threshold,
      modelId: ep.peak.modelId,
      paddedFraction: ep.peak.paddedFraction,
      channelErrors: ep.peak.channelErrors,
      channels: ep.peak.channels,
      windows: ep.windows,
    };
  }
}

function peakWindowOf(scored: ScoredWindow): PeakWindow {
  const { result } = scored;
  return {
    ts: result.window.endTs,
    score: scored.score,
    modelId: result.modelId,
    paddedFraction: result.window.paddedFraction,
    channelErrors: result.channelErrors,
    channels: result.window.channels,
  };
}

function higher(a: PeakWindow, b: PeakWindow): PeakWindow {
  return b.score > a.score ? b : a;
}

function assertOptions(o: LifecycleOptions): void {
  const problems: string[] = [];
  for (const key of ['openAfter', 'closeAfter'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) problems.push(`${key} must be an integer >= 1, got ${o[key]}`);
  }
  for (const key of ['minDurationMs', 'cooldownMs', 'updateIntervalMs', 'updateMinDelta', 'maxEpisodeMs'] as const) {
    if (!Number.isFinite(o[key]) || o[key] < 0) problems.push(`${key} must be a finite number >= 0, got ${o[key]}`);
  }
  if (problems.length > 0) throw new RangeError(`alert options: ${problems.join('; ')}`);
}

// ---- state parsing: the JSON comes from disk, so nothing is trusted ----

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(what: string): never {
  throw new Error(`lifecycle state: ${what}`);
}

function num(o: Json, key: string): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fail(`${key} must be a finite number`);
}

function str(o: Json, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : fail(`${key} must be a string`);
}

function parsePeak(v: unknown): PeakWindow {
  if (!isObject(v)) fail('peak must be an object');
  const { channelErrors, channels } = v;
  if (!Array.isArray(channelErrors) || !channelErrors.every((x) => typeof x === 'number')) fail('peak.channelErrors must be numbers');
  if (!Array.isArray(channels) || !channels.every((x) => typeof x === 'string')) fail('peak.channels must be strings');
  return {
    ts: num(v, 'ts'),
    score: num(v, 'score'),
    modelId: str(v, 'modelId'),
    paddedFraction: num(v, 'paddedFraction'),
    channelErrors,
    channels,
  };
}

function parseRun(v: unknown): PendingRun | null {
  if (v === null) return null;
  if (!isObject(v)) fail('run must be an object or null');
  return { startTs: num(v, 'startTs'), count: num(v, 'count'), peak: parsePeak(v.peak) };
}

function parseEpisode(v: unknown): OpenEpisode | null {
  if (v === null) return null;
  if (!isObject(v)) fail('episode must be an object or null');
  return {
    anomalyId: str(v, 'anomalyId'),
    startTs: num(v, 'startTs'),
    lastAboveTs: num(v, 'lastAboveTs'),
    windows: num(v, 'windows'),
    belowRun: num(v, 'belowRun'),
    peak: parsePeak(v.peak),
    reportedScore: num(v, 'reportedScore'),
    reportedPeak: num(v, 'reportedPeak'),
    reportedAt: num(v, 'reportedAt'),
  };
}

function parseState(json: unknown): LifecycleState {
  if (!isObject(json) || json.format !== 'anomalyd-lifecycle') fail('not an anomalyd-lifecycle object');
  if (json.version !== 1) fail(`unknown version ${String(json.version)}`);
  return { format: 'anomalyd-lifecycle', version: 1, sensor: str(json, 'sensor'), run: parseRun(json.run), episode: parseEpisode(json.episode) };
}
