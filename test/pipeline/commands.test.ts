import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { topics } from '../../src/contract/alerts.js';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import {
  CommandHandler,
  MAX_COMMAND_PAYLOAD_BYTES,
  MAX_NOTE_CHARS,
  commandFilter,
  commandResultTopic,
  isCommandTopic,
  parseCommand,
  type CommandMark,
  type CommandResultPayload,
  type MarkStore,
} from '../../src/pipeline/commands.js';

const P = 'anomalyd';
const ID = '3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f';
const OP = 'alice';
const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('parseCommand', () => {
  it('parses each verb with an empty payload', () => {
    for (const verb of ['ack', 'false_alarm', 'unmark'] as const) {
      expect(parseCommand(P, `${P}/cmd/${verb}/${ID}/${OP}`, Buffer.alloc(0))).toEqual({ ok: true, command: { verb, anomalyId: ID, operator: OP, note: null } });
    }
  });

  it('takes a note from a JSON payload, trimmed; blank or null notes are no note', () => {
    expect(parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, buf('{"note": "  bearing replaced  "}'))).toEqual({
      ok: true,
      command: { verb: 'ack', anomalyId: ID, operator: OP, note: 'bearing replaced' },
    });
    expect(parseCommand(P, `${P}/cmd/false_alarm/${ID}/${OP}`, buf('{"note": "   "}'))).toMatchObject({ ok: true, command: { note: null } });
    expect(parseCommand(P, `${P}/cmd/false_alarm/${ID}/${OP}`, buf('{"note": null}'))).toMatchObject({ ok: true, command: { note: null } });
    expect(parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, buf('{}'))).toMatchObject({ ok: true, command: { note: null } });
    expect(parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, buf(' \n '))).toMatchObject({ ok: true, command: { note: null } });
  });

  it('keeps non-ASCII notes intact', () => {
    const res = parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, buf(JSON.stringify({ note: 'Lager getauscht – ok ✓' })));
    expect(res).toMatchObject({ ok: true, command: { note: 'Lager getauscht – ok ✓' } });
  });

  it('works under a multi-level prefix', () => {
    const prefix = 'site/3/anomalyd';
    expect(parseCommand(prefix, `${prefix}/cmd/ack/${ID}/${OP}`, Buffer.alloc(0))).toMatchObject({ ok: true });
    expect(parseCommand(prefix, `anomalyd/cmd/ack/${ID}/${OP}`, Buffer.alloc(0))).toMatchObject({ ok: false, reason: 'not_a_command' });
  });

  it.each([
    ['sensors/pump1', 'not_a_command'],
    [`${P}/alerts/pump1`, 'not_a_command'],
    [`${P}/cmd/result`, 'not_a_command'],
    [`${P}/cmd/delete/${ID}/${OP}`, 'unknown_verb'],
    [`${P}/cmd/ACK/${ID}/${OP}`, 'unknown_verb'],
    [`${P}/cmd/ack`, 'not_operator'],
    [`${P}/cmd/ack/${ID}`, 'not_operator'],
    [`${P}/cmd/ack/${ID}/`, 'not_operator'],
    [`${P}/cmd/ack/${ID}/${OP}/extra`, 'not_operator'],
    [`${P}/cmd/ack//${OP}`, 'bad_anomaly_id'],
    [`${P}/cmd/ack/has space/${OP}`, 'bad_anomaly_id'],
    [`${P}/cmd/ack/${'x'.repeat(129)}/${OP}`, 'bad_anomaly_id'],
  ])('rejects topic %s as %s', (topic, reason) => {
    const res = parseCommand(P, topic, Buffer.alloc(0));
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.reason).toBe(reason);
      expect(res.detail.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['not json', 'note please'],
    ['a JSON string', '"note"'],
    ['a JSON array', '["note"]'],
    ['a number note', '{"note": 5}'],
    ['a misspelt field', '{"notes": "x"}'],
    ['a second field', '{"note": "x", "by": "me"}'],
    ['a note that is too long', JSON.stringify({ note: 'n'.repeat(MAX_NOTE_CHARS + 1) })],
  ])('rejects %s as bad_payload', (_what, payload) => {
    expect(parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, buf(payload))).toMatchObject({ ok: false, reason: 'bad_payload' });
  });

  it('accepts a note of exactly the maximum length', () => {
    const note = 'n'.repeat(MAX_NOTE_CHARS);
    expect(parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, buf(JSON.stringify({ note })))).toMatchObject({ ok: true, command: { note } });
  });

  it('refuses an oversize payload before parsing it', () => {
    const payload = Buffer.alloc(MAX_COMMAND_PAYLOAD_BYTES + 1, 0x20);
    expect(parseCommand(P, `${P}/cmd/ack/${ID}/${OP}`, payload)).toMatchObject({ ok: false, reason: 'bad_payload' });
  });

  it('refuses a note on unmark', () => {
    expect(parseCommand(P, `${P}/cmd/unmark/${ID}/${OP}`, buf('{"note": "why"}'))).toMatchObject({ ok: false, reason: 'bad_payload' });
    expect(parseCommand(P, `${P}/cmd/unmark/${ID}/${OP}`, buf('{}'))).toMatchObject({ ok: true });
  });

  it('names the subscription filter and reply topic inside the command namespace', () => {
    expect(commandFilter(P)).toBe('anomalyd/cmd/#');
    expect(isCommandTopic(P, commandResultTopic(P))).toBe(true);
    expect(isCommandTopic(P, 'anomalyd/cmdx/ack/1')).toBe(false);
  });
});

