/**
 * Episodes that go on without readings follow their length everywhere one looks (tryout 23, findings F1 and F6):
 * the record (`anomalies list`/`show`, GET /api/anomalies, the dashboard, all read from it) of
 *   - a silence that began while an episode of another kind of the same stream was open (a sensor that went faulty,
 *     then died: the silence is told in that episode, docs/ALERTS.md "A sensor that dies with an episode open"): its
 *     sentence, `duration_ms` and LASTED follow the silence, and the fault that opened the episode stays in its
 *     sentence (before: frozen at `no reading for 45 s` for minutes, its LASTED too, and the jump gone from it);
 *   - a device's `device_offline` episode: its `duration_ms` and LASTED follow how long the device has been offline
 *     (before: `LASTED 0s`, `duration_ms: 0` while open), and `anomalies show` says it has no reading to be rare,
 *     instead of `surprise 0.0 …: its rarest reading`.
 * The daemon in-process with an injected wall clock (virtual time: a silence is the clock moved on, the daemon's
 * periodic silence judgement run at once as its housekeeping would within 2 s; the record's progress by housekeeping's
 * own touch, every 10 s of wall time), its HTTP API, a real SQLite file read by the CLI as an operator runs it, and a
 * real broker: the embedded one, and mosquitto.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { anomaliesCommand } from '../../src/cli/anomalies.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { AnomalyRecord } from '../../src/contract/store.js';
import { DB_FILE } from '../../src/adapters/sqlite-store.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { captureIo } from '../helpers/cli-io.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;

const cleanups = useCleanups();

/** The daemon on `dataDir` (on `brokerUrl`, else the embedded broker) with `presets`, its HTTP API on, started; its alerts into `alerts`. */
async function started(dataDir: string, clock: () => number, alerts: AlertPayload[], brokerUrl: string | null, presets: readonly string[] = []): Promise<{ daemon: Daemon; url: string }> {
  const overrides = { ingest: { presets: [...presets] }, http: { port: 0 }, store: { commitIntervalMs: 0 }, explain: { timeZone: 'UTC' } };
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock, cleanups });
  await collectAlerts(url, `owr-sub-${process.pid}-${Math.random().toString(36).slice(2)}`, cleanups, alerts);
  return { daemon, url };
}

