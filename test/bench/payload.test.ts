import { describe, expect, it } from 'vitest';
import type { Reading } from '../../src/contract/types.js';
import { burstPayload, completesWindow, INTERVAL_MS, sensorTopic, singlePayload, windowsAfter } from '../../src/bench/payload.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';

const T0 = Date.UTC(2026, 0, 1);
const W = 64;
const HOP = 16;

function parser(): MessageParser {
  return new MessageParser({
    sensorOf: compileSensorPattern('sensors/{sensor}'),
    maxPayloadBytes: 65536, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10_000, longBurst: 'split', window: W,
  });
}

function parseOk(p: MessageParser, sensor: number, text: string): readonly Reading[] {
  const r = p.parse({ topic: sensorTopic(sensor), payload: Buffer.from(text), receivedAt: T0 + 1e9 });
  if (r.kind !== 'readings') throw new Error(r.rejection.detail);
  expect(r.rejections).toHaveLength(0);
  return r.readings;
}

describe('bench payloads', () => {
  it('the parser accepts them and reads back the timestamps on the 1 s grid', () => {
    const p = parser();
    const one = parseOk(p, 3, singlePayload(T0, 3, 5));
    expect(one).toHaveLength(1);
    expect(one[0].ts).toBe(T0 + 5 * INTERVAL_MS);
    expect(one[0].sensor).toBe('s0003');
    const burst = parseOk(p, 3, burstPayload(T0, 3, 6, 100));
    expect(burst.map((r) => r.ts)).toEqual(Array.from({ length: 100 }, (_, i) => T0 + (6 + i) * INTERVAL_MS));
  });

  it('completesWindow with hop 1 names every reading, and windowsAfter counts them', () => {
    const n = 3 * W + 5;
    expect(Array.from({ length: n }, (_, k) => k).every((k) => completesWindow(k, 1))).toBe(true);
    expect(windowsAfter(n, 1)).toBe(n);
    expect(Array.from({ length: n }, (_, k) => k).filter((k) => completesWindow(k, HOP))).toHaveLength(windowsAfter(n, HOP));
  });
});
