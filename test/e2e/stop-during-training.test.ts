/**
 * Tryout 37, finding 13a: a SIGTERM while an own model trained logged a warn with a stack ("mqtt client not started …
 * SensorStatusBoard.refresh … Learner.stop"): the training ended during the stop, after the MQTT client had ended, and
 * the model it swapped in refreshed its sensor's state through that client. A stop now halts the learner first
 * (Learner.halt, before the client ends): a training that ends during the stop installs nothing and publishes nothing,
 * and one the stop ends (the worker terminated) is no failure. A clean stop logs no warn and no error.
 *
 * The real daemon in-process on its embedded broker, a real SQLite file, learning on (learning.minReadings 256,
 * learning.fallback false: with no model in use the gate takes any model, so a model would be swapped in), and a
 * trainer that answers when the stop reaches it (DaemonAdapters.train's abort signal, which the daemon raises after the
 * MQTT client and the broker have stopped): with a real trained model (the training ended then), or with the
 * signal's error, as the worker's trainer does when it is terminated.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/train/rng.js';
import { trainModel, type TrainResult } from '../../src/train/trainer.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { capturingLogger, inProcessDaemon, scoringHub, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const READINGS = 300;

describe.skipIf(!builtAndModelsPresent())('a stop while an own model trains (in-process daemon, embedded broker, real SQLite file)', () => {
  for (const ending of ['a trained model', 'the abort'] as const) {
    it(`logs no warn or error and installs no model when the training ends with ${ending} during the stop`, async () => {
      const { logger, lines } = capturingLogger();
      let started = false;
      const { daemon, url } = await inProcessDaemon({
        dataDir: tempDataDir('anomalyd-stop-training-', cleanups),
        brokerUrl: null,
        clock: null,
        logger,
        cleanups,
        overrides: { http: { enabled: false }, learning: { enabled: true, minReadings: 256, epochs: 1, fallback: false }, store: { commitIntervalMs: 0 } },
        adapters: {
          train: (series, opts, _onProgress, options) =>
            new Promise<TrainResult>((resolve, reject) => {
              started = true;
              // Trained now, answered when the stop reaches the learner (after the MQTT client ended).
              const result = trainModel(series, opts);
              options?.signal?.addEventListener('abort', () => (ending === 'a trained model' ? resolve(result) : reject(options.signal?.reason as Error)), { once: true });
            }),
        },
      });
      const { send } = await scoringHub(daemon, url, `stop-training-hub-${process.pid}-${ending.length}`, cleanups);
      const rnd = mulberry32(5);
      for (let i = 0; i < READINGS; i++) await send('sensors/room', JSON.stringify({ value: Math.round((21 + Math.sin(i / 9) + 0.2 * rnd()) * 100) / 100 }));
      // The learner's housekeeping tick (real timers) starts the training.
      await waitFor(() => started && daemon.ownModel('room')?.phase === 'training', 30_000, 'the training');
      const from = lines.length;
      await daemon.stop();
      const during = lines.slice(from);
      expect(during.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([]);
      expect(during.map((l) => l.msg)).toContain('training ended by the stop: no model installed; it trains again after the restart');
      expect(during.map((l) => l.msg)).not.toContain('model trained and swapped in');
    }, 120_000);
  }
});
