import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANOMALIES_HINT, ANOMALIES_USAGE, anomaliesCommand, moreLine, parseCommandLine, parseSince } from '../../src/cli/anomalies.js';
import { DB_FILE } from '../../src/adapters/sqlite-store.js';
import type { CommandContext } from '../../src/cli/context.js';
import { topics, type AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent, AnomalyEventKind } from '../../src/contract/types.js';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import type { AnomalyQuery } from '../../src/contract/store.js';
import type { DaemonView } from '../../src/http/view.js';
import { routeRequest } from '../../src/http/routes.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const MIN = 60_000;
const silent = pino({ level: 'silent' });
/** What the daemon stores with an alert it could explain (src/explain). */
const FAN_EXPLANATION: AlertExplanation = {
  kind: 'level_shift',
  sentence: 'fan2/value 9.1 mm/s, expected 2.0 ± 0.4 since 10:42 (level shift)',
  stream: 'fan2',
  channel: 'value',
  unit: 'mm/s',
  value: 9.1,
  expected: 2,
  band: 0.4,
  basis: 'model',
  since: new Date(T0 + 10 * MIN).toISOString(),
  shares: null,
  stretch: { ts: [T0 + 10 * MIN], values: [9.1], expected: [2], band: [0.4] },
};

function ev(kind: AnomalyEventKind, anomalyId: string, sensor: string, startTs: number, over: Partial<AnomalyEvent> = {}): AnomalyEvent {
  return {
    kind,
    sensor,
    anomalyId,
    startTs,
    endTs: startTs + 30_000,
    peakScore: 0.9993,
    score: 0.9993,
    threshold: 0.999,
    modelId: 'gru@1',
    paddedFraction: 0,
    channelErrors: [0.4, 7.5],
    channels: ['current', 'vibration'],
    windows: 2,
    ...over,
  };
}

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env,
    exit: (code) => {
      throw new Error(`exit(${code}) must not be called`);
    },
  };
  const code = await anomaliesCommand(argv, ctx);
  return { code, out, err };
}

let dir: string;
let db: string;

/** Three episodes: pump1 resolved (oldest), fan2 open, pump1 open (newest). */
function seed(): { resolved: string; fan: string; newest: string } {
  const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
  const t = topics();
  try {
    store.recordEvent(ev('open', 'a-resolved', 'pump1', T0), t.alerts('pump1'));
    store.recordEvent(ev('update', 'a-resolved', 'pump1', T0, { score: 0.9999, peakScore: 0.9999, endTs: T0 + 60_000, windows: 4 }), t.alerts('pump1'));
    store.recordEvent(ev('resolve', 'a-resolved', 'pump1', T0, { score: 0.4, peakScore: 0.9999, endTs: T0 + 90_000, windows: 5 }), t.alerts('pump1'));
    store.recordEvent(ev('open', 'b-fan', 'fan2', T0 + 10 * MIN), t.alerts('fan2'), FAN_EXPLANATION);
    store.recordEvent(ev('open', 'c-newest', 'pump1', T0 + 20 * MIN), t.alerts('pump1'));
  } finally {
    store.close();
  }
  return { resolved: 'a-resolved', fan: 'b-fan', newest: 'c-newest' };
}

