import { describe, expect, it } from 'vitest';
import type { RejectReason, Rejection } from '../../src/contract/types.js';
import { RejectionCounter } from '../../src/pipeline/rejections.js';

function rej(reason: RejectReason, sensor: string | null, receivedAt: number, detail = `${reason} at ${receivedAt}`): Rejection {
  return { reason, sensor, topic: `sensors/${sensor ?? '?'}`, detail, receivedAt };
}

describe('RejectionCounter', () => {
  it('counts per (reason, sensor) and totals per reason', () => {
    const c = new RejectionCounter();
    for (let i = 0; i < 5; i++) c.record(rej('bad_json', 'a', i));
    for (let i = 0; i < 3; i++) c.record(rej('bad_json', 'b', i));
    c.record(rej('bad_topic', null, 9));
    const rows = c.snapshot().sort((x, y) => `${x.reason}${x.sensor}`.localeCompare(`${y.reason}${y.sensor}`));
    expect(rows).toEqual([
      { reason: 'bad_json', sensor: 'a', count: 5, lastAt: 4 },
      { reason: 'bad_json', sensor: 'b', count: 3, lastAt: 2 },
      { reason: 'bad_topic', sensor: null, count: 1, lastAt: 9 },
    ]);
    const totals = c.totalByReason();
    expect(totals.bad_json).toBe(8);
    expect(totals.bad_topic).toBe(1);
    expect(totals.out_of_order).toBe(0);
    expect(Object.keys(totals)).toHaveLength(14);
  });

  it('logs the first rejection at once, then at most one line per key per interval with the count', () => {
    const c = new RejectionCounter({ logIntervalMs: 60_000 });
    c.record(rej('non_finite', 'a', 0, 'first'));
    expect(c.drainLogLines(0)).toEqual([{ reason: 'non_finite', sensor: 'a', count: 1, example: 'first' }]);

    for (let t = 1; t <= 1000; t++) c.record(rej('non_finite', 'a', t, `n${t}`));
    expect(c.drainLogLines(30_000)).toEqual([]);
    expect(c.drainLogLines(59_999)).toEqual([]);
    expect(c.drainLogLines(60_000)).toEqual([{ reason: 'non_finite', sensor: 'a', count: 1000, example: 'n1' }]);
    expect(c.drainLogLines(200_000)).toEqual([]); // nothing new, nothing to say
    expect(c.snapshot()[0].count).toBe(1001); // totals are not reset by draining
  });

  it('throttles keys independently', () => {
    const c = new RejectionCounter({ logIntervalMs: 1000 });
    c.record(rej('empty', 'a', 0));
    expect(c.drainLogLines(0)).toHaveLength(1);
    c.record(rej('empty', 'a', 10));
    c.record(rej('empty', 'b', 10));
    c.record(rej('oversize', 'a', 10));
    const lines = c.drainLogLines(500);
    expect(lines.map((l) => `${l.reason}/${l.sensor}`).sort()).toEqual(['empty/b', 'oversize/a']);
    expect(c.drainLogLines(1000).map((l) => `${l.reason}/${l.sensor}`)).toEqual(['empty/a']);
  });

  it('folds sensors beyond maxKeys into the null sensor', () => {
    const c = new RejectionCounter({ maxKeys: 3 });
    for (let i = 0; i < 10; i++) c.record(rej('bad_json', `s${i}`, i));
    const rows = c.snapshot();
    expect(rows.length).toBeLessThanOrEqual(4);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(10);
    expect(rows.find((r) => r.sensor === null)?.count).toBe(7);
  });
});
