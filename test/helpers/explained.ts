/**
 * Drives a Detector and its SignalBook over readings of one sensor as the daemon does (src/daemon.ts onReading):
 * each accepted reading is recorded in the book, each event explained; with `retell`, every open episode is
 * retold after each reading (the daemon's housekeeping). Rejects on the first error output.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { Subject } from 'rxjs';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { loadConfig } from '../../src/config/load.js';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent, ScoredReading } from '../../src/contract/types.js';
import { nextRetelling } from '../../src/daemon.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { Detector, detectorOptions, priorsOf } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { payloadOf } from '../../src/replay/drive.js';
import { MODELS, ROOT } from './daemon.js';

/** An event and its explanation (null: the book could not explain it). */
export interface Explained {
  readonly ev: AnomalyEvent;
  readonly e: AlertExplanation | null;
}

/**
 * Feeds `readings` (ts in epoch ms, one value each) of `sensor` on topic `topic` and appends every event and
 * its explanation to `out`, in order; the messages are numbered from `seqFrom`.
 * @throws (rejects) Error with the detector's error detail
 */
export async function feedExplained(
  det: Detector,
  book: SignalBook,
  sensor: string,
  topic: string,
  readings: readonly { ts: number; value: number }[],
  out: Explained[],
  retell = false,
  seqFrom = 0,
): Promise<void> {
  await feedMessages(
    det,
    book,
    readings.map((r) => ({ topic, payload: payloadOf({ sensor, ts: r.ts, channels: ['value'], values: [r.value] }), receivedAt: r.ts })),
    out,
    retell,
    seqFrom,
  );
}

/**
 * Feeds MQTT messages as they are (a hub's payloads, for a preset's parser) and appends every event and its
 * explanation to `out`, as feedExplained does; the messages are numbered from `seqFrom`.
 * @throws (rejects) Error with the detector's error detail
 */
export async function feedMessages(
  det: Detector,
  book: SignalBook,
  messages: readonly { topic: string; payload: Buffer; receivedAt: number }[],
  out: Explained[],
  retell = false,
  seqFrom = 0,
): Promise<void> {
  await drive(det, messages, seqFrom, (reading, events) => {
    book.record(reading);
    for (const ev of events) out.push({ ev, e: book.explain(ev) });
    if (!retell) return;
    for (const ep of det.openEpisodes()) {
      const told = book.retell(ep.id, ep.lastAboveTs, ep.readings, ep.held);
      if (told !== null) out.push({ ev: told.event, e: told.explanation });
    }
  });
}

/**
 * Pushes `messages` (numbered from `seqFrom`) through the detector's operator, as the daemon's subscription does, and
 * calls `onReading` with each scored reading and the events it brought, in order.
 * @throws (rejects) Error with the detector's error detail, at its first error output
 */
async function drive(
  det: Detector,
  messages: readonly { topic: string; payload: Buffer; receivedAt: number }[],
  seqFrom: number,
  onReading: (reading: ScoredReading, events: readonly AnomalyEvent[]) => void,
): Promise<void> {
  const input = new Subject<{ topic: string; payload: Buffer; receivedAt: number; seq: number }>();
  const done = new Promise<void>((resolve, reject) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'error') reject(new Error(o.detail));
        if (o.type === 'reading') onReading(o.reading, o.events);
      },
      error: reject,
      complete: resolve,
    });
  });
  messages.forEach((m, i) => input.next({ ...m, seq: seqFrom + i }));
  input.complete();
  await done;
}

/** An alert the daemon would send: its event, how it came (`event`: the detector's, `retell`, `farther`) and its explanation. */
export interface Sent {
  readonly ev: AnomalyEvent;
  readonly by: 'event' | 'retell' | 'farther';
  readonly e: AlertExplanation | null;
}

/**
 * Feeds `readings` (ts in epoch ms, one value each) of `sensor` and appends every alert the daemon would send to
 * `out`, in order, by the daemon's rules (src/daemon.ts onReading and touchOpenEpisodes): each event explained
 * (SignalBook.explainAlert) and sent unless it repeats the previous alert or tells the same fault only longer; a
 * reading far beyond what its episode told (SignalBook.farther); and every open episode retold after each reading
 * (the daemon's housekeeping on a sensor read every 10 s or slower).
 * @throws (rejects) Error with the detector's error detail
 */
