/**
 * DeviceFaults (src/daemon/device-faults.ts): which episodes of one device's fields are told in one alert, and when
 * the lead's resolve is stored. The end-to-end case (a Tasmota plug's spike through the broker) is
 * test/e2e/device-alerts.test.ts.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { DeviceFaults, JOIN_READINGS, togetherSentence } from '../../src/daemon/device-faults.js';

const INTERVAL = 10_000;
const T0 = Date.UTC(2026, 11, 5, 16, 53);

function event(kind: AnomalyEvent['kind'], sensor: string, id: string, startTs: number, endTs = startTs): AnomalyEvent {
  return { kind, sensor, anomalyId: id, startTs, endTs, peakScore: 1, score: 1, threshold: 0.99999, modelId: 'm', paddedFraction: 0, channelErrors: [], channels: [], windows: 1 };
}

function explanation(stream: string, since: number, kind: AlertExplanation['kind'] = 'spike'): AlertExplanation {
  return { kind, sentence: `${stream} far off (spike)`, stream, channel: 'value', unit: null, value: 1, expected: 0, band: 1, basis: 'baseline', since: new Date(since).toISOString(), shares: null, stretch: { ts: [], values: [], expected: null, band: null } };
}

/** The book over a plug of 5 fields at INTERVAL, what it records, and its turn's flush run by hand. */
function book(): { faults: DeviceFaults; recorded: AnomalyEvent[]; turn: () => void } {
  const recorded: AnomalyEvent[] = [];
  let pending: (() => void) | null = null;
  const faults = new DeviceFaults({
    streamsOf: (device) => (device === 'plug' ? ['Power', 'ApparentPower', 'ReactivePower', 'Current', 'Voltage'].map((f) => `plug/ENERGY.${f}`) : [device]),
    intervalOf: () => INTERVAL,
    record: (ev) => {
      recorded.push(ev);
      return true;
    },
    later: (fn) => {
      pending = fn;
    },
    log: pino({ level: 'silent' }),
  });
  return {
    faults,
    recorded,
    turn: () => {
      const fn = pending;
      pending = null;
      fn?.();
    },
  };
}

const open = (faults: DeviceFaults, field: string, id: string, ts: number, since = ts): boolean =>
  faults.hold(event('open', `plug/ENERGY.${field}`, id, ts), explanation(`plug/ENERGY.${field}`, since), `plug/ENERGY.${field}`, 'plug');

