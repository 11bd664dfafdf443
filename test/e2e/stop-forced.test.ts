/**
 * A second signal ("down now") still loses nothing it can keep cheaply: the daemon in-process on a real mosquitto, a
 * real SQLite file and the real onnxruntime, run as `anomalyd run` runs it (runDaemonUntilSignal, its CommandContext's
 * exit recorded instead of ending the test's process), sent SIGTERM while readings it has taken in (and acknowledged
 * at QoS 1) wait for the model, then SIGTERM again. The second signal cuts the drain short (shutdown.deadlineMs is a
 * minute here: without it the stop would wait) and the readings not scored are written with the final checkpoint, then
 * the context's exit(1) comes. A start on the same data directory scores every reading published exactly once. A third
 * signal at once exits without waiting for the write and says how many readings it drops.
 *
 * Deterministic, whatever the machine's speed: the model's step calls wait at a gate (test/helpers/gate.ts) shut
 * before the burst, so the drain cannot finish by itself; the signals are emitted to this process's listeners
 * (process.emit), not sent. Before (main ea5dc73d) the second signal called exit(1) at once: the burst's readings were
 * neither scored nor kept.
 */
import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { runDaemonUntilSignal } from '../../src/cli/run.js';
import type { CommandContext } from '../../src/cli/context.js';
import type { Daemon } from '../../src/daemon.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { gatedDaemon, keyOf } from '../helpers/gated-daemon.js';
import { useCleanups } from '../helpers/in-process.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { getJson, waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const cleanups = useCleanups();

const SENSORS = ['sensors/boiler', 'sensors/pump', 'sensors/fan', 'sensors/room'];
/** Readings per sensor scored before the gate shuts. */
const WARM = 40;
/** Readings per sensor published with the gate shut: taken in, not scored when the signals come. */
const BURST = 120;
/** Readings per sensor published after the restart. */
const LIVE = 20;

/**
 * Takes this process's own SIGTERM and SIGINT listeners (the test runner's) off until the test's cleanups, so that a
 * signal the test emits reaches the daemon's listeners only.
 */
function signalsToTheDaemonOnly(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const theirs = process.listeners(signal);
    process.removeAllListeners(signal);
    cleanups.push(() => {
      for (const l of theirs) process.on(signal, l);
    });
  }
}

/**
 * A CommandContext whose exit codes are recorded (the process goes on), with what `daemon` had not saved at each exit
 * (unsavedReadings) and had kept (counters.keptAtStop).
 */
function recordingContext(daemon: Daemon): { ctx: CommandContext; exits: number[]; at: { unsaved: number; kept: number }[] } {
  const exits: number[] = [];
  const at: { unsaved: number; kept: number }[] = [];
  // The process's exit never returns; this one records the code and returns (the run goes on, as the test wants).
  const exit = ((code: number): void => {
    exits.push(code);
    at.push({ unsaved: daemon.unsavedReadings, kept: daemon.counters.keptAtStop });
  }) as (code: number) => never;
  return { ctx: { stdout: () => undefined, stderr: () => undefined, env: {}, exit }, exits, at };
}

describe.skipIf(!ready)('a second signal cuts the stop short and keeps the readings not scored (in-process, real mosquitto)', () => {
  /** A daemon on mosquitto with its model gated and a burst taken in and held at the gate (test/helpers/gated-daemon.ts). */
  const loadedDaemon = (tag: string): ReturnType<typeof gatedDaemon> =>
    // A minute's deadline: the drain would wait for the gate that long; only the second signal ends it.
    gatedDaemon({ tag, qos: 1, deadlineMs: 60_000, sensors: SENSORS, warm: WARM, burst: BURST, total: WARM + BURST + LIVE, cleanups });

  it('SIGTERM, then SIGTERM while the drain waits: exit 1 after the unscored readings are kept; the restart scores every reading exactly once', async () => {
    const { daemon, gate, lines, logger, runs, published, publish, restart } = await loadedDaemon('stop-forced');
    const { ctx, exits } = recordingContext(daemon);
    const unscored = daemon.counters.intoModel - daemon.counters.modelDone;
    expect(unscored).toBeGreaterThan(0);
    signalsToTheDaemonOnly();
    const running = runDaemonUntilSignal(daemon, logger, ctx);
    process.emit('SIGTERM', 'SIGTERM');
    await waitFor(() => lines.some((l) => l.msg === 'stopping'), 10_000, 'the first signal taken');
    process.emit('SIGTERM', 'SIGTERM');
    // The run ends (the drain, a minute long, was cut short) with 1, and the context's exit(1) is called once.
    expect(await running).toBe(1);
    await waitFor(() => exits.length > 0, 10_000, 'the forced exit');
    expect(exits).toEqual([1]);
    expect(daemon.counters.keptAtStop).toBe(unscored);
    expect(daemon.unsavedReadings).toBe(0);
    expect(lines.find((l) => l.msg.startsWith('stop forced by a second signal'))).toMatchObject({ kept: unscored });
    expect(lines.find((l) => l.msg === 'stopped')).toMatchObject({ clean: false, forced: true });
    // Nothing says a reading was dropped.
    expect(lines.filter((l) => l.msg.includes('dropped'))).toEqual([]);
    // The held call returns after the stop: it adds no output (what it carried was kept).
    const afterStop = runs[0].length;
    gate.open();
    await gate.done();
    await new Promise((r) => setImmediate(r));
    expect(runs[0].length).toBe(afterStop);

    const two = await restart();
    await publish(LIVE);
    await waitFor(() => runs[0].length + runs[1].length >= published.length, 120_000, 'every reading scored').catch(() => undefined);
    const scored = [...runs[0], ...runs[1]].map(keyOf);
    const taken = new Set(scored);
    expect({ twice: scored.length - taken.size, lost: published.filter((k) => !taken.has(k)).length }).toEqual({ twice: 0, lost: 0 });
    expect(two.counters.keptFromStop).toBe(unscored);
    for (const topic of SENSORS) {
      const times = [...runs[0], ...runs[1]].filter((r) => `sensors/${r.stream}` === topic).map((r) => r.ts);
      expect(times.every((t, i) => i === 0 || t > times[i - 1]), `${topic}'s readings scored in order`).toBe(true);
    }
  }, 300_000);

  it('a third signal at once exits 1 without waiting for the stop and says how many readings it drops (each unscored reading kept or counted)', async () => {
    const { daemon, gate, lines, logger } = await loadedDaemon('stop-third');
    const { ctx, exits, at } = recordingContext(daemon);
    const unscored = daemon.counters.intoModel - daemon.counters.modelDone;
    expect(unscored).toBeGreaterThan(0);
    signalsToTheDaemonOnly();
    const running = runDaemonUntilSignal(daemon, logger, ctx);
    process.emit('SIGTERM', 'SIGTERM');
    await waitFor(() => lines.some((l) => l.msg === 'stopping'), 10_000, 'the first signal taken');
    // The second and the third in one turn: the third comes before the forced stop could write anything.
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    await waitFor(() => exits.length > 0, 10_000, 'the exit');
    expect(exits[0]).toBe(1);
    const said = lines.find((l) => l.msg.startsWith('signal three: exiting now'));
    // What it says is what was unsaved at the exit; every reading not scored was either kept (written) or counted.
    expect(said).toMatchObject({ level: 40, dropped: at[0].unsaved });
    expect(at[0].unsaved + at[0].kept).toBe(unscored);
    if (at[0].unsaved > 0) expect(said?.msg).toContain(`${at[0].unsaved} readings taken in and not scored are dropped`);
    // The process would be gone; here the stop goes on and ends, and exit(1) is not asked for twice.
    expect(await running).toBe(1);
    gate.open();
    await gate.done();
    expect(exits).toEqual([1]);
  }, 300_000);
});