class FakeStore implements MarkStore {
  readonly marks = new Map<string, { mark: CommandMark | null; note: string | null }>();
  readonly by: string[] = [];
  failWith: Error | null = null;
  constructor(readonly known: Set<string>) {}
  markAnomaly(id: string, mark: CommandMark | null, note: string | null, by: string): boolean {
    if (this.failWith) throw this.failWith;
    if (!this.known.has(id)) return false;
    this.marks.set(id, { mark, note });
    this.by.push(by);
    return true;
  }
}

let now = Date.UTC(2026, 0, 2, 3, 4, 5);

function setup(opts: { publishFails?: boolean } = {}) {
  now = Date.UTC(2026, 0, 2, 3, 4, 5);
  const store = new FakeStore(new Set([ID]));
  const published: { topic: string; payload: CommandResultPayload }[] = [];
  const logs: { level: string; obj: unknown; msg: string }[] = [];
  const logger = {
    info: (obj: unknown, msg: string) => logs.push({ level: 'info', obj, msg }),
    warn: (obj: unknown, msg: string) => logs.push({ level: 'warn', obj, msg }),
  };
  const handler = new CommandHandler(
    store,
    (topic, payload) => {
      if (opts.publishFails) return Promise.reject(new Error('broker gone'));
      published.push({ topic, payload: JSON.parse(payload) as CommandResultPayload });
      return Promise.resolve();
    },
    // The handler only calls info/warn with (object, message); a pino Logger is wider than needed here.
    { prefix: P, operators: new Set([OP, 'bob']), logger: logger as unknown as CommandHandlerLogger, now: () => now, ignoredLogIntervalMs: 60_000 },
  );
  return { store, published, logs, handler };
}
type CommandHandlerLogger = ConstructorParameters<typeof CommandHandler>[2]['logger'];

