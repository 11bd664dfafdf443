import { Observable, type OperatorFunction } from 'rxjs';
import type { Window, WindowResult } from '../contract/types.js';
import type { ModelRunner } from '../contract/ports.js';

export interface InferenceOptions {
  /**
   * Extra wait before a batch starts at low load, to gather more windows; 0 = start at the end of the
   * current event-loop turn (every window that arrived in the same socket read joins the batch).
   */
  readonly batchTickMs: number;
  readonly maxBatch: number;
  /**
   * Horizon (in readings) of each sensor's running normalisation. Normalising per stream from what has
   * been seen so far (no look-ahead) lets one model serve sensors on wildly different scales.
   */
  readonly normHorizon: number;
  /**
   * Readings a sensor's normalisation must have seen before its windows are reported. Earlier windows
   * still run (the hidden state warms up) but their errors, measured against a half-learnt mean and
   * spread, would only mislead the score calibration.
   */
  readonly normWarmup: number;
  /**
   * While this says true for a sensor (its anomaly episode is open), its normalisation is not updated:
   * an anomaly must not teach the detector that it is normal.
   */
  readonly holdNormalisation?: (sensor: string) => boolean;
  /** A failed model call drops its windows (they are counted) instead of ending the stream. */
  readonly onError?: (err: unknown, windows: readonly Window[]) => void;
  /** Called after each batch, failed or not, with the number of windows it took (for the watchdog's progress check). */
  readonly onProcessed?: (windows: number) => void;
}

/** Per-sensor state carried from window to window. Serialisable for checkpoints. */
export interface SensorInferenceState {
  modelId: string;
  h: Float32Array;
  c: Float32Array | null;
  mean: Float64Array;
  variance: Float64Array;
  normInitialised: boolean;
  /** Readings the normalisation has seen (equal weights until the horizon, then exponential). */
  normCount: number;
  /** Normalised prediction of the reading after the previous window, and where it lands in the next one. */
  prevPred: Float32Array | null;
  prevNextIndex: number;
  windows: number;
}

export interface SensorInferenceSnapshot {
  readonly modelId: string;
  readonly h: number[];
  readonly c: number[] | null;
  readonly mean: number[];
  readonly variance: number[];
  readonly normInitialised: boolean;
  readonly normCount: number;
  readonly windows: number;
  /** The previous window's next-reading prediction and where it lands in the next window (prediction error). */
  readonly prevPred?: number[] | null;
  readonly prevNextIndex?: number;
}

interface ModelBuffers {
  readonly rows: number;
  readonly x: Float32Array;
  readonly seqLens: BigInt64Array;
  readonly carryLens: BigInt64Array;
  readonly h0: Float32Array;
  readonly c0: Float32Array | undefined;
}

/** Relative floor on a channel's std, so a flat line does not blow normalised errors up. */
const STD_REL_FLOOR = 1e-3;
const STD_ABS_FLOOR = 1e-6;
/** Readings further than this many standard deviations from the running mean are clipped before they update it. */
const NORM_CLIP_SIGMAS = 4;

/**
 * Runs windows through their sensor's model, batched: the windows of all sensors sharing a model that are
 * ready in one tick go through one `runBatch` call (onnxruntime's per-call cost dwarfs a GRU step).
 * Owns each sensor's hidden state: reset when the window says so or the model changed, carried otherwise.
 */
export class InferenceEngine {
  private readonly states = new Map<string, SensorInferenceState>();
  private readonly buffers = new Map<string, ModelBuffers>();
  private queued = 0;

  constructor(
    private readonly runnerFor: (sensor: string) => ModelRunner,
    private readonly opts: InferenceOptions,
  ) {}

