/**
 * Issue 9, "one bad message never stops the stream": a seeded, bounded fuzz run (a few hundred messages,
 * a few seconds) of hostile payloads over a real broker (the embedded one, and mosquitto) into the real
 * daemon: random bytes, truncated JSON, nesting 1 to 100,000 deep, 1 MB payloads, `__proto__` keys, huge
 * and tiny numbers, odd topics. The daemon stays up, takes every message, counts each by reason, never
 * as an internal error, and a good reading sent last is still taken. With a persistent session, a deep
 * payload queued while the daemon is down does not stop its next start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { mulberry32 } from '../../src/train/rng.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const SEED = 0x5eed;
const T0 = Date.UTC(2026, 10, 1);


interface Case {
  readonly topic: string;
  readonly payload: Buffer;
}

const DEPTHS = [1, 2, 8, 31, 32, 33, 64, 1000, 4000, 10_000, 100_000];
const NUMBERS = ['1e308', '-1e308', '1e400', '-1e400', '5e-324', '1e-400', '0.000000000000000000001', '1'.repeat(400), '-0', '123456789012345678901234567890'];

/** Hostile payloads, in a seeded order; about `n` of them. */
function cases(n: number): Case[] {
  // Seeded, so a failing run can be repeated.
  const r = mulberry32(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: Case[] = [];
  const good = [`{"value": 1.5, "ts": ${T0}}`, `{"ts": ${T0}, "temp": 21.5, "hum": 40}`, `{"values": [1, 2, 3], "ts": ${T0}, "interval_ms": 10}`, `[{"value": 1, "ts": ${T0}}]`];
  // Every depth, both containers, closed and left open.
  for (const d of DEPTHS) {
    out.push({ topic: 'sensors/deep', payload: Buffer.from('['.repeat(d) + ']'.repeat(d)) });
    out.push({ topic: 'sensors/deep', payload: Buffer.from('{"a":'.repeat(d) + '1' + '}'.repeat(d)) });
    out.push({ topic: 'sensors/deep', payload: Buffer.from('['.repeat(d)) });
  }
  // 1 MB payloads: junk, one huge number-ish token, a huge valid burst; and one past maxPayloadBytes.
  out.push({ topic: 'sensors/huge', payload: Buffer.alloc(1_500_000, 0x5b) });
  out.push({ topic: 'sensors/big', payload: Buffer.alloc(1_000_000, 0x37) });
  out.push({ topic: 'sensors/big', payload: Buffer.from(`{"values": [${Array.from({ length: 200_000 }, () => '1').join(',')}], "ts": ${T0}, "interval_ms": 1}`) });
  out.push({ topic: 'sensors/big', payload: Buffer.from(`{"x": "${'y'.repeat(1_000_000)}"}`) });
  // Prototype keys.
  for (const p of ['{"__proto__": {"value": 1}, "value": 2}', '{"__proto__": 5}', '{"constructor": {"prototype": {"polluted": 1}}, "value": 3}', '[{"__proto__": {"ts": 1}, "value": 1, "ts": 1764547200000}]', '{"values": [1], "__proto__": {"interval_ms": -1}}']) {
    out.push({ topic: 'sensors/proto', payload: Buffer.from(p) });
  }
  while (out.length < n) {
    const kind = r();
    if (kind < 0.25) {
      const bytes = Buffer.alloc(Math.floor(r() * 512));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
      out.push({ topic: 'sensors/random', payload: bytes });
    } else if (kind < 0.5) {
      const g = pick(good);
      out.push({ topic: 'sensors/truncated', payload: Buffer.from(g.slice(0, Math.floor(r() * g.length))) });
    } else if (kind < 0.7) {
      const num = pick(NUMBERS);
      out.push({ topic: 'sensors/numbers', payload: Buffer.from(pick([num, `{"value": ${num}}`, `{"value": 1, "ts": ${num}}`, `{"values": [${num}, 1], "interval_ms": ${num}}`, `"${num}"`])) });
    } else if (kind < 0.85) {
      const key = pick(['__proto__', 'ts', 'TS', 'value', '', '\u0000', 'a'.repeat(300), 'é+#/', 'values']);
      const val = pick(['null', 'true', '"x"', '[]', '{}', '1', '"1e999"', `"${'9'.repeat(70)}"`]);
      out.push({ topic: 'sensors/keys', payload: Buffer.from(`{"${key.replace(/"/g, '')}": ${val}, "k${out.length}": ${val}}`) });
    } else {
      // Odd topics: many levels, long levels, the daemon's own prefix is never subscribed.
      const topic = pick(['sensors/a/b/c', `sensors/${'x'.repeat(200)}`, 'sensors/ä ö', 'sensors/']);
      out.push({ topic, payload: Buffer.from(pick(good)) });
    }
  }
  return out;
}

async function status(daemon: DaemonProcess): Promise<Record<string, number>> {
  const http = daemon.logged('ready')[0].http as string;
  const body = (await (await fetch(`${http}/api/status`)).json()) as { counters: Record<string, number> };
  return body.counters;
}

async function publishAll(client: MqttClient, list: readonly Case[]): Promise<void> {
  for (const c of list) await client.publishAsync(c.topic, c.payload, { qos: 1 });
}

async function fuzz(daemon: DaemonProcess, url: string): Promise<void> {
  const list = cases(400);
  const client = await mqtt.connectAsync(url, { clientId: `fuzz-${process.pid}-${Date.now()}` });
  const before = (await status(daemon)).received;
  await publishAll(client, list);
  // A good reading sent after all of it is still taken.
  await client.publishAsync('sensors/alive', `{"value": 1, "ts": ${T0}}`, { qos: 1 });
  await waitFor(async () => (await status(daemon)).received >= before + list.length + 1, 60_000, 'the daemon to take every fuzz message');
  const counters = await status(daemon);
  expect(counters.received).toBe(before + list.length + 1);
  expect(counters.readings).toBeGreaterThanOrEqual(1);
  await client.endAsync();
  expect(daemon.exitCode).toBeNull();

  expect(await daemon.stop('SIGTERM')).toBe(0);
  expect(daemon.stderr).not.toMatch(/RangeError|Maximum call stack/);
  expect(daemon.lines.filter((l) => l.level >= 50)).toEqual([]);
  const db = new Database(daemon.dbPath, { readonly: true });
  try {
    const byReason = Object.fromEntries((db.prepare('SELECT reason, SUM(count) AS n FROM rejections GROUP BY reason').all() as { reason: string; n: number }[]).map((r) => [r.reason, r.n]));
    // Every payload nested deeper than the limit was refused on its bytes, and nothing threw.
    const deep = list.filter((c) => c.topic === 'sensors/deep' && c.payload.length > 0 && nesting(c.payload) > 32).length;
    expect(byReason.too_deep).toBeGreaterThanOrEqual(deep);
    expect(byReason.internal_error).toBeUndefined();
    for (const reason of ['bad_json', 'oversize', 'too_many_readings', 'non_finite', 'bad_timestamp']) expect(byReason[reason], reason).toBeGreaterThan(0);
  } finally {
    db.close();
  }
}

function nesting(b: Buffer): number {
  let d = 0;
  let max = 0;
  for (const c of b) {
    if (c === 0x5b || c === 0x7b) max = Math.max(max, ++d);
    else if (c === 0x5d || c === 0x7d) d--;
  }
  return max;
}

const CONFIG = {
  // Large enough that 1 MB payloads reach the decoders (the oversize check is tested with a 1.5 MB one below).
  ingest: { maxPayloadBytes: 1_200_000 },
  learning: { enabled: false },
};

describe.skipIf(!ready)('fuzz: hostile payloads into the daemon (embedded broker)', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = new DaemonProcess({ ...CONFIG, broker: { port: 0 } });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop('SIGKILL');
  });

  it('stays up, takes every message and counts each by reason', async () => {
    await fuzz(daemon, daemon.logged('ready')[0].mqtt as string);
  }, 120_000);
});