describe('CommandHandler', () => {
  it('stores an ack with its note and replies ok', async () => {
    const { store, published, handler } = setup();
    const outcome = await handler.handle(`${P}/cmd/ack/${ID}/${OP}`, buf('{"note":"seen it"}'));
    expect(outcome).toEqual({ kind: 'applied', command: { verb: 'ack', anomalyId: ID, operator: OP, note: 'seen it' } });
    expect(store.marks.get(ID)).toEqual({ mark: 'ack', note: 'seen it' });
    expect(store.by).toEqual(['mqtt:alice']);
    expect(published).toEqual([
      {
        topic: 'anomalyd/cmd/result',
        payload: { ok: true, command: 'ack', anomaly_id: ID, by: OP, mark: 'ack', note: 'seen it', ts: '2026-01-02T03:04:05.000Z' },
      },
    ]);
  });

  it('ignores, without a reply, commands that name no operator or one it does not accept, and logs them once per interval', async () => {
    const { store, published, logs, handler } = setup();
    for (let i = 0; i < 500; i++) {
      expect(await handler.handle(`${P}/cmd/ack/${ID}/mallory${i}`, Buffer.alloc(0))).toMatchObject({ kind: 'unauthorised' });
      expect(await handler.handle(`${P}/cmd/ack/${ID}`, Buffer.alloc(0))).toMatchObject({ kind: 'unauthorised' });
    }
    expect(store.marks.size).toBe(0);
    expect(published).toHaveLength(0);
    expect(handler.unauthorised).toBe(1000);
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(1);
    now += 60_000;
    await handler.handle(`${P}/cmd/false_alarm/${ID}/eve`, Buffer.alloc(0));
    const warns = logs.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(2);
    expect(warns[1].obj).toMatchObject({ ignored: 1000 });
    // A configured operator still gets through, and the reply says who.
    await handler.handle(`${P}/cmd/ack/${ID}/bob`, Buffer.alloc(0));
    expect(published.map((p) => p.payload.by)).toEqual(['bob']);
  });

  it('false_alarm then unmark leaves no mark', async () => {
    const { store, published, handler } = setup();
    await handler.handle(`${P}/cmd/false_alarm/${ID}/${OP}`, Buffer.alloc(0));
    expect(store.marks.get(ID)).toEqual({ mark: 'false_alarm', note: null });
    await handler.handle(`${P}/cmd/unmark/${ID}/${OP}`, Buffer.alloc(0));
    expect(store.marks.get(ID)).toEqual({ mark: null, note: null });
    expect(published.map((p) => [p.payload.command, p.payload.mark])).toEqual([
      ['false_alarm', 'false_alarm'],
      ['unmark', null],
    ]);
  });

  it('replies unknown_anomaly for an id the store does not have', async () => {
    const { store, published, handler } = setup();
    const outcome = await handler.handle(`${P}/cmd/ack/nope/${OP}`, Buffer.alloc(0));
    expect(outcome).toMatchObject({ kind: 'rejected', reason: 'unknown_anomaly' });
    expect(store.marks.size).toBe(0);
    expect(published[0].payload).toMatchObject({ ok: false, command: 'ack', anomaly_id: 'nope', error: 'unknown_anomaly' });
  });

  it('replies with the parse error, naming the verb and id it could read', async () => {
    const { store, published, logs, handler } = setup();
    await handler.handle(`${P}/cmd/false_alarm/${ID}/${OP}`, buf('{"nite": "typo"}'));
    await handler.handle(`${P}/cmd/explode/${ID}/${OP}`, Buffer.alloc(0));
    expect(store.marks.size).toBe(0);
    expect(published.map((p) => p.payload)).toMatchObject([
      { ok: false, command: 'false_alarm', anomaly_id: ID, by: OP, error: 'bad_payload' },
      { ok: false, command: null, by: OP, error: 'unknown_verb' },
    ]);
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(2);
  });

  it('ignores its own replies and foreign topics without answering', async () => {
    const { published, handler } = setup();
    expect(await handler.handle(`${P}/cmd/result`, buf('{"ok":true}'))).toEqual({ kind: 'ignored' });
    expect(await handler.handle('sensors/pump1', buf('1'))).toEqual({ kind: 'ignored' });
    expect(published).toHaveLength(0);
  });

  it('refuses a retained command and leaves the mark alone', async () => {
    const { store, published, handler } = setup();
    const outcome = await handler.handle(`${P}/cmd/ack/${ID}/${OP}`, Buffer.alloc(0), { retain: true });
    expect(outcome).toMatchObject({ kind: 'rejected', reason: 'retained' });
    expect(store.marks.size).toBe(0);
    expect(published[0].payload).toMatchObject({ ok: false, error: 'retained' });
  });

  it('turns a store failure into a reply, not a rejection of handle()', async () => {
    const { store, published, handler } = setup();
    store.failWith = new Error('SqliteStore is closed');
    await expect(handler.handle(`${P}/cmd/ack/${ID}/${OP}`, Buffer.alloc(0))).resolves.toMatchObject({ kind: 'rejected', reason: 'store_failed' });
    expect(published[0].payload).toMatchObject({ ok: false, error: 'store_failed', detail: 'SqliteStore is closed' });
  });

  it('still applies the mark when the reply cannot be published', async () => {
    const { store, logs, handler } = setup({ publishFails: true });
    await expect(handler.handle(`${P}/cmd/ack/${ID}/${OP}`, Buffer.alloc(0))).resolves.toMatchObject({ kind: 'applied' });
    expect(store.marks.get(ID)?.mark).toBe('ack');
    expect(logs.some((l) => l.level === 'warn' && l.msg === 'could not publish command result')).toBe(true);
  });
});

describe('CommandHandler with the real SQLite store', () => {
  it('stores the mark so the anomaly record shows it, and clears it on unmark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cmd-'));
    const logger = pino({ level: 'silent' });
    const store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 100, logger });
    try {
      const ts = Date.UTC(2026, 0, 1);
      const { anomalyId } = store.recordEvent(
        {
          kind: 'open',
          sensor: 'pump1',
          anomalyId: ID,
          startTs: ts,
          endTs: ts + 30_000,
          peakScore: 0.9995,
          score: 0.9995,
          threshold: 0.999,
          modelId: 'gru@1',
          paddedFraction: 0,
          channelErrors: [3],
          channels: ['value'],
          windows: 2,
        },
        topics().alerts('pump1'),
      )!;
      const replies: string[] = [];
      const handler = new CommandHandler(store, (_t, payload) => Promise.resolve(void replies.push(payload)), { prefix: P, operators: new Set([OP]), logger });
      await handler.handle(`${P}/cmd/false_alarm/${anomalyId}/${OP}`, buf('{"note":"valve test"}'));
      expect(store.getAnomaly(anomalyId)).toMatchObject({ mark: 'false_alarm', markNote: 'valve test', markBy: 'mqtt:alice' });
      await handler.handle(`${P}/cmd/unmark/${anomalyId}/${OP}`, Buffer.alloc(0));
      // The history keeps both, in order, with who did them.
      expect(store.getAnomaly(anomalyId)).toMatchObject({
        mark: null,
        markNote: null,
        marks: [
          { mark: 'false_alarm', note: 'valve test', by: 'mqtt:alice' },
          { mark: null, note: null, by: 'mqtt:alice' },
        ],
      });
      expect(replies.map((r) => (JSON.parse(r) as CommandResultPayload).ok)).toEqual([true, true]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
