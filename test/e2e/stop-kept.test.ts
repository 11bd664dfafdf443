/**
 * A graceful stop loses no reading it took in ("nothing is lost"): the daemon in-process on a real mosquitto, a real
 * SQLite file and the real onnxruntime, stopped as SIGTERM stops it (Daemon.stop) while readings it has taken in (and,
 * at QoS 1, acknowledged to the broker) still wait for the model, then started again on the same data directory.
 * Every reading published is scored exactly once across the two runs, in order per sensor (those kept at the stop
 * before the live ones of their sensor), at QoS 1 with a persistent session and at QoS 0 (where the broker re-sends
 * nothing).
 *
 * Deterministic, whatever the machine's speed: the shipped model is wrapped (DaemonAdapters.loadModel) so that its
 * step calls can be held at a gate. The gate is shut before the burst, so the round that takes the burst's first
 * readings waits in its model call and the rest of the burst queues behind it; the stop's drain cannot finish, and
 * `shutdown.deadlineMs` at its minimum (100 ms) makes it end at once. The held call is let go only after the stop; it
 * must add no output. Before (main 49fa9e0), the drain's end dropped what was queued (`pipeline.unsubscribe()`) and the
 * final checkpoint held each sensor's cadence ahead of its scorer: the burst's readings were never scored.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { ScoredReading } from '../../src/contract/types.js';
import type { Daemon } from '../../src/daemon.js';
import { realAdapters } from '../../src/daemon/adapters.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { Gate } from '../helpers/gate.js';
import { capturingLogger, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const cleanups = useCleanups();

const SENSORS = ['sensors/boiler', 'sensors/pump', 'sensors/fan', 'sensors/room', 'sensors/tank', 'sensors/pipe'];
/** Readings per sensor scored before the gate shuts (past the first chunks: model state and checkpoints to keep). */
const WARM = 40;
/** Readings per sensor published with the gate shut: taken in, not scored by the stop. */
const BURST = 150;
/** Readings per sensor published while the daemon is stopped (QoS 1 only: the broker keeps them for the session). */
const DOWN = 30;
/** Readings per sensor published after the restart. */
const LIVE = 30;

/** `reading`'s stream and device time, as a key. */
const keyOf = (r: { stream: string; ts: number }): string => `${r.stream}@${r.ts}`;

