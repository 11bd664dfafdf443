/**
 * Tryout 11, finding 5.1 and 5.2: what an operator reads in `anomalyd anomalies list` and `show`, from the real
 * CLI (dist/main.js as a child process) against a real SQLite file written by the store.
 *  - list: each episode's kind and sentence, so a stuck value and a spike are told apart without `show`, in a
 *    layout that fits an 80-column terminal (rows with a short sensor name and no mark; sentences wrapped);
 *  - show: the channels' figures (`channel surprise`) and the peak are different figures of the same reading, and say so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { topics, type AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent, AnomalyEventKind } from '../../src/contract/types.js';
import { MAIN } from '../helpers/daemon.js';

const T0 = Date.UTC(2026, 11, 1, 18, 20, 9);
const silent = pino({ level: 'silent' });

function explanation(over: Partial<AlertExplanation> & Pick<AlertExplanation, 'kind' | 'sentence'>): AlertExplanation {
  return {
    stream: 's',
    channel: 'value',
    unit: null,
    value: 1,
    expected: 1,
    band: 0.2,
    basis: 'model',
    since: new Date(T0).toISOString(),
    shares: null,
    stretch: { ts: [T0], values: [1], expected: [1], band: [0.2] },
    ...over,
  };
}

function ev(kind: AnomalyEventKind, anomalyId: string, sensor: string, startTs: number, over: Partial<AnomalyEvent> = {}): AnomalyEvent {
  return {
    kind,
    sensor,
    anomalyId,
    startTs,
    endTs: startTs + 75_000,
    peakScore: 1 - 1e-11,
    score: 0.9999999,
    threshold: 0.99999,
    modelId: 'gru@1',
    paddedFraction: 0,
    channelErrors: [11.4],
    channels: ['value'],
    windows: 92,
    ...over,
  };
}

let dir: string;
let db: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-cli-view-'));
  db = join(dir, DB_FILE);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The real CLI: `node dist/main.js anomalies ARGS --db DB`; its stdout. `TZ`: the system's zone (UTC unless given). */
function cli(...args: string[]): string {
  return cliIn('UTC', ...args);
}

function cliIn(tz: string, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN, 'anomalies', ...args, '--db', db], { encoding: 'utf8', env: { ...process.env, TZ: tz } });
}

const STUCK = 's_freeze 9.881 unchanged for 89 s, expected 9.984 ± 0.288 since 18:22 (stuck value)';
const SPIKE = 's_burst 12.0, expected 9.8 ± 0.2 at 18:30 (spike)';
const UNTOLD = 's_burst 7.58, expected 9.95 ± 0.20 since 18:52 (unusual level)';

function seed(): void {
  const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
  const t = topics();
  try {
    store.recordEvent(ev('open', 'f8c146d2-93c0-427f-9104-9b3f123c6231', 's_freeze', T0), t.alerts('s_freeze'), explanation({ kind: 'stuck', sentence: STUCK }));
    store.recordEvent(ev('resolve', 'f8c146d2-93c0-427f-9104-9b3f123c6231', 's_freeze', T0, { score: 0.4 }), t.alerts('s_freeze'), explanation({ kind: 'stuck', sentence: STUCK }));
    store.recordEvent(ev('open', '116347bd-4af7-40f6-8267-58e251facf55', 's_burst', T0 + 600_000, { endTs: T0 + 600_000 }), t.alerts('s_burst'), explanation({ kind: 'spike', sentence: SPIKE }));
    store.recordEvent(ev('open', 'ae83a534-0000-4000-8000-000000000000', 's_burst2', T0 + 1_200_000), t.alerts('s_burst2'), explanation({ kind: null, sentence: UNTOLD.replace('s_burst', 's_burst2') }));
  } finally {
    store.close();
  }
}

