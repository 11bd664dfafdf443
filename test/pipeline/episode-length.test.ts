/**
 * Tryout 26, finding 8: `anomalies show` said `readings: 50` for an episode of 35 readings (11:00–11:34, one a
 * minute): the episode's length (AnomalyEvent.windows, the record's `windows`, the API's field, the CLI's
 * `readings`) counted the closeAfter readings after its last anomalous one that closed it. Its length is now its
 * readings from its first to the last that held it (the one its `endTs` names), in its events and in its progress
 * as the daemon writes it to the record while it is open (Detector.openEpisodes), at any interval. Through the
 * detector the daemon runs (the shipped configuration and GRU model).
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { shippedDetector } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';
import { payloadOf } from '../../src/replay/drive.js';
import { Subject } from 'rxjs';

const T0 = Date.UTC(2026, 0, 12, 0, 0, 0);
const N = 400;
const SHIFT = 35;
const AFTER = 80;

describe.skipIf(!builtAndModelsPresent())('an episode’s length in readings', () => {
  it('is its readings from its start to its last anomalous one, not the closing ones after it', async () => {
    for (const intervalMs of [60_000, 1000]) {
      const { det } = await shippedDetector();
      const rnd = lcg(26);
      const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
      const ts = (i: number): number => T0 + i * intervalMs;
      const values = Array.from({ length: N + SHIFT + AFTER }, (_, i) => Math.round((20 + 0.1 * gauss() + (i >= N && i < N + SHIFT ? 3 : 0)) * 100) / 100);
      const events: AnomalyEvent[] = [];
      // Per reading of an open episode: its progress as the daemon writes it to the record, and the readings so far.
      const progress: { readings: number; lastAboveTs: number }[] = [];
      const input = new Subject<{ topic: string; payload: Buffer; receivedAt: number; seq: number }>();
      const done = new Promise<void>((resolve, reject) => {
        input.pipe(det.operator()).subscribe({
          next: (o) => {
            if (o.type === 'error') reject(new Error(o.detail));
            if (o.type !== 'reading') return;
            events.push(...o.events);
            for (const ep of det.openEpisodes()) progress.push({ readings: ep.readings, lastAboveTs: ep.lastAboveTs });
          },
          error: reject,
          complete: resolve,
        });
      });
      values.forEach((value, i) => input.next({ topic: 'sensors/room', payload: payloadOf({ sensor: 'room', ts: ts(i), channels: ['value'], values: [value] }), receivedAt: ts(i), seq: i }));
      input.complete();
      await done;
      const open = events.find((e) => e.kind === 'open')!;
      expect(open, `every ${intervalMs} ms`).toBeDefined();
      const resolve = events.find((e) => e.kind === 'resolve' && e.anomalyId === open.anomalyId)!;
      expect(resolve, `every ${intervalMs} ms`).toBeDefined();
      const counted = (from: number, to: number): number => values.filter((_, i) => ts(i) >= from && ts(i) <= to).length;
      // The shift's readings (it opens at its first or within a few): from the start to the last that held it.
      expect(resolve.endTs, `every ${intervalMs} ms`).toBeGreaterThanOrEqual(ts(N + SHIFT - 1));
      expect(resolve.windows, `every ${intervalMs} ms`).toBe(counted(resolve.startTs, resolve.endTs));
      // While open, the record's length is counted the same way, to its last reading that held it.
      for (const p of progress) expect(p.readings, `every ${intervalMs} ms`).toBe(counted(open.startTs, p.lastAboveTs));
    }
  }, 180_000);
});
