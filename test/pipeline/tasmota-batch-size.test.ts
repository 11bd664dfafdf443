/**
 * Tryout 31, finding 4: README said a history batch may hold "up to about 1,500 readings per message", yet 1,000
 * Tasmota SENSOR objects in one message (107,098 bytes) were rejected `oversize`: the limit is in bytes
 * (ingest.maxPayloadBytes, 65,536 by default), and a Tasmota object is ~100 bytes. README now gives the limit in bytes
 * and readings per format, and advises at most 500 Tasmota objects per message. Through the shipped config's
 * defaults and the tasmota preset's parser.
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

describe('Tasmota history batches and ingest.maxPayloadBytes', () => {
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
