/**
 * What a lasting fault is told against, through the detector the daemon runs (the shipped configuration and the
 * shipped GRU model, on this thread), the SignalBook that explains its episodes and their checkpoint:
 *
 * - tryout 9, finding 4: a +1.0 shift of a 10 ± 0.1 sensor opened `expected 9.98 ± 0.18`, then its updates said
 *   10.36 and 10.50, and its record and resolve "expected 10.50" (the model's one-step prediction, which follows the
 *   fault): the shift told as 0.5. The expected value of a level shift is the level before the episode.
 * - tryout 9, finding 3: the fault ended while the daemon was stopped (SIGTERM); after the restart, the resolve and
 *   the record told the episode as a `spike` at the first (normal) reading. It stays a level shift at the faulty level.
 *
 * One stream, one reading a second, device times; the checkpoint is written as a SIGTERM writes it (after the
 * pipeline drained) and restored into a fresh detector and book, as at a start.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { detectorCheckpointSubject } from '../../src/daemon/checkpoints.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { Detector, detectorOptions, priorsOf } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { pino } from 'pino';
import { builtAndModelsPresent, MODELS, shippedConfig } from '../helpers/daemon.js';
import { normal } from '../pipeline/detector-helpers.js';
import { feedExplained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
const silent = pino({ level: 'silent' });
/**
 * The fault: +1.0 on 10 ± 0.1 (10 spreads), from reading SHIFT for LENGTH readings, then back. Soon after the
 * learning period (score.learnReadings 256), as in the tryout (reading 268): the model's expectation follows the
 * shift while enough readings stay off it that the shift is told against it (told `expected 10.62` before).
 */
const SHIFT = 300;
const LENGTH = 300;
const g = normal(91);
const values = Array.from({ length: SHIFT + LENGTH + 200 }, (_, i) => 10 + (i >= SHIFT && i < SHIFT + LENGTH ? 1 : 0) + 0.1 * g());

type Out = { ev: AnomalyEvent; e: AlertExplanation | null };


async function fresh(): Promise<{ det: Detector; book: SignalBook }> {
  const config = shippedConfig();
  const model = await loadModel(join(MODELS, 'gru.json'));
  let ids = 0;
  const det = new Detector(detectorOptions(config), {
    parser: new MessageParser(parseOptionsOf(config)),
    modelFor: () => ({ model, own: false }),
    priorsFor: () => priorsOf(model.sidecar),
    newId: () => `e${++ids}`,
  });
  return { det, book: new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent }) };
}

/** Feeds readings [from, to) to the detector and its book as the daemon does (record, then explain each event). */
async function feed(det: Detector, book: SignalBook, from: number, to: number, out: Out[]): Promise<void> {
  const readings = Array.from({ length: to - from }, (_, k) => ({ ts: T0 + (from + k) * SEC, value: values[from + k] }));
  await feedExplained(det, book, 'level', 'sensors/level', readings, out, false, from);
}

/** The whole series; with `stop`, a stop after reading `stop.after` and the readings [stop.after + 1, stop.resume) lost. */
async function run(stop: { after: number; resume: number } | null): Promise<Out[]> {
  const out: Out[] = [];
  const a = await fresh();
  if (stop === null) {
    await feed(a.det, a.book, 0, values.length, out);
    return out;
  }
  await feed(a.det, a.book, 0, stop.after + 1, out);
  const subject = detectorCheckpointSubject(a.det, () => 'open', a.book);
  const state = JSON.parse(JSON.stringify(subject.snapshot('level'))) as unknown;
  const side = JSON.parse(JSON.stringify(subject.side!('level')?.state ?? null)) as unknown;
  const b = await fresh();
  expect(detectorCheckpointSubject(b.det, () => 'open', b.book).restore(new Map([['level', state]]), new Map([['level', side]]))).toEqual([]);
  await feed(b.det, b.book, stop.resume, values.length, out);
  return out;
}

/** The episode of the shift: its events (open first). */
function episodeOf(out: readonly Out[]): Out[] {
  const open = out.find((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + (SHIFT - 5) * SEC);
  expect(open, 'an episode opens at the shift').toBeDefined();
  return out.filter((x) => x.ev.anomalyId === open!.ev.anomalyId);
}

describe.skipIf(!builtAndModelsPresent())('a lasting +1.0 shift of 10 ± 0.1 with the shipped model', () => {
  it('is told against the level before it at every event after its kind is told, the resolve and its record too (not the model’s expectation that follows it)', async () => {
    const episode = episodeOf(await run(null));
    const resolve = episode.find((x) => x.ev.kind === 'resolve')!;
    expect(resolve.e!.kind).toBe('level_shift');
    // Within the noise (one spread, 0.1) of the level before, and the shift told as about 1.0, not 0.5.
    expect(Math.abs(resolve.e!.expected! - 10)).toBeLessThan(0.1);
    expect(resolve.e!.value! - resolve.e!.expected!).toBeGreaterThan(0.9);
    expect(resolve.e!.basis).toBe('baseline');
    // Every event that tells the kind tells it against the same level (the record stores the latest alert's).
    for (const x of episode.filter((y) => y.e?.kind === 'level_shift')) expect(Math.abs(x.e!.expected! - 10)).toBeLessThan(0.1);
  }, 120_000);

  it('ended while the daemon was stopped (the first reading after the restart normal): still a level shift at the faulty level', async () => {
    const straight = episodeOf(await run(null));
    const openAt = (straight[0].ev.endTs - T0) / SEC;
    // Stopped 20 readings after the open; the rest of the fault and 10 normal readings lost while it was down.
    const through = episodeOf(await run({ after: openAt + 20, resume: SHIFT + LENGTH + 10 }));
    expect(through.map((x) => x.ev.anomalyId)).toEqual([straight[0].ev.anomalyId, ...through.slice(1).map(() => straight[0].ev.anomalyId)]);
    const resolve = through.find((x) => x.ev.kind === 'resolve')!;
    expect(resolve, 'the episode resolves after the restart').toBeDefined();
    expect(resolve.e!.kind).toBe('level_shift');
    expect(resolve.e!.sentence).toMatch(/ \(level shift\)$/);
    // The faulty level, not the normal reading that came first after the restart; against the level before.
    expect(Math.abs(resolve.e!.value! - 11)).toBeLessThan(0.1);
    expect(Math.abs(resolve.e!.expected! - 10)).toBeLessThan(0.1);
  }, 120_000);
});
