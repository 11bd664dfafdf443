/**
 * Tryout 25, finding 2, through a real broker: new sensors at 10 s (device time stamps), values 5 ± 0.05, each with at
 * most one firmware glitch (1e14; 4294967295, what a failed read of an uint32 register gives), published as the
 * tryout's sensors published them (`{"value": v, "ts": ms}` on sensors/<name>). The daemon in-process on the embedded
 * broker, with the shipped defaults, a real SQLite file and the shipped model.
 *
 * Before the fix, odd4 and odd6 (a glitch in the learning period) opened an episode at their first judged reading, an
 * ordinary 5.0, "within its normal range (unusual noise level)" with no kind, open through every normal reading after
 * it. Now no glitch in the learning period opens anything on ordinary readings; odd7's glitch after learning is told
 * (a spike) and resolves, as before.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
/** Readings per sensor: the shipped 256 learning readings, then 144 judged (as the tryout's run). */
const N = 400;
/** Sensor to its glitches (reading index to value). */
const SENSORS: Record<string, Record<number, number>> = {
  odd2: {},
  odd4: { 120: 1e14 },
  odd6: { 120: 4294967295 },
  odd9: { 60: 1e14, 120: 4294967295 },
  odd7: { 300: 1e14 },
};

const cleanups = useCleanups();

describe.skipIf(!builtAndModelsPresent())('a firmware glitch in a new sensor learning period (embedded broker, shipped defaults)', () => {
  it('opens nothing on the ordinary readings after learning; a glitch after learning is told and resolves', async () => {
    const dataDir = tempDataDir('anomalyd-glitch-', cleanups);
    const now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides: { http: { enabled: false } }, clock, cleanups });
    const alerts = await collectAlerts(url, `glitch-sub-${process.pid}`, cleanups);
    const pub = await mqtt.connectAsync(url, { clientId: `glitch-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());
    const names = Object.keys(SENSORS);
    for (const name of names) {
      const rnd = lcg(9);
      const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
      for (let k = 0; k < N; k++) {
        const v = SENSORS[name][k] ?? Math.round((5 + 0.05 * gauss()) * 1000) / 1000;
        await pub.publishAsync(`sensors/${name}`, JSON.stringify({ value: v, ts: now - (N - k) * 10 * SEC }), { qos: 1 });
      }
    }
    await waitFor(() => daemon.counters.scored >= names.length * N, 120_000, 'every reading scored');
    await new Promise((r) => setTimeout(r, 500));
    // odd7: its glitch opened, resolved as a spike; nothing from any other sensor (the kind is told once judged).
    expect(alerts.map((a) => [a.sensor, a.event])).toEqual([
      ['odd7', 'open'],
      ['odd7', 'resolve'],
    ]);
    expect(alerts[1].explanation?.kind).toBe('spike');
    const open = daemon.database!.listAnomalies({ limit: 50 }).filter((a) => a.status === 'open');
    expect(open.map((a) => a.sensor)).toEqual([]);
  }, 240_000);
});
