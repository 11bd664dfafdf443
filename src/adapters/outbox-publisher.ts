/**
 * Sends committed outbox rows to MQTT, oldest first, and records each delivery.
 *
 *   commit ──> onCommit wakes the loop ──> markAttempt (durable) ──> publish ──> PUBACK ──> markDelivered
 *
 * At-least-once: a row is retried until the broker acknowledges it; any send that may repeat an
 * earlier one (attempts > 0 before it) carries `"resent": true`, so a duplicate is never silent.
 * The loop is the only caller of the store's outbox methods; its one timer (backoff) is owned here.
 */
import type { Logger } from 'pino';
import type { Outbox, OutboxRow } from '../contract/store.js';
import { PubackOverdueError } from './mqtt.js';

/** The part of the outbox port the publisher needs. */
export type OutboxSource = Pick<Outbox, 'committedOutbox' | 'markAttempt' | 'markDelivered' | 'onCommit'>;

/** Resolves when the broker acknowledged the message (PUBACK for QoS 1); rejects if it was not sent. */
export type PublishFn = (topic: string, payload: Buffer, opts: { qos: 1 }) => Promise<void>;

export interface OutboxPublisherOptions {
  readonly logger: Logger;
  /** First retry delay after a failed publish; doubles per consecutive failure up to retryMaxMs. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /**
   * Publishes outstanding at once (default 1). With 1, delivery is strictly in outbox order. With more,
   * first sends go out in order, but a retried row can arrive after later rows that succeeded.
   */
  readonly inFlight?: number;
  /** How long stop() waits for in-flight publishes (default 5000 ms). Unacknowledged rows are resent later. */
  readonly stopTimeoutMs?: number;
  /** Clock of `overdue().current.since`, epoch ms (default Date.now). */
  readonly now?: () => number;
}

/**
 * Alerts the broker did not acknowledge within the MQTT adapter's PUBACK bound (the publish rejected with
 * PubackOverdueError, the connection was renewed): how many since start, and the one not delivered yet, if any
 * (`since`: when it was found overdue, epoch ms). Shown by /api/status and `anomalyd status`.
 */
export interface OutboxOverdue {
  readonly count: number;
  readonly current: { readonly outboxId: number; readonly since: number } | null;
}

interface Sleeper {
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout | null;
  /** Idle waits end on a commit; backoff waits do not (new rows do not mean the broker is back). */
  readonly wakeOnCommit: boolean;
}

/** State of one start()..stop() run; a run whose stop timed out can still finish its last publish harmlessly. */
interface Run {
  stopping: boolean;
  /** Every row with id <= cursor is delivered or dropped. */
  cursor: number;
  /** A commit arrived since the last fetch. */
  dirty: boolean;
  sleeper: Sleeper | null;
  done: Promise<void>;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class OutboxPublisher {
  private readonly log: Logger;
  private readonly inFlight: number;
  private run: Run | null = null;
  private unsubscribe: (() => void) | null = null;
  private drainWaiters: Waiter[] = [];
  private overdueCount = 0;
  private overdueNow: { outboxId: number; since: number } | null = null;
  /** The row whose failure deliverAll returned last. */
  private failedRow: number | null = null;

  constructor(
    private readonly store: OutboxSource,
    private readonly publish: PublishFn,
    private readonly opts: OutboxPublisherOptions,
  ) {
    this.log = opts.logger;
    this.inFlight = opts.inFlight ?? 1;
    if (!Number.isInteger(this.inFlight) || this.inFlight < 1) throw new Error(`inFlight must be an integer >= 1, got ${this.inFlight}`);
    if (!(opts.retryMinMs > 0 && opts.retryMaxMs >= opts.retryMinMs)) {
      throw new Error(`need 0 < retryMinMs <= retryMaxMs, got ${opts.retryMinMs} and ${opts.retryMaxMs}`);
    }
  }

  /** Starts delivering, beginning with whatever earlier runs or processes left undelivered. Idempotent. */
  start(): void {
    if (this.run !== null) return;
    const run: Run = { stopping: false, cursor: 0, dirty: false, sleeper: null, done: Promise.resolve() };
    this.run = run;
    this.unsubscribe = this.store.onCommit(() => this.poke(run));
    run.done = this.loop(run).catch((err: unknown) => this.log.error({ err }, 'outbox: delivery loop crashed'));
  }

  /** Stops taking new rows and waits (at most `timeoutMs`, default stopTimeoutMs) for publishes in flight. Never throws. */
  async stop(timeoutMs = this.opts.stopTimeoutMs ?? 5000): Promise<void> {
    const run = this.run;
    if (run === null) return;
    this.run = null;
    run.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    wake(run);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      run.done.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) this.log.warn('outbox: a publish was still unacknowledged at stop; it will be resent, flagged resent');
    this.settleDrainWaiters(new Error('outbox publisher stopped'));
  }

