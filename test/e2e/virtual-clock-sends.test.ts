/**
 * Finding of the CI-flake audit (session 31, branch ciflakes): a virtual-clock test moves its clock to a message's
 * time, then publishes it; until the daemon has scored it, the daemon's own silence tick (housekeeping, every 2 s of
 * wall time) judged the stream silent from its last reading to the clock's new now. test/e2e/hub-door-few-openings
 * (a minute's jump on a door that reports every 10 s) was told `missing_data` where `stuck` was due, once in a run
 * on a machine at a load of about 20: a tick fell between the jump and the reading. The helpers' scoringHub now
 * counts its message in flight (DaemonOptions.inFlight) from the publish to its scoring, so a tick then judges no
 * silence; a silence with nothing in flight is still judged. On main the tick in flight opened both rooms' silences.
 *
 * The daemon in-process (test/helpers/in-process.ts) on its embedded broker with a virtual clock; the tick is called
 * by the test (Daemon.judgeSilences, what housekeeping runs) at the moment the race needs, not left to the timer.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, scoringHub, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;
/** Readings before the jump: past the learning period (score.learnReadings, 256) with the interval settled. */
const HISTORY = 320;

const cleanups = useCleanups();

describe.skipIf(!builtAndModelsPresent())('a virtual clock moved on, then a message sent (scoringHub)', () => {
  it('a silence tick while the message is in flight judges no stream; once it is scored, the stream that stayed silent is told', async () => {
    const dataDir = tempDataDir('anomalyd-vclock-sends-', cleanups);
    let now = Date.UTC(2026, 0, 12, 10, 0, 0);
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, clock: () => now, cleanups, overrides: { store: { commitIntervalMs: 0 } } });
    const { send } = await scoringHub(daemon, url, `vclock-sends-${process.pid}`, cleanups);
    const rnd = lcg(31);
    const reading = (): string => (21 + Math.round(4 * rnd()) / 10).toFixed(1);
    // Two rooms read every 10 s, a second apart.
    for (let i = 0; i < HISTORY; i++) {
      now += 9 * SEC;
      await send('sensors/kitchen', reading());
      now += 1 * SEC;
      await send('sensors/hall', reading());
    }
    daemon.judgeSilences();
    expect(daemon.counters.events).toBe(0);

    // An hour on (both rooms silent that long), the kitchen's next reading sent, and the tick before the daemon has
    // taken it: nothing is judged.
    now += 60 * MIN;
    const sent = send('sensors/kitchen', reading());
    daemon.judgeSilences();
    expect(daemon.counters.events).toBe(0);
    await sent;
    // Scored (the kitchen's gap judged at its reading, as any reading's), the tick judges again: the hall, silent an
    // hour, is told (a tick with nothing in flight does judge: the test can fail).
    const hall = (): string[] => daemon.database!.listAnomalies({ sensor: 'hall', limit: 10 }).map((a) => `${a.status} ${a.kind}`);
    expect(hall()).toEqual([]);
    daemon.judgeSilences();
    expect(hall()).toEqual(['open missing_data']);
  }, 120_000);
});
