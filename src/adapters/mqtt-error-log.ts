/**
 * The MQTT client's `mqtt error` lines, bounded (tryout 20, finding 15). While the broker is down mqtt.js tries
 * again every RECONNECT_MS and reports each failed attempt as an error (`connect ECONNREFUSED 127.0.0.1:1883`,
 * `Connection refused: Not authorized`): a 30 s outage was 29 warn lines. As for every other repeated line
 * (DEPLOY.md "Logs"), the first error of a kind is logged at once with its details, and its repeats are counted
 * and summed up in one line per `intervalMs` while they go on; the next accepted connection (`connected`) sums up
 * what is left and ends the outage, so the first error of the next one is logged at once again.
 *
 * A kind is the error's `code` (ECONNREFUSED, ENOTFOUND, ETIMEDOUT…), else its message (mqtt.js's own errors
 * have no code: `connack timeout`, `Keepalive timeout`, `Connection refused: Bad username or password`). At most
 * MAX_KINDS kinds are told apart per outage; any more share one count. Times are the caller's clock (epoch ms).
 */
import type { Logger } from 'pino';

/** Kinds of error told apart within one outage; the rest are counted together under OTHER_KIND. */
export const MAX_KINDS = 16;
const OTHER_KIND = 'other errors';

interface Kind {
  /** The latest error of the kind, as logged: its message, and its code when it has one. */
  err: { message: string; code?: string };
  /** Repeats not logged yet. */
  pending: number;
  /** When the kind's last line (its first error, or a summary) was logged. */
  loggedAt: number;
}

export class MqttErrorLog {
  private readonly kinds = new Map<string, Kind>();

  constructor(
    private readonly log: Logger,
    /** One summary line per kind at most this often (ms): limits.logIntervalMs. */
    private readonly intervalMs: number,
  ) {}

  /** An error mqtt.js reported at `now`. */
  note(now: number, error: Error & { code?: unknown }): void {
    const err: Kind['err'] = { message: error.message };
    if (typeof error.code === 'string' || typeof error.code === 'number') err.code = String(error.code);
    let key = err.code ?? err.message;
    if (!this.kinds.has(key) && this.kinds.size >= MAX_KINDS - 1) key = OTHER_KIND;
    const kind = this.kinds.get(key);
    if (kind === undefined) {
      this.kinds.set(key, { err, pending: 0, loggedAt: now });
      this.log.warn({ err }, 'mqtt error');
      return;
    }
    kind.err = err;
    kind.pending++;
    if (now - kind.loggedAt >= this.intervalMs) this.summarise(now, kind, 'since the last line');
  }

  /**
   * The broker accepted a connection (or the client stops) at `now`: the repeats not told yet are summed up, one
   * line per kind, and the outage is over (the next error is logged at once).
   */
  flush(now: number, why = 'until the connection was made'): void {
    for (const kind of this.kinds.values()) if (kind.pending > 0) this.summarise(now, kind, why);
    this.kinds.clear();
  }

  private summarise(now: number, kind: Kind, why: string): void {
    const count = kind.pending;
    this.log.warn({ err: kind.err, count, sinceMs: now - kind.loggedAt }, `mqtt error repeated ${count} more ${count === 1 ? 'time' : 'times'} ${why} (one line per limits.logIntervalMs)`);
    kind.pending = 0;
    kind.loggedAt = now;
  }
}
