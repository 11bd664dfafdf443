/**
 * A report-on-change stream's quiet is its own (src/pipeline/detector.ts, OWN_QUIET_SHARE): a door that sends its
 * state only when it changes is quiet between openings, and shut a few seconds after it opened. Stamped on arrival (a
 * zigbee2mqtt contact, as the daemon takes it), its closing came within a quarter of its interval after the opening,
 * which ended a quiet stretch: branch `burst` took it for a hub's queue flushed at a reconnect (an arrival-stamped
 * burst, docs/SCORING.md), so that opening was not taught as a dwell of the door, and `counters.arrivalBurst` counted
 * readings no broker had held back (about half the door's closings). A second real change soon after the first is no
 * flushed queue: once the stream is seen to keep quiet on its own, its readings are judged by when they came, as replay
 * judges them; after the daemon's own deafness (excuseGap) a burst is still one (test/pipeline/arrival-burst.test.ts).
 * The real parser (zigbee2mqtt preset) and detector with the shipped configuration, no model.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { ROOT } from '../helpers/daemon.js';
import { feedMessages, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;
const T0 = Date.UTC(2026, 11, 4, 6, 0, 0);
const STREAM = 'door/contact';

type Message = { topic: string; payload: Buffer; receivedAt: number };

/** The shipped detector, its messages stamped on arrival as the daemon's are (`stampsOnArrival`), or not (replay). */
function shipped(stampsOnArrival: boolean): Detector {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { ingest: { presets: ['zigbee2mqtt'], timezone: 'UTC' } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  let ids = 0;
  const parser = new MessageParser(parseOptionsOf(loaded.config));
  return new Detector(detectorOptions(loaded.config), { parser, modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}`, stampsOnArrival });
}

/** A zigbee2mqtt door contact on change only: opened every 1 to 3 min, shut 3 to 8 s later, for `hours`; no time in its payload. */
function door(seed: number, hours: number): Message[] {
  const rnd = lcg(seed);
  const msg = (closed: boolean, at: number): Message => ({ topic: 'zigbee2mqtt/door', payload: Buffer.from(JSON.stringify({ battery: 100, contact: closed, linkquality: 60, voltage: 3005 })), receivedAt: at });
  const out: Message[] = [];
  for (let t = T0 + MIN; t < T0 + hours * 60 * MIN; t += Math.round((60 + 120 * rnd()) * SEC)) {
    out.push(msg(false, t), msg(true, t + Math.round((3 + 5 * rnd()) * SEC)));
  }
  return out;
}

describe('a report-on-change stream stamped on arrival: a second change soon after a quiet stretch is no flushed queue', () => {
  for (const seed of [1, 2, 3]) it(`a door opened every 1 to 3 min for 3 to 8 s (seed ${seed}): its openings are taught as replay teaches them, and none of its readings counts as a burst once its quiet is known`, async () => {
    const messages = door(seed, 6);
    const first = messages.findIndex((m) => m.receivedAt >= T0 + 60 * MIN);
    const runs = await Promise.all([true, false].map(async (stamped) => {
      const det = shipped(stamped);
      const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
      const out: Explained[] = [];
      await feedMessages(det, book, messages.slice(0, first), out);
      const early = { bursts: det.arrivalBurst, have: det.heldProgress(STREAM)?.have ?? 0 };
      await feedMessages(det, book, messages.slice(first), out, false, first);
      // The door used as usual: nothing told, either way.
      expect(out.map((x) => x.e?.sentence ?? x.ev.sensor)).toEqual([]);
      return { early, bursts: det.arrivalBurst, have: det.heldProgress(STREAM)?.have ?? 0 };
    }));
    const [daemon, replay] = runs;
    // Five hours of openings after the first: no reading of the door taken for a hub's queue.
    expect(daemon.bursts - daemon.early.bursts).toBe(0);
    // Each of those openings taught as a dwell of the door, as replay (its readings' own times) teaches it.
    expect(daemon.have - daemon.early.have).toBe(replay.have - replay.early.have);
    expect(replay.have - replay.early.have).toBeGreaterThan(100);
  }, 120_000);
});

describe("a report-on-change stream's own quiet across a restart (its share is checkpointed)", () => {
  it('a door restored from its snapshot keeps quiet on its own from its first reading after the restart; a share out of [0, 1] is skipped', async () => {
    const first = shipped(true);
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
    await feedMessages(first, book, door(4, 2), []);
    expect(first.ownQuiet(STREAM)).toBe(true);
    const state = JSON.parse(JSON.stringify(first.snapshot(STREAM))) as { holeShare?: unknown };
    expect(state.holeShare).toBeGreaterThanOrEqual(1 / 8);
    // A fresh detector knows nothing of the stream: its quiet is learnt from about five readings on.
    expect(shipped(true).ownQuiet(STREAM)).toBe(false);
    const second = shipped(true);
    expect(second.restore(STREAM, state)).toEqual([]);
    expect(second.ownQuiet(STREAM)).toBe(true);
    // A checkpoint written before the share was kept: learnt again, from 0.
    const older = shipped(true);
    expect(older.restore(STREAM, { ...state, holeShare: undefined })).toEqual([]);
    expect(older.ownQuiet(STREAM)).toBe(false);
    const broken = shipped(true);
    expect(broken.restore(STREAM, { ...state, holeShare: 3 })).toEqual([`hole share ${STREAM}: holeShare must be a number in [0, 1]`]);
    expect(broken.ownQuiet(STREAM)).toBe(false);
  }, 120_000);
});
