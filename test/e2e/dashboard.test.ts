/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against the real daemon
 * (dist/main.js as a child process, embedded broker, real onnxruntime and SQLite) fed three simulated
 * sensors, one of which gets a level shift: the alert explains itself in the sensor's unit; the page shows
 * that sensor's readings with the band, the shaded stretch and the explanation; ack from the page reaches
 * the database. Screenshots go to test-artifacts/ for people to look at. Skips without chromium.
 */
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertFigures, type AlertPayload } from '../../src/contract/alerts.js';
import { Simulator } from '../../src/sim/simulator.js';
import { artifact, hasChromium, launchChromium } from '../helpers/browser.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const START = Date.UTC(2026, 0, 1, 8, 0, 0);
const NORMAL_TICKS = 1200;
const SHIFT_TICKS = 150;
const TAIL_TICKS = 200;
const BURST = 25;

describe.skipIf(!builtAndModelsPresent() || !hasChromium)('the dashboard in Chromium against the real daemon', () => {
  let daemon: DaemonProcess;
  let browser: Browser;
  const alerts: AlertPayload[] = [];

  beforeAll(async () => {
    daemon = new DaemonProcess({
      broker: { port: 0 },
      store: { commitIntervalMs: 50 },
      learning: { enabled: false },
      explain: { units: ['pump1=mm/s', 'temp*=°C', 'motor*=A'], timeZone: 'UTC' },
    });
    await daemon.start();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop('SIGKILL');
  });

  it('shows the readings, the band, the shaded stretch and the explanation; ack works', async () => {
    const client = await mqtt.connectAsync(daemon.logged('ready')[0].mqtt as string, { clientId: `e2e-dash-${process.pid}` });
    client.on('message', (topic, payload) => {
      if (topic.startsWith('anomalyd/alerts/')) alerts.push(JSON.parse(payload.toString()) as AlertPayload);
    });
    await client.subscribeAsync('anomalyd/alerts/+', { qos: 1 });
    // Three sensors; pump1's vibration shifts up by 3 mm/s for 150 s once the detector has settled.
    const shiftStart = START + NORMAL_TICKS * 1000;
    const sim = new Simulator({
      seed: 5,
      startTs: START,
      intervalMs: 1000,
      sensors: [
        { name: 'pump1', kind: 'vibration' },
        { name: 'temp1', kind: 'temperature' },
        { name: 'motor1', kind: 'motor_current' },
      ],
      anomalies: [{ sensor: 'pump1', kind: 'level_shift', startTs: shiftStart, endTs: shiftStart + (SHIFT_TICKS - 1) * 1000, magnitude: 6 }],
    });
    for (let done = 0; done < NORMAL_TICKS + SHIFT_TICKS + TAIL_TICKS; done += BURST) {
      const ticks = Array.from({ length: BURST }, () => sim.next());
      for (let c = 0; c < ticks[0].length; c++) {
        const burst = ticks.map((t) => ({ value: t[c].value, ts: t[c].ts }));
        await client.publishAsync(ticks[0][c].topic, JSON.stringify(burst), { qos: 1 });
      }
    }
    await waitFor(() => alerts.some((a) => a.sensor === 'pump1' && a.event === 'resolve'), 60_000, 'an episode of pump1 to open and resolve');
    await client.endAsync();

    // The alert explains itself, in the sensor's unit.
    const open = alerts.find((a) => a.sensor === 'pump1' && a.event === 'open')!;
    expect(open.schema_version).toBe(2);
    const why = open.explanation!;
    expect(why.unit).toBe('mm/s');
    expect(why.stream).toBe('pump1');
    // Its readings are stamped on START's day and arrive today, late as a backfill's: the clock time carries its date.
    expect(why.sentence).toMatch(/^pump1 \d+\.\d+ mm\/s, expected \d+\.\d+ ± \d+\.\d+ (since|at) (\d{4}-\d\d-\d\d )?\d\d:\d\d/);
    // Detected on the first shifted reading, the open alert cannot tell a spike from a shift yet; the
    // resolve can, and says so.
    expect([null, 'level_shift']).toContain(why.kind);
    const resolved = alerts.find((a) => a.anomaly_id === open.anomaly_id && a.event === 'resolve')!;
    expect(resolved.explanation!.kind).toBe('level_shift');
    expect(why.value! - why.expected!).toBeGreaterThan(1.5);
    // The unusual readings began with the shift, and the episode with them (every reading is scored).
    expect(Date.parse(why.since)).toBeLessThanOrEqual(Date.parse(open.start));
    expect(Math.abs(Date.parse(why.since) - shiftStart)).toBeLessThanOrEqual(2000);
    expect(why.stretch.values.length).toBeGreaterThan(0);
    expect(Math.max(...why.stretch.values)).toBeGreaterThan(3.5);
    // The console has one line for it with the id, the sentence, what opened it and the score.
    await waitFor(() => daemon.lines.some((l) => l.anomalyId === open.anomaly_id && l.alert === 'open'), 10_000, 'the alert log line');
    const line = daemon.lines.find((l) => l.anomalyId === open.anomaly_id && l.alert === 'open')!;
    expect(line.msg).toBe(`alert open: ${why.sentence} (${alertFigures({ kind: 'open', score: open.score, peakScore: open.peak_score, threshold: open.threshold })}, id ${open.anomaly_id})`);
    expect(line.msg).toMatch(/ \((surprise|deviation) \d+\.\d ≥ \d+\.\d, score (0\.\d{4,8}|> 0\.99999999), id /);

    const base = daemon.logged('ready')[0].http as string;
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-state="ready"]');
      await page.click('#sensors button:has-text("pump1")');
      await page.waitForFunction(() => document.getElementById('sensor-title')?.textContent === 'pump1' && Number(document.getElementById('readings-chart')?.getAttribute('data-points')) > 0);
      const readings = page.locator('#readings-chart');
      expect(Number(await readings.getAttribute('data-points'))).toBeGreaterThan(100);
      // Until the per-reading core gives an expectation, the band is the baseline of the readings before.
      expect(await readings.getAttribute('data-band')).toMatch(/^(model|baseline)$/);
      expect(Number(await readings.getAttribute('data-band-points'))).toBeGreaterThan(100);
      expect(Number(await readings.getAttribute('data-shaded'))).toBeGreaterThanOrEqual(1);
      expect(await page.locator('#readings-caption').textContent()).toMatch(/pump1 \(mm\/s\).*anomalous stretch(es)? shaded/);
      const stored = (await (await fetch(`${base}/api/anomalies/${open.anomaly_id}`)).json()) as { sentence: string };
      expect(await page.locator('#explanation').textContent()).toContain(stored.sentence);
      const row = page.locator(`#anomalies tr[data-id="${open.anomaly_id}"]`);
      expect(await row.locator('td.what').textContent()).toMatch(/^pump1 \d+\.\d+ mm\/s, expected/);
      await page.screenshot({ path: artifact('dashboard-e2e-desktop'), fullPage: true });

      await row.locator('button[data-action="ack"]').click();
      await page.waitForSelector(`#anomalies tr[data-id="${open.anomaly_id}"] button[data-action="unmark"]`);
      const db = new Database(daemon.dbPath, { readonly: true });
      try {
        // The mark joins the daemon's group commit (50 ms here) before another connection sees it.
        await waitFor(() => db.prepare('SELECT mark FROM anomalies WHERE id = ?').pluck().get(open.anomaly_id) === 'ack', 30_000, 'the ack in the database');
        expect(db.prepare('SELECT sentence FROM anomalies WHERE id = ?').pluck().get(open.anomaly_id)).toMatch(/^pump1 .* mm\/s/);
      } finally {
        db.close();
      }

      await page.click('.ranges button[data-range="24h"]');
      await page.waitForFunction(() => document.querySelector('.ranges button[data-range="24h"]')?.getAttribute('aria-pressed') === 'true');
      await page.waitForSelector('body[data-state="ready"]');
      expect(Number(await readings.getAttribute('data-points'))).toBeGreaterThan(10);

      await page.setViewportSize({ width: 390, height: 844 });
      await page.click('.ranges button[data-range="1h"]');
      await page.waitForFunction(() => document.querySelector('.ranges button[data-range="1h"]')?.getAttribute('aria-pressed') === 'true');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: artifact('dashboard-e2e-phone'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 180_000);
});
