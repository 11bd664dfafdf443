/** The sensor states a stop could not publish, in one line (src/daemon/stop-publish-log.ts). */
import { describe, expect, it } from 'vitest';
import { StopPublishFailures } from '../../src/daemon/stop-publish-log.js';

describe('StopPublishFailures', () => {
  it('says nothing when nothing failed', () => {
    const f = new StopPublishFailures();
    expect(f.count).toBe(0);
    expect(f.line()).toBeNull();
  });

  it('a thousand failed sensor states: one line with the count, the reasons counted and five sensors named', () => {
    const f = new StopPublishFailures();
    for (let s = 0; s < 1000; s++) f.note(`s${s}`, new Error(s % 10 === 0 ? 'client disconnecting' : 'Message removed'));
    const line = f.line();
    expect(line?.fields).toEqual({ sensors: 1000, reasons: { 'client disconnecting': 100, 'Message removed': 900 }, examples: ['s0', 's1', 's2', 's3', 's4'] });
    expect(line?.msg).toBe('the states of 1000 sensors could not be published at the stop (their retained states on the broker stay as last published)');
  });

  it('a sensor counted once however many of its states failed; the reasons count every failure; a non-Error said as a string', () => {
    const f = new StopPublishFailures();
    f.note('boiler', new Error('Message removed'));
    f.note('boiler', new Error('Message removed'));
    f.note('boiler', 'gone');
    expect(f.count).toBe(1);
    expect(f.line()).toEqual({
      fields: { sensors: 1, reasons: { 'Message removed': 2, gone: 1 }, examples: ['boiler'] },
      msg: 'the states of 1 sensor could not be published at the stop (their retained states on the broker stay as last published)',
    });
  });
});
