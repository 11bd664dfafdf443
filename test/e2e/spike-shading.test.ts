/**
 * The twenty-ninth session's tryout, finding 2: on the dashboard a spike's shading stayed about 8 min after it (its
 * 16 closing readings at 30 s, each scored `anomalous` while they held the episode open), and "Anomalous now" stayed
 * for those minutes after the readings were back. Now the plots shade an episode's own readings (to its end as told:
 * the spike's one reading), in the raw readings (1 h) and in the minute buckets (24 h), while it is open and once it
 * is resolved, and while its closing readings hold it open the line above the plots says its readings are back and
 * since when; each within the page's refresh.
 *
 * The daemon in-process with a virtual clock (test/helpers/in-process.ts virtualRun), its embedded broker, a real
 * SQLite file, the shipped GRU model, its HTTP API, and the page in Debian's chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { PAGE_REFRESH_MS } from '../../src/http/page.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { virtualRun, yesterdayNoonUtc } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { getJson, waitFor } from '../helpers/net.js';

/** A reading every 30 s: the tryout's 8 min of shading were its 16 closing readings. */
const INTERVAL = 30_000;
const HOUR = 3_600_000;
/** The spike's reading (past the learning period and its model's warm-up). */
const SPIKE = 700;

const cleanups: Array<() => Promise<unknown> | void> = [];

interface Series {
  readonly ts: number[];
  readonly anomalous: boolean[];
  readonly count: number[];
}

describe.skipIf(!builtAndModelsPresent() || !hasChromium)('a spike on the dashboard', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await browser?.close();
  });

  it('is shaded over its own reading, open and resolved, at 1 h and 24 h; while it closes the page says its readings are back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-spike-shading-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = inProcessConfig(dataDir, {
      homeassistant: { discovery: 'off' },
      http: { enabled: true, port: 0, host: '127.0.0.1' },
      store: { commitIntervalMs: 0 },
      explain: { timeZone: 'UTC' },
    });
    // Two days back at noon UTC, whatever the time the test runs (its views and sentences never cross a midnight).
    const t0 = yesterdayNoonUtc() - 24 * HOUR;
    const ts = (i: number): number => t0 + i * INTERVAL;
    let now = t0;
    const alerts: AlertPayload[] = [];
    const run = await virtualRun(config, () => now, 'spike-shading', alerts, cleanups);
    const api = run.daemon.httpUrl!;
    const rnd = lcg(29);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    let i = 0;
    const sendUntil = async (last: number): Promise<void> => {
      for (; i <= last; i++) {
        now = ts(i);
        const value = Math.round((21 + 0.1 * gauss() + (i === SPIKE ? 6 : 0)) * 100) / 100;
        await run.send('sensors/hall', JSON.stringify({ ts: now, value }));
      }
    };

    // The spike and 4 readings back: its episode is open, held by its closing readings.
    await sendUntil(SPIKE + 4);
    const open = alerts.find((a) => a.event === 'open' && a.sensor === 'hall');
    expect(open, 'the spike opens an episode').toBeDefined();
    expect(Date.parse(open!.start)).toBe(ts(SPIKE));
    expect(alerts.some((a) => a.event === 'resolve')).toBe(false);
    // The API's series (what the page plots): the spike's reading shaded, not the 4 after it (on main: 5 shaded).
    const shaded = (s: Series): number[] => s.ts.filter((_, k) => s.anomalous[k]);
    expect(shaded(await getJson<Series>(`${api}/api/sensors/hall/series?range=1h`))).toEqual([ts(SPIKE)]);

    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    cleanups.push(() => page.close());
    await page.goto(`${api}/#sensor=hall&range=1h`);
    await page.waitForSelector('body[data-state="ready"]');
    /** Waits, at most two of the page's refreshes, until the page shows `want` (the readings plot's and the explanation's attributes). */
    const shows = async (p: Page, want: { points: number; open: string | null; back: number | null }): Promise<void> => {
      await p.waitForFunction(
        (w) => {
          const chart = document.getElementById('readings-chart');
          const box = document.getElementById('explanation');
          return (
            chart?.getAttribute('data-shaded-points') === String(w.points) &&
            box?.getAttribute('data-open') === w.open &&
            box?.getAttribute('data-back') === (w.back === null ? null : String(w.back))
          );
        },
        want,
        { timeout: 2 * PAGE_REFRESH_MS + 2_000 },
      );
    };
    await shows(page, { points: 1, open: open!.anomaly_id, back: ts(SPIKE + 1) });
    expect(await page.locator('#explanation').textContent()).toMatch(/^Open, its readings back since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(it resolves once enough readings in a row are back\): hall /);

    // Back to the readings until it resolves (its closing readings: alerts.closeAfter after the spike).
    const resolved = (): boolean => run.daemon.database!.getAnomaly(open!.anomaly_id)?.status === 'resolved';
    for (let k = 0; k < 60 && !resolved(); k++) await sendUntil(i);
    expect(resolved()).toBe(true);
    await waitFor(() => alerts.some((a) => a.event === 'resolve' && a.anomaly_id === open!.anomaly_id), 10_000, 'the resolve');
    expect(i - 1 - SPIKE, 'the closing readings').toBeGreaterThanOrEqual(config.alerts.closeAfter);
    // Resolved: still its one reading shaded, not the closing ones (on main: the spike and every one of them).
    expect(shaded(await getJson<Series>(`${api}/api/sensors/hall/series?range=1h`))).toEqual([ts(SPIKE)]);
    await shows(page, { points: 1, open: null, back: null });
    expect(await page.locator('#explanation').textContent()).toMatch(/^Last episode \(/);
    // 24 h: minute buckets (two readings each); the spike's minute alone shaded (on main: 9 minutes).
    const day = await getJson<Series>(`${api}/api/sensors/hall/series?range=24h`);
    expect(day.count.some((n) => n > 1)).toBe(true);
    expect(shaded(day)).toHaveLength(1);
    expect(Math.abs(shaded(day)[0] - ts(SPIKE))).toBeLessThan(60_000);
    await page.goto(`${api}/#sensor=hall&range=24h`);
    await page.waitForSelector('body[data-state="ready"]');
    await shows(page, { points: 1, open: null, back: null });
  }, 240_000);
});
