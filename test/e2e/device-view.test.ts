/// <reference lib="dom" />
/**
 * Tryout 13, findings 8 and 10, end to end: two Tasmota plugs through a real mosquitto into the real daemon
 * (dist/main.js, the tasmota preset, real onnxruntime and SQLite); a spike on one plug's power opens an episode.
 * Where the operator looks, the plug's streams and episodes are the plug's: the episode records its device
 * (GET /api/anomalies?device=), every stream says its device (GET /api/sensors), `anomalyd anomalies list
 * --by-device` lists the episode under its plug, and the dashboard (Chromium) lists each plug's streams under
 * it. A stream's `/` may be left unencoded in a series path. Skips without mosquitto; the page part without chromium.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, hasChromium, launchChromium } from '../helpers/browser.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
/** Readings per plug; the spike comes after the scorer's learning period (score.learnReadings, 256). */
const TICKS = 380;
const SPIKE = 330;
/** The plugs' ENERGY fields read as streams (Total too: a counter its hub states, since counterha). */
const FIELDS = ['Current', 'Power', 'Total', 'Voltage'];

/** A device time without an offset, as Tasmota writes it (read in ingest.timezone, UTC here). */
function localIso(ts: number): string {
  return new Date(ts).toISOString().slice(0, 19);
}

/** A plug's tele/<plug>/SENSOR at tick i (device times 1 s apart from t0); `spike` multiplies the power. */
function sensorMessage(i: number, t0: number, phase: number, spike: number): string {
  const w = (base: number, amp: number, k: number): number => Math.round((base + amp * Math.sin(i / 6 + phase + k) + (amp / 6) * Math.sin(i * 1.3 + k)) * 100) / 100;
  return JSON.stringify({
    Time: localIso(t0 + i * 1000),
    ENERGY: { TotalStartTime: '2026-01-01T00:00:00', Total: 12.5 + i * 1e-4, Yesterday: 1.2, Today: 0.4, Period: 1, Power: w(60, 8, 0) * spike, Voltage: w(230, 2, 1), Current: w(0.26, 0.03, 2) },
  });
}

async function api<T>(daemon: DaemonProcess, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${daemon.logged('ready').at(-1)!.http as string}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

interface Episode {
  id: string;
  sensor: string;
  device: string;
  status: string;
}

describe.skipIf(!ready)("a device's streams and episodes, where the operator looks", () => {
  const broker = new Mosquitto();
  let daemon: DaemonProcess;

  beforeAll(async () => {
    await broker.start();
    daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: broker.url, clientId: 'anomalyd-device-view' },
      ingest: { presets: ['tasmota'], timezone: 'UTC' },
      learning: { enabled: false },
      explain: { units: ['*Power=W'], timeZone: 'UTC' },
    });
    await daemon.start();
    const client = await mqtt.connectAsync(broker.url, { clientId: `device-view-${process.pid}` });
    const t0 = Date.now() - 2 * 3_600_000;
    for (let i = 0; i < TICKS; i++) {
      await client.publishAsync('tele/plug-washer/SENSOR', sensorMessage(i, t0, 0, i === SPIKE ? 6 : 1), { qos: 1 });
      await client.publishAsync('tele/plug-dryer/SENSOR', sensorMessage(i, t0, 2, 1), { qos: 1 });
    }
    await client.endAsync();
    await waitFor(
      async () => (await api<{ anomalies: Episode[] }>(daemon, '/api/anomalies?device=plug-washer')).body.anomalies.some((a) => a.sensor === 'plug-washer/ENERGY.Power'),
      60_000,
      "an episode of the washer's power",
    );
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await broker.stop();
  });

  it('the API: each episode and each stream says its device; a device filter; the series path unencoded', async () => {
    const washer = (await api<{ anomalies: Episode[] }>(daemon, '/api/anomalies?device=plug-washer')).body.anomalies;
    expect(washer.length).toBeGreaterThan(0);
    for (const a of washer) {
      expect(a.device).toBe('plug-washer');
      expect(a.sensor.startsWith('plug-washer/ENERGY.')).toBe(true);
    }
    const all = (await api<{ anomalies: Episode[] }>(daemon, '/api/anomalies')).body.anomalies;
    expect(all.filter((a) => a.device === 'plug-washer').map((a) => a.id)).toEqual(washer.map((a) => a.id));
    for (const a of (await api<{ anomalies: Episode[] }>(daemon, '/api/anomalies?device=plug-dryer')).body.anomalies) expect(a.device).toBe('plug-dryer');

    const sensors = (await api<{ sensors: { sensor: string; device: string }[] }>(daemon, '/api/sensors')).body.sensors;
    const streams = sensors.map((s) => [s.sensor, s.device]).sort();
    expect(streams).toEqual(
      ['plug-dryer', 'plug-washer'].flatMap((plug) => FIELDS.map((f) => [`${plug}/ENERGY.${f}`, plug])).sort(),
    );

    for (const path of ['/api/sensors/plug-washer%2FENERGY.Power/series', '/api/sensors/plug-washer/ENERGY.Power/series']) {
      const res = await api<{ stream: string; ts: number[] }>(daemon, path);
      expect(res.status, path).toBe(200);
      expect(res.body.stream).toBe('plug-washer/ENERGY.Power');
      expect(res.body.ts.length).toBeGreaterThan(0);
    }
  });

  it('anomalies list --by-device lists the episode under its plug', () => {
    const cli = spawnSync(process.execPath, [resolve('dist/main.js'), 'anomalies', 'list', '--config', daemon.configPath, '--by-device'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const lines = cli.stdout.trimEnd().split('\n');
    const head = lines.findIndex((l) => l.startsWith('DEVICE plug-washer: '));
    expect(head).toBeGreaterThan(0);
    expect(lines[head + 1]).toMatch(/^ {2}\S+\s+plug-washer\/ENERGY\.Power\s/);
    const device = spawnSync(process.execPath, [resolve('dist/main.js'), 'anomalies', 'list', '--config', daemon.configPath, '--device', 'plug-washer', '--json'], { encoding: 'utf8' });
    expect((JSON.parse(device.stdout) as { anomalies: Episode[] }).anomalies.every((a) => a.device === 'plug-washer')).toBe(true);
  });

  it.skipIf(!hasChromium)("the dashboard lists each plug's streams under it", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${daemon.logged('ready').at(-1)!.http as string}/`);
      await page.waitForSelector('body[data-state="ready"]');
      for (const plug of ['plug-washer', 'plug-dryer']) {
        const group = page.locator(`#sensors li.device[data-device="${plug}"]`);
        expect(await group.locator('li[data-sensor]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-sensor')).sort())).toEqual(FIELDS.map((f) => `${plug}/ENERGY.${f}`));
        expect((await group.locator('li[data-sensor] .name').allTextContents()).sort()).toEqual(FIELDS.map((f) => `ENERGY.${f}`));
      }
      await page.click('#sensors li[data-sensor="plug-washer/ENERGY.Power"] button');
      await page.waitForFunction(() => document.getElementById('sensor-title')?.textContent === 'plug-washer/ENERGY.Power');
      await page.screenshot({ path: artifact('e2e-device-view') });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
