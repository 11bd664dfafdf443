// What a forced stop (a second SIGTERM while the first stop drains) loses of a burst (branch forcestop): a real
// mosquitto on --port, the daemon in a child process (dist/, the shipped config but for its data directory, mqtt.url
// on that mosquitto with a persistent session at QoS 1, HTTP on --port + 1, learning off, the model in its worker
// thread) run as `anomalyd run` runs it (runDaemonUntilSignal), SENSORS sensors publishing a burst of PER readings each
// (one message a sensor, device-timed `{"values":[…],"ts":…,"interval_ms":1000}`, QoS 1: a hub flushing its buffer).
// Once the daemon has taken --at of the burst in (GET /api/status counters.readings), SIGTERM; --gap ms after its
// `stopping` line, a second SIGTERM. Then a start on the same data directory, left until nothing more is scored, and
// a graceful stop. The child prints its counters on stderr as it exits (also when it exits through the forced path:
// CommandContext.exit), so the readings scored by the forced run are known. Prints one JSON line:
// {"sensors","per","published","at","gapMs","one":{"exit","signal","abort","takenIn","scored","keptAtStop","forcedToExitMs","warns"},
//  "two":{"keptFromStop","readings","scored"},"scoredTotal","lost"}
// lost = published − scored in both runs (a reading scored twice would count −1). Exit 0 always (a measurement).
// usage: node scripts/stop-forced.mjs [--port 19960] [--sensors 1000] [--per 200] [--at 0.5] [--gap 100] [--deadline 8000] [--log info]
//        (--gap -1: no second signal, the graceful stop)
//        (run from the repository root, after npm run build; needs mosquitto on the PATH)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROOT = resolve(new URL('..', import.meta.url).pathname);