function markOf(id: string): { mark: string | null; mark_note: string | null } {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare('SELECT mark, mark_note FROM anomalies WHERE id = ?').get(id) as { mark: string | null; mark_note: string | null };
  } finally {
    conn.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-cli-anomalies-'));
  db = join(dir, 'data', DB_FILE);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('anomalyd anomalies list', () => {
  it('prints a table, newest first, with one row per episode', async () => {
    seed();
    const r = await run(['list', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    // One row per episode, its sentence indented under it.
    const lines = r.out.trimEnd().split('\n').filter((l) => !l.startsWith(' '));
    expect(lines[0]).toMatch(/^ID\s+SENSOR\s+STATUS\s+START \(UTC\)\s+LASTED\s+PEAK\s+KIND\s+MARK$/);
    // Ids as `show` takes them: the first 8 characters, more when two listed ids share them.
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['c-newest', 'b-fan', 'a-resolv']);
    const resolvedRow = lines.find((l) => l.startsWith('a-resolv'))!;
    expect(resolvedRow).toMatch(/ resolved {2}2026-03-01 08:00 +2 min /);
    // Columns line up: every row has SENSOR where the header has it.
    const col = lines[0].indexOf('SENSOR');
    expect(lines.slice(1).every((l) => /^\S/.test(l.slice(col)) && l[col - 1] === ' ')).toBe(true);
  });

  it('filters by sensor, status and since, and honours the limit', async () => {
    seed();
    const ids = async (...args: string[]): Promise<string[]> => {
      const r = await run(['list', '--db', db, '--json', ...args]);
      expect(r.code).toBe(0);
      return (JSON.parse(r.out) as { anomalies: { id: string }[] }).anomalies.map((a) => a.id);
    };
    expect(await ids('--sensor', 'pump1')).toEqual(['c-newest', 'a-resolved']);
    expect(await ids('--status', 'open')).toEqual(['c-newest', 'b-fan']);
    expect(await ids('--status', 'resolved')).toEqual(['a-resolved']);
    // Episodes still going at or after the time: the resolved one ended at T0 + 90 s.
    expect(await ids('--since', new Date(T0 + 5 * MIN).toISOString())).toEqual(['c-newest', 'b-fan']);
    expect(await ids('--since', new Date(T0 + 60_000).toISOString())).toEqual(['c-newest', 'b-fan', 'a-resolved']);
    expect(await ids('--limit', '1')).toEqual(['c-newest']);
  });

  it("lists a device's episodes together: --device, and --by-device groups the table (tryout 13, finding 8)", async () => {
    // An unplugged Tasmota plug: three of its fields' silences, staggered; a boiler of its own; a second plug.
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    const miss = (field: string): AlertExplanation => ({ ...FAN_EXPLANATION, kind: 'missing_data', sentence: `plug-washer/${field} no reading for 2 min since 08:00, last 1 (missing data)`, stream: `plug-washer/${field}` });
    try {
      ['ENERGY.ApparentPower', 'ENERGY.Power', 'ENERGY.Current'].forEach((field, k) =>
        store.recordEvent(ev('open', `w${k}-plug`, `plug-washer/${field}`, T0 + k * MIN, { device: 'plug-washer' }), 't', miss(field)),
      );
      store.recordEvent(ev('open', 'b-boiler', 'boiler', T0 + 5 * MIN), 't');
      store.recordEvent(ev('resolve', 'b-boiler', 'boiler', T0 + 5 * MIN), 't');
      store.recordEvent(ev('open', 'd-dryer', 'plug-dryer/ENERGY.Power', T0 + 10 * MIN, { device: 'plug-dryer' }), 't');
      store.recordEvent(ev('resolve', 'd-dryer', 'plug-dryer/ENERGY.Power', T0 + 10 * MIN, { device: 'plug-dryer' }), 't');
    } finally {
      store.close();
    }
    const json = JSON.parse((await run(['list', '--db', db, '--json', '--device', 'plug-washer'])).out) as { anomalies: { id: string; device: string }[] };
    expect(json.anomalies.map((a) => [a.id, a.device])).toEqual([
      ['w2-plug', 'plug-washer'],
      ['w1-plug', 'plug-washer'],
      ['w0-plug', 'plug-washer'],
    ]);
    const r = await run(['list', '--db', db, '--by-device']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    // One line per device, the one with open episodes first, then by newest start; its episodes under it.
    expect(lines.filter((l) => l.startsWith('DEVICE'))).toEqual([
      'DEVICE plug-washer: 3 episodes, 3 open (missing_data 3)',
      'DEVICE plug-dryer: 1 episode, 0 open (- 1)',
      'DEVICE boiler: 1 episode, 0 open (- 1)',
    ]);
    expect(lines[0]).toMatch(/^ {2}ID\s+SENSOR\s+STATUS/);
    const rows = lines.filter((l) => /^ {2}\S/.test(l)).slice(1).map((l) => l.trim().split(/\s+/)[0]);
    expect(rows).toEqual(['w2-plug', 'w1-plug', 'w0-plug', 'd-dryer', 'b-boiler']);
    // The sentences stay under their rows.
    const at = lines.findIndex((l) => l.startsWith('  w1-plug'));
    expect(lines[at + 1]).toMatch(/^ {6}no reading for 2 min since 08:00/);
    expect(await run(['list', '--db', db, '--by-device', '--device', 'boiler'])).toMatchObject({ code: 0 });
  });

  it('refuses a --device or --sensor the database does not know, naming close ones, rather than answer "no anomalies" (tryout 14, finding 3)', async () => {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      store.recordEvent(ev('open', 'w-volt', 'washer-plug/switch:0/voltage', T0, { device: 'washer-plug' }), 't');
      // Streams known by their checkpoint only (no episode): a healthy device and a Zigbee2Tasmota one made safe.
      store.saveSensorStates([
        { sensor: 'dryer/apower', blob: Buffer.from('{}'), updatedAt: T0 },
        { sensor: 'Kitchen _2/Temperature', blob: Buffer.from('{}'), updatedAt: T0 },
        { sensor: 'dryer/apower#side', blob: Buffer.from('null'), updatedAt: T0 },
      ]);
    } finally {
      store.close();
    }
    const list = (...args: string[]): Promise<Run> => run(['list', '--db', db, ...args]);
    // Known: a device with episodes, a healthy device (its streams), a stream; also when filters leave nothing.
    expect(await list('--device', 'washer-plug', '--status', 'resolved')).toMatchObject({ code: 0, out: 'no anomalies\n', err: '' });
    expect(await list('--device', 'dryer')).toMatchObject({ code: 0, out: 'no anomalies\n', err: '' });
    expect(await list('--sensor', 'dryer/apower')).toMatchObject({ code: 0, out: 'no anomalies\n' });
    expect(await list('--device', 'Kitchen _2')).toMatchObject({ code: 0, out: 'no anomalies\n' });
    // Unknown: exit 1, nothing listed, the reason and the names meant.
    const cases: [string[], RegExp][] = [
      [['--device', 'washer'], /no device named 'washer' is known; did you mean 'washer-plug'\?/],
      [['--device', 'Kitchen #2'], /no device named 'Kitchen #2' is known; did you mean 'Kitchen _2'\?/],
      [['--device', 'washer-plug/switch:0'], /'washer-plug\/switch:0' is not a device but part of the stream names of the device 'washer-plug': list its episodes with --device 'washer-plug', or one stream's with --sensor \('washer-plug\/switch:0\/voltage'\)/],
      [['--device', 'washer-plug/switch:0/voltage'], /'washer-plug\/switch:0\/voltage' is a stream of the device 'washer-plug', not a device: list its episodes with --sensor/],
      [['--sensor', 'washer-plug'], /'washer-plug' is a device, not a stream: list its episodes with --device 'washer-plug'/],
      [['--sensor', 'dryer'], /'dryer' is a device, not a stream/],
      [['--sensor', 'dryer/apowr', '--json'], /no stream named 'dryer\/apowr' is known; did you mean 'dryer\/apower'\?/],
      [['--device', 'zzzzzzzzzz'], /no device named 'zzzzzzzzzz' is known \('anomalies list --by-device' and 'anomalyd status' name the known ones\)/],
    ];
    for (const [args, message] of cases) {
      const r = await list(...args);
      expect(r, args.join(' ')).toMatchObject({ code: 1, out: '' });
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });

  it('emits the HTTP API document {"anomalies": [...]}, with the mark fields', async () => {
    seed();
    const r = await run(['list', '--db', db, '--json', '--status', 'resolved']);
    const doc = JSON.parse(r.out) as { anomalies: Record<string, unknown>[] };
    expect(Object.keys(doc)).toEqual(['anomalies', 'more']);
    const [a] = doc.anomalies;
    expect(a).toMatchObject({
      id: 'a-resolved',
      sensor: 'pump1',
      status: 'resolved',
      startTs: T0,
      endTs: T0 + 90_000,
      peakScore: 0.9999,
      windows: 5,
      mark: null,
      markNote: null,
      channels: [
        { name: 'current', error: 0.4 },
        { name: 'vibration', error: 7.5 },
      ],
    });
  });

  it('ranks by the peak surprise, -log10(1 - peak score), where the score itself prints 1.00000 for every alert; --json adds peakSurprise', async () => {
    // Peaks of surprise 7, 12 and beyond 16 (the score is then 1 in float64): all three round to 1.00000 as a score.
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      const t = topics();
      for (const [id, at, peak] of [['s7', 0, 1 - 1e-7], ['s12', 1, 1 - 1e-12], ['s16', 2, 1]] as const) {
        store.recordEvent(ev('open', id, `pump${at}`, T0 + at * MIN, { peakScore: peak, score: peak }), t.alerts(`pump${at}`));
      }
    } finally {
      store.close();
    }
    const r = await run(['list', '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n').filter((l) => !l.startsWith(' '));
    expect(lines[0]).toMatch(/^ID\s+SENSOR\s+STATUS\s+START \(UTC\)\s+LASTED\s+PEAK\s+KIND\s+MARK$/);
    const col = lines[0].indexOf('PEAK');
    const peakOf = (id: string): string => lines.find((l) => l.startsWith(id))!.slice(col).split(/\s+/)[0];
    expect([peakOf('s7'), peakOf('s12'), peakOf('s16')]).toEqual(['7.0', '12.0', '16.0']);
    expect(r.out).not.toContain('1.00000');
    // JSON keeps peakScore (compatible) and adds the surprise beside it.
    const doc = JSON.parse((await run(['list', '--db', db, '--json'])).out) as { anomalies: { id: string; peakScore: number; peakSurprise: number }[] };
    const byId = Object.fromEntries(doc.anomalies.map((a) => [a.id, a]));
    expect(byId.s7.peakScore).toBe(1 - 1e-7);
    expect(byId.s7.peakSurprise).toBeCloseTo(7, 6);
    expect(byId.s12.peakSurprise).toBeCloseTo(12, 3);
    expect(byId.s16).toMatchObject({ peakScore: 1, peakSurprise: 16 });
  });

  it('says so when there is nothing', async () => {
    SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 1, logger: silent }).close();
    expect(await run(['list', '--db', db])).toMatchObject({ code: 0, out: 'no anomalies\n' });
  });

  it('reads beside a daemon holding an open group-commit batch, seeing only committed episodes', async () => {
    seed();
    const daemonStore = SqliteStore.open(db, { commitIntervalMs: 60_000, outboxMax: 100, logger: silent });
    try {
      daemonStore.recordEvent(ev('open', 'd-uncommitted', 'pump9', T0 + 30 * MIN), topics().alerts('pump9'));
      const r = await run(['list', '--db', db, '--json']);
      expect(r.code).toBe(0);
      expect((JSON.parse(r.out) as { anomalies: { id: string }[] }).anomalies.map((a) => a.id)).toEqual(['c-newest', 'b-fan', 'a-resolved']);
    } finally {
      daemonStore.close();
    }
    const after = await run(['list', '--db', db, '--json', '--sensor', 'pump9']);
    expect((JSON.parse(after.out) as { anomalies: { id: string }[] }).anomalies.map((a) => a.id)).toEqual(['d-uncommitted']);
  });
});

describe('--since (CLI) and since= (HTTP API): the episodes going on at any time in the window', () => {
  /** Episodes relative to `now`: opened 20 min ago and still open; resolved 15 min ago; started 20 min ago and resolved 5 min ago. */
  function seedAround(now: number): void {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    const t = topics();
    try {
      // A level shift opened 20 min ago with no rarer peak since: its stored end is the opening's.
      store.recordEvent(ev('open', 'still-open', 'pump1', now - 20 * MIN, { endTs: now - 20 * MIN }), t.alerts('pump1'), FAN_EXPLANATION);
      store.recordEvent(ev('open', 'over-before', 'fan2', now - 30 * MIN, { endTs: now - 30 * MIN }), t.alerts('fan2'));
      store.recordEvent(ev('resolve', 'over-before', 'fan2', now - 30 * MIN, { endTs: now - 15 * MIN, score: 0.4 }), t.alerts('fan2'));
      store.recordEvent(ev('open', 'ended-inside', 'valve3', now - 20 * MIN - 1000, { endTs: now - 20 * MIN }), t.alerts('valve3'));
      store.recordEvent(ev('resolve', 'ended-inside', 'valve3', now - 20 * MIN - 1000, { endTs: now - 5 * MIN, score: 0.4 }), t.alerts('valve3'));
    } finally {
      store.close();
    }
  }

  it('anomalies list --since 10m lists the one open since 20 min ago and the one that ended 5 min ago, not the one over 15 min ago', async () => {
    // The CLI counts 10m back from the real clock; the episodes are minutes away from the bound.
    seedAround(Date.now());
    const r = await run(['list', '--db', db, '--json', '--since', '10m']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { anomalies: { id: string }[] }).anomalies.map((a) => a.id)).toEqual(['still-open', 'ended-inside']);
    const table = await run(['list', '--db', db, '--since', '10m']);
    const rows = table.out.trimEnd().split('\n').slice(1).filter((l) => !l.startsWith(' '));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['still-op', 'ended-in']);
  });

  it('GET /api/anomalies?since=10m answers the same episodes', () => {
    const now = T0 + 60 * MIN;
    seedAround(now);
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      const view = { now: () => now, anomalies: (q: AnomalyQuery) => store.listAnomalies(q), anomalyCount: (q: AnomalyQuery) => store.countAnomalies(q) } as unknown as DaemonView;
      const get = (query: string): string[] => {
        const reply = routeRequest({ method: 'GET', path: '/api/anomalies', query: new URLSearchParams(query), body: Buffer.alloc(0) }, view);
        expect(reply).toMatchObject({ kind: 'json', status: 200 });
        return ((reply as { body: { anomalies: { id: string }[] } }).body.anomalies).map((a) => a.id);
      };
      expect(get('since=10m')).toEqual(['still-open', 'ended-inside']);
      expect(get('since=10m&limit=1')).toEqual(['still-open']);
      expect(get('since=10m&status=resolved')).toEqual(['ended-inside']);
      expect(get(`since=${new Date(now - 16 * MIN).toISOString()}`)).toEqual(['still-open', 'ended-inside', 'over-before']);
    } finally {
      store.close();
    }
  });
});

