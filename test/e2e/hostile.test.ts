/**
 * Issue 12, "bounded and fair": a seeded flood of hostile input into the real daemon (a child process,
 * the embedded broker, the real onnxruntime and a real SQLite file): 100,000 junk topics (half with junk
 * payloads, half with valid-looking numbers, so each of those makes a sensor) and 15 wide payloads of 1,000
 * to 5,000 fields (each under 50 kB) sent WIDE_REPEATS times, enough for windows. The junk sensors go
 * quiet and pass their idle span (limits.idleAfterMinMs, short here).
 *
 * The daemon runs with the V8 flags the systemd unit ships (its `Environment=NODE_OPTIONS=`, read from
 * systemd/anomalyd.service: a heap limit of 192 MB, about what a Raspberry Pi gives it, and the young generation's
 * size): unbounded growth would end it with a heap out-of-memory crash, and an unconstrained heap would only
 * measure how lazily V8 collects garbage. The bound is the same unit's MemoryMax.
 *
 * Stated bounds, checked: the daemon's peak resident memory (VmHWM) stays under RSS_BOUND_MB; the log of
 * the whole run stays under LOG_BOUND_BYTES (rejections are one summary line per interval, evictions and
 * status changes likewise); the junk sensors are evicted and a new real sensor is accepted afterwards.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/train/rng.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && process.platform === 'linux';
const SEED = 12_0012;
const JUNK_TOPICS = 100_000;
const WIDE_SENSORS = 15;
const WIDE_REPEATS = 80;
const UNIT = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'systemd', 'anomalyd.service'), 'utf8');
/** A setting of the shipped unit (the last line that sets it), or throws: the test checks what ships. */
function unitSetting(re: RegExp, what: string): string {
  const all = [...UNIT.matchAll(re)];
  if (all.length === 0) throw new Error(`systemd/anomalyd.service sets no ${what}`);
  return all[all.length - 1][1];
}
/** Peak resident memory of the daemon: the unit's MemoryMax (idle it is about 130 MB here; the issue saw 1.15 GB with wide payloads). */
const RSS_BOUND_MB = Number(unitSetting(/^MemoryMax=(\d+)M$/gm, 'MemoryMax in MB'));
/** The whole run's log, flood included. */
const LOG_BOUND_BYTES = 64 * 1024;
const IDLE_MIN_MS = 5000;
/** The unit's V8 flags (`--max-old-space-size=192 --max-semi-space-size=8`). */
const NODE_OPTIONS = unitSetting(/^Environment="?NODE_OPTIONS=([^"\n]+)"?$/gm, 'NODE_OPTIONS');

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function junkPayload(r: () => number, i: number): string {
  const junk = ['NaN', '{', '"x"', '[]', 'null', '{"value": "abc"}', '', 'true', '1e999', '\u0000\u0001'];
  return i % 2 === 0 ? junk[Math.floor(r() * junk.length)] : (r() * 100).toFixed(3);
}

function widePayload(r: () => number, fields: number, ts: number): string {
  const parts: string[] = [`"ts":${ts}`];
  for (let f = 0; f < fields; f++) parts.push(`"f${f}":${Math.floor(r() * 10)}`);
  return `{${parts.join(',')}}`;
}

async function status(http: string): Promise<{ counters: Record<string, number> }> {
  return (await (await fetch(`${http}/api/status`)).json()) as { counters: Record<string, number> };
}

