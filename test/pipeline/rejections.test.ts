import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RejectReason, Rejection } from '../../src/contract/types.js';
import { ALL_REASONS, RejectionCounter, rejectionSummaryText, SUMMARY_MAX_TOPICS } from '../../src/pipeline/rejections.js';

function rej(reason: RejectReason, sensor: string | null, receivedAt: number, detail = `${reason} at ${receivedAt}`): Rejection {
  return { reason, sensor, topic: `sensors/${sensor ?? '?'}`, detail, receivedAt };
}

describe('RejectionCounter', () => {
  it('counts per (reason, sensor) and totals per reason', () => {
    const c = new RejectionCounter();
    for (let i = 0; i < 5; i++) c.record(rej('bad_json', 'a', i));
    for (let i = 0; i < 3; i++) c.record(rej('bad_json', 'b', i));
    c.record(rej('bad_topic', null, 9));
    const rows = c.snapshot().sort((x, y) => `${x.reason}${x.sensor}`.localeCompare(`${y.reason}${y.sensor}`));
    expect(rows).toEqual([
      { reason: 'bad_json', sensor: 'a', count: 5, lastAt: 4 },
      { reason: 'bad_json', sensor: 'b', count: 3, lastAt: 2 },
      { reason: 'bad_topic', sensor: null, count: 1, lastAt: 9 },
    ]);
    const totals = c.totalByReason();
    expect(totals.bad_json).toBe(8);
    expect(totals.bad_topic).toBe(1);
    expect(totals.out_of_order).toBe(0);
    expect(totals.rate_limited).toBe(0);
    expect(Object.keys(totals)).toHaveLength(20);
  });

  it('summarises every rejection in one line per interval: the first at once, then the count of all since', () => {
    const c = new RejectionCounter({ logIntervalMs: 60_000 });
    c.record(rej('non_finite', 'a', 0, 'first'));
    expect(c.drainSummary(0)).toEqual({
      count: 1,
      messages: 1,
      byReason: { non_finite: 1 },
      sensors: 1,
      moreSensors: false,
      top: [{ sensor: 'a', count: 1 }],
      examples: [{ reason: 'non_finite', sensor: 'a', detail: 'first', topics: 1, moreTopics: false, someTopics: ['sensors/a'] }],
    });

    for (let t = 1; t <= 1000; t++) c.record(rej('non_finite', 'a', t, `n${t}`));
    c.record(rej('bad_json', 'b', 1001, 'broken'));
    expect(c.drainSummary(30_000)).toBeNull();
    expect(c.drainSummary(59_999)).toBeNull();
    expect(c.drainSummary(60_000)).toMatchObject({
      count: 1001,
      byReason: { non_finite: 1000, bad_json: 1 },
      top: [
        { sensor: 'a', count: 1000 },
        { sensor: 'b', count: 1 },
      ],
      examples: [
        { reason: 'non_finite', detail: 'n1' },
        { reason: 'bad_json', detail: 'broken' },
      ],
    });
    expect(c.drainSummary(200_000)).toBeNull(); // nothing new, nothing to say
    expect(c.snapshot().find((r) => r.sensor === 'a')?.count).toBe(1001); // totals are not reset by draining
  });

  it('says how many distinct topics each reason came from and names a few: 20 devices on a wrong prefix show their scale', () => {
    const c = new RejectionCounter({ logIntervalMs: 60_000 });
    for (let round = 0; round < 12; round++) {
      for (let d = 0; d < 20; d++) c.record({ reason: 'bad_topic', sensor: null, topic: `sensor/dev${d}`, detail: `no ingest rule matches topic "sensor/dev${d}"`, receivedAt: round });
    }
    c.record({ reason: 'bad_json', sensor: 'pump1', topic: 'sensors/pump1', detail: 'broken', receivedAt: 13 });
    const summary = c.drainSummary(0)!;
    expect(summary.count).toBe(241);
    const [topic, json] = summary.examples;
    expect(topic).toMatchObject({ reason: 'bad_topic', topics: 20, moreTopics: false });
    expect(topic.someTopics).toEqual(['sensor/dev0', 'sensor/dev1', 'sensor/dev2']);
    expect(json).toMatchObject({ reason: 'bad_json', topics: 1, someTopics: ['sensors/pump1'] });
    const text = rejectionSummaryText(summary);
    expect(text).toContain('input rejected: 241 since the last line');
    expect(text).toContain('bad_topic 240 from 20 topics (sensor/dev0, sensor/dev1, sensor/dev2, …)');
    expect(text).toContain('bad_json 1 from 1 topic (sensors/pump1)');
    // The next interval counts afresh.
    c.record({ reason: 'bad_topic', sensor: null, topic: 'sensor/dev7', detail: 'x', receivedAt: 70_000 });
    expect(c.drainSummary(70_000)!.examples[0]).toMatchObject({ topics: 1, someTopics: ['sensor/dev7'] });
  });

  it('stays one bounded line for 100,000 made-up topics and every reason', () => {
    const c = new RejectionCounter({ logIntervalMs: 60_000 });
    const reasons: RejectReason[] = ['bad_json', 'not_a_number', 'empty', 'oversize', 'bad_timestamp', 'future_timestamp'];
    for (let i = 0; i < 100_000; i++) c.record(rej(reasons[i % reasons.length], `junk-${i}-${'x'.repeat(i % 300)}`, i, `detail ${'y'.repeat(i % 1000)}`));
    const summary = c.drainSummary(0)!;
    expect(summary.count).toBe(100_000);
    expect(summary.sensors).toBe(1000);
    expect(summary.moreSensors).toBe(true);
    expect(summary.top).toHaveLength(5);
    expect(summary.examples).toHaveLength(3);
    expect(JSON.stringify(summary).length).toBeLessThan(2000);
    expect(summary.examples[0]).toMatchObject({ topics: SUMMARY_MAX_TOPICS, moreTopics: true });
    expect(rejectionSummaryText(summary)).toContain(`from more than ${SUMMARY_MAX_TOPICS} topics`);
    // And the per-(reason, sensor) counters the store gets stay bounded too.
    expect(c.snapshot().length).toBeLessThanOrEqual(2000 + reasons.length);
    expect(c.snapshot().reduce((n, r) => n + r.count, 0)).toBe(100_000);
  });

  it('folds sensors beyond maxKeys into the null sensor', () => {
    const c = new RejectionCounter({ maxKeys: 3 });
    for (let i = 0; i < 10; i++) c.record(rej('bad_json', `s${i}`, i));
    const rows = c.snapshot();
    expect(rows.length).toBeLessThanOrEqual(4);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(10);
    expect(rows.find((r) => r.sensor === null)?.count).toBe(7);
  });
});

