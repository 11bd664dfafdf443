/**
 * An on/off stream's words survive a restart (after branch `onoff2`'s words): a zigbee2mqtt door learnt, the daemon
 * stopped and started again (its checkpoint, a real SQLite file), the door never reads again: its silence is told
 * `…, last closed (missing data)` and /api/sensors names its state (`onOff`) before any reading of it. On main the
 * words were known only from the stream's first reading since the start: `last 1`, and no `onOff` in /api/sensors.
 * A second door left open across the restart (its held-state episode open, src/pipeline/dwell.ts) keeps its words
 * in /api/sensors and in its episode's record and any alert of it after the restart.
 *
 * The daemon in-process with a virtual clock (as test/e2e/hub-on-off-words.test.ts), its embedded broker, learning on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { SensorView } from '../../src/http/view.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { type VirtualRun, virtualRun } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { freePort, waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const DOOR = 'door_contact/contact';
const BACK = 'back_door/contact';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent())('on/off words across a restart', () => {
  it('a door dead across a restart is told `last closed`, /api/sensors names its state; a door held open across it keeps its words', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-onoff-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // One port for the daemon's runs before and after its restart.
    const httpPort = await freePort();
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: {
        dataDir,
        broker: { port: 0 },
        ingest: { presets: ['zigbee2mqtt'], timezone: 'UTC' },
        homeassistant: { discovery: 'off' },
        http: { port: httpPort, host: '127.0.0.1' },
        model: { dir: MODELS, worker: false },
        learning: { enabled: true },
        store: { commitIntervalMs: 0 },
      },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 1440 * MIN;
    let now = t0;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const rnd = lcg(29);

    const run = (tag: string): Promise<VirtualRun> => virtualRun(loaded.config, clock, `onoff-restart-${tag}`, alerts, cleanups);
    const door = (contact: boolean): string => JSON.stringify({ battery: 100, contact, linkquality: 60, voltage: 3005 });
    const motion = (): string => JSON.stringify({ battery: 90, occupancy: rnd() < 0.5, illuminance: 12 });
    const sensors = async (): Promise<SensorView[]> => ((await (await fetch(`http://127.0.0.1:${httpPort}/api/sensors`)).json()) as { sensors: SensorView[] }).sensors;
    const of = (list: readonly SensorView[], s: string): SensorView => {
      const v = list.find((x) => x.sensor === s);
      if (v === undefined) throw new Error(`${s} not listed: ${list.map((x) => x.sensor).join(', ')}`);
      return v;
    };

    // Two doors reporting every 10 s, each opened about every 2 min; a motion sensor beside them.
    const first = await run('a');
    for (let k = 0; k < 560; k++) {
      now += 10 * SEC;
      await first.send('zigbee2mqtt/door_contact', door(!(k % 12 === 0 && k > 0)));
      now += 1;
      await first.send('zigbee2mqtt/back_door', door(!(k % 12 === 6)));
      if (k % 3 === 0) {
        now += 1;
        await first.send('zigbee2mqtt/hall_motion', motion());
      }
      first.daemon.judgeSilences();
    }
    expect(alerts.map((a) => `${a.event} ${a.sensor} ${a.explanation?.sentence ?? ''}`)).toEqual([]);
    // The back door is left open until told as a state held (the front door in use meanwhile).
    for (let k = 0; k < 60 && !alerts.some((a) => a.sensor === BACK); k++) {
      now += 10 * SEC;
      await first.send('zigbee2mqtt/door_contact', door(k % 12 !== 3));
      now += 1;
      await first.send('zigbee2mqtt/back_door', door(false));
    }
    await waitFor(() => alerts.some((a) => a.sensor === BACK), 10_000, 'the back door held open told');
    const held = alerts.find((a) => a.sensor === BACK)!;
    expect(held.explanation?.sentence).toMatch(/^back_door\/contact open for \d+ min since \d\d:\d\d, never longer than 10 s before \(stuck: state held\)$/);
    // The front door's last reading: closed.
    now += 10 * SEC;
    await first.send('zigbee2mqtt/door_contact', door(true));
    await first.stop();
    alerts.splice(0);

    // Started again: neither door ever reads again; the motion sensor goes on.
    now += 10 * SEC;
    const second = await run('b');
    const before = await sensors();
    expect(of(before, DOOR)).toMatchObject({ value: 1, onOff: { on: 'closed', off: 'open', state: 'closed', alarm: false } });
    expect(of(before, BACK)).toMatchObject({ value: 0, onOff: { on: 'closed', off: 'open', state: 'open', alarm: false } });
    for (let k = 0; k < 120 && !alerts.some((a) => a.sensor === DOOR && a.event === 'open'); k++) {
      now += 10 * SEC;
      if (k % 3 === 0) await second.send('zigbee2mqtt/hall_motion', motion());
      second.daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => alerts.some((a) => a.sensor === DOOR && a.event === 'open'), 10_000, 'the front door silence told');
    const told = alerts.find((a) => a.sensor === DOOR && a.event === 'open')!;
    expect(told.explanation?.kind).toBe('missing_data');
    expect(told.explanation?.sentence).toMatch(/^door_contact\/contact no reading for .+ since \d\d:\d\d, last closed \(missing data\)$/);
    expect(told.explanation?.value).toBe(1);
    const stored = (await (await fetch(`http://127.0.0.1:${httpPort}/api/anomalies/${told.anomaly_id}`)).json()) as { explanation?: { sentence?: string } };
    expect(stored.explanation?.sentence).toMatch(/, last closed \(missing data\)$/);
    const after = await sensors();
    expect(of(after, DOOR).onOff).toMatchObject({ state: 'closed' });

    // The back door's held episode, open across the restart: told since in its words (its silence within the held
    // state: `…, then no reading for 70 s since 10:20, last open (missing data)`; on main `last 0`), its record the same.
    const back = alerts.filter((x) => x.sensor === BACK);
    expect(back.length).toBeGreaterThan(0);
    for (const a of back) {
      expect(a.anomaly_id).toBe(held.anomaly_id);
      expect(a.explanation?.sentence).toMatch(/^back_door\/contact open for \d+ min since \d\d:\d\d, never longer than 10 s before \(stuck: state held\)/);
      expect(a.explanation?.sentence).not.toMatch(/last [01]\b/);
    }
    expect(back.at(-1)!.explanation?.sentence).toMatch(/, last open \(missing data\)$/);
    const record = (await (await fetch(`http://127.0.0.1:${httpPort}/api/anomalies/${held.anomaly_id}`)).json()) as { explanation?: { sentence?: string } };
    expect(record.explanation?.sentence).toBe(back.at(-1)!.explanation?.sentence);
    expect(of(after, BACK).onOff).toMatchObject({ state: 'open' });
  }, 240_000);
});
