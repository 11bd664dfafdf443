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
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { gatedDaemon, keyOf } from '../helpers/gated-daemon.js';
import { capturingLogger, useCleanups } from '../helpers/in-process.js';
import { mosquittoAvailable } from '../helpers/mosquitto.js';
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

describe.skipIf(!ready)('a graceful stop keeps the readings it took in and did not score (in-process, real mosquitto)', () => {
  for (const qos of [1, 0] as const) {
    it(`QoS ${qos}${qos === 1 ? ', persistent session' : ''}: every reading scored exactly once across the stop and the restart, the kept ones first`, async () => {
      // The burst with the gate shut: taken in (parsed, on the cadences, acknowledged at QoS 1), not scored; the
      // drain ends at once (its minimum deadline): what waits for the model then must be kept.
      const { daemon: one, gate, lines, runs, published, publish, restart } = await gatedDaemon({
        tag: `stop-kept-${qos}`,
        qos,
        deadlineMs: 100,
        sensors: SENSORS,
        warm: WARM,
        burst: BURST,
        total: WARM + BURST + DOWN + LIVE,
        cleanups,
      });
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
      const two = await restart(second.logger);
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
      expect(lines.find((l) => l.msg.startsWith('pipeline did not drain in time'))).toMatchObject({ kept: keptAtStop });
      expect(second.lines.find((l) => l.msg.startsWith('readings kept at the last stop'))).toMatchObject({ kept: keptAtStop });
      // Their rows go with their streams' next checkpoints (a crash from then on restarts from those): nothing is
      // given back twice.
      await waitFor(() => two.database!.loadKeptReadings().length === 0, 60_000, 'the kept rows dropped with their streams’ checkpoints');
      expect(await two.stop()).toBe(true);
      expect(two.counters.keptAtStop).toBe(0);
    }, 300_000);
  }
});
