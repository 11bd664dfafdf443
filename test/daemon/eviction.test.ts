/**
 * Idle eviction (issue 12, "bounded and fair"), with fake stages: the idle span counted in each sensor's
 * own interval, the order of what eviction does, revival from the checkpoint, and the bounded log. The
 * checkpoint round trip runs against the real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { Checkpoints, type CheckpointSubject } from '../../src/daemon/checkpoints.js';
import type { AnomalyRecord } from '../../src/contract/store.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { IdleEviction, idleEvictionFor, type EvictionDeps } from '../../src/daemon/eviction.js';
import { SummaryLog } from '../../src/daemon/summary-log.js';
import { captureLogs } from '../http/helpers.js';

const MIN = 60_000;

function setup(intervals: Record<string, number | undefined>, opts = { idleAfterIntervals: 100, idleAfterMinMs: 10 * MIN }) {
  let now = 0;
  const calls: string[] = [];
  const logs = captureLogs();
  const checkpointed = new Set<string>();
  const deps: EvictionDeps = {
    intervalOf: (s) => intervals[s],
    checkpoint: (s) => {
      calls.push(`checkpoint ${s}`);
      checkpointed.add(s);
    },
    forget: (s) => calls.push(`forget ${s}`),
    revive: (s) => {
      const had = checkpointed.delete(s);
      if (had) calls.push(`revive ${s}`);
      return had;
    },
    log: new SummaryLog(logs.logger, 'info', 'idle sensor evicted', MIN),
  };
  const eviction = new IdleEviction(deps, { ...opts, now: () => now });
  return { eviction, calls, logs, advance: (ms: number) => (now += ms) };
}

describe('IdleEviction', () => {
  it('counts idleness in each sensor\'s own interval, never below the minimum', () => {
    const { eviction } = setup({ fast: 1000, slow: 300_000, unknown: undefined, learning: 0 });
    expect(eviction.idleSpan('fast')).toBe(10 * MIN); // 100 x 1 s = 100 s, raised to the 10 min floor
    expect(eviction.idleSpan('slow')).toBe(100 * 300_000); // 100 readings of 5 min
    expect(eviction.idleSpan('unknown')).toBe(10 * MIN);
    expect(eviction.idleSpan('learning')).toBe(10 * MIN);
  });

  it('evicts only idle sensors: checkpoint, then forget; a valid reading revives one', () => {
    const { eviction, calls, advance } = setup({ fast: 1000, slow: 300_000 });
    eviction.seen('fast');
    eviction.seen('slow');
    advance(10 * MIN - 1);
    expect(eviction.sweep()).toBe(0);
    advance(1);
    expect(eviction.sweep()).toBe(1);
    expect(calls).toEqual(['checkpoint fast', 'forget fast']);
    expect(eviction.size).toBe(1);
    // The slow sensor is not idle until 100 of its own intervals passed.
    advance(100 * 300_000 - 10 * MIN - 1);
    expect(eviction.sweep()).toBe(0);
    eviction.seen('fast');
    expect(calls.at(-1)).toBe('revive fast');
    expect(eviction.revived).toBe(1);
    advance(1);
    expect(eviction.sweep()).toBe(1);
    expect(eviction.evicted).toBe(2);
  });

  it('tracks the sensors restored at start, so they go too if they never come back', () => {
    const { eviction, advance } = setup({});
    eviction.track(['restored-1', 'restored-2']);
    advance(10 * MIN);
    expect(eviction.sweep()).toBe(2);
  });

  it('counts a restored sensor idle from its last arrival when given (tryout 16, finding 5), else from now', () => {
    const { eviction, advance } = setup({});
    advance(60 * MIN);
    // silent-6: silent 6 min at the stop; fresh: no arrival known.
    eviction.track(['silent-6', 'fresh'], (s) => (s === 'silent-6' ? 54 * MIN : undefined));
    advance(4 * MIN - 1);
    expect(eviction.sweep()).toBe(0);
    advance(1);
    expect(eviction.sweep()).toBe(1);
    advance(6 * MIN);
    expect(eviction.sweep()).toBe(1);
  });

  it('logs evictions as one line per interval however many there are', () => {
    const { eviction, logs, advance } = setup({});
    for (let i = 0; i < 10_000; i++) eviction.seen(`junk-${i}`);
    advance(10 * MIN);
    expect(eviction.sweep()).toBe(10_000);
    advance(MIN);
    eviction.sweep();
    const lines = logs.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ msg: 'idle sensor evicted', sensor: 'junk-0' });
    expect(lines[1]).toMatchObject({ count: 9_999 });
    expect((lines[1].examples as unknown[]).length).toBe(5);
  });
});

describe('SummaryLog', () => {
  it('logs the first `burst` of an interval one by one, then one summary per interval', () => {
    const logs = captureLogs();
    const log = new SummaryLog(logs.logger, 'info', 'sensor status', 1000, 3);
    for (let i = 0; i < 100; i++) log.note(0, { sensor: `s${i}` });
    log.drain(999);
    expect(logs.lines()).toHaveLength(3);
    log.drain(1000);
    expect(logs.lines()).toHaveLength(4);
    expect(logs.lines()[3]).toMatchObject({ count: 97 });
    // Under sustained load: one line per interval.
    for (let t = 1000; t < 10_000; t += 10) log.note(t, { sensor: 'x' });
    for (let t = 1000; t <= 10_000; t += 100) log.drain(t);
    expect(logs.lines().length).toBeLessThanOrEqual(4 + 10);
    // After a quiet interval, the next ones are logged at once again.
    log.drain(20_000, true);
    const before = logs.lines().length;
    log.note(40_000, { sensor: 'back' });
    expect(logs.lines()).toHaveLength(before + 1);
  });
});

describe('Checkpoints of evicted sensors', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('are left out at start and restored when the sensor comes back, unless too old', () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-evict-'));
    dirs.push(dir);
    const store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    const restored = new Map<string, unknown>();
    const subject: CheckpointSubject = {
      sensors: () => ['live'],
      snapshot: (s) => ({ sensor: s, n: 42 }),
      restore: (states) => {
        for (const [k, v] of states) restored.set(k, v);
        return [];
      },
    };
    let now = 1_000_000;
    const cp = new Checkpoints(store, subject, { intervalMs: 1000, maxAgeMs: 3_600_000, now: () => now, logger: pino({ level: 'silent' }) });
    cp.save();
    expect(cp.saveEvicted('gone')).toBe(true);
    expect(cp.restore()).toEqual(['live']);
    expect([...restored.keys()]).toEqual(['live']);
    expect(cp.revive('gone')).toBe(true);
    expect(restored.get('gone')).toEqual({ sensor: 'gone', n: 42 });
    expect(cp.revive('never-seen')).toBe(false);
    expect(cp.revive('live')).toBe(false); // not an evicted checkpoint
    now += 3_600_001;
    expect(cp.revive('gone')).toBe(false);
    store.close();
  });
});

describe('IdleEviction while the daemon is behind', () => {
  it('sweeps nothing while readings wait unread (backpressure), then evicts as usual', () => {
    let now = 0;
    let busy = true;
    const forgotten: string[] = [];
    const logs = captureLogs();
    const eviction = new IdleEviction(
      {
        intervalOf: () => undefined,
        checkpoint: () => undefined,
        forget: (s) => forgotten.push(s),
        revive: () => false,
        log: new SummaryLog(logs.logger, 'info', 'idle sensor evicted', MIN),
      },
      { idleAfterIntervals: 100, idleAfterMinMs: MIN, now: () => now, busy: () => busy },
    );
    eviction.seen('a');
    now += 10 * MIN;
    expect(eviction.sweep()).toBe(0);
    busy = false;
    expect(eviction.sweep()).toBe(1);
    expect(forgotten).toEqual(['a']);
  });
});

describe('Eviction of a sensor with an episode open', () => {
  it('keeps every sensor with an open episode, of any kind, in the detector or in the store, and resolves nothing (tryout 16, finding 2; tryout 18, finding 1); resolves what an earlier version left open when the sensor comes back without its checkpoint', () => {
    let now = 0;
    const recorded: { kind: string; anomalyId: string }[] = [];
    const record = (id: string, sensor: string, windows: number): AnomalyRecord =>
      ({ id, sensor, status: 'open', startTs: 1000, endTs: 900_000, peakScore: 0.99999, lastScore: 0.99999, threshold: 0.99999, model: 'none', paddedFraction: 0, channels: [{ name: 'value', error: 5.2 }], windows, explanation: null }) as unknown as AnomalyRecord;
    // In the store: a silence alarm (dead), a level shift whose sensor then died (pump), one no detector holds (stored).
    const open = new Map<string, AnomalyRecord>([
      ['dead', record('a-dead', 'dead', 900)],
      ['pump', record('a-pump', 'pump', 40)],
      ['stored', record('a-stored', 'stored', 3)],
    ]);
    // In the detector: the silence and the level shift.
    const detected = new Map([
      ['dead', 'a-dead'],
      ['pump', 'a-pump'],
    ]);
    const store = {
      listAnomalies: (q: { sensor: string }) => (open.has(q.sensor) ? [open.get(q.sensor)!] : []),
      recordEvent: (ev: AnomalyEvent) => {
        recorded.push({ kind: ev.kind, anomalyId: ev.anomalyId });
        open.delete(ev.sensor);
        return 1;
      },
    };
    const forgotten: string[] = [];
    const eviction = idleEvictionFor(
      {
        detector: {
          intervalOf: () => 1000,
          openAnomaly: (s) => detected.get(s) ?? null,
          forget: (s) => void forgotten.push(s),
        },
        board: null,
        others: () => [],
        learner: null,
        checkpoints: { saveEvicted: () => true, revive: () => false },
        store,
        alertTopic: (s) => `anomalyd/alerts/${s}`,
        log: pino({ level: 'silent' }),
      },
      { idleAfterIntervals: 100, idleAfterMinMs: 10 * MIN, logIntervalMs: MIN, now: () => now },
    );
    // Restored at start (their open episodes with them), and one with nothing open.
    eviction.track(['dead', 'pump', 'stored', 'quiet']);
    now += 10 * MIN;
    expect(eviction.sweep()).toBe(1);
    // Only the sensor with nothing open goes; nothing is resolved; the others stay (listed, judged), sweep after sweep.
    expect(forgotten).toEqual(['quiet']);
    expect(recorded).toEqual([]);
    expect([...open.keys()]).toEqual(['dead', 'pump', 'stored']);
    expect(eviction.keptOpen).toBe(3);
    now += 60 * MIN;
    expect(eviction.sweep()).toBe(0);
    expect(forgotten).toEqual(['quiet']);
    // Once nothing of it is open (its next reading ended the episode, then it went idle again), it goes.
    detected.delete('pump');
    open.delete('pump');
    expect(eviction.sweep()).toBe(1);
    expect(forgotten).toEqual(['quiet', 'pump']);
    expect(recorded).toEqual([]);
    // A sensor an earlier version evicted with its silence alert open, back after its checkpoint could be restored
    // (too old here): what the store holds open of it is resolved.
    open.set('gone', record('a-gone', 'gone', 900));
    eviction.seen('gone');
    expect(recorded).toEqual([{ kind: 'resolve', anomalyId: 'a-gone' }]);
  });
});
