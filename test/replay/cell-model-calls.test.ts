/**
 * Tryout 26, finding 8: "LSTM replay is 10× slower than GRU" (518 against 5,304 rows/s on the same CSV). The
 * replay's rows/s is wall time; measured by process CPU, the two cells cost the same on that CSV, and the model
 * calls are the same in number and size (BENCHMARKS.md, "LSTM replay speed"). An LSTM step costs at most ~2× a GRU
 * step of the same size, so a 10× gap could only come from the pipeline treating the cells differently: a call per
 * reading where the other batches, a model loaded again, a fallback. These tests pin that property without timing
 * anything: the same readings through the detector with the shipped GRU and the shipped LSTM make the same model
 * calls (loads, step calls and the steps they carry, decodes, window-graph calls), with the batching the step
 * engine promises (src/pipeline/steps.ts: one step call per `hop` steps of a stream in replay, one per reading when
 * readings arrive one at a time, a decode per `hop` steps), both in replay (runReplay, as `anomalyd replay`) and
 * with readings arriving one by one (as the daemon meets them live).
 *
 * Real parts: the shipped models in onnxruntime, the shipped configuration, the daemon's detector.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { Config } from '../../src/config/schema.js';
import type { DecodeBatchInput, LoadedModel, ModelBatchInput, ModelLoader, StepBatchInput } from '../../src/contract/ports.js';
import type { RawMessage } from '../../src/contract/types.js';
import { modelSidecarPath } from '../../src/daemon.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { replayParseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { payloadOf, type ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import { mulberry32 } from '../../src/train/rng.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

type Cell = 'gru' | 'lstm';

/** What a model was asked to do, summed over the models a loader handed out. */
interface Calls {
  loads: number;
  stepCalls: number;
  /** Steps carried by the step calls: the sum of their seqLens. */
  steps: number;
  decodeCalls: number;
  /** Streams decoded: the sum of the decode calls' B. */
  decoded: number;
  windowCalls: number;
}

/** `loadModel` (onnxruntime on this thread) with every call counted in `calls`. */
function countingLoader(calls: Calls): ModelLoader {
  return async (sidecarPath) => {
    const model = await loadModel(sidecarPath);
    calls.loads++;
    const counted: LoadedModel = {
      id: model.id,
      sidecar: model.sidecar,
      step: (input: StepBatchInput) => {
        calls.stepCalls++;
        for (const n of input.seqLens) calls.steps += Number(n);
        return model.step(input);
      },
      decode: (input: DecodeBatchInput) => {
        calls.decodeCalls++;
        calls.decoded += input.B;
        return model.decode(input);
      },
      runBatch: (batch: ModelBatchInput) => {
        calls.windowCalls++;
        return model.runBatch(batch);
      },
      release: () => model.release(),
    };
    return counted;
  };
}

function noCalls(): Calls {
  return { loads: 0, stepCalls: 0, steps: 0, decodeCalls: 0, decoded: 0, windowCalls: 0 };
}

function configOf(cell: Cell): Config {
  const c = shippedConfig();
  return { ...c, model: { ...c.model, cell } };
}

const MINUTES = 2880;
const GAP_FROM = 2400;
const GAP_LEN = 60;

/**
 * Tryout 26's CSV in kind (its run/gen_csv.py, another generator): a 1-minute temperature over two days, a ±2
 * daily cycle and noise of 0.05, with a stuck hour, a +6 spike, a two-hour +3 step, an hour of rows absent (held
 * by the cadence as fills) and an hour of noise 0.8; so episodes open and close, and the explanation and cycle
 * paths run as they did for the tryout.
 */
