/**
 * Tryout 28, finding 5: a hub that sends no time (zigbee2mqtt, ESPHome's plain states, Tasmota without Time) queues
 * its readings while its broker is away and sends them at the reconnect; stamped on arrival, they come within a
 * fraction of a second. A plug cycling 60 W for 10 s every 40 s, its queue of a 19 s outage flushed as 20 readings
 * within 0.33 s, among them a normal on phase, was told `open plug1/power 58.7 W, expected 40.2 ± 17 (off the usual
 * cycle)`, then `update spike 0.5 W`. Those readings have no true times: the kinds that judge when a reading came (the
 * cycle's phase, a dwell's or a run's length, an arrival's surprise) do not judge them (src/pipeline/detector.ts,
 * arrival-stamped bursts); their values are still judged.
 *
 * The detector the daemon runs (shipped configuration and model, messages stamped with their arrival), fed zigbee2mqtt payloads ({"power": …}, no time)
 * stamped on arrival, with and without the daemon's own deafness (Detector.excuseGap: the daemon lost the broker too;
 * without it, only the hub's link was down). The outage starts at every fifth reading of the 40 s cycle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/train/rng.js';
import { MODELS } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 11, 3, 17, 0, 0);
const SEC = 1000;
const TOPIC = 'zigbee2mqtt/plug1';
const STREAM = 'plug1/power';

interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly receivedAt: number;
}

/**
 * The plug's messages: one a second (± 30 ms) for `total` seconds, 60 ± 2 W for the first 10 of every 40, else 0.5 W;
 * those sent in [downAt, downAt + down) s are queued and arrive at the reconnect, 17 ms apart, before the reading sent
 * then. `odd`: the second whose reading is that value instead (a value the plug never takes).
 */
function plug(seed: number, downAt: number, down: number, total: number, odd?: { at: number; value: number }): { messages: Message[]; burstFrom: number } {
  const rnd = mulberry32(seed);
  const messages: Message[] = [];
  const queued: number[] = [];
  let burstFrom = -1;
  for (let k = 0; k < total; k++) {
    const sent = T0 + k * SEC + Math.round((rnd() * 2 - 1) * 30);
    let v = k % 40 < 10 ? Math.round((60 + (rnd() * 2 - 1) * 2) * 10) / 10 : 0.5;
    if (odd !== undefined && k === odd.at) v = odd.value;
    if (k >= downAt && k < downAt + down) {
      queued.push(v);
      continue;
    }
    const at = (value: number, receivedAt: number): void => {
      messages.push({ topic: TOPIC, payload: Buffer.from(JSON.stringify({ power: value, linkquality: 120, state: value > 10 ? 'ON' : 'OFF' })), receivedAt });
    };
    if (queued.length > 0) {
      burstFrom = messages.length;
      queued.forEach((q, i) => at(q, sent + 17 * i));
      at(v, sent + 17 * queued.length);
      queued.length = 0;
    } else at(v, sent);
  }
  return { messages, burstFrom };
}

/** Events after the first `from` messages (opens and updates, with their sentences). */
async function run(messages: readonly Message[], burstFrom: number, excuse: boolean): Promise<string[]> {
  const { det, book } = await shippedDetector([], { presets: ['zigbee2mqtt'] }, true);
  const out: Explained[] = [];
  await feedMessages(det, book, messages.slice(0, burstFrom), out);
  expect(Math.abs((det.intervalOf(STREAM) ?? 0) - SEC)).toBeLessThan(50);
  expect(out.filter((x) => x.ev.kind === 'open')).toEqual([]);
  // The daemon lost the broker as well: deaf until the reconnect (the first queued reading's arrival).
  if (excuse) det.excuseGap(STREAM, messages[burstFrom].receivedAt);
  const after: Explained[] = [];
  await feedMessages(det, book, messages.slice(burstFrom), after, false, burstFrom);
  return after.map((x) => `${x.ev.kind} ${x.e?.sentence ?? '(no sentence)'}`);
}

describe.skipIf(!existsSync(join(MODELS, 'gru.json')))('readings a hub queued during a broker outage, flushed as a burst stamped on arrival (tryout 28, finding 5)', () => {
  for (const excuse of [true, false]) {
    it(`a duty-cycle plug behaving as usual is no episode (${excuse ? 'the daemon lost the broker too' : 'only the hub’s link was down'})`, async () => {
      const told: string[] = [];
      for (let start = 0; start < 40; start += 5) {
        // 40 minutes of the plug (its cycle learnt), then a 19 s outage starting at `start` of a cycle, 10 minutes after.
        const { messages, burstFrom } = plug(28 + start, 2400 + start, 19, 3000);
        told.push(...(await run(messages, burstFrom, excuse)).map((s) => `outage at ${start} s of the cycle: ${s}`));
      }
      expect(told).toEqual([]);
    }, 600_000);
  }

  it('a value the plug never takes inside such a burst is still told', async () => {
    const { messages, burstFrom } = plug(5, 2410, 19, 2600, { at: 2415, value: 900 });
    const told = await run(messages, burstFrom, true);
    expect(told.length).toBeGreaterThan(0);
    expect(told[0]).toMatch(/^open plug1\/power 900/);
  }, 120_000);
});