describe.skipIf(!ready)('a graceful stop keeps the readings it took in and did not score (in-process, real mosquitto)', () => {
  for (const qos of [1, 0] as const) {
    it(`QoS ${qos}${qos === 1 ? ', persistent session' : ''}: every reading scored exactly once across the stop and the restart, the kept ones first`, async () => {
      const broker = await startMosquitto(cleanups);
      const dataDir = tempDataDir('anomalyd-stop-kept-', cleanups);
      const gate = new Gate();
      const tag = `stop-kept-${qos}-${process.pid}`;
      const overrides = {
        mqtt: { url: broker.url, clientId: tag, clean: qos === 0, qos },
        http: { enabled: false },
        // The drain ends at once (its minimum deadline): what waits for the model then must be kept.
        shutdown: { deadlineMs: 100 },
      } as const;
      const runs: ScoredReading[][] = [[], []];
      const first = capturingLogger();
      const { daemon: one } = await inProcessDaemon({
        dataDir,
        brokerUrl: broker.url,
        overrides,
        clock: null,
        adapters: { loadModel: gate.loader(realAdapters.loadModel) },
        onReading: (r) => runs[0].push(r),
        logger: first.logger,
        cleanups,
      });
      const sensor = await mqtt.connectAsync(broker.url, { clientId: `${tag}-sensor`, clean: qos === 0 });
      cleanups.push(() => sensor.endAsync(true));

      // Device times 1 s apart ending before now; each sensor's own level.
      const total = WARM + BURST + DOWN + LIVE;
      const t0 = Math.floor(Date.now() / 1000) * 1000 - (total + 10) * 1000;
      const published: string[] = [];
      let next = 0;
      const publish = async (count: number): Promise<void> => {
        for (let k = 0; k < count; k++, next++) {
          for (const [s, topic] of SENSORS.entries()) {
            const ts = t0 + next * 1000;
            await sensor.publishAsync(topic, JSON.stringify({ ts, value: Number((20 + 3 * s + Math.sin(next / 5 + s)).toFixed(3)) }), { qos });
            // The stream is named after the topic's last level (the default rule).
            published.push(keyOf({ stream: topic.slice('sensors/'.length), ts }));
          }
        }
      };
      const readingsTaken = (d: Daemon, n: number, what: string): Promise<void> => waitFor(() => d.counters.readings >= n, 60_000, what);

      await publish(WARM);
      await readingsTaken(one, WARM * SENSORS.length, 'the warm-up readings taken');
      await waitFor(() => runs[0].length >= WARM * SENSORS.length, 60_000, 'the warm-up readings scored');

      // The burst with the gate shut: taken in (parsed, on the cadences, acknowledged at QoS 1), not scored.
      gate.close();
      await publish(BURST);
      await readingsTaken(one, (WARM + BURST) * SENSORS.length, 'the burst taken in');
      await waitFor(() => gate.held > 0, 60_000, 'a model call held at the gate');
      const scoredBeforeStop = runs[0].length;
      expect(scoredBeforeStop).toBeLessThan((WARM + BURST) * SENSORS.length);

      expect(await one.stop()).toBe(true);
      const keptAtStop = one.counters.keptAtStop;
      // The held call returns after the stop: it adds no output (what it carried was kept).
      const afterStop = runs[0].length;
      gate.open();
      await gate.done();
      await new Promise((r) => setImmediate(r));
      expect(runs[0].length).toBe(afterStop);

      if (qos === 1) await publish(DOWN);
      const second = capturingLogger();
      const { daemon: two } = await inProcessDaemon({ dataDir, brokerUrl: broker.url, overrides, clock: null, onReading: (r) => runs[1].push(r), logger: second.logger, cleanups });
      await publish(LIVE);
      const expected = published.length;
      await waitFor(() => runs[0].length + runs[1].length >= expected, 120_000, 'every reading scored').catch(() => undefined);

      // Exactly once: every published reading scored, none twice, nothing else.
      const scored = [...runs[0], ...runs[1]].map(keyOf);
      const taken = new Set(scored);
      expect({ twice: scored.length - taken.size, lost: published.filter((k) => !taken.has(k)).length }).toEqual({ twice: 0, lost: 0 });
      expect([...scored].sort()).toEqual([...published].sort());
      // In order per sensor across the two runs: the kept readings before the live ones of their sensor.
      for (const topic of SENSORS) {
        const times = [...runs[0], ...runs[1]].filter((r) => `sensors/${r.stream}` === topic).map((r) => r.ts);
        expect(times.length).toBe(published.length / SENSORS.length);
        expect(times.every((t, i) => i === 0 || t > times[i - 1]), `${topic}'s readings scored in order`).toBe(true);
      }
      // Said both times: counted in the stop's counters and the start's, logged at the stop and at the start.
      const kept = runs[1].length - (qos === 1 ? DOWN + LIVE : LIVE) * SENSORS.length;
      expect(keptAtStop).toBe(kept);
      expect(keptAtStop).toBeGreaterThan(0);
      expect(two.counters.keptFromStop).toBe(keptAtStop);
      expect(first.lines.find((l) => l.msg.startsWith('pipeline did not drain in time'))).toMatchObject({ kept: keptAtStop });
      expect(second.lines.find((l) => l.msg.startsWith('readings kept at the last stop'))).toMatchObject({ kept: keptAtStop });
      // Their rows go with their streams' next checkpoints (a crash from then on restarts from those): nothing is
      // given back twice.
      await waitFor(() => two.database!.loadKeptReadings().length === 0, 60_000, 'the kept rows dropped with their streams’ checkpoints');
      expect(await two.stop()).toBe(true);
      expect(two.counters.keptAtStop).toBe(0);
    }, 300_000);
  }
});
