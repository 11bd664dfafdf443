/**
 * Tryout 20, findings 12 and 13 end to end, through the real daemon (dist/main.js) and its embedded broker: the
 * rejection log's lines and `anomalyd status` say the same counts. A rejection is counted per bad field, and a
 * message with two bad fields is one message rejected: the log's minute line said `16 since the last line` beside a
 * status of 16 messages rejected in all, after a first line of 1, which read as the first one counted twice. Each
 * line now says how many messages its rejections came from, and the status's per-reason counts say they are per
 * field. The message with two bad fields is a zigbee2mqtt state whose converter sends texts where its measurements
 * belong (finding 12: skipped `hub_event` before, counted nowhere as an error).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, ROOT, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();

describe.skipIf(!ready)('the rejection log and `anomalyd status` add up (tryout 20, findings 12 and 13)', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({
      presets: ['zigbee2mqtt'],
      timezone: 'UTC',
      clientId: `rejection-log-e2e-${process.pid}`,
      // The shortest interval, so the second line comes within the test.
      extra: { limits: { logIntervalMs: 1000 } },
    }));
  }, 60_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it('each line says its rejections and the messages they came from; their sums are the status counts', async () => {
    const lines = (): Array<Record<string, unknown>> => daemon.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('input rejected:'));
    // The first rejection after a quiet interval is logged at once.
    await client.publishAsync('zigbee2mqtt/junk1', 'not json at all', { qos: 1 });
    await waitFor(() => lines().length === 1, 20_000, 'the first line');
    // Then a message with two bad fields, and another broken one: three rejections of two messages.
    await client.publishAsync('zigbee2mqtt/junk2', '{"temperature": "21.5 °C", "humidity": "high", "linkquality": 80}', { qos: 1 });
    await client.publishAsync('zigbee2mqtt/junk1', '{"temperature": NaN}', { qos: 1 });
    await waitFor(() => lines().length === 2, 20_000, 'the second line');
    const [first, second] = lines();
    expect(first).toMatchObject({ count: 1, messages: 1, byReason: { bad_json: 1 } });
    expect(first.msg).toBe('input rejected: 1 since the last line; bad_json 1 from 1 topic (zigbee2mqtt/junk1)');
    expect(second).toMatchObject({ count: 3, messages: 2, byReason: { not_a_number: 2, bad_json: 1 } });
    expect(second.msg).toMatch(/^input rejected: 3 since the last line \(from 2 messages: one rejection per bad field\); not_a_number 2 from 1 topic \(zigbee2mqtt\/junk2\)/);

    type Status = { counters: Record<string, number>; rejections: Record<string, number> };
    const s = (await (await fetch(`${http}/api/status`)).json()) as Status;
    // The lines' sums are the totals: nothing counted twice, nothing left out.
    expect(s.rejections).toEqual({ bad_json: 2, not_a_number: 2 });
    expect(s.counters.messagesRejected).toBe(3);
    expect(Number(first.count) + Number(second.count)).toBe(4);
    expect(Number(first.messages) + Number(second.messages)).toBe(s.counters.messagesRejected);
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js'), 'status', '--url', http], { encoding: 'utf8' });
    expect(cli.stdout).toMatch(/^rejected +bad_json 2 \(not JSON, nor a number\), not_a_number 2 \(no number where a reading belongs\) = 4, one per bad field \(the 3 rejected above are messages that gave no reading\)$/m);
    expect(cli.stdout).toMatch(/^messages +received 3 = 0 with readings \+ 3 rejected \+ 0 skipped/m);
  }, 60_000);
});