describe('DeviceFaults', () => {
  it('tells the opens of one turn of a device’s fields in the first one’s alert, the others stored with it', () => {
    const { faults, recorded, turn } = book();
    for (const [f, id] of [['Power', 'p'], ['ApparentPower', 'a'], ['ReactivePower', 'r'], ['Current', 'c']] as const) expect(open(faults, f, id, T0)).toBe(true);
    expect(recorded).toEqual([]);
    expect(faults.holding('a')).toBe(true);
    turn();
    expect(recorded.map((e) => [e.anomalyId, e.toldWith ?? null, e.together?.map((f) => f.anomaly_id) ?? null])).toEqual([
      ['p', null, ['p', 'a', 'r', 'c']],
      ['a', 'p', null],
      ['r', 'p', null],
      ['c', 'p', null],
    ]);
    expect(faults.leadOf('c')).toBe('p');
    expect(faults.together('p')?.map((f) => f.stream)).toEqual(['Power', 'ApparentPower', 'ReactivePower', 'Current'].map((f) => `plug/ENERGY.${f}`));
  });

  it('a later open joins within JOIN_READINGS of the lead’s open or of the start of what it tells, not beyond', () => {
    const { faults, recorded, turn } = book();
    open(faults, 'Power', 'p', T0);
    turn();
    open(faults, 'Current', 'c', T0 + JOIN_READINGS * INTERVAL);
    turn();
    expect(faults.leadOf('c')).toBe('p');
    // A frozen meter: told stuck minutes later, its run began with the lead's.
    open(faults, 'ReactivePower', 'r', T0 + 20 * INTERVAL, T0 + INTERVAL);
    turn();
    expect(faults.leadOf('r')).toBe('p');
    // Another fault, further apart: its own alert.
    open(faults, 'ApparentPower', 'a', T0 + 20 * INTERVAL, T0 + 20 * INTERVAL);
    turn();
    expect(faults.leadOf('a')).toBeUndefined();
    expect(recorded.find((e) => e.anomalyId === 'a')?.toldWith).toBeUndefined();
    expect(faults.together('p')?.map((f) => f.anomaly_id)).toEqual(['p', 'c', 'r']);
  });

  it('holds the lead’s resolve while a field told with it is open, and stores it at the last one’s end, its end the later', () => {
    const { faults, recorded, turn } = book();
    open(faults, 'Power', 'p', T0);
    open(faults, 'Current', 'c', T0);
    turn();
    const resolve = event('resolve', 'plug/ENERGY.Power', 'p', T0, T0 + INTERVAL);
    expect(faults.leadEnded(resolve, null)).toBe(true);
    expect(recorded).toHaveLength(2);
    faults.memberEnded('c', T0 + 5 * INTERVAL);
    expect(recorded).toHaveLength(3);
    expect(recorded[2]).toMatchObject({ kind: 'resolve', anomalyId: 'p', endTs: T0 + 5 * INTERVAL });
    expect(recorded[2].together?.map((f) => f.anomaly_id)).toEqual(['p', 'c']);
    // Over: a later open leads its own group.
    open(faults, 'Current', 'c2', T0 + 6 * INTERVAL);
    turn();
    expect(faults.leadOf('c2')).toBeUndefined();
  });

  it('a lead whose fields all ended is resolved at once; a stop stores a held resolve as it stands', () => {
    const { faults, recorded, turn } = book();
    open(faults, 'Power', 'p', T0);
    open(faults, 'Current', 'c', T0);
    turn();
    faults.memberEnded('c', T0 + INTERVAL);
    expect(faults.leadEnded(event('resolve', 'plug/ENERGY.Power', 'p', T0, T0 + 2 * INTERVAL), null)).toBe(false);
    open(faults, 'Power', 'p2', T0 + 100 * INTERVAL);
    open(faults, 'Voltage', 'v2', T0 + 100 * INTERVAL);
    turn();
    expect(faults.leadEnded(event('resolve', 'plug/ENERGY.Power', 'p2', T0 + 100 * INTERVAL, T0 + 101 * INTERVAL), null)).toBe(true);
    const n = recorded.length;
    faults.settle();
    expect(recorded.slice(n).map((e) => [e.kind, e.anomalyId])).toEqual([['resolve', 'p2']]);
  });

  it('a lead forgotten by the operator takes no new field and holds no resolve', () => {
    const { faults, recorded, turn } = book();
    open(faults, 'Power', 'p', T0);
    open(faults, 'Current', 'c', T0);
    turn();
    faults.gone('p', T0 + INTERVAL);
    open(faults, 'ApparentPower', 'a', T0 + INTERVAL);
    turn();
    expect(faults.leadOf('a')).toBeUndefined();
    const n = recorded.length;
    faults.memberEnded('c', T0 + 2 * INTERVAL);
    expect(recorded.length).toBe(n);
  });

  it('groups nothing of a device of one stream, a device’s own episode or a silence', () => {
    const { faults } = book();
    expect(faults.hold(event('open', 'lonely', 'x', T0), null, 'lonely', 'lonely')).toBe(false);
    expect(faults.hold(event('open', 'plug', 'd', T0), null, 'plug', 'plug')).toBe(false);
    expect(faults.hold(event('open', 'plug/ENERGY.Power', 's', T0), explanation('plug/ENERGY.Power', T0, 'missing_data'), 'plug/ENERGY.Power', 'plug')).toBe(false);
  });

  it('names the other fields within their device in the lead’s sentence', () => {
    const fields = ['Power', 'ApparentPower', 'Current'].map((f, i) => ({ stream: `plug2/ENERGY.${f}`, anomaly_id: String(i), kind: 'spike' }));
    expect(togetherSentence('plug2/ENERGY.Power 2500 W, expected 3 ± 5 since 16:53 (sudden change)', 'plug2', fields)).toBe(
      'plug2/ENERGY.Power 2500 W, expected 3 ± 5 since 16:53 (sudden change); with 2 more fields of plug2: ENERGY.ApparentPower, ENERGY.Current',
    );
    expect(togetherSentence('s', 'plug2', fields.slice(0, 1))).toBe('s');
  });
});
