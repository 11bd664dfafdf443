import { it } from 'vitest';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';
const T0 = Date.UTC(2026, 11, 3, 12);
const S = 1000;
it('fuzz', async () => {
  let n = 0, bad = 0;
  for (const period of [30, 60, 90]) for (const from of [1200, 1530, 1817]) for (const lasts of [150, 400, 900]) for (const off of [0, 0.5, 1.2]) {
    const u = lcg(period + from + lasts);
    const gauss = (): number => { let s = 0; for (let i = 0; i < 6; i++) s += u(); return (s - 3) * Math.SQRT2; };
    const to = from + lasts;
    const readings: { ts: number; value: number }[] = [];
    for (let t = 0; t < to + 900; t++) {
      const on = (t >= from && t < to) || t % period < 10;
      readings.push({ ts: T0 + t * S, value: on ? Math.round((60 + gauss()) * 10) / 10 : t === to ? off : Math.round((0.5 + 0.1 * gauss()) * 10) / 10 });
    }
    const { det, book } = await shippedDetector(['plug1=W']);
    const out: Sent[] = [];
    await feedAlerts(det, book, 'plug1', 'sensors/plug1', readings, out);
    const open = out.find((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + from * S && x.ev.startTs < T0 + to * S);
    n++;
    if (!open) { console.log('NOOPEN', period, from, lasts, off); continue; }
    const mine = out.filter((x) => x.ev.anomalyId === open.ev.anomalyId);
    const res = mine.find((x) => x.ev.kind === 'resolve');
    const told = mine.filter((x) => x.ev.kind !== 'resolve' && (x.e?.kind ?? null) !== null).map((x) => x.e!.kind);
    const far = mine.filter((x) => x.by === 'farther');
    if (!res || res.e?.kind !== told.at(-1) || far.length > 0 || res.e?.kind === null) {
      bad++;
      console.log('BAD', period, from, lasts, off, mine.map((x) => `${x.by} ${x.ev.kind} ${(x.ev.endTs - T0) / S} ${x.e?.sentence}`).join(' | '));
    }
  }
  console.log('N', n, 'bad', bad);
}, 600_000);