describe.skipIf(!existsSync(MAIN))('anomalyd anomalies, as an operator reads it (the built CLI)', () => {
  it('list: each episode with its kind and its sentence, in 80 columns', () => {
    seed();
    const out = cli('list');
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SENSOR\s+STATUS\s+START \(UTC\)\s+LASTED\s+PEAK\s+KIND\s+MARK$/);
    // Newest first; each row's KIND, then its sentence (without the sensor's name the row shows) indented under it.
    const kindCol = lines[0].indexOf('KIND');
    const rows = lines.filter((l) => !l.startsWith(' ')).slice(1);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['ae83a534', '116347bd', 'f8c146d2']);
    expect(rows.map((l) => l.slice(kindCol).split(/\s+/)[0])).toEqual(['-', 'spike', 'stuck']);
    const under = (id: string): string => {
      const at = lines.findIndex((l) => l.startsWith(id));
      const next = lines.findIndex((l, i) => i > at && !l.startsWith(' '));
      return lines
        .slice(at + 1, next < 0 ? undefined : next)
        .map((l) => l.trim())
        .join(' ');
    };
    expect(under('f8c146d2')).toBe(STUCK.replace('s_freeze ', ''));
    expect(under('116347bd')).toBe(SPIKE.replace('s_burst ', ''));
    expect(under('ae83a534')).toBe(UNTOLD.replace('s_burst ', ''));
    // The resolved stuck value's row: when, how long, how rare.
    expect(rows[2]).toMatch(/^f8c146d2\s+s_freeze\s+resolved\s+2026-12-01 18:20\s+75 s\s+11\.0\s+stuck\s+-$/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it("list: START in the sentences' zone, named in the header; show gives UTC with that zone's clock beside it (tryout 13, finding 7)", () => {
    seed();
    // --db reads no config: the zone is the system's, as the daemon's sentences with explain.timeZone null.
    const lines = cliIn('Europe/Berlin', 'list').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SENSOR\s+STATUS\s+START \(Europe\/Berlin\)\s+LASTED\s+PEAK\s+KIND\s+MARK$/);
    // 18:20 UTC is 19:20 in Berlin in December.
    expect(lines.find((l) => l.startsWith('f8c146d2'))).toMatch(/^f8c146d2\s+s_freeze\s+resolved\s+2026-12-01 19:20\s+75 s/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(cliIn('Europe/Berlin', 'show', 'f8c146d2')).toMatch(/^start: +2026-12-01T18:20:09\.000Z \(19:20:09 Europe\/Berlin\)$/m);
    // --json stays ISO UTC / epoch ms.
    const doc = JSON.parse(cliIn('Europe/Berlin', 'list', '--json')) as { anomalies: { startTs: number }[] };
    expect(doc.anomalies.map((a) => a.startTs)).toContain(T0);
  });

  it('list --json carries the same kind and sentence, and the full ids', () => {
    seed();
    const doc = JSON.parse(cli('list', '--json')) as { anomalies: { id: string; kind: string | null; sentence: string | null }[] };
    expect(doc.anomalies.map((a) => [a.id.slice(0, 8), a.kind, a.sentence])).toEqual([
      ['ae83a534', null, UNTOLD.replace('s_burst', 's_burst2')],
      ['116347bd', 'spike', SPIKE],
      ['f8c146d2', 'stuck', STUCK],
    ]);
  });

  it('show: says what the peak and the channels figures each are, shown on the same cap', () => {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      // Tryout 11's silence: peak surprise 5.0 (three figures spoke: log10 3 = 0.48), channel 5.48; a burst whose
      // channel figure (23.3) is past the cap of what is shown (16), as its peak is.
      store.recordEvent(ev('open', '47189a90-78ca-4a8a-8490-2d8b3e6d282a', 's_gap', T0, { peakScore: 1 - 10 ** -5.0, channelErrors: [5.48] }), topics().alerts('s_gap'));
      store.recordEvent(ev('open', '205f785f-b782-4a35-b1dc-bbc9ddf389d8', 's_burst', T0, { peakScore: 1, channelErrors: [23.3] }), topics().alerts('s_burst'));
    } finally {
      store.close();
    }
    const gap = cli('show', '47189a90');
    expect(gap).toMatch(/^peak deviation: +surprise 5\.0 \(score 0\.9999900\): its rarest reading, all evidence fused$/m);
    expect(gap).toMatch(/^channel surprise: +5\.5\n +\(at that reading, against normal operation: each channel's\n +rarest kind of evidence, before the fused peak takes off\n +log10 of how many figures spoke/m);
    const burst = cli('show', '205f785f');
    expect(burst).toMatch(/^peak deviation: +surprise 16\.0 /m);
    // A one-value stream's channel unnamed: a surprise, never `value=16.0`, which read as a reading (tryout 22, finding 11).
    expect(burst).toMatch(/^channel surprise: +16\.0$/m);
  });
});