describe('a list cut at its limit says how many more (tryout 30, finding 8)', () => {
  /** `n` resolved episodes of one stream, a minute apart, the newest ending a minute before `now`. */
  function seedMany(n: number, now: number): void {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    const t = topics();
    try {
      for (let i = 0; i < n; i++) {
        const start = now - (n - i + 1) * MIN;
        store.recordEvent(ev('open', `ep-${String(i).padStart(3, '0')}-id`, 'pump1', start, { endTs: start }), t.alerts('pump1'));
        store.recordEvent(ev('resolve', `ep-${String(i).padStart(3, '0')}-id`, 'pump1', start, { endTs: start + 30_000, score: 0.4 }), t.alerts('pump1'));
      }
    } finally {
      store.close();
    }
  }

  it("the line under a cut list never names a --limit beyond the CLI's cap as listing them all", () => {
    expect(moreLine(50, 12, 50)).toBe('... and 12 more (the newest 50 shown, --limit 50; --limit 62 lists them all)\n');
    expect(moreLine(50, 99_950, 50)).toBe('... and 99950 more (the newest 50 shown, --limit 50; --limit 100000 lists them all)\n');
    // 100,001 match: the largest --limit shows the newest 100,000; a filter the rest.
    expect(moreLine(50, 99_951, 50)).toBe('... and 99951 more (the newest 50 shown, --limit 50; --limit 100000 lists the newest 100000, --since or --status fewer)\n');
    expect(moreLine(100_000, 5, 100_000)).toBe('... and 5 more (the newest 100000 shown, --limit 100000; --since or --status list fewer)\n');
  });

  it('anomalies list --since 72h with more than the default 50: the table says how many more and the --limit that lists them, --json a `more` field, as GET /api/anomalies', async () => {
    const now = Date.now();
    seedMany(62, now);
    const table = await run(['list', '--db', db, '--since', '72h']);
    expect(table.code).toBe(0);
    const rows = table.out.trimEnd().split('\n').slice(1).filter((l) => /^ep-/.test(l));
    expect(rows).toHaveLength(50);
    expect(table.out).toMatch(/\.\.\. and 12 more \(the newest 50 shown, --limit 50; --limit 62 lists them all\)\n$/);
    const json = JSON.parse((await run(['list', '--db', db, '--json', '--since', '72h'])).out) as { anomalies: unknown[]; more: number };
    expect(json.anomalies).toHaveLength(50);
    expect(json.more).toBe(12);
    const all = await run(['list', '--db', db, '--since', '72h', '--limit', '62']);
    expect(all.out).not.toContain('more');
    expect((JSON.parse((await run(['list', '--db', db, '--json', '--limit', '100'])).out) as { more: number }).more).toBe(0);
    // A filter counts what it selects: the resolved ones are all 62, the open ones none.
    expect((JSON.parse((await run(['list', '--db', db, '--json', '--status', 'resolved', '--limit', '10'])).out) as { more: number }).more).toBe(52);
    expect((JSON.parse((await run(['list', '--db', db, '--json', '--status', 'open'])).out) as { anomalies: unknown[]; more: number })).toEqual({ anomalies: [], more: 0 });

    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      const view = { now: () => now, anomalies: (q: AnomalyQuery) => store.listAnomalies(q), anomalyCount: (q: AnomalyQuery) => store.countAnomalies(q) } as unknown as DaemonView;
      const reply = routeRequest({ method: 'GET', path: '/api/anomalies', query: new URLSearchParams('since=72h&limit=50'), body: Buffer.alloc(0) }, view);
      expect(reply).toMatchObject({ kind: 'json', status: 200, body: { more: 12 } });
      expect((reply as { body: { anomalies: unknown[] } }).body.anomalies).toHaveLength(50);
    } finally {
      store.close();
    }
  });
});

