/**
 * DeviceAvailability.said (src/daemon/availability.ts) on its own, its wiring faked: a device's `offline` word after
 * the silence of each of its streams was already told (a zigbee2mqtt availability or a Tasmota LWT arriving late, an
 * expire_after longer than the silence judge's wait: tryout 29, finding 5) opens no second episode; with any of its
 * streams' silence not told yet, it opens its `device_offline` episode as before. The daemon's whole path (HA
 * discovery's expire_after, the problem entity, a restart) is test/e2e/ha-expire-after-silence.test.ts.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { DeviceAvailability } from '../../src/daemon/availability.js';

function book(told: ReadonlySet<string>): { a: DeviceAvailability; recorded: Array<[AnomalyEvent, AlertExplanation]> } {
  const recorded: Array<[AnomalyEvent, AlertExplanation]> = [];
  let n = 0;
  const a = new DeviceAvailability({
    streamsOf: (device) => (device === 'kitchen/plug' ? ['kitchen/plug/power', 'kitchen/plug/voltage'] : []),
    record: (ev, explanation) => {
      recorded.push([ev, explanation]);
      return true;
    },
    newId: () => `id-${++n}`,
    threshold: 0.99,
    timeZone: 'UTC',
    log: pino({ level: 'silent' }),
    silenceTold: (stream) => told.has(stream),
  });
  return { a, recorded };
}

const T = Date.UTC(2026, 11, 4, 3, 10);

describe('a device’s offline word', () => {
  it('after every one of its streams’ silence was told: no episode of its own, nothing silenced, its online word resolves nothing', () => {
    const { a, recorded } = book(new Set(['kitchen/plug/power', 'kitchen/plug/voltage']));
    a.said('kitchen/plug', false, 'zigbee2mqtt/kitchen/plug/availability', T);
    expect(recorded).toEqual([]);
    expect(a.silenced('kitchen/plug')).toBe(false);
    expect(a.episodeOf('kitchen/plug')).toBeNull();
    a.said('kitchen/plug', true, 'zigbee2mqtt/kitchen/plug/availability', T + 60_000);
    expect(a.reading('kitchen/plug', T - 120_000, T + 61_000)).toBe(false);
    expect(recorded).toEqual([]);
  });

  it('with one of its streams’ silence not told yet: its device_offline episode, as before', () => {
    const { a, recorded } = book(new Set(['kitchen/plug/power']));
    a.said('kitchen/plug', false, 'zigbee2mqtt/kitchen/plug/availability', T);
    expect(recorded.map(([ev, ex]) => [ev.kind, ev.sensor, ex.kind])).toEqual([['open', 'kitchen/plug', 'device_offline']]);
    expect(a.silenced('kitchen/plug')).toBe(true);
    a.said('kitchen/plug', true, 'zigbee2mqtt/kitchen/plug/availability', T + 60_000);
    expect(recorded.map(([ev]) => [ev.kind, ev.anomalyId])).toEqual([
      ['open', 'id-1'],
      ['resolve', 'id-1'],
    ]);
  });
});
