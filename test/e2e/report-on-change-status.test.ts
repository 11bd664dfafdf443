/**
 * A report-on-change sensor that is steady (no reading but its heartbeat, for hours) is not told `stale` in its usual
 * quiet, and its status does not flap (tryout 29, finding 9: the retained state went `stale` and back to `ok` at each
 * heartbeat): its silence is its value unchanged while the detector finds it usual against the stream's own arrivals
 * (docs/ALERTS.md, "Sensor state"). Dead, it goes `stale` once, and stays so. The daemon in-process with the embedded
 * broker, real MQTT clients, a real SQLite file and an injected wall clock (virtual time: the housekeeping tick is run
 * each virtual minute). Transitions are counted on the retained state topic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { reportOnChange } from '../helpers/report-on-change.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const HEARTBEAT = 50 * MIN;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent())('a steady report-on-change sensor: unchanged, not stale', () => {
  for (const seed of [3, 7]) {
    it(`seed ${seed}: three days of its quiet stretches tell no stale; dead, it goes stale once`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-roc-status-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      // Three days of a room temperature read each minute, sent (stamped on arrival) on a change of its 0.5 °C step or
      // after a 50 min heartbeat, ending 10 h ago.
      const t0 = Math.floor(Date.now() / MIN) * MIN - 3 * DAY - 10 * HOUR;
      const rows = reportOnChange({ seed, start: t0, spanMs: 3 * DAY, heartbeatMs: HEARTBEAT });
      let now = rows[0][0];
      const clock = (): number => now;
      const daemon = new Daemon({ config: inProcessConfig(dataDir), logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock, loopUtilization: () => 0 });
      cleanups.push(() => daemon.stop());
      await daemon.start();
      const states: SensorStatePayload['status'][] = [];
      const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `roc-status-sub-${process.pid}-${seed}` });
      cleanups.push(() => sub.endAsync());
      sub.on('message', (_topic, payload) => {
        if (payload.length > 0) states.push((JSON.parse(payload.toString('utf8')) as SensorStatePayload).status);
      });
      await sub.subscribeAsync('anomalyd/state/room', { qos: 1 });
      const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `roc-status-pub-${process.pid}-${seed}` });
      cleanups.push(() => pub.endAsync());
      let sent = 0;
      // Each reading published at its time; between readings the clock moves a minute at a time and housekeeping runs
      // at each (the silences judged, the stale status), as its 2 s timer would.
      for (const [ts, value] of rows) {
        for (let m = Math.floor(now / MIN) + 1; m * MIN < ts; m++) {
          now = m * MIN;
          daemon.housekeep();
        }
        now = ts;
        await pub.publishAsync('sensors/room', String(value), { qos: 1 });
        sent++;
        await waitFor(() => daemon.counters.scored >= sent, 10_000, `${sent} readings scored`);
      }
      expect(daemon.counters.rejected).toBe(0);
      // Its quiet stretches (up to its heartbeat) from the end of its learning period on (two days): never stale. (Its
      // first readings, before its pace is known, are judged as a periodic stream's: a quiet of 10 early intervals
      // went stale once, at its sixth reading.)
      await waitFor(() => states.includes('ok'), 10_000, 'the end of its learning period');
      expect(states.slice(states.indexOf('ok')).filter((s) => s === 'stale')).toEqual([]);
      // Dead: no reading for 12 h. It goes stale once (its silence told), and stays so.
      const deadFrom = states.length;
      const dead = rows[rows.length - 1][0];
      for (let m = 1; m <= 12 * 60; m++) {
        now = dead + m * MIN;
        daemon.housekeep();
      }
      await waitFor(() => states.length > deadFrom, 10_000, 'the stale state');
      expect(states.slice(deadFrom).filter((s, i, a) => s === 'stale' && (i === 0 || a[i - 1] !== 'stale'))).toEqual(['stale']);
      expect(states[states.length - 1]).toBe('stale');
    }, 300_000);
  }
});
