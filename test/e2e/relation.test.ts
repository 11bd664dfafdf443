/**
 * A stream that breaks its relation to a duty-cycled stream of its device, told through the daemon (tryout 39, finding
 * 2; `score.relations`; docs/ALERTS.md, "A stream that breaks its relation to another"). A workshop ESPHome node's
 * motor_current (2 s, a duty cycle) and bearing_temp (10 s, following the motor with a lag) as JSON arrays on
 * `sensors/workshop` (the streams workshop/motor_current and workshop/bearing_temp of the device workshop), 6 h of
 * normal history, then the motor held off 40 min while the temperature rises 9 °C, then 20 min of normal running.
 *
 * The daemon in-process with an injected wall clock (virtual time), the shipped models in real onnxruntime, a real
 * SQLite file and the embedded broker; alerts are read by an MQTT subscriber. The judgement itself at 2 s / 10 s and
 * 1 min / 5 min, its quiet on normal days: test/daemon/relations.test.ts.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';
import { workshopPair } from '../helpers/workshop-pair.js';

const HOUR = 3_600_000;
const cleanups = useCleanups();
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

describe.skipIf(!builtAndModelsPresent())('relation through the daemon (score.relations)', () => {
  it('the bearing temperature rising while the motor is off opens one `relation` episode of the temperature, alerted and stored, and resolves after it', async () => {
    const dataDir = tempDataDir('anomalyd-relation-', cleanups);
    const start = yesterdayNoonUtc() - 7 * HOUR;
    let now = start;
    const clock = (): number => now;
    const { daemon, url } = await inProcessDaemon({
      dataDir,
      brokerUrl: null,
      overrides: { score: { relations: true }, http: { enabled: false }, explain: { timeZone: 'UTC', units: ['*current*=A', '*bearing_temp*=°C'] } },
      clock,
      cleanups,
    });
    const alerts = await collectAlerts(url, `relation-sub-${process.pid}`, cleanups);
    const pub = await mqtt.connectAsync(url, { clientId: `relation-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());

    const faultAt = start + 6 * HOUR;
    const faultMs = (40 / 60) * HOUR;
    const rows = workshopPair({ start, durationMs: 7 * HOUR, slow: 1, seed: 39, faultAt, faultMs });
    // In time order, 300 readings a message (both streams in one array, as an ESPHome gateway's buffer), the clock
    // at each message's newest reading.
    for (let i = 0; i < rows.length; i += 300) {
      const chunk = rows.slice(i, i + 300);
      now = chunk[chunk.length - 1].ts;
      await pub.publishAsync('sensors/workshop', JSON.stringify(chunk.map((r) => ({ ts: r.ts, [r.stream]: r.value }))), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= rows.length, 180_000, 'every reading scored');
    await settle();
    await settle();

    const relation = alerts.filter((a) => a.explanation?.kind === 'relation');
    const opens = relation.filter((a) => a.event === 'open');
    expect(opens).toHaveLength(1);
    const open = opens[0];
    expect(open.sensor).toBe('workshop/bearing_temp');
    expect(Date.parse(open.start)).toBeGreaterThanOrEqual(faultAt);
    expect(Date.parse(open.start)).toBeLessThan(faultAt + faultMs / 2);
    expect(open.explanation?.sentence).toMatch(/^workshop\/bearing_temp (rising|falling) [+−][\d.]+ °C\/h while workshop\/motor_current is low \(0\.0\d+ A\), expected [+−][\d.]+ ± [\d.]+ °C\/h at [\d.]+ °C since \d\d:\d\d \(relation\)$/);
    const resolve = relation.find((a) => a.event === 'resolve' && a.anomaly_id === open.anomaly_id);
    expect(resolve?.explanation?.sentence).toMatch(/ rising \+[\d.]+ °C\/h while workshop\/motor_current is low /);
    expect(Date.parse(resolve?.end ?? '')).toBeGreaterThanOrEqual(faultAt + faultMs);

    // Stored as the temperature's episode of the device, kind relation, resolved.
    const stored = daemon.database!.listAnomalies({ device: 'workshop', limit: 100 }).find((a) => a.id === open.anomaly_id);
    expect(stored?.sensor).toBe('workshop/bearing_temp');
    expect(stored?.kind).toBe('relation');
    expect(stored?.status).toBe('resolved');
  }, 300_000);
});
