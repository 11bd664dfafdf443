/**
 * What the operator sees agrees everywhere and survives a restart (tryout 24, findings 2 to 5), with an ESPHome node
 * (a temperature, an on-change binary_sensor, its `status` birth and will) and a zigbee2mqtt plug whose power is sent
 * with one decimal, then `0`:
 * - finding 2: while the node says `offline`, each of its streams carries the device's episode in /api/sensors
 *   (`openEpisode`, `openEpisodeKind: device_offline`), /api/status names the device once, and the dashboard's header
 *   (the real page in headless Chromium) names what `anomalyd status` names, its streams first in the list. On main
 *   the streams said `openEpisode: null` and the header left the device out.
 * - finding 5: the device's resolve carries `resolution: recovered` (on main none).
 * - finding 3: the plug's `decimals` is 1 after 80 readings of `0` (on main 0: the last 64 readings said so), and is
 *   still 1 after a restart before its next reading (on main null: 4 significant digits).
 * - finding 4: after the restart the binary_sensor, not read since, learns no own model (on main `learning its own
 *   model: 0 / 3,600 readings` until its next reading).
 *
 * The daemon in-process with a virtual clock, its embedded broker, a real SQLite file, learning on, HTTP on this test's
 * port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { DaemonStatusView, SensorView } from '../../src/http/view.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { type VirtualRun, virtualRun } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { freePort, waitFor } from '../helpers/net.js';

const SEC = 1000;
/** The HTTP API's base URL: a free port, taken at the test's start and kept across its restart. */
let BASE = '';
const TEMP = 'esp-hall/temperature';
const WINDOW = 'esp-hall/window';
const PLUG = 'plug1/power';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function api<T>(path: string): Promise<T> {
  return (await (await fetch(`${BASE}${path}`)).json()) as T;
}
const sensors = async (): Promise<SensorView[]> => (await api<{ sensors: SensorView[] }>('/api/sensors')).sensors;
function of(list: readonly SensorView[], s: string): SensorView {
  const v = list.find((x) => x.sensor === s);
  if (v === undefined) throw new Error(`${s} not listed: ${list.map((x) => x.sensor).join(', ')}`);
  return v;
}

