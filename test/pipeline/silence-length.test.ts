/**
 * Tryout 26, finding 8: a missing-data episode's LASTED said `75 s` in the list beside its sentence's `no reading for
 * 77 s`: the episode began when the first missing reading was due (the last reading's time + the interval), its
 * sentence counts from the last reading. One duration: a silence judged while it lasts begins at the stream's last
 * reading (its sentence's `since`), so its length (end − start, as `anomalies list`/`show`, the API and the dashboard
 * compute it) is the sentence's `duration_ms`, at its open, its updates as it grows, and its resolve, at any interval.
 * Through the detector and the SignalBook the daemon runs (the shipped configuration and GRU model).
 */
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/util/duration.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);

describe.skipIf(!builtAndModelsPresent())('a missing-data episode’s length', () => {
  it('is the silence its sentence tells, from the last reading, at its open, as it grows and at its resolve', async () => {
    for (const intervalMs of [1570, 60_000]) {
      const { det, book } = await shippedDetector();
      const rnd = lcg(11);
      const value = (): number => Math.round((5 + 0.2 * Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd())) * 1000) / 1000;
      const H = 700;
      const readings = Array.from({ length: H }, (_, i) => ({ ts: T0 + i * intervalMs, value: value() }));
      const out: Explained[] = [];
      await feedExplained(det, book, 'fridge', 'sensors/fridge', readings, out);
      const last = readings[H - 1].ts;
      // Judged as the daemon's housekeeping does, every 2 s of wall time (the reading arrived at its own time), with a
      // link's stall of 45 s (one and a half keepalives of 30 s), for as long as 200 intervals.
      for (let elapsed = 2000; elapsed <= 200 * intervalMs; elapsed += 2000) {
        // As the daemon explains a silence's events (Daemon.judgeSilences: SignalBook.explainAlert with `silence`).
        for (const ev of det.judgeSilence('fridge', last, last + elapsed, 45_000).events) out.push({ ev, e: book.explainAlert(ev, true).explanation });
      }
      const back = last + 200 * intervalMs + 1234;
      await feedExplained(det, book, 'fridge', 'sensors/fridge', [{ ts: back, value: value() }], out, false, H);
      const told = out.filter((x) => x.e?.kind === 'missing_data');
      expect(told.length, `every ${intervalMs} ms`).toBeGreaterThanOrEqual(2);
      expect(told[0].ev.kind).toBe('open');
      expect(told[told.length - 1].ev.kind).toBe('resolve');
      for (const { ev, e } of told) {
        // The end as the record stores it (a resolve's: SignalBook.resolvedEnd), the start as it opened.
        const end = ev.kind === 'resolve' ? book.resolvedEnd(ev) : ev.endTs;
        expect(end - ev.startTs, `${ev.kind} every ${intervalMs} ms`).toBe(e!.duration_ms);
        expect(ev.startTs).toBe(Date.parse(e!.since));
        expect(e!.sentence).toContain(`no reading for ${formatDuration(end - ev.startTs)} `);
      }
      expect(book.resolvedEnd(told[told.length - 1].ev) - told[0].ev.startTs).toBe(back - last);
    }
  }, 180_000);
});
