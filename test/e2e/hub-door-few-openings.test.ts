/**
 * A door watched from a handful of its openings (tryout 28, finding 3): a zigbee2mqtt door reporting every 10 s,
 * opened every 4 to 6 min for 3 to 8 s, through the daemon over the embedded broker. While it has learnt fewer
 * openings than the held-state judgement needs, GET /api/sensors says how many (`onOff.held`: `have` / `needed`,
 * `state` open) and `sensors list` says `learning how long it stays open: n / 8 times`; once it has 8 and its
 * learning period is over, left open for 3 min it is told `door2/contact open for … since …, never longer than … s
 * before (stuck: state held)` and resolved when shut. On main: nothing (the judgement waited for 32 openings, about 2.5 h
 * of this door, and a real door's weeks), and /api/sensors said `ok` with no hint.
 *
 * The daemon in-process with a virtual clock, a real SQLite file, the embedded broker.
 */
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { SensorView } from '../../src/http/view.js';
import { formatSensorList } from '../../src/cli/sensors-list.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, scoringHub } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const DOOR = 'door2/contact';

const cleanups = useCleanups();
const line = (a: AlertPayload): string => `${a.event} ${a.sensor} ${a.explanation?.sentence ?? ''}`;

describe.skipIf(!builtAndModelsPresent())('a door watched from a handful of its openings', () => {
  it('its progress is in /api/sensors and sensors list; after 8 openings, left open 3 min it is told (state held), resolved when shut', async () => {
    const dataDir = tempDataDir('anomalyd-door-few-', cleanups);
    const clock = { now: Math.floor(Date.now() / 1000) * 1000 - 1440 * MIN };
    const overrides = { ingest: { presets: ['zigbee2mqtt'], timezone: 'UTC' }, http: { port: 0, host: '127.0.0.1' }, store: { commitIntervalMs: 0 } };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock: () => clock.now, cleanups });
    const alerts = await collectAlerts(url, `door-few-sub-${process.pid}`, cleanups);
    const { send } = await scoringHub(daemon, url, `door-few-hub-${process.pid}`, cleanups);
    const report = (closed: boolean): Promise<void> => send('zigbee2mqtt/door2', JSON.stringify({ battery: 100, contact: closed, linkquality: 50, voltage: 3005 }));
    const rnd = lcg(28);
    let openings = 0;
    /** Reports closed every 10 s until `until`, opening the door every 4 to 6 min for 3 to 8 s. */
    const use = async (until: number): Promise<void> => {
      let next = clock.now + Math.round((240 + 120 * rnd()) * SEC);
      while (clock.now < until) {
        if (clock.now + 10 * SEC >= next) {
          clock.now = next;
          await report(false);
          clock.now += Math.round((3 + 5 * rnd()) * SEC);
          await report(true);
          openings++;
          next = clock.now + Math.round((240 + 120 * rnd()) * SEC);
        } else {
          clock.now += 10 * SEC;
          await report(true);
        }
      }
    };
    const sensors = async (): Promise<SensorView[]> => ((await (await fetch(`${daemon.httpUrl!}/api/sensors`)).json()) as { sensors: SensorView[] }).sensors;

    // Its first 20 min: a few openings; the API says how many of the 8 it needs (the first opening's start was heard, so each counts).
    await use(clock.now + 20 * MIN);
    expect(openings).toBeGreaterThanOrEqual(3);
    expect(openings).toBeLessThan(8);
    const early = (await sensors()).find((s) => s.sensor === DOOR)!;
    expect(early.onOff?.held).toEqual({ have: openings, needed: 8, state: 'open' });
    expect(formatSensorList([early], clock.now)).toContain(`learning how long it stays open: ${openings} / 8 times`);
    // Past its learning period (256 readings, about 43 min) and 8 openings: no hint any more.
    await use(clock.now + 30 * MIN);
    expect(openings).toBeGreaterThanOrEqual(8);
    expect(openings).toBeLessThan(32);
    const ready = (await sensors()).find((s) => s.sensor === DOOR)!;
    expect(ready.status).toBe('ok');
    expect(ready.onOff?.held).toEqual({ have: openings, needed: 8, state: 'open' });
    expect(formatSensorList([ready], clock.now)).not.toContain('learning how long');
    expect(alerts.map(line)).toEqual([]);

    // Left open for 3 min, reporting every 10 s (as it does): told before it is shut.
    clock.now += 60 * SEC;
    await report(false);
    const openedAt = clock.now;
    while (clock.now < openedAt + 3 * MIN) {
      clock.now += 10 * SEC;
      await report(false);
    }
    await waitFor(() => alerts.some((a) => a.sensor === DOOR), 10_000, 'the door left open told');
    const held = alerts.find((a) => a.sensor === DOOR)!;
    expect(held).toMatchObject({ event: 'open', explanation: { kind: 'stuck', value: 0 } });
    expect(held.explanation?.sentence).toMatch(/^door2\/contact open for (\d+ s|[1-3] min) since \d\d:\d\d, never longer than [3-8] s before \(stuck: state held\)$/);
    expect(held.explanation?.sentence).toContain(`since ${new Date(openedAt).toISOString().slice(11, 16)}`);
    clock.now += 10 * SEC;
    await report(true);
    await waitFor(() => alerts.some((a) => a.sensor === DOOR && a.event === 'resolve'), 10_000, 'resolved when shut');
    const resolve = alerts.find((a) => a.sensor === DOOR && a.event === 'resolve')!;
    expect(resolve).toMatchObject({ anomaly_id: held.anomaly_id, resolution: 'recovered' });
    expect(resolve.explanation?.sentence).toMatch(/^door2\/contact open for 3 min since/);
  }, 240_000);
});