  /** windows$ -> results$, in order per sensor. */
  /**
   * windows$ -> results$, in order per sensor, with an adaptive batch: the first window that finds the
   * model idle starts a batch at the end of the current event-loop turn (or after batchTickMs), taking
   * every window queued by then; windows that arrive while a batch runs form the next one. Low load gives
   * batches of one and no added wait; under load, batches grow to maxBatch. `pending` is the queue for
   * backpressure.
   *
   *   -a-b---c-d-e-|      operator()
   *   --[ab]--[cde]|      (one model call per bracket, results emitted one by one)
   */
  operator(): OperatorFunction<Window, WindowResult> {
    return (windows$: Observable<Window>) =>
      new Observable<WindowResult>((subscriber) => {
        const queue: Window[] = [];
        let running = 0;
        let scheduled = false;
        let sourceDone = false;
        let closed = false;
        const finishIfDone = (): void => {
          if (sourceDone && running === 0 && queue.length === 0 && !scheduled) subscriber.complete();
        };
        const pump = (): void => {
          scheduled = false;
          if (closed || running > 0 || queue.length === 0) return finishIfDone();
          const batch = queue.splice(0, this.opts.maxBatch);
          running = batch.length;
          this.queued = queue.length + running;
          this.run(batch)
            .then(
              (results) => {
                if (!closed) for (const r of results) subscriber.next(r);
              },
              (err: unknown) => this.opts.onError?.(err, batch),
            )
            .finally(() => {
              running = 0;
              this.queued = queue.length;
              this.opts.onProcessed?.(batch.length);
              if (queue.length > 0) schedule();
              else finishIfDone();
            })
            .catch((err: unknown) => subscriber.error(err));
        };
        const schedule = (): void => {
          if (scheduled || running > 0 || closed) return;
          scheduled = true;
          if (this.opts.batchTickMs > 0) setTimeout(pump, this.opts.batchTickMs);
          else setImmediate(pump);
        };
        const sub = windows$.subscribe({
          next: (w) => {
            queue.push(w);
            this.queued++;
            schedule();
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            sourceDone = true;
            schedule();
            finishIfDone();
          },
        });
        return () => {
          closed = true;
          sub.unsubscribe();
        };
      });
  }

  /** Forgets a sensor's normalisation: it is learnt again from the next windows (after a new normal). */
  resetNormalisation(sensor: string): void {
    const s = this.states.get(sensor);
    if (!s) return;
    s.normInitialised = false;
    s.normCount = 0;
  }

  /**
   * Drops a sensor's carried state (hidden state, normalisation): an idle sensor evicted by the daemon,
   * whose state was checkpointed first. Its next window starts from a reset state, as after a long gap.
   */
  forget(sensor: string): void {
    this.states.delete(sensor);
  }

  /** Windows waiting for or inside a model call (the operator's backlog). */
  get pending(): number {
    return this.queued;
  }

  state(sensor: string): SensorInferenceState | undefined {
    return this.states.get(sensor);
  }

  snapshot(sensor: string): SensorInferenceSnapshot | null {
    const s = this.states.get(sensor);
    if (!s) return null;
    return {
      modelId: s.modelId,
      h: Array.from(s.h),
      c: s.c ? Array.from(s.c) : null,
      mean: Array.from(s.mean),
      variance: Array.from(s.variance),
      normInitialised: s.normInitialised,
      normCount: s.normCount,
      windows: s.windows,
      prevPred: s.prevPred ? Array.from(s.prevPred) : null,
      prevNextIndex: s.prevNextIndex,
    };
  }

  restore(sensor: string, snap: SensorInferenceSnapshot): void {
    this.states.set(sensor, {
      modelId: snap.modelId,
      h: Float32Array.from(snap.h),
      c: snap.c ? Float32Array.from(snap.c) : null,
      mean: Float64Array.from(snap.mean),
      variance: Float64Array.from(snap.variance),
      normInitialised: snap.normInitialised,
      normCount: snap.normCount,
      prevPred: snap.prevPred ? Float32Array.from(snap.prevPred) : null,
      prevNextIndex: snap.prevNextIndex ?? -1,
      windows: snap.windows,
    });
  }

  sensors(): IterableIterator<string> {
    return this.states.keys();
  }