describe('anomalyd anomalies show', () => {
  it("prints the alert's sentence, and '-' for an episode stored without one", async () => {
    const { fan, resolved } = seed();
    expect((await run(['show', fan, '--db', db])).out).toMatch(/^what:\s+fan2\/value 9\.1 mm\/s, expected 2\.0 ± 0\.4 since 10:42 \(level shift\)$/m);
    expect((await run(['show', resolved, '--db', db])).out).toMatch(/^what:\s+-$/m);
    expect((await run(['show', fan, '--db', db])).out).not.toMatch(/^opened as:/m);
  });

  it("prints the record's sentence as 'what' (as the API and the dashboard give it), and the opening alert's when it differs ('opened as')", async () => {
    const { fan } = seed();
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      const later = { ...FAN_EXPLANATION, value: 2.1, sentence: 'fan2/value 2.1 mm/s, expected 2.0 ± 0.4 since 10:42 (level shift)' };
      store.recordEvent(ev('resolve', fan, 'fan2', T0 + 10 * MIN, { score: 0.4, endTs: T0 + 12 * MIN }), topics().alerts('fan2'), later);
    } finally {
      store.close();
    }
    const out = (await run(['show', fan, '--db', db])).out;
    expect(out).toMatch(/^what:\s+fan2\/value 2\.1 mm\/s, /m);
    expect(out).toMatch(/^opened as:\s+fan2\/value 9\.1 mm\/s, /m);
  });

  it('prints the episode with its events in order', async () => {
    const { resolved } = seed();
    const r = await run(['show', resolved, '--db', db]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^id:\s+a-resolved$/m);
    expect(r.out).toMatch(/^status:\s+resolved$/m);
    expect(r.out).toMatch(/^mark:\s+-$/m);
    // The peak as a surprise, not a score rounded to 1.00000 (peakScore 0.9999: surprise 4.0).
    expect(r.out).toMatch(/^peak deviation:\s+surprise 4\.0 \(score 0\.9999000\): its rarest reading, all evidence fused$/m);
    // The record's `windows` counts readings, and is labelled so; the always-0 padded fraction is not shown.
    expect(r.out).toMatch(/^readings:\s+5$/m);
    expect(r.out).not.toMatch(/^(windows|padded):/m);
    // The culprit channel comes first.
    // Surprises, named so (tryout 22, finding 11: `channels: value=12.2` read as a temperature reading).
    expect(r.out).toMatch(/^channel surprise:\s+vibration 7\.5, current 0\.4$/m);
    expect(r.out).not.toMatch(/=\d/);
    const events = r.out.split('events:\n')[1].trimEnd().split('\n').slice(1);
    expect(events.map((l) => l.trim().split(/\s+/).slice(0, 2))).toEqual([
      ['1', 'open'],
      ['2', 'update'],
      ['3', 'resolve'],
    ]);
  });

  it('emits JSON with events and their published payloads', async () => {
    const { resolved } = seed();
    const r = await run(['show', resolved, '--json', '--db', db]);
    const a = JSON.parse(r.out) as { events: { seq: number; kind: string; payload: { anomaly_id: string; seq: number; resent: boolean } }[] };
    expect(a.events.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'open'],
      [2, 'update'],
      [3, 'resolve'],
    ]);
    expect(a.events.every((e) => e.payload.anomaly_id === resolved && e.payload.seq === e.seq && e.payload.resent === false)).toBe(true);
  });

  it('exits 1 for an unknown id', async () => {
    seed();
    const r = await run(['show', 'nope', '--db', db]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no anomaly with id nope');
  });
});

