/**
 * Home Assistant's problem sensor of a stream (the discovery binary_sensor) against the retained state the
 * board publishes: ON while the stream has an open episode of any kind, also while a silence's `missing data`
 * episode is open and the status says `stale` (tryout 13, finding 3a: the sensor was OFF while anomalyd alerted
 * about a dead sensor). The template is evaluated by Jinja2, the engine Home Assistant runs (python3 with jinja2;
 * skipped where it is missing), on the payloads the real SensorStatusBoard publishes.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { binarySensorConfig } from '../../src/contract/ha-discovery.js';
import { topics } from '../../src/contract/alerts.js';
import { SensorStatusBoard } from '../../src/daemon/sensor-status.js';
import { jinja, render } from '../helpers/jinja.js';

/** A board over one stream whose model, episode and clock the test sets; returns what it published. */
function board(): {
  set: (s: { now?: number; anomaly?: string | null; learning?: boolean; device?: { anomalyId: string; sentence: string } | null }) => void;
  refresh: () => void;
  published: SensorStatePayload[];
} {
  const state = { now: 1_764_000_000_000, anomaly: null as string | null, learning: false, device: null as { anomalyId: string; sentence: string } | null };
  const published: SensorStatePayload[] = [];
  const b = new SensorStatusBoard(
    {
      modelOf: () => 'gru@1',
      learning: () => state.learning,
      openAnomaly: () => state.anomaly,
      ownModel: () => null,
      intervalOf: () => 1000,
      newestReadingTs: () => state.now,
      deviceEpisode: () => state.device,
    },
    { staleAfter: 10, now: () => state.now, logger: pino({ level: 'silent' }), publish: (_s, p) => published.push(p), logStatus: () => undefined },
  );
  b.arrived('boiler');
  return { set: (s) => Object.assign(state, s), refresh: () => b.refresh('boiler'), published };
}

describe.skipIf(!jinja)('Home Assistant problem sensor (discovery value_template on the retained state)', () => {
  const template = binarySensorConfig({ nodeId: 'n', topics: topics('anomalyd'), version: 'test' }, 'boiler', 'boiler').value_template;

  it('is ON while a missing-data episode is open on a stale stream, OFF once it is resolved, and follows ok / anomalous / learning', () => {
    const b = board();
    b.refresh(); // ok
    b.set({ anomaly: 'a-1' });
    b.refresh(); // anomalous
    b.set({ anomaly: null });
    b.refresh(); // ok again
    // The stream goes silent: stale after 10 of its intervals, then the silence's episode opens while it is stale.
    b.set({ now: 1_764_000_000_000 + 20_000 });
    b.refresh(); // stale, no episode
    b.set({ anomaly: 'a-2' });
    b.refresh(); // stale, missing data open
    b.set({ anomaly: null });
    b.refresh(); // stale, resolved
    expect(b.published.map((p) => [p.status, p.anomaly_id ?? null])).toEqual([
      ['ok', null],
      ['anomalous', 'a-1'],
      ['ok', null],
      ['stale', null],
      ['stale', 'a-2'],
      ['stale', null],
    ]);
    expect(render(template, b.published)).toEqual(['OFF', 'ON', 'OFF', 'OFF', 'ON', 'OFF']);
  });

  it('reads a state of an older anomalyd too (anomalous without anomaly_id is ON) and a learning one as OFF', () => {
    expect(render(template, [{ status: 'anomalous', since: '2026-12-01T22:00:00.000Z' }, { status: 'learning', since: '2026-12-01T22:00:00.000Z' }])).toEqual(['ON', 'OFF']);
  });

  it("is ON while the stream's device says it is offline (its device_offline episode, with its id and sentence), OFF once it is back", () => {
    const b = board();
    b.refresh(); // ok
    const sentence = 'boiler offline since 10:02 (the device said so on boiler/status), 1 stream silent (device offline)';
    b.set({ device: { anomalyId: 'd-1', sentence } });
    b.refresh(); // ok, the device's episode open
    b.set({ now: 1_764_000_000_000 + 20_000 });
    b.refresh(); // stale, the device's episode still open
    // An episode of its own while the device says it is offline: the device's is told, its own id beside it
    // (tryout 30, finding 6: the operator must see the device offline, not an id with no kind nor sentence).
    b.set({ anomaly: 'a-3' });
    b.refresh();
    b.set({ device: null });
    b.refresh(); // the device back, its own episode still open: told again
    b.set({ anomaly: null });
    b.refresh(); // both over
    expect(b.published.map((p) => [p.status, p.anomaly_id ?? null, p.kind ?? null, p.sentence ?? null, p.stream_anomaly_id ?? null])).toEqual([
      ['ok', null, null, null, null],
      // The device's episode is not the stream's: its status stays its own (never `anomalous` for it).
      ['ok', 'd-1', 'device_offline', sentence, null],
      ['stale', 'd-1', 'device_offline', sentence, null],
      ['stale', 'd-1', 'device_offline', sentence, 'a-3'],
      ['stale', 'a-3', null, null, null],
      ['stale', null, null, null, null],
    ]);
    expect(render(template, b.published)).toEqual(['OFF', 'ON', 'ON', 'ON', 'ON', 'OFF']);
  });
});
