/**
 * Tryout 38, finding 11: an episode without readings whose length follows the clock stopped following it.
 *   - A sensor's history sent 10 min after its last reading's time, then nothing: its silence is told from that
 *     reading's time to now (tryout 31, finding 1). After a restart its record said 10 min less (`no reading for 14
 *     min` of a silence of 25): how late the history arrived (BackfillHoles.flushedLate) was not in the checkpoint.
 *   - A door backfilled with its history ending open (its last check-in, still open, 30 min before the history was
 *     sent): told `open for 2.5 h` of a door open for 3 h (the 30 min the history came late left out), and its record
 *     stayed `open for 2.5 h` while the door stayed open (touchOpenEpisodes skipped an episode whose readings did not
 *     move; a state held between readings moves only its end).
 * The daemon in-process (its embedded broker, a real SQLite file) on a virtual clock.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

async function start(dataDir: string, clock: () => number, alerts: AlertPayload[], tag: string, door = false): Promise<{ daemon: Daemon; pub: mqtt.MqttClient }> {
  const overrides = { explain: { timeZone: 'UTC' }, store: { commitIntervalMs: 0 }, ...(door ? { ingest: { presets: ['zigbee2mqtt' as const], timezone: 'UTC' } } : {}) };
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, clock, overrides, cleanups });
  await collectAlerts(url, `flushrs-${tag}-sub-${process.pid}`, cleanups, alerts);
  const pub = await mqtt.connectAsync(url, { clientId: `flushrs-${tag}-pub-${process.pid}` });
  cleanups.push(() => pub.endAsync(true));
  return { daemon, pub };
}

/** Until the episode's record ends within a minute of `end` (touchOpenEpisodes writes it every 10 s of wall time). */
async function recordReaches(daemon: Daemon, id: string, end: number): Promise<{ endTs: number; duration: number; sentence: string }> {
  let got = { endTs: Number.NaN, duration: Number.NaN, sentence: '' };
  await waitFor(
    () => {
      daemon.housekeep();
      const r = daemon.database!.getAnomaly(id);
      got = { endTs: r?.endTs ?? Number.NaN, duration: r?.explanation?.duration_ms ?? Number.NaN, sentence: r?.sentence ?? '' };
      return Math.abs(got.endTs - end) <= MIN;
    },
    30_000,
    `the record of ${id} following the clock`,
  ).catch(() => undefined);
  return got;
}