describe.skipIf(!ready)('a second SIGTERM to `anomalyd run` under a burst (child process, the model in its worker thread, real mosquitto)', () => {
  /** Sensors of the burst, and readings in each one's message (a hub flushing its buffer). */
  const BURST_SENSORS = 300;
  const PER = 100;

  it('exits 1 (never an abort), or 0 when the stop was done first; every reading published is scored exactly once across the restart', async () => {
    const broker = await startMosquitto(cleanups);
    const daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: broker.url, clientId: `stop-forced-child-${process.pid}`, clean: false, qos: 1 },
      learning: { enabled: false },
    });
    cleanups.push(async () => {
      await daemon.stop('SIGKILL');
      rmSync(daemon.dir, { recursive: true, force: true });
    });
    await daemon.start();
    const pub = await mqtt.connectAsync(broker.url, { clientId: `stop-forced-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync(true));
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (PER + 5) * 1000;
    const sends: Promise<unknown>[] = [];
    for (let s = 0; s < BURST_SENSORS; s++) {
      const values = Array.from({ length: PER }, (_, k) => Number((20 + s / 100 + Math.sin(k / 3 + s)).toFixed(3)));
      sends.push(pub.publishAsync(`sensors/s${s}`, JSON.stringify({ values, ts: t0, interval_ms: 1000 }), { qos: 1 }));
    }
    await Promise.all(sends);
    const published = BURST_SENSORS * PER;
    daemon.proc!.kill('SIGTERM');
    await waitFor(() => daemon.logged('stopping').length > 0 || daemon.exitCode !== null, 30_000, 'the first signal taken');
    if (daemon.exitCode === null) daemon.proc!.kill('SIGTERM');
    const code = await daemon.waitExit();
    // Whenever the second signal came: never killed by a signal (SIGABRT: `terminate called after throwing an instance
    // of 'Napi::Error'`, status 134), never a native abort on stderr.
    expect(daemon.exitSignal).toBeNull();
    expect(daemon.stderr).not.toContain('terminate called');
    const one = daemon.logged('stopped').at(-1) as { clean: boolean; forced?: boolean; counters: Record<string, number> } | undefined;
    expect(one).toBeDefined();
    // Forced (exit 1), or the graceful stop was done before the second signal came (exit 0, clean).
    expect(code === 1 ? one?.forced === true && !one.clean : code === 0 && one?.clean === true && one.forced === undefined).toBe(true);
    // Nothing said dropped: the forced stop wrote what it had not scored.
    expect(daemon.lines.filter((l) => l.level >= 40 && /dropped|lost/.test(l.msg))).toEqual([]);

    await daemon.start();
    const url = (daemon.logged('ready')[0] as { http?: string }).http;
    expect(url).toBeTruthy();
    // Until every reading published is scored across the two runs (a guard of minutes; a loss would time out here).
    const scoredOne = one!.counters.scored;
    await waitFor(
      async () => {
        const status = await getJson<{ counters: Record<string, number> }>(`${url}/api/status`);
        return scoredOne + status.counters.scored >= published;
      },
      120_000,
      'every reading scored',
    ).catch(() => undefined);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const two = daemon.logged('stopped').at(-1)?.counters as Record<string, number> | undefined;
    expect(two?.keptFromStop).toBe(one!.counters.keptAtStop);
    expect(scoredOne + (two?.scored ?? 0)).toBe(published);
  }, 300_000);
});
