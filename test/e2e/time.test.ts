/**
 * Time as devices send it (issue 11; field cases "Clock steps" and "Local time without an offset"):
 *   - the host's wall clock jumps an hour ahead for a few seconds and back while bare-number readings
 *     (stamped on arrival) flow: every reading is accepted (the daemon in-process, its wall clock injected,
 *     the embedded broker and a real MQTT client);
 *   - a device's readings with one time stamp 55 s ahead (a clock glitch): that reading alone is rejected
 *     (clock_glitch), the ones after it are taken (the daemon in-process, as above);
 *   - `{"value": 564.42, "timestamp": "…T11:00:00"}` from a device on UTC+1: accepted with
 *     ingest.timezone, and by default when the host's zone is the device's; with the wrong zone every
 *     reading is rejected but the far-off clock is reported once for the sensor, not once per reading;
 *   - junk on many new topics stamped far ahead: the first few devices are warned of one line each, the rest in
 *     one summary line per limits.logIntervalMs (tryout 16, finding 10: 339 warn lines in 20 s).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { CLOCK_SKEW_BURST, CLOCK_SKEW_MSG, Daemon } from '../../src/daemon.js';
import { DaemonProcess, MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const HOUR = 3_600_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A Berlin wall-clock time without an offset, as the device in the field case writes it. */
function berlinWallTime(ts: number): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ts))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

