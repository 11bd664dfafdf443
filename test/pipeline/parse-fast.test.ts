/**
 * The scanner fast path of MessageParser against the JSON.parse path: the same messages through a parser
 * with `fastPath: false` and one with the default must give identical ParseResults, message by message
 * (the sensor state carries over, so time clamping, out-of-order and channel sets are compared too).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ParseResult, RawMessage } from '../../src/contract/types.js';
import { MessageParser, type ParseOptions } from '../../src/pipeline/parse.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';
import { burstPayload, sensorTopic, singlePayload } from '../../src/bench/payload.js';

const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);

function options(over: Partial<ParseOptions> = {}): ParseOptions {
  return {
    sensorOf: compileSensorPattern('sensors/{sensor}'),
    maxPayloadBytes: 4096,
    maxFutureMs: 60_000,
    outOfOrderToleranceMs: 5_000,
    maxReadingsPerMessage: 100,
    longBurst: 'split',
    window: 4,
    ...over,
  };
}

function msg(payload: string, receivedAt = NOW, topic = 'sensors/s1'): RawMessage {
  return { topic, payload: Buffer.from(payload), receivedAt };
}

/** A deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** toEqual cannot tell -0 from 0 in every version; the sign of zero is part of the value, so spell it out. */
function signed(r: ParseResult): unknown {
  if (r.kind === 'rejected') return r;
  return {
    ...r,
    readings: r.readings.map((x) => ({ ...x, values: x.values.map((v) => (Object.is(v, -0) ? '-0' : v)), frozenChannels: Object.isFrozen(x.channels) })),
  };
}

interface Pair {
  readonly fast: MessageParser;
  readonly slow: MessageParser;
}

function pair(over: Partial<ParseOptions> = {}): Pair {
  return { fast: new MessageParser(options(over)), slow: new MessageParser(options({ ...over, fastPath: false })) };
}