describe("README's list of rejection reasons (tryout 20, F12: not_a_number was counted but not documented)", () => {
  it('names every reason a rejection can have, and no other', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const from = readme.indexOf('<!-- reject-reasons');
    const to = readme.indexOf('<!-- /reject-reasons -->');
    expect(from).toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
    // Each item names its reasons in backticks before its colon: "- `future_timestamp`, `out_of_order`, …: …".
    const documented = readme
      .slice(from, to)
      .split('\n')
      .filter((line) => line.startsWith('- '))
      .flatMap((line) => [...line.slice(0, line.indexOf(':')).matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...ALL_REASONS].sort());
  });
});

describe('a summary counts rejections per bad field and says the messages they came from (tryout 20, F13)', () => {
  it('16 rejections of 15 messages say so; equal counts say nothing more; the next line counts afresh', () => {
    const c = new RejectionCounter({ logIntervalMs: 60_000 });
    c.record({ reason: 'bad_json', sensor: 'junk1', topic: 'zigbee2mqtt/junk1', detail: 'x', receivedAt: 0 });
    const first = c.drainSummary(0)!;
    expect([first.count, first.messages]).toEqual([1, 1]);
    expect(rejectionSummaryText(first)).toBe('input rejected: 1 since the last line; bad_json 1 from 1 topic (zigbee2mqtt/junk1)');
    // A Tasmota message stamped in 2030: its two ENERGY fields rejected, one message; 14 more of one field each.
    c.record({ reason: 'future_timestamp', sensor: 'junkplug/ENERGY.Power', topic: 'tele/junkplug/SENSOR', detail: 'x', receivedAt: 1 });
    c.record({ reason: 'future_timestamp', sensor: 'junkplug/ENERGY.Total', topic: 'tele/junkplug/SENSOR', detail: 'x', receivedAt: 1 }, true);
    for (let i = 0; i < 14; i++) c.record(rej('bad_json', 'junk1', 2 + i));
    const second = c.drainSummary(60_000)!;
    expect([second.count, second.messages]).toEqual([16, 15]);
    expect(rejectionSummaryText(second)).toMatch(/^input rejected: 16 since the last line \(from 15 messages: one rejection per bad field\); /);
    // The lines add up to the totals.
    expect(Object.values(c.totalByReason()).reduce((a, n) => a + n, 0)).toBe(first.count + second.count);
  });
});
