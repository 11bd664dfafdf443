/**
 * The figures a log line gives for an alert (alertFigures): what opened it, or, for an episode no reading scored (a
 * device that said it is offline: score and peak 0), that it was not scored (tryout 19: `(deviation 0.0 ≥ 5.0, score
 * 0.0000)`, false as written).
 */
import { describe, expect, it } from 'vitest';
import { alertFigures } from '../../src/contract/alerts.js';

describe('alertFigures', () => {
  it('gives the surprise or the deviation that opened a scored episode', () => {
    expect(alertFigures({ kind: 'open', score: 0.999999, peakScore: 0.999999, threshold: 0.99999 })).toBe('surprise 6.0 ≥ 5.0, score 0.9999990');
    expect(alertFigures({ kind: 'open', score: 0.9, peakScore: 0.999999, threshold: 0.99999 })).toBe('deviation 6.0 ≥ 5.0, score 0.9000');
  });

  it('says an episode no reading scored (a device that said it is offline) was not scored, at open and resolve', () => {
    for (const kind of ['open', 'resolve'] as const) {
      expect(alertFigures({ kind, score: 0, peakScore: 0, threshold: 0.99999, explained: 'device_offline' })).toBe('not scored: told by the device');
    }
  });

  it('does not say a silent device told anything (tryout 30, finding 9): its missing data had no reading to score', () => {
    for (const kind of ['open', 'resolve'] as const) {
      const words = alertFigures({ kind, score: 0, peakScore: 0, threshold: 0.99999, explained: 'missing_data' });
      expect(words).toBe('not scored: no readings');
      expect(words).not.toContain('told by the device');
    }
    expect(alertFigures({ kind: 'open', score: 0, peakScore: 0, threshold: 0.99999 })).toBe('not scored');
  });
});