/** Parses with both, requires identical results, and says whether the fast parser got by without JSON.parse. */
function compare(p: Pair, m: RawMessage, spy: { mock: { calls: unknown[] } }): { result: ParseResult; fast: boolean } {
  const expected = p.slow.parse(m);
  const before = spy.mock.calls.length;
  const result = p.fast.parse(m);
  const fast = spy.mock.calls.length === before;
  expect(signed(result), `payload ${JSON.stringify(m.payload.toString('utf8'))} at ${m.receivedAt}`).toStrictEqual(signed(expected));
  return { result, fast };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('MessageParser fast path: sanity of the comparison', () => {
  it('tells -0 from 0', () => {
    const zero: ParseResult = { kind: 'readings', readings: [{ sensor: 's', ts: 1, channels: ['value'], values: [0] }], rejections: [] };
    const minusZero: ParseResult = { kind: 'readings', readings: [{ sensor: 's', ts: 1, channels: ['value'], values: [-0] }], rejections: [] };
    expect(signed(zero)).not.toStrictEqual(signed(minusZero));
  });
});

describe('MessageParser fast path: which payloads skip JSON.parse', () => {
  it.each([
    ['21.5'],
    [' -0.25e-3 \n'],
    [`{"ts":${NOW - 1000},"value":21.5}`],
    [`{ "value" : 1 , "timestamp" : ${(NOW - 1000) / 1000} }`],
    [`{"time":${NOW},"value":-7}`],
    ['{"value":3}'],
    [`{"values":[1,2,3],"ts":${NOW - 2000},"interval_ms":1000}`],
    [`{"interval_ms":10,\n\t"values":[ 1 , 2.5e1 ]}`],
    ['{"values":[4]}'],
  ])('reads %j with the scanner', (payload) => {
    const spy = vi.spyOn(JSON, 'parse');
    const r = new MessageParser(options()).parse(msg(payload));
    expect(r.kind).toBe('readings');
    expect(spy).not.toHaveBeenCalled();
  });

  it.each([
    ['"21.5"'],
    ['{"value":1,"value":2}'],
    ['{"ts":1764064800000,"time":1764064800000,"value":1}'],
    ['{"value":1,"unit":"C"}'],
    ['{"temp":1}'],
    ['{"value":"1"}'],
    ['{"value":1,"ts":null}'],
    ['{"values":[1,"2"],"interval_ms":1}'],
    ['{"values":[1,2]}'],
    ['{"v\\u0061lue":1}'],
    ['{"value":01}'],
    ['1e999'],
  ])('leaves %j to JSON.parse', (payload) => {
    const spy = vi.spyOn(JSON, 'parse');
    new MessageParser(options()).parse(msg(payload));
    expect(spy).toHaveBeenCalled();
  });
});

describe('MessageParser fast path: identical results', () => {
  it('on hand-picked edge cases', () => {
    const spy = vi.spyOn(JSON, 'parse');
    const t = NOW - 10_000;
    const payloads = [
      '0', '-0', '-0.0', '0e0', '-0e-5', '1', '-1', '21.5', '1e3', '1E3', '1e+3', '1e-3', '-1.5e-7', '0.1', '0.30000000000000004',
      '9007199254740993', '123456789012345678901234567890', '1.7976931348623157e308', '1.7976931348623159e308', '5e-324', '2e-324',
      '2.2250738585072014e-308', '123456789012345e22', '123456789012345e-22', '1234567890123456e-22', '1e22', '1e23', '4.35e-1',
      '1e999', '-1e999', '1e-999', '0.000000000000000000001', '01', '-01', '00', '1.', '.5', '+1', '-', '1e', '1e+', '1.e3', '0x10', '1_0',
      'NaN', '"NaN"', 'Infinity', '-Infinity', '"21.5"', '" 21.5 "', 'null', 'true', '"x"', '[]', '{}', '[1]', '[7]', '',
      ' ', '\u00a021', '\ufeff21', '21\u00a0', '\f21', ' \t\r\n21 \t\r\n',
      `{"ts":${t},"value":1}`, `{"value":2,"ts":${t + 1}}`, `{"timestamp":${t + 2},"value":3}`, `{"time":${t + 3},"value":4}`,
      `{"ts":${(t + 4000) / 1000},"value":5}`, `{"ts":${(t + 4500) / 1000},"value":5}`, `{"ts":"${new Date(t + 5000).toISOString()}","value":6}`,
      `{"ts":"${t + 6000}","value":7}`, `{"ts":5,"value":8}`, `{"ts":-1,"value":8}`, `{"ts":1e999,"value":8}`, `{"ts":${NOW + 3_600_000},"value":9}`,
      `{"ts":${t - 60_000},"value":10}`, `{"ts":${t + 6500},"value":1e999}`, `{"ts":${t + 7000},"value":-0}`, `{"ts":${t + 7000},"value":01}`,
      `{"ts":${t + 8000},"value":1,}`, `{"ts":${t + 8000},"value":1`, `{"ts":${t + 8000},"value":`, `{"ts":${t + 8000},"value":1}}`,
      `{"ts":${t + 8000},"value":1} x`, `{"ts":${t + 8000} "value":1}`, `{"ts":${t + 8000},"value":1,"value":2}`, `{"ts":${t + 8000},"ts":${t + 9000},"value":1}`,
      `{"ts":${t + 9000},"value":1,"unit":"°C"}`, `{"ts":${t + 9000},"välue":1}`, `{"ts":${t + 9000},"value":{"x":1}}`, `{"ts":${t + 9000},"value":[1]}`,
      `{"ts":${t + 9000},"value":1,"interval_ms":10}`, `{"ts":${t + 9000},"value":1,"values":[2]}`, `{"ts":null,"value":1}`, `{"\\u0074s":${t + 9000},"value":1}`,
      `{"values":[1,2,3],"ts":${t + 10_000},"interval_ms":100}`, `{"values":[1,2,3],"ts":${t + 10_000}}`, `{"values":[1,2,3],"interval_ms":0}`,
      `{"values":[1,2,3],"interval_ms":-5}`, `{"values":[1,2,3],"interval_ms":"10"}`, `{"values":[1,2,3],"interval_ms":null}`, `{"values":[1,2,3],"interval_ms":1e999}`,
      `{"values":[1,2,3],"interval_ms":1e308}`, '{"values":[]}', '{"values":[ ]}', '{"values":[1,]}', '{"values":[,1]}', '{"values":[1 2]}', '{"values":[1,"NaN"],"interval_ms":1}',
      '{"values":[1,null],"interval_ms":1}', '{"values":[1,{"value":2}],"interval_ms":1}', '{"values":[[1]],"interval_ms":1}', '{"values":1}', '{"values":{"a":1}}',
      '{"values":[1,1e999],"interval_ms":1}', `{"values":[-0,0,-0.0],"interval_ms":1,"ts":${NOW}}`, '{"values":[1],"values":[2]}',
      `{"values":[1,2],"ts":${(NOW - 1000) / 1000},"interval_ms":0.5}`, `{"values":[3],"time":"${new Date(NOW).toISOString()}"}`,
    ];
    let fastCount = 0;
    for (const cfg of [{}, { longBurst: 'truncate' as const, window: 2 }, { maxReadingsPerMessage: 2 }]) {
      const p = pair(cfg);
      for (const payload of payloads) if (compare(p, msg(payload), spy).fast) fastCount++;
    }
    expect(fastCount).toBeGreaterThan(0);
  });

  it('on the benchmark payloads, with the sensor state carried over', () => {
    const spy = vi.spyOn(JSON, 'parse');
    const p = pair({ maxReadingsPerMessage: 1000, window: 64 });
    const t0 = NOW - 400_000;
    for (let k = 0; k < 300; k += 100) {
      for (let s = 0; s < 5; s++) expect(compare(p, msg(burstPayload(t0, s, k, 100), NOW, sensorTopic(s)), spy).fast).toBe(true);
    }
    for (let k = 300; k < 320; k++) {
      for (let s = 0; s < 5; s++) expect(compare(p, msg(singlePayload(t0, s, k), NOW, sensorTopic(s)), spy).fast).toBe(true);
    }
  });

  it('on thousands of generated payloads, valid and broken', () => {
    const spy = vi.spyOn(JSON, 'parse');
    const seen = { fastReadings: 0, fastRejected: 0, fastPartial: 0, slow: 0 };
    for (const [seed, cfg] of [
      [1, {}],
      [2, { longBurst: 'truncate', window: 8 }],
      [3, { outOfOrderToleranceMs: 0, maxFutureMs: 0 }],
    ] as const) {
      const gen = new PayloadGenerator(prng(seed));
      const p = pair(cfg);
      let receivedAt = NOW;
      for (let i = 0; i < 1500; i++) {
        receivedAt += Math.floor(gen.rand() * 3000);
        const topic = `sensors/s${Math.floor(gen.rand() * 3)}`;
        const { result, fast } = compare(p, msg(gen.payload(receivedAt), receivedAt, topic), spy);
        if (!fast) seen.slow++;
        else if (result.kind === 'rejected') seen.fastRejected++;
        else if (result.rejections.length > 0) seen.fastPartial++;
        else seen.fastReadings++;
      }
    }
    // The generator must exercise both paths, and the per-reading checks (future, out of order, channel
    // set, truncation) after the scanner, or the comparison above proves little.
    expect(seen.fastReadings).toBeGreaterThan(0);
    expect(seen.fastRejected).toBeGreaterThan(0);
    expect(seen.fastPartial).toBeGreaterThan(0);
    expect(seen.slow).toBeGreaterThan(0);
  });
});

/** Payloads near the common forms: mostly valid, with every kind of deviation mixed in. */
class PayloadGenerator {
  constructor(readonly rand: () => number) {}

  payload(receivedAt: number): string {
    const text = this.shape(receivedAt);
    const r = this.rand();
    if (r < 0.04) return text.slice(0, Math.floor(this.rand() * text.length)); // truncated
    if (r < 0.06) {
      const at = Math.floor(this.rand() * (text.length + 1));
      return text.slice(0, at) + this.pick(['é', '\u2028', '\u00a0', '\ufeff', '\\', '"', '\u0000', '€', '😀']) + text.slice(at);
    }
    return text;
  }

  private shape(receivedAt: number): string {
    const r = this.rand();
    if (r < 0.1) return this.ws() + this.number() + this.ws();
    if (r < 0.55) return this.object([['time', this.timestamp(receivedAt)], ['value', this.number()]]);
    const values = this.values();
    const members: [string, string][] = [['values', values]];
    if (this.rand() < 0.85) members.push(['time', this.timestamp(receivedAt - 100_000)]);
    if (this.rand() < 0.85) members.push(['interval_ms', this.interval()]);
    return this.object(members);
  }

  private object(members: [string, string][]): string {
    const list = members.filter(() => this.rand() > 0.03).map(([k, v]) => [k === 'time' ? this.timeKey() : k, v] as [string, string]);
    if (this.rand() < 0.08) list.push([this.pick(['value', 'values', 'ts', 'temp', 'unit', 'interval_ms', 'ts2', '', 'v\\u0061lue', 'välue']), this.any()]);
    if (this.rand() < 0.03 && list.length > 0) list.push(list[0]); // duplicate key
    this.shuffle(list);
    const body = list.map(([k, v]) => `${this.ws()}"${k}"${this.ws()}:${this.ws()}${v}${this.ws()}`).join(',');
    return `${this.ws()}{${body}${list.length === 0 ? this.ws() : ''}}${this.ws()}`;
  }

  private values(): string {
    const n = this.pick([0, 1, 1, 2, 3, 5, 8, 9, 20, 50, 99, 100, 101, 130]);
    const items: string[] = [];
    for (let i = 0; i < n; i++) items.push(this.rand() < 0.02 ? this.any() : this.number(0.01));
    return `[${this.ws()}${items.join(`${this.ws()},${this.ws()}`)}${this.ws()}]`;
  }

  private timeKey(): string {
    return this.pick(['ts', 'ts', 'ts', 'timestamp', 'time']);
  }

  private timestamp(around: number): string {
    const r = this.rand();
    const ms = Math.round(around + (this.rand() - 0.8) * 20_000);
    if (r < 0.7) return String(ms);
    if (r < 0.78) return String(ms / 1000);
    if (r < 0.82) return `"${new Date(ms).toISOString()}"`;
    if (r < 0.85) return `"${ms}"`;
    if (r < 0.88) return String(around + 3_600_000);
    return this.pick(['5', '-1', '0', 'null', '1e999', '"soon"', '{}', `${ms}.0`, `${ms / 1000}e3`, '946684799999', '99999999999']);
  }

  private interval(): string {
    return this.pick(['1000', '1000', '10', '1', '0.5', '2.5e2', '0', '-5', '"10"', 'null', '1e999', '1e308', 'true']);
  }

  /** A number literal, or with probability `broken` something that is almost one. */
  private number(broken = 0.1): string {
    if (this.rand() < broken) return this.pick(['01', '-01', '1.', '.5', '+1', '-', '1e', '1e+', '0x10', 'NaN', '"NaN"', '"1.5"', 'Infinity', '-Infinity', '1e999', '-1e999', 'null', 'true', '"x"', '{}', '[]', '[1]']);
    const r = this.rand();
    const x = (this.rand() - 0.5) * 10 ** Math.floor(this.rand() * 12 - 4);
    if (r < 0.35) return x.toFixed(Math.floor(this.rand() * 6));
    if (r < 0.55) return String(x);
    if (r < 0.65) return x.toExponential(Math.floor(this.rand() * 18)).replace('e+', this.pick(['e+', 'e', 'E', 'E+']));
    if (r < 0.72) return String(Math.floor(this.rand() * 1e6) - 5e5);
    if (r < 0.8) return this.digits(Math.floor(this.rand() * 25) + 1) + (this.rand() < 0.5 ? `.${this.digits(Math.floor(this.rand() * 25) + 1)}` : '');
    if (r < 0.85) return `${this.digits(Math.floor(this.rand() * 20) + 1)}e${this.pick(['-', '+', ''])}${Math.floor(this.rand() * 400)}`;
    return this.pick(['0', '-0', '-0.0', '0.0', '1', '-1', '0.1', '5e-324', '1.7976931348623157e308', '9007199254740993', '0e0', '-0e-0']);
  }

  private digits(n: number): string {
    let s = String(1 + Math.floor(this.rand() * 9));
    for (let i = 1; i < n; i++) s += String(Math.floor(this.rand() * 10));
    return s;
  }

  private any(): string {
    return this.pick(['1', '"1"', '"NaN"', 'null', 'true', '"C"', '{"a":1}', '[1,2]', '{}', '[]', '""', '"\\u0031"', '1e999']);
  }

  private ws(): string {
    const r = this.rand();
    if (r < 0.7) return '';
    if (r < 0.99) return this.pick([' ', '  ', '\n', '\t', '\r\n', ' \n\t ']);
    return this.pick(['\u00a0', '\f', '\v', '\u2028']);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)];
  }

  private shuffle<T>(xs: T[]): void {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
  }
}
