/**
 * Tryout 31, finding 4: README said a history batch may hold "up to about 1,500 readings per message", yet 1,000
 * Tasmota SENSOR objects in one message (107,098 bytes) were rejected `oversize`: the limit is in bytes
 * (ingest.maxPayloadBytes, 65,536 by default), and a Tasmota object is ~100 bytes. README now gives the limit in bytes
 * and readings per format. Tryout 37, finding 9: its advice "at most 500 Tasmota objects" did not fit a real plug's full
 * ENERGY message (~227 bytes: 400 of them, 90,913 bytes, rejected oversize whole): README now says to count bytes, and
 * gives the objects of each size that fit (about 65,536 / (s + 2)). Through the shipped config's defaults and the
 * tasmota preset's parser.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ParseResult } from '../../src/contract/types.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';

const T0 = Date.UTC(2026, 11, 1, 17, 38, 35);

/** `n` Tasmota SENSOR objects 10 s apart, as a plug's buffered history (Python's json.dumps spacing, as the tryout sent). */
function batch(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const time = new Date(T0 + i * 10_000).toISOString().slice(0, 19);
    return `{"Time": "${time}", "ENERGY": {"Total": ${(10 + i * 0.003).toFixed(3)}, "Power": 1100, "Voltage": 230, "Current": 4.783}}`;
  });
  return `[${rows.join(', ')}]`;
}

function parse(payload: string): { config: number; result: ParseResult } {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', presets: ['tasmota'] } }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  const p = new MessageParser(parseOptionsOf(r.config));
  return { config: r.config.ingest.maxPayloadBytes, result: p.parse({ topic: 'tele/iron/SENSOR', payload: Buffer.from(payload), receivedAt: T0 + 86_400_000 }) };
}

/** `n` full ENERGY messages, a real plug's (every field Tasmota sends), compact JSON: ~227 bytes each. */
function fullBatch(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const time = new Date(T0 + i * 10_000).toISOString().slice(0, 19);
    return JSON.stringify({ Time: time, ENERGY: { TotalStartTime: '2025-01-01T00:00:00', Total: 10 + i * 0.001, Yesterday: 1.2, Today: 0.8, Period: 0, Power: 80, ApparentPower: 84, ReactivePower: 24, Factor: 0.95, Voltage: 231, Current: 0.346 } });
  });
  return `[${rows.join(',')}]`;
}

describe('Tasmota history batches and ingest.maxPayloadBytes', () => {
  it('a real plug\'s full ENERGY messages: the README\'s 280 are read, 400 rejected oversize whole', () => {
    const one = Buffer.byteLength(fullBatch(1)) - 2;
    expect(one).toBeGreaterThan(215);
    expect(one).toBeLessThan(240);
    const over = parse(fullBatch(400));
    expect(over.result.kind).toBe('rejected');
    if (over.result.kind === 'rejected') expect(over.result.rejection.reason).toBe('oversize');
    const ok = parse(fullBatch(280));
    expect(ok.result.kind).toBe('readings');
    // Total, Power, ApparentPower, ReactivePower, Factor, Voltage, Current: seven readings each.
    if (ok.result.kind === 'readings') expect(ok.result.readings).toHaveLength(280 * 7);
  });

  it('1,000 objects are rejected oversize; the README’s 500 are read, four readings each', () => {
    const big = parse(batch(1000));
    expect(big.config).toBe(65_536);
    expect(big.result.kind).toBe('rejected');
    if (big.result.kind === 'rejected') expect(big.result.rejection.reason).toBe('oversize');
    const ok = parse(batch(500));
    expect(Buffer.byteLength(batch(500))).toBeLessThanOrEqual(ok.config);
    expect(ok.result.kind).toBe('readings');
    if (ok.result.kind === 'readings') expect(ok.result.readings).toHaveLength(500 * 4);
  });
});
