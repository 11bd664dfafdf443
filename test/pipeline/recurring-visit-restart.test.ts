/**
 * The recurring visits (src/pipeline/visits.ts) survive a restart: they are checkpointed with the scorer's state
 * (`visits`), so a daemon restarted between a freezer's defrosts keeps the family of defrosts it learnt and tells
 * what an uninterrupted one tells. The shipped configuration's detector without a model; tryout 40's freezer at
 * report-on-change (test/helpers/freezer.ts).
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/contract/types.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { VisitMemory } from '../../src/pipeline/visits.js';
import { freezer } from '../helpers/freezer.js';

const T0 = Date.UTC(2026, 10, 22);
const DAY = 86_400_000;

/** The shipped config's detector, model-free. */
function newDetector(): Detector {
  const cfg = defaultConfig();
  let ids = 0;
  return new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
}

/** Feeds `rows` ([epoch ms, °C]) to stream `s`; returns the times of the episodes it opened. */
async function feed(d: Detector, rows: readonly (readonly [number, number])[]): Promise<number[]> {
  const opened: number[] = [];
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) =>
    input.pipe(d.operator()).subscribe({
      next: (o) => {
        if (o.type === 'reading' && o.events.some((e) => e.kind === 'open')) opened.push(o.reading.ts);
      },
      error: reject,
      complete: resolve,
    }),
  );
  for (const [ts, v] of rows) input.next({ topic: 'sensors/s', payload: Buffer.from(`{"ts":${ts},"value":${v}}`), receivedAt: ts + 5 });
  input.complete();
  await done;
  return opened;
}

/** The scorer's kept visits in a detector's snapshot of stream `s` (none: []). */
function keptVisits(state: unknown): { learnt: boolean; lo: number; hi: number }[] {
  const scorer = (state as { scorer: { visits?: unknown; channels: number } }).scorer;
  return scorer.visits === undefined ? [] : VisitMemory.fromJSON(scorer.visits, scorer.channels).visits().map((x) => ({ learnt: x.learnt, lo: x.lo, hi: x.hi }));
}

describe('recurring visits across a restart', () => {
  it('a freezer restarted after its defrosts were learnt keeps them, and opens what an uninterrupted run opens', async () => {
    const { rows, defrosts } = freezer({ seed: 40, start: T0, spanMs: 4 * DAY });
    const cut = rows.findIndex(([t]) => t >= T0 + 2 * DAY + 4 * 3_600_000);
    const whole = await feed(newDetector(), rows);
    const first = newDetector();
    const before = await feed(first, rows.slice(0, cut));
    const state: unknown = JSON.parse(JSON.stringify(first.snapshot('s')));
    // By then a family of defrosts was learnt: a visit above −16 °C (the saw-tooth's top), taught.
    expect(keptVisits(state).some((x) => x.learnt && x.hi > -10)).toBe(true);
    const second = newDetector();
    expect(second.restore('s', state)).toEqual([]);
    expect(keptVisits(JSON.parse(JSON.stringify(second.snapshot('s'))))).toEqual(keptVisits(state));
    const after = await feed(second, rows.slice(cut));
    expect([...before, ...after]).toEqual(whole);
    // And the defrosts after the restart are not told.
    const late = defrosts.filter(([a]) => a > rows[cut][0]);
    expect(late.length).toBeGreaterThanOrEqual(5);
    expect(after.filter((t) => late.some(([a, b]) => t >= a - 3_600_000 && t <= b + 3_600_000))).toEqual([]);
  }, 600_000);

  it('a malformed visits state is refused (the stream starts over), one written before it existed restores', () => {
    expect(() => VisitMemory.fromJSON({ kept: [{ c: 3 }], now: [null] }, 1)).toThrow(/visits/);
    expect(() => VisitMemory.fromJSON({ kept: [], now: [] }, 1)).toThrow(/visits/);
    const m = new VisitMemory(1);
    for (let i = 0; i < 5; i++) m.note(0, -18 + i, T0 + i * 60_000, -18.5);
    const back = VisitMemory.fromJSON(JSON.parse(JSON.stringify(m.toJSON())), 1);
    expect(back.toJSON()).toEqual(m.toJSON());
  });
});
