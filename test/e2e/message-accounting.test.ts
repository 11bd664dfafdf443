/**
 * Tryout 14 #6 end to end, through the real daemon (dist/main.js) and its embedded broker: every message
 * received ends in exactly one place, a message with readings, a rejected one, or one skipped by reason, so
 * `received` is their sum. Published with mqtt.js as the hubs publish: Home Assistant statestream states
 * (`unavailable`, `unknown`, numbers, text states, one broken payload), zigbee2mqtt device states with only
 * nulls and `nan`, a light's state, a door's contact, button presses (with and without health fields, as
 * zigbee2mqtt.io "Exposes" lists them), a group's `{"state":"ON"}`, the bridge's state. Before, the messages
 * of only missing values and zigbee2mqtt's messages without a measurement were counted nowhere.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, ROOT, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();

/** Topic, payload, and where the message must end. */
const MESSAGES: readonly (readonly [string, string, string])[] = [
  ['homeassistant/sensor/x/state', 'unavailable', 'missing_value'],
  ['homeassistant/sensor/x/state', 'unavailable', 'missing_value'],
  ['homeassistant/sensor/x/state', 'unknown', 'missing_value'],
  ['homeassistant/sensor/x/state', '12.5', 'readings'],
  ['homeassistant/sensor/x/state', '12.6', 'readings'],
  ['homeassistant/sensor/washer_state/state', 'idle', 'text_state'],
  ['homeassistant/sensor/washer_state/state', 'on', 'text_state'],
  ['homeassistant/sensor/x/state', '{"broken":', 'rejected'],
  ['zigbee2mqtt/light1', '{"state":"ON","brightness":200,"linkquality":80}', 'hub_event'],
  // A door's contact is an on/off reading (tryout 22, finding 7); its health fields are dropped.
  ['zigbee2mqtt/door', '{"contact":true,"battery":100,"linkquality":60,"voltage":3000}', 'readings'],
  // Only its health (battery_low) and a setting: no measurement.
  ['zigbee2mqtt/door2', '{"battery_low":false,"battery":90,"led_disabled_night":true}', 'hub_event'],
  ['zigbee2mqtt/th', '{"temperature":null,"humidity":"nan","battery":50}', 'missing_value'],
  ['zigbee2mqtt/button', '{"action":"single","battery":90,"linkquality":70}', 'hub_event'],
  ['zigbee2mqtt/button2', '{"action":"double"}', 'hub_event'],
  ['zigbee2mqtt/group_lights', '{"state":"ON"}', 'hub_event'],
  ['zigbee2mqtt/motion', '{"occupancy":true,"illuminance_lux":12,"linkquality":90}', 'readings'],
  ['zigbee2mqtt/th2', '{"temperature":21.5,"humidity":null,"battery":50}', 'readings'],
  ['zigbee2mqtt/bridge/state', '{"state":"online"}', 'hub_topic'],
];

function count(where: string): number {
  return MESSAGES.filter((m) => m[2] === where).length;
}

describe.skipIf(!ready)('every message received is accounted for once (ha_statestream, zigbee2mqtt on the embedded broker)', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['ha_statestream', 'zigbee2mqtt'], timezone: 'UTC', clientId: `accounting-e2e-${process.pid}` }));
    for (const [topic, payload] of MESSAGES) await client.publishAsync(topic, payload, { qos: 1 });
  }, 60_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it('received = messages with readings + rejected + skipped (by reason); readings (fields) apart; `anomalyd status` shows the sum', async () => {
    type Status = { counters: Record<string, number>; rejections: Record<string, number>; skipped: Record<string, number> };
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    await waitFor(async () => (await status()).counters.messages >= MESSAGES.length, 30_000, 'every message parsed');
    const s = await status();
    const c = s.counters;
    expect(c.received).toBe(MESSAGES.length);
    expect(c.messages).toBe(MESSAGES.length);
    expect(c.messagesWithReadings).toBe(count('readings'));
    expect(c.messagesRejected).toBe(count('rejected'));
    expect(c.messagesHeld).toBe(0);
    expect(s.skipped).toEqual({ missing_value: count('missing_value'), text_state: count('text_state'), hub_event: count('hub_event'), hub_topic: count('hub_topic') });
    const skipped = Object.values(s.skipped).reduce((a, n) => a + n, 0);
    expect(c.messagesWithReadings + c.messagesRejected + c.messagesHeld + skipped).toBe(c.received);
    expect(s.rejections).toEqual({ bad_json: 1 });
    // Readings count fields: x twice, the door's contact, motion's illuminance and occupancy, th2's temperature.
    expect(c.readings).toBe(6);
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js'), 'status', '--url', http], { encoding: 'utf8' });
    expect(cli.stdout).toMatch(new RegExp(`^messages +received ${MESSAGES.length} = ${count('readings')} with readings \\+ ${count('rejected')} rejected \\+ ${MESSAGES.length - count('readings') - count('rejected')} skipped \\(readings count fields: 6\\)$`, 'm'));
    expect(cli.stdout).toMatch(new RegExp(`^skipped +.*missing_value ${count('missing_value')} \\(every value missing: null, nan, unavailable\\)`, 'm'));
  });
});
