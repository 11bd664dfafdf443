/**
 * A plug left on, then switched off as usual (docs/ALERTS.md, "What is told when", point 8): the switch-off reading is
 * the stream back at its normal values, no reading far beyond what was told. Found after the `kindflip` branch: a plug
 * on 10 s of every 60 s at 60 W (0.5 W off), left on for minutes and told `… W for … min … (stuck value)`, had its
 * switch-off reading sent as an `update` telling `0.5 W, expected 59.8 ± 8 since …` with no kind, and its resolve and
 * record told that too. An operator expects the open, its updates while it lasts, and one resolve telling the state
 * held, the kind last told, to its switch-off (test/pipeline/plug-off.test.ts for more cases).
 *
 * The daemon in-process with the embedded broker, a real MQTT client, a real SQLite file and the shipped GRU, its
 * clock injected (the readings' own times), as test/e2e/pinned-open-kind.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent())('a plug left on, then switched off (embedded broker)', () => {
  it('sends no far-reading update at its switch-off; its resolve and record tell the state held, the kind last told', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-plug-off-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir, broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false }, explain: { timeZone: 'UTC' } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const u = lcg(28);
    const gauss = (): number => {
      let s = 0;
      for (let i = 0; i < 6; i++) s += u();
      return (s - 3) * Math.SQRT2;
    };
    // 1 Hz: its cycle (60 ± 1.4 W for 10 s of every 60 s, else 0.5 W), left on from 25 min for 200 s, then its cycle for 20 min.
    const STEP = 1000;
    const T0 = Date.UTC(2026, 11, 4, 12);
    const FROM = 1500;
    const TO = 1700;
    const values = Array.from({ length: TO + 1200 }, (_, t) => ((t >= FROM && t < TO) || t % 60 < 10 ? Math.round((60 + gauss()) * 10) / 10 : 0.5));
    let now = T0;
    const clock = (): number => now;
    const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const alerts: AlertPayload[] = [];
    const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `plug-off-sub-${process.pid}` });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
    await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
    const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `plug-off-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());
    for (let i = 0; i < values.length; i += 20) {
      const chunk = values.slice(i, i + 20);
      now = T0 + (i + chunk.length - 1) * STEP;
      await pub.publishAsync('sensors/plug1', JSON.stringify({ values: chunk, ts: T0 + i * STEP, interval_ms: STEP }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= values.length, 120_000, 'every reading scored');
    const open = (): AlertPayload | undefined => alerts.find((a) => a.sensor === 'plug1' && a.event === 'open' && Date.parse(a.start) >= T0 + FROM * STEP && Date.parse(a.start) < T0 + TO * STEP);
    await waitFor(() => open() !== undefined && alerts.some((a) => a.anomaly_id === open()!.anomaly_id && a.event === 'resolve'), 30_000, 'the episode of the plug left on, resolved');
    const id = open()!.anomaly_id;
    const sent = alerts.filter((a) => a.anomaly_id === id).sort((a, b) => a.seq - b.seq);
    const shown = sent.map((a) => `${a.event} ${a.ts} ${a.explanation?.sentence ?? ''}`).join('\n');
    // No alert but the resolve from the switch-off on, and none telling a reading of the plug off (0.5 W).
    expect(sent.filter((a) => a.event !== 'resolve' && Date.parse(a.ts) >= T0 + TO * STEP).map((a) => a.explanation?.sentence), shown).toEqual([]);
    expect(sent.filter((a) => (a.explanation?.value ?? 60) < 10).map((a) => a.explanation?.sentence), shown).toEqual([]);
    // One resolve, the last alert, telling the kind the last alert with a kind told: the state held.
    expect(sent.filter((a) => a.event === 'resolve')).toHaveLength(1);
    const resolve = sent.at(-1)!;
    expect(resolve.event).toBe('resolve');
    const kinds = sent.slice(0, -1).map((a) => a.explanation?.kind ?? null).filter((k) => k !== null);
    expect(kinds.length, shown).toBeGreaterThan(0);
    expect(resolve.explanation?.kind, shown).toBe(kinds.at(-1));
    expect(resolve.explanation?.sentence, shown).toMatch(/^plug1 (59|60|61)\.\d for \d+ min since 12:2\d, never longer than \d+ s before \(stuck value\)$/);
    // Stored as told.
    await waitFor(() => daemon.database!.getAnomaly(id)?.status === 'resolved', 10_000, 'the record resolved');
    const record = daemon.database!.getAnomaly(id)!;
    expect(record).toMatchObject({ kind: resolve.explanation?.kind, sentence: resolve.explanation?.sentence });
    expect(record.events.map((e) => e.kind)).toEqual(sent.map((a) => a.event));
  }, 240_000);
});