describe('anomalyd anomalies ack / false-alarm / unmark', () => {
  it('stores the mark and note, shows them, and clears them on unmark', async () => {
    const { fan } = seed();
    const acked = await run(['ack', fan, '--note', ' on my way ', '--db', db]);
    expect(acked).toMatchObject({ code: 0, out: `anomaly ${fan} marked ack (note: on my way)\n` });
    expect(markOf(fan)).toEqual({ mark: 'ack', mark_note: 'on my way' });
    expect((await run(['show', fan, '--db', db])).out).toMatch(/^note:\s+on my way$/m);

    expect((await run(['false-alarm', fan, '--db', db])).code).toBe(0);
    expect(markOf(fan)).toEqual({ mark: 'false_alarm', mark_note: null });
    const listed = await run(['list', '--db', db]);
    expect(listed.out.split('\n').find((l) => l.startsWith(fan))).toMatch(/false_alarm$/);

    expect((await run(['unmark', fan, '--db', db])).code).toBe(0);
    expect(markOf(fan)).toEqual({ mark: null, mark_note: null });
  });

  it('marks only the named episode and exits 1 for an unknown one', async () => {
    const { fan, newest } = seed();
    expect((await run(['false-alarm', 'nope', '--db', db])).code).toBe(1);
    await run(['ack', newest, '--db', db]);
    expect(markOf(newest).mark).toBe('ack');
    expect(markOf(fan).mark).toBeNull();
  });
});