describe.skipIf(!ready)('hostile input', () => {
  it('100,000 junk topics: memory and log stay bounded, the junk is evicted, a new real sensor is accepted afterwards', async () => {
    const daemon = new DaemonProcess({ broker: { port: 0 }, limits: { idleAfterIntervals: 10, idleAfterMinMs: IDLE_MIN_MS } });
    await daemon.start({ NODE_OPTIONS });
    try {
      const pid = daemon.proc!.pid!;
      const before = memoryOf(pid);
      const http = daemon.logged('ready')[0].http as string;
      const client = await mqtt.connectAsync(daemon.logged('ready')[0].mqtt as string, { clientId: `hostile-${process.pid}` });
      const r = mulberry32(SEED);

      // The flood: 100,000 topics, each used once; QoS 1 in windows of 1,000 so nothing is lost on the way.
      for (let start = 0; start < JUNK_TOPICS; start += 1000) {
        const batch: Promise<unknown>[] = [];
        for (let i = start; i < start + 1000; i++) batch.push(client.publishAsync(`sensors/junk-${i}-${Math.floor(r() * 1e9)}`, junkPayload(r, i), { qos: 1 }));
        await Promise.all(batch);
      }
      await waitFor(async () => (await status(http)).counters.messages >= JUNK_TOPICS, 90_000, 'the daemon to take the whole flood');

      // The junk is quiet now; past its idle span housekeeping evicts it.
      await waitFor(() => daemon.lines.some((l) => l.msg.startsWith('idle sensor evicted')), 20_000, 'the junk sensors to be evicted');
      await new Promise((res) => setTimeout(res, IDLE_MIN_MS + 2500));

      // A new real sensor is accepted afterwards: its readings count, none is rejected.
      const mid = (await status(http)).counters;
      for (let k = 0; k < 20; k++) await client.publishAsync('sensors/real-pump', `${20 + k / 10}`, { qos: 1 });
      await waitFor(async () => (await status(http)).counters.readings >= mid.readings + 20, 10_000, "the new sensor's readings");
      const end = (await status(http)).counters;
      expect(end.rejected).toBe(mid.rejected);
      await client.endAsync();

      const mem = memoryOf(pid);
      const logBytes = daemon.lines.reduce((n, l) => n + JSON.stringify(l).length + 1, 0);
      const rejectionLines = daemon.lines.filter((l) => l.msg.startsWith('input rejected'));
      const evictionLines = daemon.lines.filter((l) => l.msg.startsWith('idle sensor evicted'));
      console.info(
        `hostile junk: ${JUNK_TOPICS} junk topics: daemon RSS ${before.rss.toFixed(0)} MB -> ${mem.rss.toFixed(0)} MB, peak ${mem.peak.toFixed(0)} MB (bound ${RSS_BOUND_MB}); ` +
          `log ${logBytes} bytes in ${daemon.lines.length} lines (bound ${LOG_BOUND_BYTES}): ${rejectionLines.length} rejection summaries, ${evictionLines.length} eviction lines; counters ${JSON.stringify(end)}`,
      );
      expect(mem.peak).toBeLessThan(RSS_BOUND_MB);
      expect(logBytes).toBeLessThan(LOG_BOUND_BYTES);
      expect(daemon.exitCode).toBeNull();
      // However many rejections, one summary per interval (the first after a quiet interval, then per minute).
      expect(rejectionLines.length).toBeLessThanOrEqual(3);
      expect(evictionLines.length).toBeLessThanOrEqual(3);
    } finally {
      await daemon.stop();
    }
  }, 180_000);

  // Issue 11's caps on streams per sensor keep a wide payload from becoming 5,000 streams.
  it('15 wide payloads of 1,000 to 5,000 fields: memory and log stay bounded', async () => {
    const daemon = new DaemonProcess({ broker: { port: 0 } });
    await daemon.start({ NODE_OPTIONS });
    try {
      const pid = daemon.proc!.pid!;
      const http = daemon.logged('ready')[0].http as string;
      const client = await mqtt.connectAsync(daemon.logged('ready')[0].mqtt as string, { clientId: `wide-${process.pid}` });
      const r = mulberry32(SEED + 1);
      const t0 = Date.now() - WIDE_REPEATS * 1000;
      for (let rep = 0; rep < WIDE_REPEATS; rep++) {
        for (let s = 0; s < WIDE_SENSORS; s++) {
          const fields = 1000 + Math.floor((4000 * s) / (WIDE_SENSORS - 1));
          const payload = widePayload(r, fields, t0 + rep * 1000);
          expect(payload.length).toBeLessThan(50_000);
          await client.publishAsync(`sensors/wide-${s}`, payload, { qos: 1 });
        }
      }
      await waitFor(async () => (await status(http)).counters.messages >= WIDE_REPEATS * WIDE_SENSORS, 90_000, 'the daemon to take the wide payloads');
      // Let the windows they make go through the model.
      await new Promise((res) => setTimeout(res, 3000));
      await client.endAsync();
      const mem = memoryOf(pid);
      const logBytes = daemon.lines.reduce((n, l) => n + JSON.stringify(l).length + 1, 0);
      console.info(`hostile wide: peak ${mem.peak.toFixed(0)} MB (bound ${RSS_BOUND_MB}); log ${logBytes} bytes (bound ${LOG_BOUND_BYTES})`);
      expect(mem.peak).toBeLessThan(RSS_BOUND_MB);
      expect(logBytes).toBeLessThan(LOG_BOUND_BYTES);
    } finally {
      await daemon.stop();
    }
  }, 180_000);
});
