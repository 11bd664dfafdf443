/**
 * What the views tell of a stream's open episode (src/daemon/http-view.ts openEpisodeView, src/contract/ha-discovery.ts
 * scorePayload): the record's kind, since, sentence and what it is judged against; a device's episode without a
 * record still says `device_offline`; a score with no episode says so (tryout 29, finding F7).
 */
import { describe, expect, it } from 'vitest';
import { scorePayload } from '../../src/contract/ha-discovery.js';
import type { AnomalyRecord } from '../../src/contract/store.js';
import { episodeRecord, openEpisodeView } from '../../src/daemon/http-view.js';

const since = Date.UTC(2026, 11, 1, 6, 48);

/** The fields of a record openEpisodeView reads; the rest of the record does not matter to it. */
function record(kind: AnomalyRecord['kind'], expectedUnit?: string): AnomalyRecord {
  const sentence = `battery 3.54 V, expected 3.90 ± 0.01 since 06:48 (${kind ?? 'lasting shift'})`;
  return {
    id: 'a-1',
    beganTs: since,
    kind,
    sentence,
    explanation: { kind, sentence, expected: 3.9, band: 0.01, unit: 'V', ...(expectedUnit !== undefined ? { expected_unit: expectedUnit } : {}) },
  } as unknown as AnomalyRecord;
}

describe('openEpisodeView', () => {
  it("tells the record's kind, since, sentence and the level judged against, in the expectation's own unit", () => {
    expect(openEpisodeView('a-1', false, record('drift'))).toEqual({
      id: 'a-1',
      kind: 'drift',
      since,
      sentence: 'battery 3.54 V, expected 3.90 ± 0.01 since 06:48 (drift)',
      expected: 3.9,
      band: 0.01,
      unit: 'V',
      device: false,
    });
    expect(openEpisodeView('a-1', false, record('level_shift', 'mV')).unit).toBe('mV');
    expect(openEpisodeView('a-1', false, record(null)).kind).toBeNull();
  });

  it("says what is known without a record: the id, and device_offline for a device's episode", () => {
    expect(openEpisodeView('d-1', true, null)).toEqual({ id: 'd-1', kind: 'device_offline', since: null, sentence: null, expected: null, band: null, unit: null, device: true });
    expect(openEpisodeView('a-2', false, null).kind).toBeNull();
  });

  it('reads the record from a store that can, and none from one that throws (closing)', () => {
    const rec = record('stuck');
    expect(episodeRecord(() => ({ getAnomaly: () => null, anomalyRecord: (id: string) => (id === 'a-1' ? rec : null) }), 'a-1')).toBe(rec);
    expect(
      episodeRecord(() => {
        throw new Error('closed');
      }, 'a-1'),
    ).toBeNull();
  });
});

describe('scorePayload', () => {
  it('says in_episode false with no episode, and the episode with one', () => {
    const ts = Date.UTC(2026, 11, 1, 11, 39);
    expect(scorePayload(0.1234567, ts, null)).toEqual({ score: 0.123457, ts: new Date(ts).toISOString(), in_episode: false });
    expect(scorePayload(0, ts, { anomalyId: 'a-1', kind: 'drift', since, sentence: 'battery … (drift, −0.12/h)' })).toEqual({
      score: 0,
      ts: new Date(ts).toISOString(),
      in_episode: true,
      anomaly_id: 'a-1',
      episode_kind: 'drift',
      episode_since: new Date(since).toISOString(),
      episode_sentence: 'battery … (drift, −0.12/h)',
    });
    expect(scorePayload(0, ts, { anomalyId: 'a-2', kind: null, since: null, sentence: null })).toEqual({ score: 0, ts: new Date(ts).toISOString(), in_episode: true, anomaly_id: 'a-2', episode_kind: null });
  });
});