describe.skipIf(!builtAndModelsPresent())('what the operator sees agrees and survives a restart (tryout 24)', () => {
  it('an offline ESPHome node is named alike by /api, status and the page; its resolve is `recovered`; a plug keeps its decimals and an on/off stream learns no model across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-agrees-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const httpPort = await freePort();
    BASE = `http://127.0.0.1:${httpPort}`;
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: {
        dataDir,
        broker: { port: 0 },
        ingest: { presets: ['esphome', 'zigbee2mqtt'], timezone: 'UTC' },
        homeassistant: { discovery: 'off' },
        http: { port: httpPort, host: '127.0.0.1' },
        model: { dir: MODELS, worker: false },
        learning: { enabled: true },
        store: { commitIntervalMs: 0 },
        explain: { timeZone: 'UTC' },
      },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    let now = Math.floor(Date.now() / 1000) * 1000 - 3_600 * SEC;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const rnd = lcg(24);

    const run = (tag: string): Promise<VirtualRun> => virtualRun(loaded.config, clock, `agrees-${tag}`, alerts, cleanups);

    const first = await run('a');
    await first.hub.publishAsync('esp-hall/status', 'online', { qos: 1, retain: true });
    // The node's temperature every 10 s (one decimal), its window on change; the plug on, one decimal, then off: `0`.
    for (let k = 0; k < 120; k++) {
      now += 10 * SEC;
      await first.send('esp-hall/sensor/temperature/state', (21.4 + Math.round(rnd() * 4) / 10).toFixed(1));
      if (k % 20 === 5) {
        now += 1;
        await first.send('esp-hall/binary_sensor/window/state', k % 40 === 5 ? 'ON' : 'OFF');
      }
      now += 1;
      await first.send('zigbee2mqtt/plug1', JSON.stringify({ power: k < 40 ? Math.round(800 + rnd() * 30) / 10 : 0, linkquality: 80 }));
    }
    const on = await sensors();
    // Finding 3: the plug's precision is the most decimals its readings were sent with, not its last 64 readings'.
    expect(of(on, PLUG)).toMatchObject({ value: 0, decimals: 1 });
    expect(of(on, TEMP).decimals).toBe(1);
    expect(of(on, WINDOW).ownModel).toBeNull();

    // Finding 2: the node says it is offline.
    now += 5 * SEC;
    await first.hub.publishAsync('esp-hall/status', 'offline', { qos: 1, retain: true });
    await waitFor(() => alerts.some((a) => a.sensor === 'esp-hall' && a.event === 'open'), 10_000, 'the device episode');
    const offline = alerts.find((a) => a.sensor === 'esp-hall' && a.event === 'open')!;
    expect(offline.explanation?.kind).toBe('device_offline');
    const during = await sensors();
    for (const s of [TEMP, WINDOW]) expect(of(during, s)).toMatchObject({ openEpisode: offline.anomaly_id, openEpisodeKind: 'device_offline' });
    expect(of(during, PLUG).openEpisode).toBeNull();
    expect(of(during, PLUG).openEpisodeKind).toBeUndefined();
    // /api/status (what `anomalyd status` prints) names the device once, not its streams.
    const status = await api<DaemonStatusView>('/api/status');
    expect(status.sensors.openEpisodes).toBe(1);
    expect(status.sensors.openSensors).toEqual(['esp-hall']);
    if (hasChromium) {
      const browser = await launchChromium();
      cleanups.push(() => browser.close());
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${BASE}/`);
      await page.waitForSelector('body[data-state="ready"]');
      // The header says what status says; the device's streams are first in the list, under the device, open.
      expect(await page.locator('#problems').textContent()).toBe('1 device has an open episode: esp-hall');
      expect(await page.locator('#sensors > li').first().getAttribute('data-device')).toBe('esp-hall');
      expect(await page.locator('#sensors li.device[data-device="esp-hall"] .device-count.open').textContent()).toBe('2 with an open episode');
      // The plug's latest reading as the sentences write it: `0.0 W` (on main `0 W`).
      expect(await page.locator(`#sensors li[data-sensor="${PLUG}"] .value`).first().textContent()).toMatch(/^0\.0 W · /);
      // The header's device opens its most urgent stream.
      await page.click('#problems button:text-is("esp-hall")');
      await page.waitForFunction(() => document.getElementById('sensor-title')?.textContent?.startsWith('esp-hall/') === true);
      expect(errors).toEqual([]);
      await page.close();
    }

    // Finding 5: the node is back; its resolve says how the episode ended, as every other resolve does.
    now += 60 * SEC;
    await first.hub.publishAsync('esp-hall/status', 'online', { qos: 1, retain: true });
    await waitFor(() => alerts.some((a) => a.sensor === 'esp-hall' && a.event === 'resolve'), 10_000, 'the device episode resolved');
    expect(alerts.find((a) => a.sensor === 'esp-hall' && a.event === 'resolve')).toMatchObject({ anomaly_id: offline.anomaly_id, resolution: 'recovered' });
    expect((await sensors()).every((s) => s.openEpisode === null)).toBe(true);
    await first.stop();

    // Started again; nothing read since.
    now += 30 * SEC;
    await run('b');
    const after = await sensors();
    // Finding 3: the plug's precision came back with its checkpoint (on main null until its next reading).
    expect(of(after, PLUG)).toMatchObject({ value: 0, decimals: 1 });
    expect(of(after, TEMP).decimals).toBe(1);
    // Finding 4: the binary_sensor is known on/off from its checkpoint: it learns no model of its own.
    expect(of(after, WINDOW).onOff).toMatchObject({ on: 'on', off: 'off' });
    expect(of(after, WINDOW).ownModel).toBeNull();
    expect(of(after, TEMP).ownModel).toMatchObject({ phase: 'collecting' });
  }, 240_000);
});
