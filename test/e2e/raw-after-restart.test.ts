/**
 * Tryout 26, finding 7: after a restart the 1-hour plot of a 1 Hz duty-cycle sensor showed only minute means of the
 * readings before the stop, so the +1.5 bar over-pressure the operator was alerted about looked like a small bump
 * (raw readings were kept in memory only; HTTP.md said those before the stop were only an open episode's). Each
 * stream's newest raw readings (its ring: up to an hour) are now kept at a clean stop and taken back at the start:
 * the 1-hour series after the restart is the one before it, reading for reading, and the dashboard draws them (a
 * real chromium). The daemon in-process twice on one data directory (a real SQLite file), the embedded broker and a
 * real MQTT client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Daemon } from '../../src/daemon.js';
import type { SeriesView } from '../../src/pipeline/series.js';
import { artifact, hasChromium, launchChromium } from '../helpers/browser.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
/** 25 minutes at 1 Hz: all in the series' raw ring (1800 readings). */
const N = 1500;
/** The over-pressure: +1.5 bar on a 0.5 ↔ 3 bar cycle of 60 s, for 40 readings, 5 minutes before the stop. */
const FAULT = [N - 300, N - 260];

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let browser: Browser | null = null;
beforeAll(async () => {
  if (hasChromium && builtAndModelsPresent()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

function newDaemon(dataDir: string): Daemon {
  return new Daemon({ config: inProcessConfig(dataDir, { http: { port: 0 } }), logger: pino({ level: 'silent' }) });
}

async function series(daemon: Daemon): Promise<SeriesView> {
  const res = await fetch(`${daemon.httpUrl!}/api/sensors/pump/series?range=1h&points=2000`);
  expect(res.status).toBe(200);
  return (await res.json()) as SeriesView;
}

/** The dashboard's 1-hour plot of pump (a real chromium): its points and its caption; a screenshot to test-artifacts/. */
async function shown(url: string, name: string): Promise<{ points: number; caption: string }> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 1000 } });
  try {
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-state="ready"]');
    await page.click('#sensors button:has-text("pump")');
    await page.waitForFunction(() => document.getElementById('sensor-title')?.textContent === 'pump' && Number(document.getElementById('readings-chart')?.getAttribute('data-points')) > 0);
    const caption = ((await page.textContent('#readings-caption')) ?? '').replace(/times in .*$/, '');
    const points = Number(await page.getAttribute('#readings-chart', 'data-points'));
    await page.screenshot({ path: artifact(name), fullPage: true });
    return { points, caption };
  } finally {
    await page.close();
  }
}

describe.skipIf(!builtAndModelsPresent() || !hasChromium)('the 1-hour plot after a restart', () => {
  it('shows the raw readings from before the stop, the over-pressure at its height, as before the stop', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-raw-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const last = Math.floor(Date.now() / 1000) * 1000 - 60 * SEC;
    const tsOf = (i: number): number => last - (N - 1 - i) * SEC;
    const value = (i: number): number => (Math.floor(i / 30) % 2 === 0 ? 0.5 : 3) + ((i * 7919) % 13) / 100 + (i >= FAULT[0] && i < FAULT[1] ? 1.5 : 0);
    const first = newDaemon(dataDir);
    cleanups.push(() => first.stop());
    await first.start();
    const client = await mqtt.connectAsync(first.brokerUrl!, { clientId: `raw-restart-${process.pid}` });
    for (let i = 0; i < N; i += 100) {
      const burst = Array.from({ length: Math.min(100, N - i) }, (_, k) => ({ ts: tsOf(i + k), value: Number(value(i + k).toFixed(2)) }));
      await client.publishAsync('sensors/pump', JSON.stringify(burst), { qos: 1 });
    }
    await client.endAsync();
    await waitFor(() => first.counters.scored >= N, 60_000, 'every reading scored');
    const before = await series(first);
    expect(before.source).toBe('raw');
    expect(before.resolutionMs).toBe(0);
    const peak = Math.max(...before.value[0].filter((v): v is number => v !== null));
    expect(peak).toBeGreaterThan(4.4);
    const shownBefore = await shown(first.httpUrl!, 'raw-before-stop');
    await first.stop();

    const second = newDaemon(dataDir);
    cleanups.push(() => second.stop());
    await second.start();
    const after = await series(second);
    // Reading for reading as before the stop: raw, not minute means (which put the over-pressure near 2.6 bar).
    expect(after.source).toBe('raw');
    expect(after.resolutionMs).toBe(0);
    expect(after.ts).toEqual(before.ts);
    expect(after.value).toEqual(before.value);
    expect(after.count.every((k) => k === 1)).toBe(true);
    expect(after.anomalous).toEqual(before.anomalous);
    // Taken back once: a second restart without a clean stop in between keeps nothing of them twice (the rows are gone).
    expect(second.database!.takeSeriesRaw()).toEqual([]);

    // The dashboard draws them as it drew them before the stop: the same points, no minute bins.
    const shownAfter = await shown(second.httpUrl!, 'raw-after-restart');
    expect(shownAfter).toEqual(shownBefore);
    expect(shownAfter.caption).not.toContain('merging up to 60 s');
  }, 180_000);
});
