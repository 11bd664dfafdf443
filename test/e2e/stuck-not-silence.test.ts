/**
 * A value that freezes while its sensor goes on reading is a stuck value, never missing data (tryout 22, finding 2):
 * the daemon in-process with the embedded broker, a real MQTT client, the ESPHome preset (plain numbers stamped on
 * arrival), a real SQLite file and an injected wall clock (virtual time, the silence judgement run as housekeeping
 * would). An ESPHome temperature on a slow cycle, read to 0.1 every second, jumps to 12.5 and stays there, reading
 * after reading: its jump may open and close an episode of its own, and the freeze is told `stuck` whenever it is
 * told; no alert says `no reading` while readings came every second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const TOPIC = 'esp-garage/sensor/temperature/state';
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent())('a value frozen while its sensor reads on', () => {
  it('is told stuck, never missing data (tryout 22, finding 2)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-stuck-told-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const config = inProcessConfig(dataDir, { ingest: { presets: ['esphome'], timezone: 'UTC' } });
    const daemon = new Daemon({ config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock, loopUtilization: () => 0 });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const alerts: AlertPayload[] = [];
    const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `stuck-told-sub-${process.pid}` });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
    await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
    const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `stuck-told-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());

    const rnd = lcg(5);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const value = (t: number): number => Math.round((12.3 + 0.4 * Math.sin(t / 100) + 0.05 * gauss()) * 10) / 10;
    let sent = 0;
    const send = async (v: number): Promise<void> => {
      await pub.publishAsync(TOPIC, v.toFixed(1), { qos: 1 });
      sent++;
      await waitFor(() => daemon.counters.scored >= sent, 10_000, `reading ${sent} scored`);
      // Housekeeping judges every sensor's silence every 2 s.
      if (sent % 2 === 0) daemon.judgeSilences();
      now += SEC;
    };
    // Normal readings past the learning period, until the cycle is low (about 12.0), then frozen at 12.5 for 3 minutes.
    let t = 0;
    while (t < 360 || value(t) > 12.0) await send(value(t++));
    for (let k = 0; k < 180; k++) await send(12.5);
    await waitFor(() => alerts.some((a) => a.explanation?.kind === 'stuck'), 10_000, 'the freeze told stuck');
    expect(alerts.filter((a) => a.explanation?.kind === 'missing_data').map((a) => a.explanation?.sentence)).toEqual([]);
  }, 180_000);
});