describe('anomalyd anomalies --json is the HTTP API document', () => {
  /** What the HTTP API answers for a path, over the same database (the store's methods, as the daemon wires them). */
  function api(path: string, query = ''): unknown {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      const view = {
        now: () => T0,
        anomalies: (q: AnomalyQuery) => store.listAnomalies(q),
        anomalyCount: (q: AnomalyQuery) => store.countAnomalies(q),
        anomaly: (id: string) => store.getAnomaly(id),
      } as unknown as DaemonView;
      const reply = routeRequest({ method: 'GET', path, query: new URLSearchParams(query), body: Buffer.alloc(0) }, view);
      expect(reply).toMatchObject({ kind: 'json', status: 200 });
      return JSON.parse(JSON.stringify((reply as { body: unknown }).body)) as unknown;
    } finally {
      store.close();
    }
  }

  it('list --json equals GET /api/anomalies, show --json equals GET /api/anomalies/:id', async () => {
    const { resolved, fan } = seed();
    expect((await run(['ack', fan, '--note', 'checked', '--db', db])).code).toBe(0);
    const listed = await run(['list', '--db', db, '--json']);
    expect(JSON.parse(listed.out)).toEqual(api('/api/anomalies'));
    expect((JSON.parse(listed.out) as { anomalies: unknown[] }).anomalies).toHaveLength(3);
    const some = await run(['list', '--db', db, '--json', '--sensor', 'pump1', '--status', 'resolved']);
    expect(JSON.parse(some.out)).toEqual(api('/api/anomalies', 'sensor=pump1&status=resolved'));
    for (const id of [resolved, fan]) {
      const shown = await run(['show', id, '--db', db, '--json']);
      expect(JSON.parse(shown.out)).toEqual(api(`/api/anomalies/${id}`));
    }
  });
});

