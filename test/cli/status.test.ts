import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer } from '../../src/adapters/http.js';
import { apiBase, formatStatus, REJECT_WORDS, STATUS_USAGE, statusCommand } from '../../src/cli/status.js';
import type { CommandContext } from '../../src/cli/context.js';
import { freePort } from '../../src/util/net.js';
import { captureLogs, FakeView } from '../http/helpers.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function context(env: NodeJS.ProcessEnv = {}): { ctx: CommandContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  return { ctx, out: () => out, err: () => err };
}

async function serve(token: string | null = null): Promise<HttpServer> {
  const server = new HttpServer({ host: '127.0.0.1', port: 0, logger: captureLogs().logger, view: new FakeView(), token });
  servers.push(server);
  await server.start();
  return server;
}

describe('anomalyd status', () => {
  it('prints uptime, model, MQTT, sensors by state, the outbox depth and rejections per reason', async () => {
    const server = await serve();
    const { ctx, out } = context();
    expect(await statusCommand(['--url', server.url!], ctx)).toBe(0);
    const text = out();
    expect(text).toMatch(/^daemon +anomalyd 9\.9\.9 at http:\/\/127\.0\.0\.1:\d+, up 60 min/m);
    expect(text).toMatch(/^model +gru-7$/m);
    expect(text).toMatch(/^mqtt +mqtt:\/\/127\.0\.0\.1:1883 \(connected\)$/m);
    // Two kinds of learning said apart: the scorer's learning period, and each sensor's own model (tryout:
    // the own model's progress was shown nowhere by the daemon).
    expect(text).toMatch(/^sensors +3: 1 ok, 1 anomalous, 1 learning \(the scorer's learning period: no alerts yet\), 0 stale$/m);
    expect(text).toMatch(/^open +1 sensor has an open episode \(anomalous, or stale with missing data\): pump1; anomalyd anomalies list --status open$/m);
    expect(text).toMatch(/^own models 2 sensors learning their own \(1 collecting readings, 0 queued, 1 training\)$/m);
    expect(text).toMatch(/^ +fan 2\/α {2}learning its own model: 1,234 \/ 3,600 readings$/m);
    expect(text).toMatch(/^ +new {6}training its own model$/m);
    expect(text).not.toMatch(/pump1 +(learning|training)/);
    expect(text).toMatch(/^outbox +1 alert\(s\) waiting for the broker, 0 dropped since start$/m);
    expect(text).toMatch(/^rejected +bad_json 2 \(not JSON, nor a number\)$/m);
    // The daemon's counters (DaemonCounters): readings are scored one by one, there is no windows counter.
    expect(text).toMatch(/^counters +received 50, readings 48, scored 48, events 2$/m);
  });

  it('says when no sensor is learning its own model, and when learning is off, without asking for the sensors', async () => {
    const view = new FakeView();
    view.statusView = { ...view.statusView, sensors: { ...view.statusView.sensors, ownModel: { collecting: 0, queued: 0, training: 0, stopped: 0 } } };
    view.sensorViews = [];
    const server = new HttpServer({ host: '127.0.0.1', port: 0, logger: captureLogs().logger, view });
    servers.push(server);
    await server.start();
    const done = context();
    expect(await statusCommand(['--url', server.url!], done.ctx)).toBe(0);
    expect(done.out()).toMatch(/^own models none being learnt \(every sensor seen has its own\)$/m);
    // No sensor at all: nothing to say each has its own (tryout 27, finding 8).
    view.statusView = { ...view.statusView, sensors: { ...view.statusView.sensors, total: 0, byStatus: { learning: 0, ok: 0, anomalous: 0, stale: 0 } } };
    const none = context();
    expect(await statusCommand(['--url', server.url!], none.ctx)).toBe(0);
    expect(none.out()).toMatch(/^own models none being learnt \(no sensor seen yet\)$/m);
    view.statusView = { ...view.statusView, sensors: { total: 3, byStatus: view.statusView.sensors.byStatus } };
    const off = context();
    expect(await statusCommand(['--url', server.url!], off.ctx)).toBe(0);
    expect(off.out()).toMatch(/^own models off \(learning\.enabled: false\)/m);
  });

  it('names the sensors that stopped trying and those the operator pinned (tryout 9, findings 8 and 9)', async () => {
    const view = new FakeView();
    view.statusView = { ...view.statusView, sensors: { ...view.statusView.sensors, ownModel: { collecting: 0, queued: 0, training: 0, stopped: 1 }, pinned: 1 } };
    view.sensorViews = [
      { sensor: 'hum', status: 'ok', model: 'gru@1', pinned: true, lastTs: null, value: null, surprise: null, unit: null, ownModel: null },
      {
        sensor: 'noise',
        status: 'ok',
        model: 'gru@1',
        pinned: false,
        lastTs: null,
        value: null,
        surprise: null,
        unit: null,
        ownModel: { phase: 'stopped', readings: 9000, needed: 0, lastTry: "stopped after 5 rejected models, its last model was rejected; 'anomalyd models retrain SENSOR' asks for a new try" },
      },
      { sensor: 'mine', status: 'ok', model: 'mine@2', pinned: false, lastTs: null, value: null, surprise: null, unit: null, ownModel: null },
    ];
    const server = new HttpServer({ host: '127.0.0.1', port: 0, logger: captureLogs().logger, view });
    servers.push(server);
    await server.start();
    const { ctx, out } = context();
    expect(await statusCommand(['--url', server.url!], ctx)).toBe(0);
    expect(out()).toMatch(/^own models none being learnt; 1 stopped trying, 1 pinned to their model$/m);
    expect(out()).toMatch(/^ +hum +pinned to gru@1 \('anomalyd models unpin hum' lets it learn again\)$/m);
    expect(out()).toMatch(/^ +noise +not learning its own model: stopped after 5 rejected models, its last model was rejected; 'anomalyd models retrain SENSOR' asks for a new try$/m);
    expect(out()).not.toContain('mine');
  });

  it('--json prints the API answer itself', async () => {
    const server = await serve();
    const { ctx, out } = context();
    expect(await statusCommand(['--url', server.url!, '--json'], ctx)).toBe(0);
    expect(JSON.parse(out())).toEqual(new FakeView().statusView);
  });

  it('takes the address and token from the config', async () => {
    const server = await serve('0123456789abcdef0123');
    const { ctx, out, err } = context({ ANOMALYD_HTTP_PORT: String(server.port), ANOMALYD__HTTP__TOKEN: '0123456789abcdef0123' });
    expect(await statusCommand([], ctx)).toBe(0);
    expect(err()).toBe('');
    expect(out()).toMatch(/^sensors +3:/m);
    const wrong = context({ ANOMALYD_HTTP_PORT: String(server.port), ANOMALYD__HTTP__TOKEN: 'wrong-token-but-long-enough' });
    expect(await statusCommand([], wrong.ctx)).toBe(1);
    expect(wrong.err()).toMatch(/answered 401: missing or wrong bearer token/);
  });

  it('says so, with exit status 1, when no daemon answers', async () => {
    const port = await freePort();
    const { ctx, err } = context();
    expect(await statusCommand(['--url', `http://127.0.0.1:${port}`], ctx)).toBe(1);
    expect(err()).toMatch(/no anomalyd answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); is it running\?/);
  });

  it('without --url, tells where the address came from and what to do when the daemon runs with another configuration (tryout 23, finding 7)', async () => {
    // The README's `anomalyd status` beside a daemon started with `--config my.yaml` on another port: the address
    // is the one this command's configuration gives (here the defaults with ANOMALYD_HTTP_PORT), not the daemon's.
    const port = await freePort();
    const { ctx, err } = context({ ANOMALYD_HTTP_PORT: String(port) });
    expect(await statusCommand([], ctx)).toBe(1);
    expect(err()).toMatch(new RegExp(`no anomalyd answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); is it running\\?`));
    expect(err()).toMatch(/http\.host and http\.port of .+; a daemon started with --config FILE answers where FILE says: pass the same --config FILE \(or set ANOMALYD_CONFIG=FILE\), or --url/);
  });

  it('has a help text and refuses bad usage with status 2', async () => {
    const help = context();
    expect(await statusCommand(['--help'], help.ctx)).toBe(0);
    expect(help.out()).toBe(STATUS_USAGE);
    const bad = context();
    expect(await statusCommand(['--nope'], bad.ctx)).toBe(2);
    // One line and a hint, not the whole help again (tryout 13, finding 10).
    expect(bad.err().trimEnd().split('\n')).toEqual([expect.stringMatching(/^anomalyd status: .*--nope/) as unknown, "run 'anomalyd status --help' for the options"]);
    expect(await statusCommand(['--url', 'not a url'], bad.ctx)).toBe(2);
  });

  it('reaches a wildcard bind on loopback', () => {
    expect(apiBase('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080');
    expect(apiBase('::', 8080)).toBe('http://[::1]:8080');
    expect(apiBase('192.168.1.5', 80)).toBe('http://192.168.1.5:80');
  });

  it('names the sensors with an open episode when only silences are open: not "0 anomalous" alone (tryout 13, finding 7)', () => {
    const view = new FakeView();
    const s = { ...view.statusView, sensors: { total: 83, byStatus: { ok: 0, anomalous: 0, learning: 31, stale: 52 }, openEpisodes: 3, openSensors: ['boiler', 'fan', 'plug-washer/ENERGY.Power'] } };
    const text = formatStatus(s, 'http://127.0.0.1:1');
    expect(text).toMatch(/^sensors +83: 0 ok, 0 anomalous, 31 learning .*, 52 stale$/m);
    expect(text).toMatch(/^open +3 sensors have an open episode \(anomalous, or stale with missing data\): boiler, fan, plug-washer\/ENERGY\.Power; anomalyd anomalies list --status open$/m);
    const many = formatStatus({ ...s, sensors: { ...s.sensors, openEpisodes: 25 } }, 'http://127.0.0.1:1');
    expect(many).toMatch(/: boiler, fan, plug-washer\/ENERGY\.Power, … \(22 more\); anomalyd/);
    expect(formatStatus({ ...s, sensors: { ...s.sensors, openEpisodes: 0, openSensors: [] } }, 'http://127.0.0.1:1')).toMatch(/^open +no sensor has an open episode$/m);
  });

  it('says what each reason of the `rejected` line means, as the `skipped` line does (tryout 24, finding 5: `redelivered 90, retained 1` bare)', () => {
    const view = new FakeView();
    const s = { ...view.statusView, rejections: { redelivered: 90, retained: 1 }, counters: { ...view.statusView.counters, messagesRejected: 91 } };
    expect(formatStatus(s, 'http://127.0.0.1:1')).toMatch(
      /^rejected +redelivered 90 \(a message re-sent, read already: not judged twice\), retained 1 \(the broker's stored last value at subscribe, not a new reading\)$/m,
    );
    // Every reason has its words, none longer than a short phrase.
    for (const [reason, words] of Object.entries(REJECT_WORDS)) {
      expect(formatStatus({ ...view.statusView, rejections: { [reason]: 1 } }, 'http://127.0.0.1:1')).toContain(`${reason} 1 (${words})`);
      expect(words.length).toBeLessThanOrEqual(70);
    }
  });

  it('says which scored readings the dashboard\'s series did not keep, by reason (a message delivered twice: duplicate), and nothing when it kept them all', () => {
    const view = new FakeView();
    const s = { ...view.statusView, seriesNotKept: { duplicate: 3 } };
    expect(formatStatus(s, 'http://127.0.0.1:1')).toMatch(
      /^series +duplicate 3 \(identical in time and values to a reading kept: a message delivered twice\): scored, not kept in the dashboard's series$/m,
    );
    expect(formatStatus(view.statusView, 'http://127.0.0.1:1')).not.toMatch(/^series/m);
  });

  it('counts the Home Assistant discovery configs with the homeassistant preset: entities, in use, units, refused per reason with its words; no line without it', () => {
    const view = new FakeView();
    const s = { ...view.statusView, discovery: { entities: 3, inUse: 2, units: 1, refused: { too_many_streams: 1, unread_template: 2 } } };
    expect(formatStatus(s, 'http://127.0.0.1:1')).toMatch(
      /^discovery +Home Assistant configs: 3 entities read on their own state topics \(2 in use: their streams have readings\), 1 stating the unit of a stream a rule reads; 3 refused: unread_template 2 \(a value_template anomalyd does not read: its states are rejected unread_template\), too_many_streams 1 \(over ingest\.maxStreams entities\)$/m,
    );
    expect(formatStatus({ ...view.statusView, discovery: { entities: 1, inUse: 0, units: 0, refused: {} } }, 'http://127.0.0.1:1')).toMatch(/^discovery +Home Assistant configs: 1 entity read .*; none refused$/m);
    expect(formatStatus(view.statusView, 'http://127.0.0.1:1')).not.toMatch(/^discovery/m);
  });

  it('says when device times lag arrival by whole hours (a time zone mix-up, tryout 13 #9), and nothing when none do', () => {
    const view = new FakeView();
    const s = { ...view.statusView, counters: { ...view.statusView.counters, clockLags: 2 } };
    expect(formatStatus(s, 'http://127.0.0.1:1')).toMatch(
      /^clocks +2 stream\(s\) whose device times lag arrival by a whole number of hours, reading after reading \(a time zone mix-up\? ingest\.timezone\); the log names them$/m,
    );
    expect(formatStatus(view.statusView, 'http://127.0.0.1:1')).not.toMatch(/^clocks/m);
  });

  it('says how many readings a backfill misses at their interval and where to look (tryout 27, finding 6), and nothing when none', () => {
    const view = new FakeView();
    const last = { stream: 'room', missing: 1880, readings: 1117, fromTs: Date.UTC(2026, 10, 30, 16, 15), toTs: Date.UTC(2026, 11, 2, 18, 11), intervalMs: 60_000, toldAt: Date.UTC(2026, 11, 3) };
    const s = { ...view.statusView, backfill: { missing: 1880, bursts: 1, last } };
    expect(formatStatus(s, 'http://127.0.0.1:1')).toMatch(
      /^backfill +1880 reading\(s\) missing at their streams' intervals in backfills \(readings sent far faster than their times, with holes between them\) since start, 1 burst\(s\) ended; latest: room, 1880 missing at its interval between 2026-11-30T16:15:00\.000Z and 2026-12-02T18:11:00\.000Z\. The broker may have dropped them \(mosquitto max_queued_messages\): see docs\/DEPLOY\.md, "Loading history"$/m,
    );
    expect(formatStatus({ ...view.statusView, backfill: { missing: 0, bursts: 0, last: null } }, 'http://127.0.0.1:1')).not.toMatch(/^backfill/m);
    expect(formatStatus(view.statusView, 'http://127.0.0.1:1')).not.toMatch(/^backfill/m);
  });

  it('says when an alert was not acknowledged by the broker in time, the one still undelivered first (tryout 16, finding 1)', () => {
    const view = new FakeView();
    const outbox = { pending: 3, dropped: 0 };
    const at = Date.UTC(2026, 11, 2, 6, 38, 50);
    const now = formatStatus({ ...view.statusView, outbox: { ...outbox, overdue: { count: 2, current: { outboxId: 6, since: at } } } }, 'http://127.0.0.1:1');
    expect(now).toMatch(
      /^outbox +3 alert\(s\) waiting for the broker, 0 dropped since start; alert 6 OVERDUE \(no PUBACK in time since 2026-12-02T06:38:50\.000Z: reconnecting to send it again\); 2 overdue since start$/m,
    );
    const past = formatStatus({ ...view.statusView, outbox: { ...outbox, overdue: { count: 2, current: null } } }, 'http://127.0.0.1:1');
    expect(past).toMatch(/^outbox +3 alert\(s\) waiting for the broker, 0 dropped since start; 2 overdue since start$/m);
    const none = formatStatus({ ...view.statusView, outbox: { ...outbox, overdue: { count: 0, current: null } } }, 'http://127.0.0.1:1');
    expect(none).toMatch(/^outbox +3 alert\(s\) waiting for the broker, 0 dropped since start$/m);
  });

  it('prints a clash line while another MQTT client takes its session over, none without (tryout 17, finding 4)', () => {
    const s = new FakeView().statusView;
    expect(formatStatus(s, 'http://127.0.0.1:1')).not.toMatch(/^clash /m);
    const clash = { clientId: 'anomalyd-pi', since: Date.UTC(2026, 11, 2, 7, 45, 0), closes: 7, reconnectDelayMs: 16_000 };
    expect(formatStatus({ ...s, mqtt: { ...s.mqtt, clientIdClash: clash } }, 'http://127.0.0.1:1')).toMatch(
      /^clash +CLIENT ID CLASH: another MQTT client connects with the client id "anomalyd-pi" and takes the session over \(7 times in a row since 2026-12-02T07:45:00\.000Z\); .* Give every anomalyd its own mqtt\.clientId; meanwhile this one waits 16 s before taking the session back$/m,
    );
  });
});
