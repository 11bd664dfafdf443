/**
 * systemd service notifications (sd_notify(3)): READY, STATUS, WATCHDOG and STOPPING, sent through the
 * `systemd-notify` binary.
 *
 * Why a child process: the notify socket is an AF_UNIX SOCK_DGRAM socket, and Node 20 cannot send to
 * one without a native addon. node:dgram only knows udp4/udp6 (`createSocket('unix_dgram')` throws
 * ERR_SOCKET_BAD_TYPE), and node:net only speaks SOCK_STREAM (`net.connect(notifySocketPath)` fails with
 * EPROTOTYPE). Both checked on Node 20.20. Native addons (unix-dgram, sd-notify) would add a compile
 * step on the Pi, so we spawn `systemd-notify`, which ships with systemd itself.
 *
 * The child, not us, is the sender, so systemd must accept notifications from any process of the
 * service (NotifyAccess=all in systemd/anomalyd.service). A short-lived sender used to race PID 1
 * (the child exits before PID 1 can map it to the unit); since systemd 246 `systemd-notify` waits on a
 * BARRIER=1 round-trip before exiting, which closes that race (Debian 12 ships 252).
 *
 * Every method is fire-and-forget: it never throws and never blocks the event loop. Messages go out
 * one child at a time, in call order (so STOPPING can never overtake READY), and at most one WATCHDOG
 * ping waits in the queue. When NOTIFY_SOCKET is unset (not started by systemd) everything is a no-op.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/** What the heartbeat needs of a notifier; lets tests count pings without spawning anything. */
export interface WatchdogPort {
  watchdog(): void;
}

export interface SystemdNotifierOptions {
  /** Environment read for NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID and passed to the child (its PATH finds the binary). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Our main PID, compared with WATCHDOG_PID and sent as MAINPID with READY. Default process.pid. */
  readonly pid?: number;
  readonly logger?: Pick<Logger, 'warn'>;
  /** Default 'systemd-notify', looked up on the env's PATH. */
  readonly command?: string;
  /** A child still running after this is killed (PID 1 stuck, or the barrier never answered). Default 5000 ms. */
  readonly timeoutMs?: number;
}

interface Message {
  readonly args: readonly string[];
  readonly watchdog: boolean;
}

const DEFAULT_TIMEOUT_MS = 5000;

export class SystemdNotifier implements WatchdogPort {
  private readonly env: NodeJS.ProcessEnv;
  private readonly pid: number;
  private readonly log: Pick<Logger, 'warn'> | undefined;
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly queue: Message[] = [];
  private sending = false;
  private idle: Array<() => void> = [];
  private failureCount = 0;