if (args[0] === '--child') {
  // The daemon as `anomalyd run` runs it, its counters said on stderr as it exits (by the context's exit or not).
  const { loadConfig } = await import(join(ROOT, 'dist', 'config', 'load.js'));
  const { Daemon } = await import(join(ROOT, 'dist', 'daemon.js'));
  const { runDaemonUntilSignal } = await import(join(ROOT, 'dist', 'cli', 'run.js'));
  const { createLogger } = await import(join(ROOT, 'dist', 'log.js'));
  const loaded = loadConfig({ path: args[1], env: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const logger = createLogger(loaded.config.log.level, undefined, 'json');
  const daemon = new Daemon({ config: loaded.config, logger });
  const say = (how, code) => writeSync(2, `${JSON.stringify({ how, code, counters: daemon.counters, at: Math.round(performance.now()) })}\n`);
  // When the process is about to exit (after the run returned, once the event loop is empty), on the same clock.
  process.on('exit', () => writeSync(2, `${JSON.stringify({ how: 'exit', at: Math.round(performance.now()) })}\n`));
  const ctx = {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    exit: (code) => {
      say('ctx.exit', code);
      process.exit(code);
    },
  };
  const code = await runDaemonUntilSignal(daemon, logger, ctx);
  say('returned', code);
  process.exitCode = code;
} else {
  const PORT = Number(opt('port', '19960'));
  const SENSORS = Number(opt('sensors', '1000'));
  const PER = Number(opt('per', '200'));
  const GAP = Number(opt('gap', '100'));
  const DEADLINE = Number(opt('deadline', '8000'));
  const AT = Number(opt('at', '0.5'));
  const LOG = opt('log', 'info');
  const { default: mqtt } = await import('mqtt');
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-stop-forced-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${PORT} 127.0.0.1`, 'allow_anonymous true', 'max_queued_messages 0', 'persistence false', ''].join('\n'));
  const broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const cfg = join(dir, 'anomalyd.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      log: { level: LOG, format: 'json' },
      broker: { enabled: false },
      mqtt: { url: `mqtt://127.0.0.1:${PORT}`, clientId: `stop-forced-${process.pid}`, clean: false, qos: 1 },
      model: { dir: join(ROOT, 'models') },
      http: { port: PORT + 1 },
      learning: { enabled: false },
      shutdown: { deadlineMs: DEADLINE },
    }),
  );
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (cond, what, ms = 600_000) => {
    const t = Date.now();
    while (!(await cond())) {
      if (Date.now() - t > ms) throw new Error(`timed out: ${what}`);
      await sleep(20);
    }
  };
  const status = async () => {
    try {
      const r = await fetch(`http://127.0.0.1:${PORT + 1}/api/status`);
      return (await r.json()).counters;
    } catch {
      return null;
    }
  };
  /** The daemon in a child: its log lines (parsed), its stderr lines, its exit. */
  const child = () => {
    const p = spawn(process.execPath, [new URL(import.meta.url).pathname, '--child', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run = { p, lines: [], err: [], exited: null };
    let out = '';
    p.stdout.on('data', (b) => {
      out += b.toString('utf8');
      const parts = out.split('\n');
      out = parts.pop();
      for (const l of parts) if (l.trim() !== '') run.lines.push({ at: performance.now(), ...JSON.parse(l) });
    });
    let err = '';
    p.stderr.on('data', (b) => {
      err += b.toString('utf8');
      const parts = err.split('\n');
      err = parts.pop();
      for (const l of parts) if (l.trim() !== '') run.err.push(l);
    });
    run.exited = once(p, 'exit').then(([code, signal]) => ({ code, signal, at: performance.now() }));
    return run;
  };
  const countersOf = (run) => {
    const l = run.err.find((e) => e.startsWith('{"how"'));
    return l === undefined ? null : JSON.parse(l).counters;
  };
  const has = (run, msg) => run.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
  try {
    await sleep(300);
    const one = child();
    await until(() => has(one, 'ready'), 'the first run ready', 120_000);
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: `stop-forced-pub-${process.pid}` });
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (PER + 5) * 1000;
    const sends = [];
    for (let s = 0; s < SENSORS; s++) {
      const values = Array.from({ length: PER }, (_, k) => Number((20 + s / 100 + Math.sin(k / 3 + s)).toFixed(3)));
      sends.push(pub.publishAsync(`sensors/s${s}`, JSON.stringify({ values, ts: t0, interval_ms: 1000 }), { qos: 1 }));
    }
    await Promise.all(sends);
    await pub.endAsync();
    const published = SENSORS * PER;
    await until(async () => ((await status())?.readings ?? 0) >= AT * published, 'the burst taken in');
    one.p.kill('SIGTERM');
    await until(() => has(one, 'stopping'), 'stopping said');
    await sleep(Math.max(0, GAP));
    const second = performance.now();
    // --gap -1: no second signal (the graceful stop, to compare).
    if (GAP >= 0) one.p.kill('SIGTERM');
    const e1 = await one.exited;
    const c1 = countersOf(one);

    const two = child();
    await until(() => has(two, 'ready'), 'the second run ready', 120_000);
    // Until nothing more is taken in or scored for 3 s and nothing waits for the model.
    let last = '';
    let still = 0;
    await until(async () => {
      const c = await status();
      if (c === null) return false;
      const now = `${c.readings}/${c.scored}`;
      still = now === last && c.intoModel === c.modelDone ? still + 1 : 0;
      last = now;
      return still >= 15;
    }, 'the second run idle');
    two.p.kill('SIGTERM');
    await two.exited;
    const c2 = countersOf(two);
    const scoredTotal = (c1?.scored ?? 0) + (c2?.scored ?? 0);
    console.log(
      JSON.stringify({
        sensors: SENSORS,
        per: PER,
        published,
        at: AT,
        gapMs: GAP,
        one: {
          exit: e1.code,
          signal: e1.signal,
          abort: one.err.some((l) => l.includes('terminate called')),
          takenIn: c1?.readings ?? null,
          scored: c1?.scored ?? null,
          keptAtStop: c1?.keptAtStop ?? null,
          forcedToExitMs: Math.round(e1.at - second),
          steps: one.lines.filter((l) => l.msg === 'stop step').map((l) => `${l.step} ${l.ms}`),
          stoppedMs: (() => {
            const st = one.lines.find((l) => l.msg === 'stopping');
            const sd = one.lines.find((l) => l.msg === 'stopped');
            return st && sd ? Math.round(sd.at - st.at) : null;
          })(),
          // ms from the run's return (or the context's exit) to the process's 'exit' event (the event loop emptying).
          returnToExitMs: (() => {
            const ret = one.err.find((e) => e.startsWith('{"how":"returned"') || e.startsWith('{"how":"ctx.exit"'));
            const ex = one.err.find((e) => e.startsWith('{"how":"exit"'));
            return ret && ex ? JSON.parse(ex).at - JSON.parse(ret).at : null;
          })(),
          warns: one.lines.filter((l) => l.level === 40 && l.at >= second).map((l) => l.msg.slice(0, 160)),
        },
        two: { keptFromStop: c2?.keptFromStop ?? null, readings: c2?.readings ?? null, scored: c2?.scored ?? null },
        scoredTotal,
        lost: published - scoredTotal,
      }),
    );
  } finally {
    broker.kill('SIGTERM');
    await once(broker, 'exit').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