export async function feedAlerts(det: Detector, book: SignalBook, sensor: string, topic: string, readings: readonly { ts: number; value: number }[], out: Sent[]): Promise<void> {
  const messages = readings.map((r) => ({ topic, payload: payloadOf({ sensor, ts: r.ts, channels: ['value'], values: [r.value] }), receivedAt: r.ts }));
  await drive(det, messages, 0, (reading, events) => {
    book.record(reading);
    for (const ev of events) {
      const told = book.explainAlert(ev);
      if (told.untold) out.push({ ev: { ...ev, kind: 'update' }, by: 'event', e: told.explanation });
      if (!told.repeats && !told.onlyLonger) out.push({ ev, by: 'event', e: told.explanation });
    }
    if (reading.anomalyId !== null) {
      const far = book.farther(reading, det.openPeak(reading.stream));
      if (far !== null) out.push({ ev: far.event, by: 'farther', e: far.explanation });
    }
    for (const ep of det.openEpisodes()) {
      const told = book.retell(ep.id, ep.lastAboveTs, ep.readings, ep.held);
      if (told !== null) out.push({ ev: told.event, by: 'retell', e: told.explanation });
    }
  });
}

/**
 * As feedAlerts, by the daemon's rules for readings that arrive far faster than their times move (a backfill: a
 * device's stored history, thousands a second, src/daemon.ts onReading): each event explained and sent unless it
 * repeats or tells the same fault only longer; a reading far beyond what its episode told (SignalBook.farther), else
 * the open episode retold in data time (Daemon.retellByReadings, on its schedule nextRetelling: at its 3rd and 4th
 * readings, then at each doubling, and at once when the detector's level excursion first holds it), no wall-clock retelling.
 * @throws (rejects) Error with the detector's error detail
 */
export async function feedBackfillAlerts(det: Detector, book: SignalBook, sensor: string, topic: string, readings: readonly { ts: number; value: number }[], out: Sent[]): Promise<void> {
  const messages = readings.map((r) => ({ topic, payload: payloadOf({ sensor, ts: r.ts, channels: ['value'], values: [r.value] }), receivedAt: r.ts }));
  let due: { id: string; next: number; drift: boolean } | null = null;
  await drive(det, messages, 0, (reading, events) => {
    book.record(reading);
    for (const ev of events) {
      const told = book.explainAlert(ev);
      if (told.repeats || told.onlyLonger) continue;
      if (told.untold) out.push({ ev: { ...ev, kind: 'update' }, by: 'event', e: told.explanation });
      out.push({ ev, by: 'event', e: told.explanation });
    }
    if (reading.anomalyId === null) {
      due = null;
      return;
    }
    const peak = det.openPeak(reading.stream);
    const far = book.farther(reading, peak);
    if (far !== null) {
      out.push({ ev: far.event, by: 'farther', e: far.explanation });
      return;
    }
    if (peak === null) return;
    if (due === null || due.id !== peak.id) due = { id: peak.id, next: nextRetelling(null), drift: false };
    const drift = peak.excursion !== undefined && !due.drift;
    if (peak.readings < due.next && !drift) return;
    if (drift) due.drift = true;
    else due.next = nextRetelling(peak.readings);
    const told = book.retell(peak.id, peak.lastAboveTs, peak.readings, undefined, peak.excursion);
    if (told !== null) out.push({ ev: told.event, by: 'retell', e: told.explanation });
  });
}

/**
 * The detector the daemon runs, on this thread: the shipped config/default.yaml and the shipped GRU model
 * (models/gru.json; `cell`) for every stream (not its own), and a SignalBook with `units` (logging.units' form, e.g.
 * `steady*=bar`), as the daemon makes them; `ingest`: config ingest keys over the shipped ones (`presets`); `score`: config score keys over the shipped ones (an operator's `learnReadings`); `cell`: the shipped model of that cell (models/gru.json or models/lstm.json); `stampsOnArrival`: the messages' receivedAt is their arrival, as the daemon's (DetectorPorts.stampsOnArrival). The model is never released (a test's process ends with it).
 * @throws Error when the shipped configuration does not load
 */
export async function shippedDetector(units: readonly string[] = [], ingest: Record<string, unknown> = {}, stampsOnArrival = false, score: Record<string, unknown> = {}, cell: 'gru' | 'lstm' = 'gru'): Promise<{ det: Detector; book: SignalBook }> {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS }, ...(Object.keys(ingest).length > 0 ? { ingest } : {}), ...(Object.keys(score).length > 0 ? { score } : {}) } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const model = await loadModel(join(MODELS, `${cell}.json`));
  let ids = 0;
  const det = new Detector(detectorOptions(loaded.config), {
    parser: new MessageParser(parseOptionsOf(loaded.config)),
    modelFor: () => ({ model, own: false }),
    priorsFor: () => priorsOf(model.sidecar),
    newId: () => `e${++ids}`,
    stampsOnArrival,
  });
  const book = new SignalBook({ units: [...units], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
  return { det, book };
}