  constructor(opts: SystemdNotifierOptions = {}) {
    this.env = opts.env ?? process.env;
    this.pid = opts.pid ?? process.pid;
    this.log = opts.logger;
    this.command = opts.command ?? 'systemd-notify';
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** True when started by systemd with a notify socket (Type=notify). */
  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  /**
   * How often to ping: half of WatchdogSec, as sd_watchdog_enabled(3) advises. Null when the watchdog
   * is off, notifications are disabled, or WATCHDOG_PID names another process (a wrapper's child).
   */
  get watchdogIntervalMs(): number | null {
    if (!this.enabled) return null;
    const usec = parsePositiveInt(this.env.WATCHDOG_USEC);
    if (usec === null) return null;
    const watchdogPid = this.env.WATCHDOG_PID;
    if (watchdogPid !== undefined && watchdogPid !== '' && parsePositiveInt(watchdogPid) !== this.pid) return null;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** Failed sends so far (only the first is logged). */
  get failures(): number {
    return this.failureCount;
  }

  /** Start-up is complete. MAINPID tells systemd which PID is ours even if a wrapper started us. */
  ready(status?: string): void {
    this.enqueue([`--pid=${this.pid}`, 'READY=1', ...statusArg(status)], false);
  }

  status(text: string): void {
    this.enqueue(statusArg(text), false);
  }

  /** One keep-alive ping; dropped if one is already queued (a second adds nothing). */
  watchdog(): void {
    if (this.queue.some((m) => m.watchdog)) return;
    this.enqueue(['WATCHDOG=1'], true);
  }

  /** The service is shutting down; systemd then shows "deactivating" and stops expecting pings. */
  stopping(status?: string): void {
    this.enqueue(['STOPPING=1', ...statusArg(status)], false);
  }

  /** Resolves once every queued message has been handed to a child that exited (or failed). */
  settled(): Promise<void> {
    if (!this.sending) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private enqueue(args: readonly string[], watchdog: boolean): void {
    if (!this.enabled) return;
    this.queue.push({ args, watchdog });
    if (!this.sending) this.sendNext();
  }

  private sendNext(): void {
    const next = this.queue.shift();
    if (!next) {
      this.sending = false;
      const waiters = this.idle;
      this.idle = [];
      for (const resolve of waiters) resolve();
      return;
    }
    this.sending = true;
    try {
      execFile(this.command, [...next.args], { env: this.env, timeout: this.timeoutMs, windowsHide: true }, (err) => {
        if (err) this.onFailure(err);
        this.sendNext();
      });
    } catch (err) {
      // execFile throws synchronously only for invalid arguments; keep the promise of never throwing.
      this.onFailure(err);
      this.sendNext();
    }
  }

  private onFailure(err: unknown): void {
    this.failureCount++;
    if (this.failureCount > 1) return;
    const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
    this.log?.warn(
      { err, command: this.command, socket: this.env.NOTIFY_SOCKET },
      missing
        ? `${this.command} not found: systemd will not see READY or watchdog pings (install systemd, or unset NOTIFY_SOCKET)`
        : 'systemd notification failed; further failures are not logged',
    );
  }
}

function statusArg(status: string | undefined): string[] {
  // The notify protocol is newline-separated assignments: a newline would start a bogus one.
  return status === undefined ? [] : [`STATUS=${status.replace(/[\r\n]+/g, ' ')}`];
}

function parsePositiveInt(s: string | undefined): number | null {
  if (s === undefined || !/^\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export interface HeartbeatOptions {
  readonly logger?: Pick<Logger, 'warn' | 'info' | 'error'>;
}

/**
 * Pings the watchdog every intervalMs, but only while isHealthy() says the pipeline is making progress.
 * A stalled pipeline (or a blocked event loop, which stops the timer itself) stops the pings, and
 * systemd restarts the service after WatchdogSec. Owns its one timer; start() and stop() are idempotent.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private withheld = false;

  constructor(
    private readonly notifier: WatchdogPort,
    private readonly isHealthy: () => boolean,
    private readonly intervalMs: number,
    private readonly opts: HeartbeatOptions = {},
  ) {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`heartbeat interval must be a positive number of ms, got ${intervalMs}`);
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Pings at once (systemd's countdown began when the service started) and then every interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    // The heartbeat must never be what keeps a stopping process alive.
    this.timer.unref();
    this.beat();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private beat(): void {
    let healthy: boolean;
    try {
      healthy = this.isHealthy();
    } catch (err) {
      this.opts.logger?.error({ err }, 'health check threw; treating the pipeline as stalled');
      healthy = false;
    }
    if (healthy) {
      if (this.withheld) this.opts.logger?.info('pipeline progressing again; watchdog pings resumed');
      this.withheld = false;
      this.notifier.watchdog();
    } else if (!this.withheld) {
      this.withheld = true;
      this.opts.logger?.warn('pipeline stalled: withholding watchdog pings (systemd restarts the service if this lasts WatchdogSec)');
    }
  }
}

/** Starts and returns a Heartbeat; call stop() on it first thing at shutdown. */
export function watchdogLoop(notifier: WatchdogPort, isHealthy: () => boolean, intervalMs: number, opts: HeartbeatOptions = {}): Heartbeat {
  const heartbeat = new Heartbeat(notifier, isHealthy, intervalMs, opts);
  heartbeat.start();
  return heartbeat;
}

export interface ProgressCheckOptions {
  /** Work accepted but not yet finished (e.g. messages received minus messages through the pipeline). */
  readonly backlog: () => number;
  /** A counter that grows whenever the pipeline finishes work (e.g. messages processed). */
  readonly progress: () => number;
  /** How long the counter may stand still while work is waiting before we call it stalled. */
  readonly stallMs: number;
  readonly now?: () => number;
}

/**
 * An isHealthy for Heartbeat built from two counters. Idle is healthy (no sensor data is not a fault);
 * stalled means work is waiting and nothing has finished for stallMs.
 */
export function progressCheck(opts: ProgressCheckOptions): () => boolean {
  const now = opts.now ?? Date.now;
  let lastProgress = opts.progress();
  let lastChange = now();
  return () => {
    const t = now();
    const p = opts.progress();
    if (p !== lastProgress) {
      lastProgress = p;
      lastChange = t;
    }
    if (opts.backlog() <= 0) {
      lastChange = t;
      return true;
    }
    return t - lastChange < opts.stallMs;
  };
}
