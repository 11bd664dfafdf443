import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { lastValueFrom, from, toArray } from 'rxjs';
import type { ParseResult, RawMessage, Window } from '../../src/contract/types.js';
import { MessageParser, parseMessages } from '../../src/pipeline/parse.js';
import { Windower, windowReadings } from '../../src/pipeline/window.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { mergeMap } from 'rxjs';

const parserOpts = {
  sensorOf: compileSensorPattern('sensors/{sensor}'),
  maxPayloadBytes: 65536,
  maxFutureMs: 60_000,
  outOfOrderToleranceMs: 5000,
  maxReadingsPerMessage: 10_000,
  longBurst: 'split' as const,
  window: 8,
};
const windowOpts = { length: 8, hop: 2, intervalMs: 1000, maxFillSteps: 2, gapResetMs: 60_000 };
const T0 = Date.UTC(2026, 0, 1);

function messages(): RawMessage[] {
  const out: RawMessage[] = [];
  for (let i = 0; i < 40; i++) {
    const payload = i === 7 ? 'oops' : i === 20 ? JSON.stringify({ values: [1, 2, 3, 4, 5], ts: T0 + i * 1000, interval_ms: 1000 }) : JSON.stringify({ value: Math.sin(i), ts: T0 + i * 1000 });
    out.push({ topic: `sensors/${i % 2 ? 'a' : 'b'}`, payload: Buffer.from(payload), receivedAt: T0 + 60_000 });
  }
  return out;
}

const key = (w: Window): string => `${w.sensor}:${w.seq}:${w.validLength}:${w.advance}:${Array.from(w.data).join(',')}`;

describe('ingest', () => {
  it('emits exactly the windows of parseMessages + windowReadings, and reports every parse result', async () => {
    const results: ParseResult[] = [];
    const fused = await lastValueFrom(from(messages()).pipe(ingest(new MessageParser(parserOpts), new Windower(windowOpts), (r) => results.push(r)), toArray()));
    const separate = await lastValueFrom(
      from(messages()).pipe(
        parseMessages(new MessageParser(parserOpts)),
        mergeMap((r) => (r.kind === 'readings' ? r.readings : [])),
        windowReadings(new Windower(windowOpts)),
        toArray(),
      ),
    );
    expect(fused.length).toBeGreaterThan(10);
    expect(fused.map(key)).toEqual(separate.map(key));
    expect(results).toHaveLength(40);
    expect(results.filter((r) => r.kind === 'rejected')).toHaveLength(1);
  });

  it('passes errors on and flushes at completion (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const msg = (v: number, i: number): RawMessage => ({ topic: 'sensors/a', payload: Buffer.from(JSON.stringify({ value: v, ts: T0 + i * 1000 })), receivedAt: T0 + 60_000 });
      const src = cold('a-b-#', { a: msg(1, 0), b: msg(2, 1) });
      const out = src.pipe(ingest(new MessageParser(parserOpts), new Windower(windowOpts), () => undefined));
      // Two readings make one window at hop 2 (emitted with the second reading), then the error.
      expectObservable(out.pipe(mergeMap((w) => [w.validLength]))).toBe('--x-#', { x: 2 });
    });
  });
});