describe.skipIf(!builtAndModelsPresent())('time as devices send it', () => {
  it('accepts every live reading while the wall clock steps an hour forward and back', async () => {
    let skew = 0;
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir: mkdtempSync(join(tmpdir(), 'anomalyd-clock-')), broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), now: () => Date.now() + skew });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `clock-${process.pid}` });
    cleanups.push(() => client.endAsync());
    let sent = 0;
    const send = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await client.publishAsync('sensors/probe', String(20 + Math.sin(sent++ / 5)), { qos: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await send(50);
    skew = HOUR; // NTP steps the clock an hour ahead ...
    await send(100);
    skew = 0; // ... and back, a few seconds later
    await send(100);
    await waitFor(() => daemon.counters.messages >= sent, 10_000, 'every reading parsed');
    expect(daemon.counters.readings).toBe(sent);
    expect(daemon.counters.rejected).toBe(0);
  }, 60_000);

  it('loses only the reading whose device time stamp glitched ahead, not the readings after it', async () => {
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir: mkdtempSync(join(tmpdir(), 'anomalyd-glitch-')), broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }) });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `glitch-${process.pid}` });
    cleanups.push(() => client.endAsync());
    // A device's 1 Hz readings of the last 80 s, sent now; the 20th stamped 40 s ahead of its arrival (one bad
    // RTC read). A time stamp ahead of the stream but still in the past of its arrival is taken (admit.ts).
    const n = 80;
    const start = Date.now() - n * 1000;
    for (let i = 0; i < n; i++) {
      const ts = start + i * 1000 + (i === 20 ? 100_000 : 0);
      await client.publishAsync('sensors/probe', JSON.stringify({ value: 20 + Math.sin(i / 5), ts }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.messages >= n, 10_000, 'every reading parsed');
    expect(daemon.counters.rejected).toBe(1);
    expect(daemon.counters.readings).toBe(n - 1);
  }, 60_000);

  it('warns of the first devices with a clock ahead one line each, the rest in one summary line per log interval', async () => {
    let skew = 0;
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir: mkdtempSync(join(tmpdir(), 'anomalyd-skewlog-')), broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const daemon = new Daemon({ config: loaded.config, logger, now: () => Date.now() + skew });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `skewlog-${process.pid}` });
    cleanups.push(() => client.endAsync());
    const devices = 3 * CLOCK_SKEW_BURST;
    const junk = JSON.stringify({ ts: '9999-12-31T00:00:00Z', value: 1 });
    for (let i = 0; i < devices; i++) await client.publishAsync(`sensors/junk${i}`, junk, { qos: 1 });
    for (let i = 0; i < 5; i++) await client.publishAsync('sensors/junk0', junk, { qos: 1 }); // a device already told of
    await waitFor(() => daemon.counters.messages >= devices + 5, 10_000, 'every message parsed');
    expect(daemon.counters.rejected).toBe(devices + 5);
    const skewLines = (): Record<string, unknown>[] => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(CLOCK_SKEW_MSG));
    // Within the interval: the first devices one line each, the others held for the summary.
    expect(skewLines().map((l) => l.sensor)).toEqual(Array.from({ length: CLOCK_SKEW_BURST }, (_, i) => `junk${i}`));
    // The interval ends (the daemon's clock moves on by limits.logIntervalMs): one line for the rest.
    skew = loaded.config.limits.logIntervalMs;
    await waitFor(() => skewLines().length > CLOCK_SKEW_BURST, 10_000, 'the summary line');
    const summary = skewLines().slice(CLOCK_SKEW_BURST);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ level: 40, count: devices - CLOCK_SKEW_BURST });
    expect(summary[0].msg).toBe(`${CLOCK_SKEW_MSG} (${devices - CLOCK_SKEW_BURST} more in the last interval; examples below)`);
    expect((summary[0].examples as { sensor: string }[])[0]).toMatchObject({ sensor: `junk${CLOCK_SKEW_BURST}` });
  }, 60_000);

  const config = (timezone: string | null): Record<string, unknown> => ({ broker: { port: 0 }, learning: { enabled: false }, ingest: { timezone } });

  async function publishLocal(daemon: DaemonProcess, n: number): Promise<void> {
    const client = await mqtt.connectAsync(daemon.logged('ready')[0].mqtt as string, { clientId: `tz-${process.pid}-${Date.now()}` });
    for (let i = 0; i < n; i++) {
      const ts = Date.now() - (n - i) * 1000;
      await client.publishAsync('sensors/meter', JSON.stringify({ value: 564.42 + i / 100, timestamp: berlinWallTime(ts) }), { qos: 1 });
    }
    await client.endAsync();
  }

  async function counters(daemon: DaemonProcess): Promise<Record<string, number>> {
    const http = daemon.logged('ready')[0].http as string;
    return ((await (await fetch(`${http}/api/status`)).json()) as { counters: Record<string, number> }).counters;
  }

  for (const [what, timezone, env] of [
    ['ingest.timezone names the device zone', 'Europe/Berlin', {}],
    ['the default is the host zone, and the host is in the device zone', null, { TZ: 'Europe/Berlin' }],
  ] as const) {
    it(`reads local device times without an offset: ${what}`, async () => {
      const daemon = new DaemonProcess(config(timezone));
      cleanups.push(() => daemon.stop('SIGKILL'));
      await daemon.start(env);
      await publishLocal(daemon, 30);
      await waitFor(async () => (await counters(daemon)).messages >= 30, 10_000, 'the readings');
      const c = await counters(daemon);
      expect(c.readings).toBe(30);
      expect(c.rejected).toBe(0);
    }, 30_000);
  }

  it('warns once per stream and hour when a run of out_of_order readings is lost: a gateway that sent a live reading before flushing its buffer', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir: mkdtempSync(join(tmpdir(), 'anomalyd-flush-')), broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const daemon = new Daemon({ config: loaded.config, logger });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `flush-${process.pid}` });
    cleanups.push(() => client.endAsync());
    const stream = 'gw1_living_room_temperature';
    const reading = (ts: number, i: number): string => JSON.stringify({ value: 21 + Math.sin(i / 5), ts });
    // Back after an outage, the gateway sends its live reading first, then its buffer of the 30 minutes before (one a minute).
    const now = Date.now();
    const buffered = Array.from({ length: 30 }, (_, i) => now - (30 - i) * 60_000);
    await client.publishAsync(`sensors/${stream}`, reading(now, 0), { qos: 1 });
    for (const [i, ts] of buffered.entries()) await client.publishAsync(`sensors/${stream}`, reading(ts, i), { qos: 1 });
    // The next live reading; then a second flush of the same kind within the hour, and a short run of 5 on another stream.
    await client.publishAsync(`sensors/${stream}`, reading(now + 1000, 1), { qos: 1 });
    for (const [i, ts] of buffered.entries()) await client.publishAsync(`sensors/${stream}`, reading(ts, i), { qos: 1 });
    await client.publishAsync('sensors/gw1_other', reading(now, 0), { qos: 1 });
    for (const ts of buffered.slice(0, 5)) await client.publishAsync('sensors/gw1_other', reading(ts, 0), { qos: 1 });
    await waitFor(() => daemon.counters.messages >= 68, 10_000, 'every reading parsed');
    // What is accepted is unchanged: the buffer is still lost.
    expect(daemon.counters.readings).toBe(3);
    expect(daemon.counters.rejected).toBe(65);
    const flushWarning = (): Record<string, unknown>[] => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('out_of_order run:'));
    await waitFor(() => flushWarning().length > 0, 10_000, 'the warning');
    await daemon.stop(); // what is pending is said at stop; nothing more comes for this hour
    const warnings = flushWarning();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ stream, count: 30, firstTs: new Date(buffered[0]).toISOString(), lastTs: new Date(buffered[29]).toISOString() });
    expect(warnings[0].msg).toContain(`30 readings of ${stream} rejected out_of_order in a row`);
    expect(warnings[0].msg).toMatch(/gateway .* live reading .* buffer/);
  }, 60_000);

  it('reports a device clock that is far off once for the sensor, not once per reading', async () => {
    const daemon = new DaemonProcess(config('UTC'));
    cleanups.push(() => daemon.stop('SIGKILL'));
    await daemon.start({ TZ: 'UTC' });
    await publishLocal(daemon, 30);
    await waitFor(async () => (await counters(daemon)).messages >= 30, 10_000, 'the readings');
    expect((await counters(daemon)).rejected).toBe(30);
    const reports = daemon.logged(CLOCK_SKEW_MSG);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ sensor: 'meter' });
    // Its local time as text without an offset, an hour ahead: ingest.timezone is the remedy (operatorview's advice).
    expect(String(reports[0].advice)).toMatch(/ingest\.timezone/);
    expect(reports[0].aheadMs as number).toBeGreaterThan(HOUR - 60_000);
  }, 30_000);
});
