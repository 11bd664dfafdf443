/**
 * How long an episode lasted (episodeLength): from when the fault its sentence tells began. A silence told in an
 * episode another fault opened (`<its sentence>, then no reading for …`) lasts from when that fault began (tryout 40,
 * finding 10: a heat pump's `19.2 °C, expected 34.9 ± 0.3 since 09:06 (level shift), then no reading for 2 min since
 * 09:25` was listed START 09:25, LASTED 3 min: counted from the silence's since, not the level shift's).
 */
import { describe, expect, it } from 'vitest';
import { episodeLength } from '../../src/contract/lasted.js';

const at = (hhmm: string): number => Date.parse(`2026-12-06T${hhmm}:00Z`);
const iso = (hhmm: string): string => new Date(at(hhmm)).toISOString();

describe('episodeLength', () => {
  it('counts from the explanation\'s since when before the open, else from the open', () => {
    expect(episodeLength(at('09:25'), at('09:28'), { since: iso('09:06') })).toEqual({ beganTs: at('09:06'), lastedMs: 22 * 60_000 });
    expect(episodeLength(at('09:25'), at('09:28'), { since: iso('09:26') })).toEqual({ beganTs: at('09:25'), lastedMs: 3 * 60_000 });
    expect(episodeLength(at('09:25'), at('09:28'), null)).toEqual({ beganTs: at('09:25'), lastedMs: 3 * 60_000 });
    expect(episodeLength(at('09:25'), at('09:28'), { since: 'not a time' })).toEqual({ beganTs: at('09:25'), lastedMs: 3 * 60_000 });
  });

  it('counts a silence told after another fault from when that fault began, as its sentence tells it first', () => {
    const silence = { since: iso('09:25'), before_silence: { kind: 'level_shift' as const, sentence: 'heatpump/flow_temp 19.2 °C, expected 34.9 ± 0.3 since 09:06 (level shift)', since: iso('09:06') } };
    expect(episodeLength(at('09:25'), at('09:28'), silence)).toEqual({ beganTs: at('09:06'), lastedMs: 22 * 60_000 });
    // A before_silence whose since does not parse is ignored: the silence's own since, or the open.
    expect(episodeLength(at('09:25'), at('09:28'), { ...silence, before_silence: { ...silence.before_silence, since: 'x' } })).toEqual({ beganTs: at('09:25'), lastedMs: 3 * 60_000 });
  });

  it('is never negative: an end at or before the fault began lasts 0', () => {
    expect(episodeLength(at('09:25'), at('09:25'), { since: iso('09:25') }).lastedMs).toBe(0);
  });
});