describe.skipIf(!builtAndModelsPresent())('lengths that follow the clock, after a flushed history and across a restart (tryout 38, finding 11)', () => {
  it('a silence after a history sent 10 min late: after a restart its record still runs from the last reading’s time to now', async () => {
    const dataDir = tempDataDir('anomalyd-flushrs-co2-', cleanups);
    const alerts: AlertPayload[] = [];
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const rnd = lcg(11);
    const N = 1000;
    const last = now - 10 * MIN;
    const rows = Array.from({ length: N }, (_, i) => ({ ts: last - (N - 1 - i) * 30 * SEC, value: Math.round(450 + 30 * Math.sin(i / 60) + 4 * (rnd() - 0.5)) }));
    const first = await start(dataDir, clock, alerts, 'c1');
    for (let i = 0; i < N; i += 500) await first.pub.publishAsync('sensors/co2', JSON.stringify(rows.slice(i, i + 500)), { qos: 1 });
    await waitFor(() => first.daemon.counters.scored >= N, 30_000, 'the history scored');
    for (let k = 0; k < 60 && !alerts.some((a) => a.event === 'open'); k++) {
      now += 30 * SEC;
      first.daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => alerts.some((a) => a.event === 'open'), 10_000, 'the silence told');
    const open = alerts.find((a) => a.event === 'open')!;
    expect(open.explanation?.kind).toBe('missing_data');
    expect(Math.abs(last + open.explanation!.duration_ms! - now)).toBeLessThanOrEqual(MIN);
    expect(await first.daemon.stop()).toBe(true);

    now += 10 * SEC;
    const second = await start(dataDir, clock, alerts, 'c2');
    for (let k = 0; k < 30; k++) {
      now += 30 * SEC;
      second.daemon.judgeSilences();
    }
    // Its record: from the last reading's own time to now (before: 10 min short, the history's lateness lost).
    const got = await recordReaches(second.daemon, open.anomaly_id, now);
    expect(Math.abs(got.endTs - now)).toBeLessThanOrEqual(MIN);
    expect(Math.abs(last + got.duration - now)).toBeLessThanOrEqual(MIN);
    expect(got.sentence).toMatch(new RegExp(`^co2 no reading for ${Math.round((now - last) / MIN)} min since `));
  }, 120_000);

  it('a door backfilled open, its last check-in 30 min before the history came: told open for 3 h, and its record follows while it stays open', async () => {
    const dataDir = tempDataDir('anomalyd-flushrs-door-', cleanups);
    const alerts: AlertPayload[] = [];
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const rnd = lcg(4);
    // 12 days: a check-in every 50 min (closed), and an opening of 5 to 40 s about every 2 h; then open from 3 h before
    // the history is sent, its check-ins saying open, the last 30 min before it is sent.
    const end = now;
    const openedAt = end - 3 * HOUR;
    const rows: { ts: number; contact: boolean; battery: number }[] = [];
    for (let t = openedAt - 12 * 24 * HOUR; t < openedAt - 10 * MIN; t += 50 * MIN) {
      rows.push({ ts: t, contact: true, battery: 90 });
      if (rnd() < 0.4) {
        const at = t + Math.round(rnd() * 40) * MIN;
        rows.push({ ts: at, contact: false, battery: 90 }, { ts: at + Math.round(5 + 35 * rnd()) * SEC, contact: true, battery: 90 });
      }
    }
    for (let t = openedAt; t < end - 20 * MIN; t += 50 * MIN) rows.push({ ts: t, contact: false, battery: 90 });
    rows.sort((a, b) => a.ts - b.ts);
    const lastCheckIn = rows.at(-1)!.ts;
    expect(end - lastCheckIn).toBe(30 * MIN);
    const run = await start(dataDir, clock, alerts, 'd1', true);
    for (let i = 0; i < rows.length; i += 400) await run.pub.publishAsync('zigbee2mqtt/door', JSON.stringify(rows.slice(i, i + 400)), { qos: 1 });
    // Its contact readings scored (its battery's too, when the preset takes them), nothing more coming.
    await waitFor(() => run.daemon.counters.scored >= rows.length, 30_000, 'the history scored');
    let seen = -1;
    await waitFor(
      async () => {
        const n = run.daemon.counters.scored;
        const done = n === seen && run.daemon.counters.intoModel === n;
        seen = n;
        if (!done) await new Promise((r) => setTimeout(r, 300));
        return done;
      },
      30_000,
      'the history settled',
    );
    run.daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'door/contact' && a.event === 'open'), 10_000, 'the door held open told');
    const held = alerts.find((a) => a.sensor === 'door/contact' && a.event === 'open')!;
    // Told at the first check-in where the hold was already longer than any before (heldback: judged by the readings'
    // own times), from the door's real opening; its record then runs to now.
    expect(held.explanation?.sentence).toMatch(/^door\/contact open for .+ since \d\d:\d\d, never longer than \d+ s before \(stuck: state held\)$/);
    const first = await recordReaches(run.daemon, held.anomaly_id, now);
    expect(Math.abs(openedAt + first.duration - now)).toBeLessThanOrEqual(MIN);
    expect(first.sentence).toMatch(/^door\/contact open for 3 h since /);
    // Still open 36 min later (no reading: a device that reports on change, its next check-in lost): its record says so.
    for (let k = 0; k < 36; k++) {
      now += MIN;
      run.daemon.judgeSilences();
    }
    const got = await recordReaches(run.daemon, held.anomaly_id, now);
    expect(Math.abs(openedAt + got.duration - now)).toBeLessThanOrEqual(MIN);
    expect(got.sentence).toMatch(/^door\/contact open for 3\.6 h since /);
  }, 120_000);
});
