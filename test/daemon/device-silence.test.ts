/**
 * DeviceSilences on its own (src/daemon/device-silence.ts): when a field's silence is told in its device's one
 * episode, and when that episode ends. The daemon's parts are fakes here (a unit test of one stage); the e2e test
 * (test/e2e/device-silence.test.ts) runs it through the broker, the store and a restart.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { DeviceSilences } from '../../src/daemon/device-silence.js';

const SEC = 1000;

function book(heard: Record<string, number>, intervals: Record<string, number>, refuse = false, readAt: Record<string, number> = {}) {
  const recorded: Array<{ ev: AnomalyEvent; explanation: AlertExplanation }> = [];
  let n = 0;
  const silences = new DeviceSilences({
    streamsOf: (device) => Object.keys(heard).filter((s) => s.startsWith(`${device}/`)),
    heardAt: (stream) => heard[stream] ?? null,
    lastReadingAt: (stream) => readAt[stream] ?? null,
    intervalOf: (stream) => intervals[stream],
    record: (ev, explanation) => {
      if (refuse) return false;
      recorded.push({ ev, explanation });
      return true;
    },
    newId: () => `dev-${++n}`,
    threshold: 5,
    timeZone: 'UTC',
    log: pino({ level: 'silent' }),
  });
  return { silences, recorded };
}

describe('DeviceSilences', () => {
  const t0 = Date.UTC(2026, 11, 3, 18, 14, 48);

  it('fields last heard together, all overdue: one episode of the device, ended with its last member', () => {
    const { silences, recorded } = book({ 'plug/a': t0, 'plug/b': t0 + 200, 'plug/c': t0 + 400 }, { 'plug/a': 10 * SEC, 'plug/b': 10 * SEC, 'plug/c': 10 * SEC });
    const now = t0 + 60 * SEC;
    expect(silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(true);
    expect(silences.silenceOpened('plug/b', 'plug', 'b1', now + 2 * SEC)).toBe(true);
    expect(recorded.map((r) => [r.ev.kind, r.ev.sensor, r.explanation.kind])).toEqual([['open', 'plug', 'missing_data']]);
    expect(recorded[0].explanation.sentence).toBe('plug: no reading from any of its 3 fields since 18:14 (missing data)');
    expect(silences.episodeOfMember('b1')).toBe('dev-1');
    silences.memberEnded('a1', now + 10 * SEC);
    expect(recorded).toHaveLength(1);
    silences.memberEnded('b1', now + 12 * SEC);
    expect(recorded.map((r) => [r.ev.kind, r.ev.anomalyId, r.ev.resolution ?? null])).toEqual([
      ['open', 'dev-1', null],
      ['resolve', 'dev-1', 'recovered'],
    ]);
    expect(silences.memberOf('b1')).toBe(false);
    expect(silences.active).toBe(false);
  });

  it('an episode of another kind a field’s silence is told in (an update) opens the device’s episode as an announced member: its updates not alerted, its resolve alerted, no toldIn', () => {
    // Tryout 37, finding 7: th1/temperature's drift episode, then th1 stopped: the device's alert and the drift's update.
    const { silences, recorded } = book({ 'th1/temperature': t0, 'th1/humidity': t0 + 300 }, { 'th1/temperature': 2 * SEC, 'th1/humidity': 2 * SEC });
    const now = t0 + 46 * SEC;
    expect(silences.silenceOpened('th1/temperature', 'th1', 'drift', now, true)).toBe(true);
    expect(silences.silenceOpened('th1/humidity', 'th1', 'hum', now)).toBe(true);
    expect(recorded.map((r) => [r.ev.kind, r.ev.sensor])).toEqual([['open', 'th1']]);
    expect([silences.alerts('drift', 'update'), silences.alerts('drift', 'resolve'), silences.toldIn('drift')]).toEqual([false, true, undefined]);
    expect([silences.alerts('hum', 'update'), silences.alerts('hum', 'resolve'), silences.toldIn('hum')]).toEqual([false, false, 'dev-1']);
    expect(silences.alerts('other', 'update')).toBe(true);
    silences.memberEnded('drift', now + 2 * SEC);
    silences.memberEnded('hum', now + 2 * SEC);
    expect(recorded.map((r) => [r.ev.kind, r.ev.anomalyId])).toEqual([
      ['open', 'dev-1'],
      ['resolve', 'dev-1'],
    ]);
  });

  it('a device that sends its readings in batches: since its fields’ last reading on its own clock, as their silences tell it', () => {
    // Tryout 31, finding 1: a Tasmota plug's batch of 10 s readings arrived at 18:14:48, its last reading taken at 18:09:36;
    // the fields' silences said `since 18:09`, the device's episode `since 18:14` (the batch's arrival).
    const arrived = { 'iron/a': t0, 'iron/b': t0 + 100 };
    const taken = { 'iron/a': t0 - 5 * 60 * SEC - 12 * SEC, 'iron/b': t0 - 5 * 60 * SEC - 2 * SEC };
    const { silences, recorded } = book(arrived, { 'iron/a': 10 * SEC, 'iron/b': 10 * SEC }, false, taken);
    expect(silences.silenceOpened('iron/a', 'iron', 'a1', t0 + 60 * SEC)).toBe(true);
    expect(recorded[0].ev.startTs).toBe(taken['iron/b']);
    expect(recorded[0].explanation.since).toBe(new Date(taken['iron/b']).toISOString());
    expect(recorded[0].explanation.sentence).toBe('iron: no reading from any of its 2 fields since 18:09 (missing data)');
    // A reading stamped ahead of its arrival (a clock ahead) counts from its arrival.
    const ahead = book(arrived, { 'iron/a': 10 * SEC, 'iron/b': 10 * SEC }, false, { 'iron/a': t0 + 3600 * SEC, 'iron/b': t0 + 3600 * SEC });
    expect(ahead.silences.silenceOpened('iron/a', 'iron', 'a1', t0 + 60 * SEC)).toBe(true);
    expect(ahead.recorded[0].ev.startTs).toBe(t0 + 100);
  });

  it('a field still reporting, a field silent long before, a slow field not yet due, a device of one stream: told per field', () => {
    const i = { 'plug/a': 10 * SEC, 'plug/b': 10 * SEC };
    const now = t0 + 60 * SEC;
    // b heard 5 s ago: still reporting.
    expect(book({ 'plug/a': t0, 'plug/b': now - 5 * SEC }, i).silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(false);
    // b stopped 30 s before a (three of its intervals): not together.
    expect(book({ 'plug/a': t0, 'plug/b': t0 - 30 * SEC }, i).silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(false);
    // A heartbeat field read every 10 min, heard with the others, is not due yet: the device is not all silent.
    expect(book({ 'plug/a': t0, 'plug/b': t0 }, { 'plug/a': 10 * SEC, 'plug/b': 600 * SEC }).silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(false);
    // Heard after the others stopped (the device still talks), though not due yet.
    expect(book({ 'plug/a': t0, 'plug/b': t0, 'plug/c': now - 30 * SEC }, { ...i, 'plug/c': 600 * SEC }).silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(false);
    expect(book({ 'plug/a': t0 }, { 'plug/a': 10 * SEC }).silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(false);
    // The store refused the device's open: told per field.
    expect(book({ 'plug/a': t0, 'plug/b': t0 }, i, true).silences.silenceOpened('plug/a', 'plug', 'a1', now)).toBe(false);
  });

  it('a heartbeat field heard with the others, not due yet, does not keep the others apart: told as part of the device', () => {
    const { silences, recorded } = book({ 'plug/a': t0, 'plug/b': t0, 'plug/c': t0 }, { 'plug/a': 10 * SEC, 'plug/b': 10 * SEC, 'plug/c': 600 * SEC });
    expect(silences.silenceOpened('plug/a', 'plug', 'a1', t0 + 60 * SEC)).toBe(true);
    expect(recorded[0].explanation.sentence).toBe('plug: no reading from 2 of its 3 fields since 18:14 (missing data)');
  });

  it('restored with no member open: the first reading of the device ends it; restored members end it with the last', () => {
    const { silences, recorded } = book({ 'plug/a': t0, 'plug/b': t0 }, { 'plug/a': 10 * SEC, 'plug/b': 10 * SEC });
    silences.restore('plug', 'dev-9', t0, 'plug: no reading from any of its 2 fields since 18:14 (missing data)');
    silences.reading('other', t0 + 5 * 60 * SEC);
    expect(recorded).toHaveLength(0);
    silences.reading('plug', t0 + 5 * 60 * SEC);
    expect(recorded.map((r) => [r.ev.kind, r.ev.anomalyId])).toEqual([['resolve', 'dev-9']]);
    expect(recorded[0].explanation.sentence).toBe('plug: no reading from any of its 2 fields since 18:14; readings again at 18:19, after 5 min (missing data)');

    silences.restore('plug', 'dev-10', t0, null);
    silences.restoreMember('plug', 'a1');
    silences.reading('plug', t0 + 60 * SEC);
    expect(recorded).toHaveLength(1);
    silences.memberEnded('a1', t0 + 61 * SEC);
    expect(recorded.map((r) => [r.ev.kind, r.ev.anomalyId])).toEqual([['resolve', 'dev-9'], ['resolve', 'dev-10']]);
  });
});
