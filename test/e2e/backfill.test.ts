/**
 * Tryout 27, finding 6, through a real mosquitto: a user publishes days of one sensor's history (one reading a minute,
 * each with its own time) as fast as a script can, and the broker drops what its queue for the daemon's session cannot
 * hold (mosquitto keeps max_inflight_messages, 20, in flight and max_queued_messages queued for a subscriber that reads
 * slower than it is sent to; the rest is dropped, and neither mosquitto's log nor anomalyd said so). Here
 * max_queued_messages is 100 and the daemon's acknowledgements are held by a proxy while 2,000 of the readings are
 * published (a daemon that stopped reading for a moment), so the broker drops 1,880 of them (a few more if some of
 * its window was still unacknowledged then).
 *
 * The daemon in-process (the real clock, the shipped models, a real SQLite file and HTTP API) on a persistent session
 * (clean: false, QoS 1). It counts exactly the readings that did not arrive as missing at the stream's interval, warns once for the burst
 * (naming the stream, the count, the span and the broker's queue), says it in GET /api/status, and opens no
 * missing-data episode for the hole (before: nothing said, and the 31-hour hole opened `missing data`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { canConnect } from '../../src/util/net.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { mosquittoAvailable } from '../helpers/mosquitto.js';
import { MqttProxy } from '../helpers/mqtt-proxy.js';
import { freePort, waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

/** The broker's queue per session beyond its in-flight window (mosquitto's max_inflight_messages: 20 by default). */
const QUEUED = 100;
const INFLIGHT = 20;
const MINUTE = 60_000;

async function mosquitto(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-backfill-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `max_queued_messages ${QUEUED}`, ''].join('\n'));
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  );
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${err}`);
      return canConnect(port);
    },
    10_000,
    'mosquitto',
  );
  return port;
}

describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable() || spawnSync('mosquitto', ['-h']).status === null)('history published at full speed into mosquitto with a small queue', () => {
  it('counts the readings the broker dropped as missing at the interval, warns once, says it in status, and opens no missing-data episode', async () => {
    const port = await mosquitto();
    const proxy = new MqttProxy(port);
    await proxy.start();
    cleanups.push(() => proxy.stop());

    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    /** The newest reading the daemon scored (its time, epoch ms): mosquitto delivers a session's messages in order. */
    let newest = 0;
    const { daemon } = await inProcessDaemon({
      dataDir: tempDataDir('anomalyd-backfill-data-', cleanups),
      brokerUrl: proxy.url,
      clock: null,
      logger,
      onReading: (r) => void (newest = Math.max(newest, r.ts)),
      overrides: { http: { enabled: true, port: 0 }, mqtt: { url: proxy.url, clean: false, qos: 1, clientId: 'anomalyd-backfill-test' } },
      cleanups,
    });

    const hub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'backfill-script' });
    cleanups.push(() => hub.endAsync(true));
    // Three days of a room sensor read once a minute, ending a day ago.
    const N = 3000;
    const t0 = Date.now() - 86_400_000 - N * MINUTE;
    const rnd = lcg(27);
    const value = (i: number): number => Math.round((21 + Math.sin(i / 240) + 0.1 * (rnd() - 0.5)) * 100) / 100;
    const payloads = Array.from({ length: N }, (_, i) => JSON.stringify({ ts: t0 + i * MINUTE, value: value(i) }));
    const publish = (from: number, to: number): Promise<unknown> => Promise.all(payloads.slice(from, to).map((p) => hub.publishAsync('sensors/room', p, { qos: 1 })));
    /**
     * Publishes [from, to) in chunks the broker's window and queue hold, each scored by the daemon before the next (the
     * chunk's last reading scored: in order, so whatever the broker queued before it came first).
     */
    const inChunks = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 50) {
        const end = Math.min(to, i + 50);
        await publish(i, end);
        await waitFor(() => newest >= t0 + (end - 1) * MINUTE, 30_000, `reading ${end - 1} scored`);
      }
    };

    await inChunks(0, 500);
    expect(daemon.counters.readings).toBe(500);
    // The daemon stops acknowledging for a moment: the broker keeps its window and its queue of the next 2,000 and
    // drops the rest (at least 2,000 - 20 - 100; more if a few of the window were still unacknowledged).
    proxy.holdFromClient = true;
    await publish(500, 2500);
    proxy.release();
    // The broker then delivers what it kept: its queue at least (the window may have held fewer of the new ones), until
    // the daemon's count stands still (its queue empty: a chunk sent before would overflow it again).
    await waitFor(() => daemon.counters.readings >= 500 + QUEUED, 30_000, 'the queue delivered');
    for (let seen = -1; daemon.counters.readings !== seen; ) {
      seen = daemon.counters.readings;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await inChunks(2500, N);
    const dropped = N - daemon.counters.readings;
    expect(dropped).toBeGreaterThanOrEqual(2000 - INFLIGHT - QUEUED);
    expect(dropped).toBeLessThan(2000);

    // Once the burst is over (no reading of it for 10 s), one warning for it.
    const warned = (): Record<string, unknown>[] => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('stream room: '));
    await waitFor(() => warned().length > 0, 30_000, 'the backfill warning');
    expect(warned()).toHaveLength(1);
    const w = warned()[0];
    expect(w).toMatchObject({ level: 40, stream: 'room', missing: dropped, holes: 1, intervalMs: MINUTE, to: new Date(t0 + (N - 1) * MINUTE).toISOString() });
    expect(w.msg).toMatch(new RegExp(`^stream room: ${dropped} readings missing at its interval \\(60 s\\) in a backfill of .* the broker may have dropped them \\(mosquitto keeps at most max_queued_messages`));
    expect(w.msg).toContain('anomalyd replay --input');
    // What arrived and what is missing make up what was sent.
    expect(daemon.counters.readings + daemon.counters.backfillMissing).toBe(N);

    const status = (await (await fetch(`${daemon.httpUrl!}/api/status`)).json()) as { counters: Record<string, number>; backfill: { missing: number; bursts: number; last: { stream: string; missing: number } | null } };
    expect(status.counters.backfillMissing).toBe(dropped);
    expect(status.backfill).toMatchObject({ missing: dropped, bursts: 1, last: { stream: 'room', missing: dropped } });

    // The hole is not the sensor's silence: no missing-data episode (the healthy room sensor has none at all).
    await waitFor(() => daemon.counters.scored >= daemon.counters.readings, 30_000, 'every reading scored');
    const episodes = daemon.database!.listAnomalies({ limit: 50 });
    expect(episodes.filter((e) => e.explanation?.kind === 'missing_data')).toEqual([]);
  });
});