describe('anomalyd anomalies: an id prefix, as the demo prints it', () => {
  // Ids as the daemon makes them (randomUUID); the demo prints the first 8 characters.
  const A = '3f2a9c1e-7b4d-4e21-9a0b-5c6d7e8f9012';
  const B = '3f2a9c1e-0000-4e21-9a0b-5c6d7e8f9013';
  const C = '9d0b7a55-1c2e-4f3a-8b9c-0d1e2f3a4b5c';
  function seedIds(): void {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      for (const [i, id] of [A, B, C].entries()) store.recordEvent(ev('open', id, `s${i}`, T0 + i * MIN), topics().alerts(`s${i}`));
    } finally {
      store.close();
    }
  }

  it('show and ack take a unique prefix of at least 8 characters and name the full id', async () => {
    seedIds();
    const shown = await run(['show', C.slice(0, 8), '--db', db]);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(new RegExp(`^id:\\s+${C}$`, 'm'));
    const acked = await run(['ack', A.slice(0, 10), '--db', db]);
    expect(acked).toMatchObject({ code: 0, out: `anomaly ${A} marked ack\n` });
    expect(markOf(A).mark).toBe('ack');
    expect(markOf(B).mark).toBeNull();
    // The full id still works, also when it is a prefix of nothing else.
    expect((await run(['unmark', A, '--db', db])).code).toBe(0);
    expect(markOf(A).mark).toBeNull();
  });

  it('refuses an ambiguous prefix with the candidates listed, and a prefix shorter than 8, with exit 1', async () => {
    seedIds();
    const ambiguous = await run(['ack', A.slice(0, 8), '--db', db]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.out).toBe('');
    expect(ambiguous.err).toBe(`anomalyd anomalies: id prefix ${A.slice(0, 8)} is ambiguous: it matches 2 anomalies:\n  ${B}\n  ${A}\ngive more characters of the id\n`);
    expect(markOf(A).mark).toBeNull();
    expect(markOf(B).mark).toBeNull();
    const short = await run(['show', C.slice(0, 7), '--db', db]);
    expect(short.code).toBe(1);
    expect(short.err).toBe(`anomalyd anomalies: no anomaly with id ${C.slice(0, 7)} (a prefix of an id needs at least 8 characters)\n`);
    const none = await run(['show', 'ffffffff', '--db', db]);
    expect(none).toMatchObject({ code: 1, err: 'anomalyd anomalies: no anomaly with id ffffffff\n' });
  });
});