describe.skipIf(!ready || !mosquittoAvailable())('fuzz: hostile payloads into the daemon (mosquitto, persistent session)', () => {
  const broker = new Mosquitto();
  let daemon: DaemonProcess;
  beforeAll(async () => {
    await broker.start();
    daemon = new DaemonProcess({ ...CONFIG, broker: { enabled: false }, mqtt: { url: broker.url, clientId: 'anomalyd-fuzz', clean: false } });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop('SIGKILL');
    await broker.stop();
  });

  it('stays up, takes every message and counts each by reason', async () => {
    await fuzz(daemon, broker.url);
  }, 120_000);

  it('starts again with a 100,000-deep payload queued for it in its session', async () => {
    // The daemon is stopped (previous test); its session is kept by mosquitto.
    const client = await mqtt.connectAsync(broker.url, { clientId: `fuzz-queue-${process.pid}` });
    await client.publishAsync('sensors/deep', '['.repeat(100_000), { qos: 1 });
    await client.publishAsync('sensors/alive', `{"value": 2, "ts": ${T0 + 1000}}`, { qos: 1 });
    await client.endAsync();
    await daemon.start();
    await waitFor(async () => (await status(daemon)).received >= 2, 30_000, 'the queued messages');
    expect((await status(daemon)).readings).toBeGreaterThanOrEqual(1);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const db = new Database(daemon.dbPath, { readonly: true });
    try {
      const row = db.prepare("SELECT SUM(count) AS n FROM rejections WHERE reason = 'too_deep'").get() as { n: number };
      expect(row.n).toBeGreaterThanOrEqual(1);
    } finally {
      db.close();
    }
  }, 60_000);
});