  /**
   * Runs a batch of windows. A sensor's later window depends on its earlier one's carried state, so
   * windows are split into rounds with at most one window per sensor, and grouped per model.
   */
  async run(windows: readonly Window[]): Promise<WindowResult[]> {
    const results: WindowResult[] = [];
    let pending: readonly Window[] = windows;
    while (pending.length > 0) {
      const seen = new Set<string>();
      const round: Window[] = [];
      const later: Window[] = [];
      for (const w of pending) {
        if (seen.has(w.sensor)) later.push(w);
        else {
          seen.add(w.sensor);
          round.push(w);
        }
      }
      const byModel = new Map<ModelRunner, Window[]>();
      for (const w of round) {
        const runner = this.runnerFor(w.sensor);
        const group = byModel.get(runner);
        if (group) group.push(w);
        else byModel.set(runner, [w]);
      }
      for (const [runner, group] of byModel) {
        for (let i = 0; i < group.length; i += this.opts.maxBatch) {
          results.push(...(await this.runGroup(runner, group.slice(i, i + this.opts.maxBatch))));
        }
      }
      pending = later;
    }
    return results;
  }

  private stateFor(w: Window, runner: ModelRunner): SensorInferenceState {
    const H = runner.sidecar.hidden;
    const C = w.channels.length;
    let s = this.states.get(w.sensor);
    const fresh = !s || s.modelId !== runner.id || s.mean.length !== C;
    if (!s || fresh) {
      s = {
        modelId: runner.id,
        h: new Float32Array(H),
        c: runner.sidecar.cell === 'lstm' ? new Float32Array(H) : null,
        mean: s && s.mean.length === C ? s.mean : new Float64Array(C),
        variance: s && s.variance.length === C ? s.variance : new Float64Array(C),
        normInitialised: s !== undefined && s.mean.length === C && s.normInitialised,
        normCount: s && s.mean.length === C ? s.normCount : 0,
        prevPred: null,
        prevNextIndex: -1,
        windows: s?.windows ?? 0,
      };
      this.states.set(w.sensor, s);
    } else if (w.resetState) {
      s.h.fill(0);
      s.c?.fill(0);
      s.prevPred = null;
    }
    return s;
  }

  private buffersFor(runner: ModelRunner, T: number, C: number): ModelBuffers {
    const key = `${runner.id}:${T}:${C}`;
    let b = this.buffers.get(key);
    if (!b) {
      const rows = this.opts.maxBatch;
      const H = runner.sidecar.hidden;
      b = {
        rows,
        x: new Float32Array(T * rows * C),
        seqLens: new BigInt64Array(rows),
        carryLens: new BigInt64Array(rows),
        h0: new Float32Array(rows * H),
        c0: runner.sidecar.cell === 'lstm' ? new Float32Array(rows * H) : undefined,
      };
      this.buffers.set(key, b);
    }
    return b;
  }

