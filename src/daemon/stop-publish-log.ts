/**
 * The sensor states a stop could not publish, said in one line (tryout of the thirty-seventh session, finding 3). At a
 * stop the MQTT client ends with what is unacknowledged dropped from its store (MqttAdapter.stop): each retained
 * sensor state still on its way then fails with "Message removed", and with a short shutdown.deadlineMs that was one
 * warn with a stack per sensor, a thousand lines for a thousand sensors. While the daemon stops such failures are
 * counted here, by reason, and logged once (`line`). Pure: no I/O, no clock.
 */

/** Sensors named in the summary, at most. */
const EXAMPLES = 5;

/** One summary line: the fields and the message of a warn. */
export interface StopPublishLine {
  readonly fields: { readonly sensors: number; readonly reasons: Readonly<Record<string, number>>; readonly examples: readonly string[] };
  readonly msg: string;
}

export class StopPublishFailures {
  private readonly sensors = new Set<string>();
  private readonly reasons = new Map<string, number>();

  /** A sensor's state could not be published (`err`: the publish's error; its message is the reason counted). */
  note(sensor: string, err: unknown): void {
    this.sensors.add(sensor);
    const reason = err instanceof Error ? err.message : String(err);
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  /** How many sensors' states failed so far. */
  get count(): number {
    return this.sensors.size;
  }

  /**
   * The one line for what was noted (`sensors`: how many sensors, `reasons`: failures per error message, `examples`:
   * up to five sensors), or null when nothing failed. Their retained states on the broker stay as last published.
   */
  line(): StopPublishLine | null {
    const n = this.sensors.size;
    if (n === 0) return null;
    const examples = [...this.sensors].slice(0, EXAMPLES);
    return {
      fields: { sensors: n, reasons: Object.fromEntries(this.reasons), examples },
      msg: `the states of ${n} sensor${n === 1 ? '' : 's'} could not be published at the stop (their retained states on the broker stay as last published)`,
    };
  }
}
