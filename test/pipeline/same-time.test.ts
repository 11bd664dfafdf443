/**
 * A reading whose time equals its stream's previous reading's. A hub that stamps on arrival (Home Assistant
 * statestream, zigbee2mqtt without a time: the daemon stamps receivedAt) reads two messages from the socket in one
 * go and both get the same ms; a device clock in whole seconds sends several readings a second; a hub flushes a
 * buffer under one time. Such a reading was placed a `duplicate` (src/pipeline/cadence.ts) and reported what the
 * reading before it reported, its own value never judged: a spike, a counter's reset or the change that ends a stuck
 * run arriving in the same ms as the reading before was lost (CI stop 30: test/e2e/hub-counter.test.ts told a reset
 * "went back from" the reading before the last sent). A reading with the same time and other values is judged as a
 * reading; one with the same time and the same values (a message delivered twice) stays a duplicate. Through the
 * real detector core (parser, cadence, counter stage, step engine, scorer) without a model.
 */
import { describe, expect, it } from 'vitest';
import { Cadence } from '../../src/pipeline/cadence.js';
import { MONOTONE_READINGS } from '../../src/pipeline/counter.js';
import { detect, normal, type ReadingOutput } from './detector-helpers.js';

/** Readings of normal operation before the reading under test (past learnReadings, 64). */
const N = 300;

/** A noisy level, `extra` readings after N. */
function level(seed: number, extra: number): number[][] {
  const g = normal(seed);
  return Array.from({ length: N + extra }, () => [20 + 0.5 * g()]);
}

/** The grid step of reading i when reading `at` shares the time of the reading before it. */
const sharing =
  (at: number) =>
  (i: number): number =>
    i < at ? i : i - 1;

const opened = (out: readonly ReadingOutput[]): number[] => out.flatMap((o, i) => (o.events.some((e) => e.kind === 'open') ? [i] : []));

describe('a reading sharing its time with the reading before', () => {
  it('is judged when its values differ: a spike in the same ms as the reading before opens an episode at it', async () => {
    const rows = level(3, 40);
    rows[N] = [40];
    const out = await detect(rows, { step: sharing(N) });
    expect(out).toHaveLength(rows.length);
    expect(out[N].reading.ts).toBe(out[N - 1].reading.ts);
    expect(out[N].duplicate).toBe(false);
    expect(out[N].reading.values).toEqual([40]);
    expect(opened(out)).toEqual([N]);
    expect(out[N].reading.status).toBe('anomalous');
  });

  it('stays a duplicate when its values are the same (a message delivered twice): it opens nothing and teaches nothing', async () => {
    const rows = level(3, 40);
    const plain = await detect(rows);
    const twice = [...rows.slice(0, N), rows[N - 1], ...rows.slice(N)];
    const out = await detect(twice, { step: sharing(N) });
    expect(out[N].duplicate).toBe(true);
    expect(opened(out)).toEqual([]);
    // Every reading after it is scored as without the repeat.
    const after = (o: readonly ReadingOutput[], from: number): number[] => o.slice(from).map((x) => x.reading.surprise);
    expect(after(out, N + 1)).toEqual(after(plain, N));
  });

  it('a counter sees it: a reset after a reading that shared its ms with the one before is told from the last total sent', async () => {
    const at = MONOTONE_READINGS + 100;
    const rows = Array.from({ length: at + 20 }, (_, i) => [i < at ? 1000 + 0.25 * i + 0.1 * (i % 3) : 0.25 * (i - at)]);
    const out = await detect(rows, { step: sharing(at - 1) });
    expect(out[at - 1].duplicate).toBe(false);
    const resets = out.flatMap((o, i) => o.events.flatMap((e) => (e.counterReset !== undefined && e.kind === 'open' ? [{ i, ...e.counterReset }] : [])));
    expect(resets).toEqual([{ i: at, from: rows[at - 1][0], to: 0 }]);
    // Reported as sent.
    expect(out[at - 1].reading.values).toEqual(rows[at - 1]);
  });

  it('the cadence places it as a step that is not learnt as a gap (no fill, no reset), and the identical repeat as a duplicate', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 10; i++) c.place(t0 + i * 1000);
    expect(c.place(t0 + 9000, true, true)).toEqual({ filled: 0, reset: false, duplicate: false, intervalMs: 1000 });
    expect(c.place(t0 + 9000, true, false)).toMatchObject({ duplicate: true });
    // The interval stays the stream's (a 0 ms gap learnt would pull it down).
    for (let i = 0; i < 40; i++) {
      c.place(t0 + (10 + i) * 1000);
      c.place(t0 + (10 + i) * 1000, true, true);
    }
    expect(c.intervalMs).toBe(1000);
    expect(c.place(t0 + 51_000)).toMatchObject({ filled: 1, reset: false, duplicate: false });
  });
});