function tryoutLike(seed: number): ReplayRow[] {
  const rnd = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const t0 = Date.UTC(2026, 11, 1);
  const v: number[] = [];
  for (let i = 0; i < MINUTES; i++) v.push(20 + 2 * Math.sin((2 * Math.PI * i) / 1440) + 0.05 * gauss());
  for (let i = 1700; i < 1760; i++) v[i] = v[1699];
  v[1900] += 6;
  for (let i = 2100; i < 2220; i++) v[i] += 3;
  for (let i = 2600; i < 2660; i++) v[i] += 0.8 * gauss();
  const rows: ReplayRow[] = [];
  for (let i = 0; i < v.length; i++) {
    if (i >= GAP_FROM && i < GAP_FROM + GAP_LEN) continue;
    rows.push({ sensor: 'hist_temp', ts: t0 + i * 60_000, channels: ['temperature'], values: [Number(v[i].toFixed(2))] });
  }
  return rows;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `anomalyd replay` of `rows` with the shipped model of `cell`: the model calls it made, and the rows scored. */
async function replayCalls(cell: Cell, rows: readonly ReplayRow[]): Promise<{ calls: Calls; scored: number }> {
  const config = configOf(cell);
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cell-calls-'));
  dirs.push(dir);
  const calls = noCalls();
  let scored = 0;
  await runReplay(rows, { config, learnRows: 0, loadModel: countingLoader(calls), shippedModel: modelSidecarPath(config), dir }, (o) => {
    if (o.rejected === null && !o.missing) scored++;
  });
  return { calls, scored };
}

/**
 * The daemon's detector with the shipped model of `cell`, each reading fed only once the previous one's output
 * came back (as a sensor's readings reach the daemon live, one at a time): the model calls it made.
 */
async function liveCalls(cell: Cell, rows: readonly ReplayRow[]): Promise<{ calls: Calls; scored: number }> {
  const config = configOf(cell);
  const calls = noCalls();
  const model = await countingLoader(calls)(modelSidecarPath(config));
  try {
    let ids = 0;
    const detector = new Detector(detectorOptions(config), {
      parser: new MessageParser(replayParseOptionsOf(config)),
      modelFor: () => ({ model, own: false }),
      priorsFor: () => null,
      newId: () => `live-${++ids}`,
      learning: () => false,
    });
    const input = new Subject<RawMessage>();
    let scored = 0;
    let wake: (() => void) | null = null;
    const completed = new Promise<void>((resolve, reject) => {
      input.pipe(detector.operator()).subscribe({
        next: (o) => {
          if (o.type === 'error') reject(new Error(o.detail));
          if (o.type !== 'reading') return;
          scored++;
          wake?.();
        },
        error: reject,
        complete: resolve,
      });
    });
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k];
      const answered = new Promise<void>((resolve) => (wake = resolve));
      input.next({ topic: row.sensor, payload: payloadOf(row), receivedAt: row.ts, seq: k });
      await answered;
    }
    input.complete();
    await completed;
    return { calls, scored };
  } finally {
    await model.release();
  }
}

describe.skipIf(!existsSync(join(MODELS, 'gru.json')) || !existsSync(join(MODELS, 'lstm.json')))(
  'the shipped GRU and LSTM make the same model calls for the same readings (tryout 26, finding 8)',
  () => {
    const rows = tryoutLike(26);
    const { hop, resetAfter } = shippedConfig().window;

    it('replay: one model load, a step call per hop steps, a decode per hop steps, no window-graph call; the same for both cells', async () => {
      expect(GAP_LEN).toBeLessThan(resetAfter);
      const gru = await replayCalls('gru', rows);
      const lstm = await replayCalls('lstm', rows);
      for (const r of [gru, lstm]) {
        expect(r.scored).toBe(rows.length);
        expect(r.calls.loads).toBe(1);
        expect(r.calls.windowCalls).toBe(0);
        // The hour without rows is shorter than window.resetAfter: it is held (filled), so every minute of the two
        // days is one step, and the steps go in chunks of hop from the stream's first reading.
        expect(r.calls.steps).toBe(MINUTES);
        expect(r.calls.stepCalls).toBe(Math.ceil(MINUTES / hop));
        expect(r.calls.decoded).toBe(Math.floor(MINUTES / hop));
        expect(r.calls.decodeCalls).toBe(r.calls.decoded);
      }
      expect(lstm.calls).toEqual(gru.calls);
    });

    it('readings one at a time (live): one step call per reading, a decode per hop steps; the same for both cells', async () => {
      const live = rows.slice(0, 600);
      const gru = await liveCalls('gru', live);
      const lstm = await liveCalls('lstm', live);
      for (const r of [gru, lstm]) {
        expect(r.scored).toBe(live.length);
        expect(r.calls.loads).toBe(1);
        expect(r.calls.windowCalls).toBe(0);
        expect(r.calls.steps).toBe(live.length);
        expect(r.calls.stepCalls).toBe(live.length);
        expect(r.calls.decoded).toBe(Math.floor(live.length / hop));
      }
      expect(lstm.calls).toEqual(gru.calls);
    });
  },
);
