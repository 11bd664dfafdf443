/**
 * A daemon in-process on a real mosquitto, a real SQLite file and the real onnxruntime, with a burst of readings taken
 * in and held at a shut model gate (test/helpers/gate.ts): the set-up the stop tests share (test/e2e/stop-kept.test.ts,
 * test/e2e/stop-forced.test.ts). Whatever the machine's speed, the daemon is then at a known point: every reading of
 * the warm-up scored, every reading of the burst taken in (parsed, on its cadence, acknowledged at QoS 1), at least one
 * model call waiting at the gate.
 */
import mqtt from 'mqtt';
import type pino from 'pino';
import type { ScoredReading } from '../../src/contract/types.js';
import type { Daemon } from '../../src/daemon.js';
import { realAdapters } from '../../src/daemon/adapters.js';
import { Gate } from './gate.js';
import { type Cleanup, capturingLogger, inProcessDaemon, tempDataDir } from './in-process.js';
import { startMosquitto } from './mosquitto.js';
import { waitFor } from './net.js';

/** A reading's stream and device time (epoch ms), as one key: `stream@ts`. */
export const keyOf = (r: { stream: string; ts: number }): string => `${r.stream}@${r.ts}`;

export interface GatedDaemonOptions {
  /** Names the MQTT client ids (with this process's pid) and the data directory. */
  readonly tag: string;
  /** The daemon's and the sensors' QoS; QoS 1 uses persistent sessions (clean false), QoS 0 clean ones. */
  readonly qos: 0 | 1;
  /** shutdown.deadlineMs (ms): 100 (its minimum) makes a stop's drain end at once; a minute makes it wait. */
  readonly deadlineMs: number;
  /** The sensors' topics, each under `sensors/` (the stream is named after the topic's last level). */
  readonly sensors: readonly string[];
  /** Readings per sensor published, and scored, before the gate shuts. */
  readonly warm: number;
  /** Readings per sensor published with the gate shut: taken in, not scored. */
  readonly burst: number;
  /** Readings per sensor the test publishes in all: device times are 1 s apart and end 10 s before the start. */
  readonly total: number;
  readonly cleanups: Cleanup[];
}

export interface GatedDaemon {
  readonly daemon: Daemon;
  readonly gate: Gate;
  /** The first daemon's log lines, parsed (capturingLogger). */
  readonly lines: { level: number; msg: string }[];
  readonly logger: pino.Logger;
  /** Scored readings of the first daemon ([0]) and of the restarted one ([1]). */
  readonly runs: ScoredReading[][];
  /** keyOf of every reading published so far, in publishing order. */
  readonly published: string[];
  /** Publishes the next `count` readings of every sensor (awaiting each publish's acknowledgement). */
  publish(count: number): Promise<void>;
  /** Starts a second daemon on the same data directory and broker (ungated), its readings in `runs[1]`. */
  restart(logger?: pino.Logger): Promise<Daemon>;
}

/**
 * Starts mosquitto, the gated daemon and a sensor client; publishes `warm` readings per sensor and waits until they
 * are scored, shuts the gate, publishes `burst` more and waits until they are taken in and a model call waits at the
 * gate. Every resource's stop is pushed onto `cleanups`.
 * @throws Error when mosquitto or the daemon does not start, or (waitFor) when a wait above takes longer than 60 s
 */
export async function gatedDaemon(o: GatedDaemonOptions): Promise<GatedDaemon> {
  const broker = await startMosquitto(o.cleanups);
  const dataDir = tempDataDir(`anomalyd-${o.tag}-`, o.cleanups);
  const gate = new Gate();
  const clean = o.qos === 0;
  const overrides = {
    mqtt: { url: broker.url, clientId: `${o.tag}-${process.pid}`, clean, qos: o.qos },
    http: { enabled: false },
    shutdown: { deadlineMs: o.deadlineMs },
  } as const;
  const runs: ScoredReading[][] = [[], []];
  const first = capturingLogger();
  const { daemon } = await inProcessDaemon({
    dataDir,
    brokerUrl: broker.url,
    overrides,
    clock: null,
    adapters: { loadModel: gate.loader(realAdapters.loadModel) },
    onReading: (r) => runs[0].push(r),
    logger: first.logger,
    cleanups: o.cleanups,
  });
  const sensor = await mqtt.connectAsync(broker.url, { clientId: `${o.tag}-sensor-${process.pid}`, clean });
  o.cleanups.push(() => sensor.endAsync(true));

  // Device times 1 s apart ending before now; each sensor its own level.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - (o.total + 10) * 1000;
  const published: string[] = [];
  let next = 0;
  const publish = async (count: number): Promise<void> => {
    for (let k = 0; k < count; k++, next++) {
      for (const [s, topic] of o.sensors.entries()) {
        const ts = t0 + next * 1000;
        await sensor.publishAsync(topic, JSON.stringify({ ts, value: Number((20 + 3 * s + Math.sin(next / 5 + s)).toFixed(3)) }), { qos: o.qos });
        published.push(keyOf({ stream: topic.slice('sensors/'.length), ts }));
      }
    }
  };
  const n = o.sensors.length;
  await publish(o.warm);
  await waitFor(() => daemon.counters.readings >= o.warm * n, 60_000, 'the warm-up readings taken');
  await waitFor(() => runs[0].length >= o.warm * n, 60_000, 'the warm-up readings scored');
  gate.close();
  await publish(o.burst);
  await waitFor(() => daemon.counters.readings >= (o.warm + o.burst) * n, 60_000, 'the burst taken in');
  await waitFor(() => gate.held > 0, 60_000, 'a model call held at the gate');
  const restart = async (logger?: pino.Logger): Promise<Daemon> => {
    const { daemon: two } = await inProcessDaemon({
      dataDir,
      brokerUrl: broker.url,
      overrides,
      clock: null,
      onReading: (r) => runs[1].push(r),
      ...(logger !== undefined ? { logger } : {}),
      cleanups: o.cleanups,
    });
    return two;
  };
  return { daemon, gate, lines: first.lines, logger: first.logger, runs, published, publish, restart };
}
