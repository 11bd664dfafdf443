/**
 * `anomalyd sensors list` (tryout 26, finding 8: the CLI had only `sensors forget`, `sensors list` said
 * `unexpected arguments: list`): the running daemon's streams with status and last reading, as GET /api/sensors
 * has them, and `--json`. A daemon in this process with a real SQLite file on its embedded broker.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { sensorsCommand } from '../../src/cli/sensors.js';
import { formatSensorList } from '../../src/cli/sensors-list.js';
import type { SensorView } from '../../src/http/view.js';
import { captureIo } from '../helpers/cli-io.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { getJson, waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

describe.skipIf(!builtAndModelsPresent())('anomalyd sensors list', () => {
  it('lists the running daemon\'s streams with status and last reading, and --json gives the API\'s sensors', async () => {
    const { daemon, url } = await inProcessDaemon({ dataDir: tempDataDir('anomalyd-sensors-list-', cleanups), brokerUrl: null, overrides: { http: { port: 0, host: '127.0.0.1' } }, clock: null, cleanups });
    const base = daemon.httpUrl!;
    const pub = await mqtt.connectAsync(url, { clientId: `sensors-list-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync(true));
    await pub.publishAsync('sensors/kitchen', '21.5', { qos: 1 });
    await pub.publishAsync('sensors/Attic', '9.25', { qos: 1 });
    await waitFor(async () => (await getJson<{ sensors: SensorView[] }>(`${base}/api/sensors`)).sensors.length === 2, 10_000, 'two sensors');

    const io = captureIo();
    expect(await sensorsCommand(['list', '--url', base], io)).toBe(0);
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SENSOR\s+STATUS\s+LAST\s+AGE\s+MODEL\s+OPEN$/);
    // By name, case-insensitively, when none is more urgent.
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['Attic', 'kitchen']);
    expect(lines[2]).toMatch(/^kitchen\s+\w+\s+21\.5\s+\d+ s ago\s+\S+\s+-$/);

    const json = captureIo();
    expect(await sensorsCommand(['list', '--url', base, '--json'], json)).toBe(0);
    const listed = (JSON.parse(json.out) as { sensors: SensorView[] }).sensors;
    expect(listed.map((s) => s.sensor).sort()).toEqual(['Attic', 'kitchen']);
    expect(listed.find((s) => s.sensor === 'kitchen')?.value).toBe(21.5);

    const open = captureIo();
    expect(await sensorsCommand(['list', '--url', base, '--status', 'open'], open)).toBe(0);
    expect(open.out).toBe('no sensors\n');
    expect(await sensorsCommand(['list', '--url', base, '--status', 'bad'], captureIo())).toBe(2);
  });

  it('puts a stream with an open episode first, naming the episode', () => {
    const s = (sensor: string, over: Partial<SensorView>): SensorView => ({ sensor, status: 'ok', model: 'gru@x', pinned: false, lastTs: 1000, value: 1, surprise: 0, unit: 'bar', ownModel: null, ...over });
    const text = formatSensorList([s('a', {}), s('b', { status: 'stale', openEpisode: '2f60c0ca-1111' })], 61_000);
    const rows = text.trimEnd().split('\n').slice(1);
    expect(rows[0]).toMatch(/^b\s+stale\s+1 bar\s+60 s ago\s+gru@x\s+2f60c0ca$/);
    expect(rows[1]).toMatch(/^a\s+ok\s+1 bar/);
  });

  it('tells an on/off stream\'s last reading by its state\'s name, as the dashboard and the API\'s onOff do, not as 1 / 0 (tryout 27, finding 8)', () => {
    const s = (sensor: string, over: Partial<SensorView>): SensorView => ({ sensor, status: 'ok', model: 'gru@x', pinned: false, lastTs: 1000, value: 1, surprise: null, unit: null, ownModel: null, ...over });
    const text = formatSensorList(
      [
        s('door/contact', { value: 1, onOff: { on: 'closed', off: 'open', state: 'closed', alarm: false } }),
        s('hall/occupancy', { value: 0, onOff: { on: 'occupied', off: 'clear', state: 'clear', alarm: false } }),
        s('new/contact', { value: null, lastTs: null, onOff: { on: 'closed', off: 'open', state: null, alarm: false } }),
      ],
      61_000,
    );
    const rows = text.trimEnd().split('\n').slice(1);
    expect(rows.find((r) => r.startsWith('door/contact'))).toMatch(/^door\/contact\s+ok\s+closed\s+60 s ago/);
    expect(rows.find((r) => r.startsWith('hall/occupancy'))).toMatch(/^hall\/occupancy\s+ok\s+clear\s+60 s ago/);
    expect(rows.find((r) => r.startsWith('new/contact'))).toMatch(/^new\/contact\s+ok\s+-\s+-/);
  });

  it('says of an on/off stream whose state held is not judged yet how far it is, beside its status (tryout 28, finding 3), and nothing once it is', () => {
    const s = (sensor: string, have: number): SensorView => ({ sensor, status: 'ok', model: null, pinned: false, lastTs: 1000, value: 1, surprise: null, unit: null, ownModel: null, onOff: { on: 'closed', off: 'open', state: 'closed', alarm: false, held: { have, needed: 8, state: 'open' } } });
    const rows = formatSensorList([s('door/contact', 3), s('back/contact', 8)], 61_000).trimEnd().split('\n').slice(1);
    expect(rows.find((r) => r.startsWith('door/contact'))).toMatch(/^door\/contact\s+ok, learning how long it stays open: 3 \/ 8 times\s+closed\s+60 s ago/);
    expect(rows.find((r) => r.startsWith('back/contact'))).toMatch(/^back\/contact\s+ok\s+closed\s+60 s ago/);
  });
});