  private async runGroup(runner: ModelRunner, group: readonly Window[]): Promise<WindowResult[]> {
    const first = group[0];
    if (!first) return [];
    const T = first.maxLen;
    const C = first.channels.length;
    const H = runner.sidecar.hidden;
    const B = group.length;
    const buf = this.buffersFor(runner, T, C);
    const states = group.map((w) => this.stateFor(w, runner));
    const x = buf.x.subarray(0, T * B * C);
    x.fill(0);
    for (let b = 0; b < B; b++) {
      const w = group[b];
      const s = states[b];
      if (!s.normInitialised) initNorm(s, w);
      for (let c = 0; c < C; c++) {
        const mean = s.mean[c];
        const std = stdOf(s.variance[c], mean);
        for (let t = 0; t < w.validLength; t++) {
          x[(t * B + b) * C + c] = (w.data[t * C + c] - mean) / std;
        }
      }
      buf.seqLens[b] = BigInt(w.validLength);
      buf.carryLens[b] = BigInt(Math.max(1, Math.min(w.advance, w.validLength)));
      buf.h0.set(s.h, b * H);
      if (buf.c0 && s.c) buf.c0.set(s.c, b * H);
    }
    const out = await runner.runBatch({
      x,
      seqLens: buf.seqLens.subarray(0, B),
      carryLens: buf.carryLens.subarray(0, B),
      h0: buf.h0.subarray(0, B * H),
      ...(buf.c0 ? { c0: buf.c0.subarray(0, B * H) } : {}),
      B,
      T,
    });

    const results: WindowResult[] = [];
    const warm = states.map((s) => s.normCount >= this.opts.normWarmup);
    for (let b = 0; b < B; b++) {
      const w = group[b];
      const s = states[b];
      const L = w.validLength;
      const channelErrors = new Array<number>(C).fill(0);
      let total = 0;
      for (let t = 0; t < L; t++) {
        for (let c = 0; c < C; c++) {
          const i = (t * B + b) * C + c;
          const d = out.recon[i] - x[i];
          channelErrors[c] += d * d;
        }
      }
      for (let c = 0; c < C; c++) {
        total += channelErrors[c];
        channelErrors[c] = channelErrors[c] / L;
      }
      const reconError = total / (L * C);

      let predError: number | null = null;
      if (!w.resetState && s.prevPred && s.prevNextIndex >= 0 && s.prevNextIndex < L) {
        let e = 0;
        for (let c = 0; c < C; c++) {
          const d = s.prevPred[c] - x[(s.prevNextIndex * B + b) * C + c];
          e += d * d;
        }
        predError = e / C;
      }
      s.prevPred = out.pred.slice(b * C, (b + 1) * C);
      s.prevNextIndex = L - w.advance;

      if (w.advance > 0) {
        s.h.set(out.hCarry.subarray(b * H, (b + 1) * H));
        if (s.c && out.cCarry) s.c.set(out.cCarry.subarray(b * H, (b + 1) * H));
      }
      if (!(this.opts.holdNormalisation?.(w.sensor) ?? false)) updateNorm(s, w, this.opts.normHorizon, this.opts.normWarmup);
      s.windows++;
      if (warm[b]) results.push({ window: w, modelId: runner.id, reconError, channelErrors, predError });
    }
    return results;
  }
}

function stdOf(variance: number, mean: number): number {
  return Math.max(Math.sqrt(variance), STD_REL_FLOOR * Math.abs(mean), STD_ABS_FLOOR);
}

function initNorm(s: SensorInferenceState, w: Window): void {
  const C = w.channels.length;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let t = 0; t < w.validLength; t++) sum += w.data[t * C + c];
    const mean = sum / w.validLength;
    let sq = 0;
    for (let t = 0; t < w.validLength; t++) sq += (w.data[t * C + c] - mean) ** 2;
    s.mean[c] = mean;
    s.variance[c] = sq / w.validLength;
  }
  s.normInitialised = true;
  s.normCount = w.validLength;
}

/**
 * Running update with the steps this window consumes (each reading counted once in steady state): equal
 * weights until `horizon` readings were seen, then exponential with weight advance / horizon, so the
 * normal level and spread settle quickly on a new sensor and then follow slow drift.
 */
function updateNorm(s: SensorInferenceState, w: Window, horizon: number, warmup: number): void {
  const n = w.advance;
  if (n <= 0) return;
  const C = w.channels.length;
  const alpha = Math.min(1, Math.max(n / horizon, n / (s.normCount + n)));
  // Once the statistics have settled, values are clipped to ±NORM_CLIP_SIGMAS before they update them, so a
  // level shift or a burst of spikes (which the score is about to flag) barely moves the normal.
  const clip = s.normCount >= warmup;
  s.normCount += n;
  for (let c = 0; c < C; c++) {
    const mean0 = s.mean[c];
    const span = NORM_CLIP_SIGMAS * stdOf(s.variance[c], mean0);
    const lo = clip ? mean0 - span : -Infinity;
    const hi = clip ? mean0 + span : Infinity;
    let sum = 0;
    for (let t = 0; t < n; t++) sum += Math.min(hi, Math.max(lo, w.data[t * C + c]));
    const m = sum / n;
    let sq = 0;
    for (let t = 0; t < n; t++) sq += (Math.min(hi, Math.max(lo, w.data[t * C + c])) - m) ** 2;
    const v = sq / n;
    const oldMean = s.mean[c];
    const newMean = oldMean + alpha * (m - oldMean);
    // Mixture variance: within-chunk spread plus the shift of the chunk's mean.
    s.variance[c] = (1 - alpha) * (s.variance[c] + (oldMean - newMean) ** 2) + alpha * (v + (m - newMean) ** 2);
    s.mean[c] = newMean;
  }
}