describe('anomalyd anomalies: database location and usage', () => {
  it('finds the database through the config dataDir', async () => {
    seed();
    const config = join(dir, 'anomalyd.yaml');
    writeFileSync(config, `version: 1\ndataDir: ${JSON.stringify(join(dir, 'data'))}\n`);
    const r = await run(['list', '--config', config, '--json']);
    expect(r.err).toBe('');
    expect((JSON.parse(r.out) as { anomalies: unknown[] }).anomalies).toHaveLength(3);
    const viaEnv = await run(['list', '--json'], { ANOMALYD_CONFIG: config });
    expect(viaEnv.out).toBe(r.out);
  });

  it('reports an invalid config with exit 2', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'version: 1\nstore: { commitIntervalMs: -5 }\n');
    const r = await run(['list', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('store.commitIntervalMs');
  });

  it('refuses to create a database that is not there', async () => {
    const r = await run(['list', '--db', join(dir, 'missing.db')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no database at');
  });

  it('refuses a file that is not an anomalyd database', async () => {
    const foreign = join(dir, 'foreign.db');
    const conn = new Database(foreign);
    conn.exec('CREATE TABLE t (x)');
    conn.close();
    const r = await run(['list', '--db', foreign]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not an anomalyd database');
  });

  it.each([
    [[], 'which action'],
    [['frobnicate', 'x'], "unknown action 'frobnicate'"],
    [['false_alarm', 'x'], "unknown action 'false_alarm' (did you mean 'false-alarm'?)"],
    [['show'], 'exactly one anomaly ID'],
    [['ack', 'a', 'b'], 'exactly one anomaly ID'],
    [['list', 'x'], 'takes no arguments'],
    [['list', '--status', 'closed'], '--status must be open or resolved'],
    [['list', '--limit', '0'], '--limit must be an integer'],
    [['list', '--limit', '2.5'], '--limit must be an integer'],
    [['list', '--since', 'yesterday'], '--since must be'],
    [['unmark', 'a', '--note', 'x'], "--note does not apply to 'unmark'"],
    [['show', 'a', '--sensor', 'p'], "--sensor does not apply to 'show'"],
    [['list', '--db', 'a', '--config', 'b'], 'not both'],
    [['list', '--bogus'], 'Unknown option'],
    [['list', '--sensor', 'a/b', '--device', 'a'], 'not both'],
    [['list', '--by-device', '--json'], '--by-device groups the table'],
    [['show', 'a', '--by-device'], "--by-device does not apply to 'show'"],
  ])('usage error for %j', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    if (argv.length === 0) {
      // No action at all: the whole help.
      expect(r.err).toContain('Usage: anomalyd anomalies');
      return;
    }
    // One line and a hint, not the 50-line help again (tryout 13, finding 10).
    expect(r.err).not.toContain('Usage:');
    expect(r.err.trimEnd().split('\n')).toEqual([expect.stringContaining(message) as unknown, ANOMALIES_HINT]);
  });

  it('prints help', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, out: ANOMALIES_USAGE, err: '' });
  });
});

describe('parseSince / parseCommandLine', () => {
  const now = Date.UTC(2026, 5, 15, 12, 0, 0);
  it('accepts ages and ISO times; a time without offset is UTC', () => {
    expect(parseSince('90s', now)).toBe(now - 90_000);
    expect(parseSince('30m', now)).toBe(now - 30 * MIN);
    expect(parseSince('1.5h', now)).toBe(now - 90 * MIN);
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseSince('2026-06-01', now)).toBe(Date.UTC(2026, 5, 1));
    expect(parseSince('2026-06-01T10:30', now)).toBe(Date.UTC(2026, 5, 1, 10, 30));
    expect(parseSince('2026-06-01T10:30:00+02:00', now)).toBe(Date.UTC(2026, 5, 1, 8, 30));
    // Every ISO 8601 offset: Z (either case), +hh:mm, +hhmm, +hh.
    for (const offset of ['+02:00', '+0200', '+02']) expect(parseSince(`2026-06-01T10:30${offset}`, now), offset).toBe(Date.UTC(2026, 5, 1, 8, 30));
    expect(parseSince('2026-06-01T10:30:00-05', now)).toBe(Date.UTC(2026, 5, 1, 15, 30));
    expect(parseSince('2026-06-01T10:30:00z', now)).toBe(Date.UTC(2026, 5, 1, 10, 30));
    expect(parseSince('2026-06-01 10:30:00.250Z', now)).toBe(Date.UTC(2026, 5, 1, 10, 30, 0, 250));
    expect(parseSince('2026-13-01', now)).toBeNull();
    expect(parseSince('-5m', now)).toBeNull();
    expect(parseSince('June 1', now)).toBeNull();
  });

  it('turns a relative --since into an absolute bound', () => {
    const out = parseCommandLine(['list', '--since', '24h'], now);
    expect(out).toMatchObject({ kind: 'ok', parsed: { action: { kind: 'list', since: now - 24 * 3_600_000, limit: 50 } } });
  });
});