  /** Overdue publishes since start and the one still undelivered (see OutboxOverdue). */
  overdue(): OutboxOverdue {
    return { count: this.overdueCount, current: this.overdueNow };
  }

  /** Resolves once every committed row has been delivered (rejects if the publisher is or gets stopped). */
  drained(): Promise<void> {
    const run = this.run;
    if (run === null) return Promise.reject(new Error('outbox publisher is not running'));
    if (run.sleeper?.wakeOnCommit === true) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  private async loop(run: Run): Promise<void> {
    let failures = 0;
    while (!run.stopping) {
      run.dirty = false;
      let rows: OutboxRow[];
      try {
        rows = this.store.committedOutbox(run.cursor, this.inFlight);
      } catch (err) {
        this.log.error({ err }, 'outbox: cannot read the outbox');
        failures++;
        await this.pause(run, this.backoff(failures));
        continue;
      }
      if (rows.length === 0) {
        this.settleDrainWaiters(null);
        await this.idle(run);
        continue;
      }
      const error = await this.deliverAll(run, rows);
      if (error === null) {
        if (failures > 0) this.log.info({ failures }, 'outbox: delivering again');
        failures = 0;
        continue;
      }
      failures++;
      const delayMs = this.backoff(failures);
      const fields = { err: error, outboxId: run.cursor + 1, failures, retryInMs: delayMs };
      if (error instanceof PubackOverdueError) {
        // Once per overdue publish, whatever else failed before: a lost PUBACK is the one failure that looked healthy.
        const outboxId = this.failedRow ?? run.cursor + 1;
        this.overdueCount++;
        this.overdueNow = { outboxId, since: (this.opts.now ?? Date.now)() };
        this.log.warn(
          { outboxId, boundMs: error.boundMs, retryInMs: delayMs },
          'outbox: alert not acknowledged by the broker in time; the connection is renewed and the alert sent again, flagged resent',
        );
      } else if (failures === 1) this.log.warn(fields, 'outbox: publish failed; retrying with backoff');
      else this.log.debug(fields, 'outbox: publish failed again');
      await this.pause(run, delayMs);
    }
  }

  /**
   * Starts one publish per row, in order, then advances the cursor over the leading successes.
   * Returns the first failure, or null.
   */
  private async deliverAll(run: Run, rows: readonly OutboxRow[]): Promise<unknown> {
    const results = await Promise.all(rows.map((row) => this.deliver(row)));
    this.failedRow = null;
    for (let i = 0; i < rows.length; i++) {
      const failure = results[i];
      if (failure !== null) {
        this.failedRow = rows[i].id;
        return failure.error;
      }
      run.cursor = rows[i].id;
      if (this.overdueNow !== null && this.overdueNow.outboxId <= run.cursor) this.overdueNow = null;
    }
    return null;
  }

  /** Never rejects: resolves null on success (or when there was nothing left to send), else the error. */
  private async deliver(row: OutboxRow): Promise<{ error: unknown } | null> {
    let payload: Buffer;
    try {
      // Dropped by the outbox bound since it was read: nothing to send, nothing to retry.
      if (!this.store.markAttempt(row.id)) return null;
      payload = Buffer.from(row.attempts > 0 ? markResent(row.payload) : row.payload);
    } catch (err) {
      return { error: err };
    }
    try {
      await this.publish(row.topic, payload, { qos: 1 });
    } catch (err) {
      return { error: err };
    }
    try {
      this.store.markDelivered(row.id);
    } catch (err) {
      // The broker has it; if the mark is lost the row goes out again, flagged resent.
      this.log.error({ err, outboxId: row.id }, 'outbox: delivered but could not record it');
    }
    return null;
  }

  private backoff(failures: number): number {
    // No jitter: one daemon, one broker connection; there is no herd to spread out.
    return Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** Math.min(failures - 1, 30));
  }

  private idle(run: Run): Promise<void> {
    if (run.dirty || run.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      run.sleeper = { resolve, timer: null, wakeOnCommit: true };
    });
  }

  private pause(run: Run, ms: number): Promise<void> {
    if (run.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => wake(run), ms);
      run.sleeper = { resolve, timer, wakeOnCommit: false };
    });
  }

  private poke(run: Run): void {
    run.dirty = true;
    if (run.sleeper?.wakeOnCommit === true) wake(run);
  }

  private settleDrainWaiters(error: Error | null): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) {
      if (error === null) w.resolve();
      else w.reject(error);
    }
  }
}

function wake(run: Run): void {
  const sleeper = run.sleeper;
  if (sleeper === null) return;
  run.sleeper = null;
  if (sleeper.timer !== null) clearTimeout(sleeper.timer);
  sleeper.resolve();
}

/** Sets `"resent": true` on a JSON object payload; anything else is sent unchanged. */
function markResent(payload: string): string {
  try {
    const parsed: unknown = JSON.parse(payload);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return JSON.stringify({ ...parsed, resent: true });
    }
  } catch {
    // Not JSON: nothing to patch.
  }
  return payload;
}
