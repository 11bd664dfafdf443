/**
 * Tryout 26, finding 5: unit mistakes and a subscription no rule can read passed `check-config` silently.
 * `window.intervalMs: 60` (meant 60 s) and an `ingest.topics` filter that no mapping rule meets are warned about
 * (exit 0: both may be meant); `learning.retrainIntervalMs: 24` (meant 24 h) is refused (exit 2: below a minute it
 * is surely a unit mistake); a learning group written with spaces around '=' is refused saying so.
 */
import { describe, expect, it } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { likelyMistakes } from '../../src/config/mistakes.js';
import { templatesMeet, unreadSubscriptions } from '../../src/config/overlaps.js';
import { defaultConfig, groupEntryProblem } from '../../src/config/schema.js';
import { yamlFile } from './helpers.js';

function run(text: string): { code: number; err: string } {
  let err = '';
  const code = checkConfigCommand(['--config', yamlFile(text)], { stdout: () => undefined, stderr: (s) => (err += s), env: {} });
  return { code, err };
}

describe('check-config: settings most likely written by mistake', () => {
  it('warns of a window.intervalMs under a second, saying it is in milliseconds and what the seconds would be', () => {
    const { code, err } = run('window:\n  intervalMs: 60\n');
    expect(code).toBe(0);
    expect(err).toContain('warning: window.intervalMs: 60 is 60 ms');
    expect(err).toContain('60 s is 60000');
    for (const ok of ['0', '1000', '60000']) expect(run(`window:\n  intervalMs: ${ok}\n`).err).not.toContain('window.intervalMs');
  });

  it('refuses a learning.retrainIntervalMs under a minute (but 0), naming the milliseconds the hours would be', () => {
    const { code, err } = run('learning:\n  retrainIntervalMs: 24\n');
    expect(code).toBe(2);
    expect(err).toContain('learning.retrainIntervalMs: must be 0 (never) or at least 60000 (1 min), got 24');
    expect(err).toContain('24 h is 86400000');
    for (const ok of ['0', '60000', '86400000']) expect(run(`learning:\n  retrainIntervalMs: ${ok}\n`).code).toBe(0);
  });

  it('warns of an ingest.topics filter no mapping rule can read (tryout 26: "sensor/#" with "sensors/{sensor}")', () => {
    const { code, err } = run('ingest:\n  topics: ["sensor/#", "sensors/#"]\n  sensorPattern: "sensors/{sensor}"\n');
    expect(code).toBe(0);
    expect(err.trimEnd().split('\n').filter((l) => l.startsWith('warning: ingest.topics'))).toEqual([
      'warning: ingest.topics[0]: no mapping rule can read a message on "sensor/#": the default rule reads only topics of ingest.sensorPattern "sensors/{sensor}", so every message there is rejected (bad_topic). Subscribe to the topics the pattern reads, or change ingest.sensorPattern to the topics you subscribe to',
    ]);
  });

  it('a filter a preset or a rule reads is no mistake; neither are the shipped defaults', () => {
    const base = defaultConfig().ingest;
    expect(unreadSubscriptions(base)).toEqual([]);
    expect(unreadSubscriptions({ ...base, topics: ['zigbee2mqtt/#'], presets: ['zigbee2mqtt'] })).toEqual([]);
    expect(unreadSubscriptions({ ...base, topics: ['plant/+/json'], rules: [{ topics: ['plant/{sensor}/json'] }] })).toEqual([]);
    expect(unreadSubscriptions({ ...base, topics: ['plant/+/json'] })).toHaveLength(1);
    expect(likelyMistakes(defaultConfig())).toEqual([]);
  });

  it('templatesMeet: a topic both match, or none', () => {
    expect(templatesMeet('sensor/#', 'sensors/{sensor}')).toBe(false);
    expect(templatesMeet('sensors/#', 'sensors/{sensor}')).toBe(true);
    expect(templatesMeet('#', 'a/{sensor}')).toBe(true);
    expect(templatesMeet('a/+', 'a/{sensor}/state')).toBe(false);
    expect(templatesMeet('a/+/state', '{sensor#}/state')).toBe(true);
    expect(templatesMeet('a/b', '{sensor#}/b')).toBe(true);
    expect(templatesMeet('b', '{sensor#}/b')).toBe(false);
    expect(templatesMeet('a/#', 'a')).toBe(true);
  });

  it('refuses a learning group with spaces around "=", saying so and how to write it', () => {
    const { code, err } = run('learning:\n  groups: ["fans = fan*"]\n');
    expect(code).toBe(2);
    expect(err).toContain(`learning.groups: item 0 ("fans = fan*") must look like name=pattern, e.g. pumps=pump-*: no spaces around '=' (write "fans=fan*"`);
    expect(groupEntryProblem('fans=fan*')).toBeNull();
    expect(groupEntryProblem('fans= fan*')).toContain('no spaces around');
    expect(groupEntryProblem('pump-*')).toContain("no '='");
    expect(groupEntryProblem('my fans=fan*')).toContain('may hold only letters');
    expect(groupEntryProblem('fans=')).toContain('pattern after');
  });
});
