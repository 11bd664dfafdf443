/**
 * The order of the demo's console lines. The daemon publishes a sensor's retained state as soon as a
 * reading changes it, but an alert only once its event is committed (the store's group commit, then the
 * outbox): so `state pump anomalous` reaches the demo before the `ALERT open` that caused it, and `state pump
 * ok` before the `ALERT resolve`; at 400x the gap is tens of simulated seconds. This holds a state line that
 * belongs to an episode whose alert has not come yet, and lets it out right after that alert (or after
 * `maxHoldMs` of real time, should the alert never come: an episode dropped without an event).
 *
 *   state anomalous (anomaly_id X)   held until ALERT open X (printed at once when it already came)
 *   state after it (ok, stale, …)    held until ALERT resolve X
 *
 * Pure: the caller prints what each call returns, and calls `due()` now and then and `flush()` at the end.
 */
interface HeldLine {
  readonly line: string;
  /** Real time it was held, ms. */
  readonly at: number;
  /** The alert that lets it out (`open <id>` or `resolve <id>`), or null: it waits only for the lines before it. */
  readonly needs: string | null;
}

export class DemoLineOrder {
  /** Alerts seen, as `<kind> <anomaly id>`; bounded (oldest forgotten). */
  private readonly seen = new Set<string>();
  /** Per sensor: the episode its latest state line said it was in (null when none). */
  private readonly episode = new Map<string, string | null>();
  /** Per sensor: its state lines not printed yet, in order. */
  private readonly held = new Map<string, HeldLine[]>();

  constructor(private readonly maxHoldMs = 2000) {}

  /**
   * A state line of `sensor`; `anomalyId` is its payload's anomaly_id, `now` real time in ms. Returns the
   * lines to print now (none while it waits; a sensor's state lines keep their order).
   */
  state(sensor: string, anomalyId: string | undefined, line: string, now: number): string[] {
    const previous = this.episode.get(sensor) ?? null;
    const current = anomalyId ?? null;
    this.episode.set(sensor, current);
    const needs = current !== null && current !== previous ? `open ${current}` : previous !== null && current !== previous ? `resolve ${previous}` : null;
    const queue = this.held.get(sensor) ?? [];
    queue.push({ line, at: now, needs });
    this.held.set(sensor, queue);
    return this.release(sensor, -Infinity);
  }

  /** An alert of `sensor`, printed as `line` (null: not printed, an update). Returns the lines to print now: it, then the state lines it lets out. */
  alert(sensor: string, kind: 'open' | 'update' | 'resolve', anomalyId: string, line: string | null): string[] {
    this.seen.add(`${kind} ${anomalyId}`);
    if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value!);
    return [...(line === null ? [] : [line]), ...this.release(sensor, -Infinity)];
  }

  /** State lines held since before now - maxHoldMs (their alert never came, e.g. an episode dropped without one), to print now. */
  due(now: number): string[] {
    return [...this.held.keys()].flatMap((sensor) => this.release(sensor, now - this.maxHoldMs));
  }

  /** Every held line, at the end. */
  flush(): string[] {
    return [...this.held.keys()].flatMap((sensor) => this.release(sensor, Infinity));
  }

  /** Lets out the sensor's held lines from the first while each needs nothing more, or was held before `before`. */
  private release(sensor: string, before: number): string[] {
    const queue = this.held.get(sensor);
    if (queue === undefined) return [];
    const out: string[] = [];
    while (queue.length > 0 && (queue[0].needs === null || this.seen.has(queue[0].needs) || queue[0].at < before)) out.push(queue.shift()!.line);
    if (queue.length === 0) this.held.delete(sensor);
    return out;
  }
}