/** GET /api/anomalies?<query> of the daemon: its records. */
async function apiAnomalies(daemon: Daemon, query: string): Promise<AnomalyRecord[]> {
  const res = await fetch(`${daemon.httpUrl!}/api/anomalies?${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { anomalies: AnomalyRecord[] }).anomalies;
}

/** `anomalyd anomalies <argv> --db <the daemon's database>` as an operator runs it beside the daemon: its stdout. */
async function cli(dataDir: string, argv: readonly string[]): Promise<string> {
  const io = captureIo();
  const code = await anomaliesCommand([...argv, '--db', join(dataDir, DB_FILE)], io);
  expect(code, io.err).toBe(0);
  return io.out;
}

/** The list's row of the episode whose id starts `id`'s first 8 characters, and the sentence lines under it, joined. */
function listed(out: string, id: string): { row: string; what: string } {
  const lines = out.split('\n');
  const at = lines.findIndex((l) => l.startsWith(id.slice(0, 8)));
  expect(at, out).toBeGreaterThan(0);
  const what: string[] = [];
  for (let i = at + 1; i < lines.length && lines[i].startsWith('    '); i++) what.push(lines[i].trim());
  return { row: lines[at], what: what.join(' ') };
}

const cases = brokerCases();

describe.skipIf(!builtAndModelsPresent())('an open episode without readings follows its length', () => {
  it.each(cases)('(%s) a silence that begins while a jump of the same stream is open: its record follows the silence, and the jump that opened it stays told (tryout 23, F1)', async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-owr-silence-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, url } = await started(dataDir, clock, alerts, brokerUrl);
    const pub = await mqtt.connectAsync(url, { clientId: `owr-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());

    // living_temp: 25 min of a noisy 1 Hz temperature, then 5 min at +6 °C (its episode opens, a level shift), then
    // nothing: the sensor died with the jump's episode open, which has more readings (300) than the silence will
    // have missed by the end (240): on main its length in readings did not move, so its record was never retold.
    const rnd = lcg(23);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 1500;
    const HIGH = 300;
    const t0 = now - (N + HIGH - 1) * SEC;
    const values = Array.from({ length: N + HIGH }, (_, i) => Math.round((21.4 + (i >= N ? 6 : 0) + 0.05 * gauss()) * 100) / 100);
    for (let i = 0; i < N + HIGH; i += 250) {
      const chunk = values.slice(i, Math.min(i + 250, N + HIGH));
      await pub.publishAsync('sensors/living_temp', JSON.stringify({ values: chunk, ts: t0 + i * SEC, interval_ms: SEC }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= N + HIGH, 60_000, 'every reading scored');
    await waitFor(() => alerts.some((a) => a.explanation?.kind === 'level_shift'), 30_000, 'the jump told a level shift');
    const id = alerts.find((a) => a.event === 'open')!.anomaly_id;
    const lastReading = t0 + (N + HIGH - 1) * SEC;

    // 2 minutes silent: told in the open episode, an update of missing data whose sentence still tells the jump.
    now += 2 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.explanation?.kind === 'missing_data'), 10_000, 'the silence told');
    const silence = alerts.find((a) => a.explanation?.kind === 'missing_data')!;
    expect(silence).toMatchObject({ anomaly_id: id, event: 'update' });
    expect(silence.explanation?.sentence).toMatch(/^living_temp 27\.\d+, expected 21\.\d+ ± 0\.\d+ since (\d{4}-\d\d-\d\d )?\d\d:\d\d \(level shift\), then no reading for 2 min since \d\d:\d\d, last 27\.\d+ \(missing data\)$/);

    // 2 minutes more, no alert for it (the silence only longer): the record follows it within housekeeping's touch.
    now += 2 * MIN;
    daemon.judgeSilences();
    await waitFor(() => / then no reading for 4 min since /.test(daemon.database!.getAnomaly(id)?.sentence ?? ''), 30_000, 'the record told 4 min');
    const record = daemon.database!.getAnomaly(id)!;
    expect(record).toMatchObject({ status: 'open', kind: 'missing_data' });
    expect(record.sentence).toMatch(/^living_temp 27\.\d+, expected 21\.\d+ ± 0\.\d+ since (\d{4}-\d\d-\d\d )?\d\d:\d\d \(level shift\), then no reading for 4 min /);
    expect(record.explanation).toMatchObject({ kind: 'missing_data', duration_ms: 4 * MIN, before_silence: { kind: 'level_shift' } });
    // Its length: the jump's 5 minutes and the silence's 4 (before: frozen at the silence's first alert).
    expect(record.endTs - record.startTs).toBeGreaterThanOrEqual(lastReading + 4 * MIN - 1 * SEC - (t0 + N * SEC));
    // The API and the CLI, as an operator sees them.
    const [api] = await apiAnomalies(daemon, 'sensor=living_temp');
    expect(api).toMatchObject({ id, sentence: record.sentence, endTs: record.endTs, explanation: { duration_ms: 4 * MIN } });
    const list = listed(await cli(dataDir, ['list']), id);
    expect(list.row).toMatch(/ open .* 9 min .* missing_data /);
    expect(list.what).toMatch(/^27\.\d+, expected 21\.\d+ ± 0\.\d+ since (\d{4}-\d\d-\d\d )?\d\d:\d\d \(level shift\), then no reading for 4 min since/);
    expect(await cli(dataDir, ['show', id])).toMatch(/\nlasted: +9 min so far\n/);
    expect(alerts.filter((a) => a.anomaly_id === id && a.explanation?.kind === 'missing_data')).toHaveLength(1);

    // It reads again: the resolve tells the jump and the whole silence, and the record says what it said.
    await pub.publishAsync('sensors/living_temp', JSON.stringify({ ts: now, value: 21.41 }), { qos: 1 });
    await waitFor(() => alerts.some((a) => a.event === 'resolve'), 10_000, 'the resolve');
    const resolve = alerts.find((a) => a.event === 'resolve')!;
    expect(resolve).toMatchObject({ anomaly_id: id, resolution: 'recovered', explanation: { kind: 'missing_data', before_silence: { kind: 'level_shift' } } });
    expect(resolve.explanation?.sentence).toMatch(/ \(level shift\), then no reading for 4 min since /);
    expect(daemon.database!.getAnomaly(id)?.sentence).toBe(resolve.explanation?.sentence);
  }, 180_000);

  it.each(cases)('(%s) a device that says it is offline: its episode lasts as long as it has been offline, in the record, the API, the list and show (tryout 23, F6)', async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-owr-offline-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, url } = await started(dataDir, clock, alerts, brokerUrl, ['zigbee2mqtt']);
    const hub = await mqtt.connectAsync(url, { clientId: `owr-z2m-${process.pid}` });
    cleanups.push(() => hub.endAsync(true));
    // A door contact read every 2 s, then its availability says offline.
    for (let i = 0; i < 20; i++) {
      now += 2 * SEC;
      await hub.publishAsync('zigbee2mqtt/door_contact', JSON.stringify({ battery: 100, contact: i % 10 !== 0, linkquality: 87 }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= 20, 10_000, 'its readings scored');
    now += 5 * SEC;
    const offlineAt = now;
    await hub.publishAsync('zigbee2mqtt/door_contact/availability', '{"state":"offline"}', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 0, 10_000, 'the device episode');
    const id = alerts[0].anomaly_id;
    expect(alerts[0]).toMatchObject({ event: 'open', sensor: 'door_contact', explanation: { kind: 'device_offline', duration_ms: 0 } });

    // Six minutes offline: the record follows it (housekeeping's touch, every 10 s), with no alert for it.
    now += 6 * MIN;
    await waitFor(() => (daemon.database!.getAnomaly(id)?.explanation?.duration_ms ?? 0) >= 6 * MIN, 30_000, 'the record told 6 min offline');
    const record = daemon.database!.getAnomaly(id)!;
    expect(record).toMatchObject({ status: 'open', kind: 'device_offline', startTs: offlineAt, endTs: offlineAt + 6 * MIN });
    expect(record.sentence).toBe(alerts[0].explanation?.sentence);
    const [api] = await apiAnomalies(daemon, 'device=door_contact');
    expect(api).toMatchObject({ id, endTs: offlineAt + 6 * MIN, explanation: { kind: 'device_offline', duration_ms: 6 * MIN } });
    expect(listed(await cli(dataDir, ['list']), id).row).toMatch(/ open .* 6 min .* device_offline /);
    const shown = await cli(dataDir, ['show', id]);
    expect(shown).toMatch(/\nlasted: +6 min so far\n/);
    // No reading was ever scored: no "surprise 0.0 …: its rarest reading".
    expect(shown).not.toMatch(/rarest reading/);
    expect(shown).toMatch(/\npeak deviation: +none: no reading was scored \(the device said it is offline\)\n/);
    expect(alerts).toHaveLength(1);

    // Back online: the resolve tells the whole span, and the record keeps it.
    now += 1 * MIN;
    await hub.publishAsync('zigbee2mqtt/door_contact/availability', '{"state":"online"}', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 1, 10_000, 'the device episode resolved');
    expect(alerts[1]).toMatchObject({ event: 'resolve', anomaly_id: id, explanation: { kind: 'device_offline', duration_ms: 7 * MIN } });
    expect(daemon.database!.getAnomaly(id)).toMatchObject({ status: 'resolved', endTs: offlineAt + 7 * MIN });
  }, 120_000);

  it('a silence alerted before its device said it is offline stays the one episode, and its record follows its length', async () => {
    const dataDir = tempDataDir('anomalyd-owr-both-', cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, url } = await started(dataDir, clock, alerts, null, ['esphome']);
    const esp = await mqtt.connectAsync(url, { clientId: `owr-esp-${process.pid}` });
    cleanups.push(() => esp.endAsync(true));
    // esp-attic/temp: 25 min of a noisy 1 Hz temperature ending now, then nothing.
    const rnd = lcg(5);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 1500;
    const values = Array.from({ length: N }, () => Math.round((21 + 0.3 * gauss()) * 100) / 100);
    for (let i = 0; i < N; i += 250) {
      await esp.publishAsync('esp-attic/sensor/temp/state', JSON.stringify({ values: values.slice(i, i + 250), ts: now - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= N, 60_000, 'every reading scored');
    // 3 minutes silent: its missing-data alert opens (judged at once).
    now += 3 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'esp-attic/temp'), 10_000, 'the silence alert');
    const id = alerts[0].anomaly_id;
    expect(alerts[0]).toMatchObject({ event: 'open', explanation: { kind: 'missing_data' } });
    // Then the node's word that it is offline, after its only stream's silence was told: no second episode (docs/ALERTS.md,
    // "A device that says it is offline": the missing-data episode stays the one episode, tryout 29 finding 5), and the
    // silence's record follows its length (before the device episode existed: frozen at `no reading for 3 min`).
    await esp.publishAsync('esp-attic/status', 'offline', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 300));
    now += 5 * MIN;
    daemon.judgeSilences();
    await waitFor(() => / no reading for 8 min since /.test(daemon.database!.getAnomaly(id)?.sentence ?? ''), 30_000, 'the record told 8 min');
    const record = daemon.database!.getAnomaly(id)!;
    expect(record.explanation?.duration_ms).toBe(8 * MIN);
    expect(record.endTs - record.startTs).toBe(8 * MIN - SEC);
    expect(alerts.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
  }, 120_000);
});
