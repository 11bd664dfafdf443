/**
 * Does a young stream send changes only (send-on-delta reporting: a report-on-change sensor, zigbee2mqtt's "reportable
 * change"), though every reading so far came on time?
 *
 * A report-on-change sensor whose value kept changing sends at its shortest reporting interval, so its first readings
 * can all come one interval apart, as a periodic sensor's do; its first quiet (its value settled) then looks like a
 * death to its arrivals (src/pipeline/arrivals.ts: every reading on time). Its values tell what its arrivals cannot:
 * it never sends the value it sent before (send-on-delta: a reading is sent when the value moved by the reportable
 * change; Miśkowicz, "Send-on-delta concept: an event-based data reporting strategy", Sensors 6(1), 2006), while a
 * periodic sensor whose values take few levels repeats one often.
 *
 * The test. The stream's readings (duplicates excluded) took L distinct values (tuples of its channels' values) and
 * none of its n consecutive pairs repeated. Were its readings drawn independently from those levels with any
 * frequencies p_i, a pair repeats with probability Σ p_i² ≥ 1 / L (Cauchy–Schwarz), so no repeat in n pairs has
 * probability at most (1 − 1 / L)^n. At or below SEND_ON_DELTA_ALPHA the stream is taken to send changes only (a
 * slowly moving periodic signal repeats more often than independent draws, not less, so it is no more likely to be
 * taken for one). A stream with more than SEND_ON_DELTA_LEVELS distinct values is not taken for one (a fine-grained
 * periodic sensor's values seldom repeat: its lack of repeats is no evidence), nor is one that ever repeated (a
 * report-on-change sensor's heartbeat repeats its value, but by then its quiet is in its arrivals, which judge it).
 * It keeps two more facts of the young stream, which Detector.silenceJudged asks before its interval is settled:
 * whether a reading repeated the one before (`repeated`: the stream sends whether or not its value changed, periodic
 * reporting; a report-on-change sensor never does but after a quiet), and whether it ended a quiet of its own (`quiet`,
 * told by the detector: a reading after filled steps or a gap; its gaps varied, and a young stream's varied gaps say
 * too little of its next one; its quiet is in its arrivals, whose spread judges it once its interval is settled). The
 * detector tracks them only while the stream learns.
 */

/** The level of the test (see the module comment): a conventional 1 %. Taking a periodic stream for one only delays its young death's alert to the end of its learning period. */
export const SEND_ON_DELTA_ALPHA = 0.01;

/** Distinct values beyond which a stream is not taken to send changes only (and its values are no longer kept). */
export const SEND_ON_DELTA_LEVELS = 16;

/** A stream's send-on-delta test, as checkpointed: its consecutive pairs compared (none repeated) and its distinct values. */
export interface SendOnDeltaState {
  /** Consecutive readings (duplicates excluded) compared, none equal to the one before (>= 0). */
  readonly pairs: number;
  /** Its distinct values so far, each the channels' values joined by ',' (at most SEND_ON_DELTA_LEVELS; empty once ended). */
  readonly levels: readonly string[];
  /** True once the test cannot hold (a repeat, too many values, a quiet); absent: it can. */
  readonly ended?: true;
  /** True once a reading repeated the one before (SendOnDelta.repeated); absent: none yet. */
  readonly repeated?: true;
  /** True once the stream ended a quiet of its own (SendOnDelta.quiet); absent: not yet. */
  readonly quiet?: true;
}

/** One young stream's send-on-delta test (see the module comment). */
export class SendOnDelta {
  private pairs = 0;
  private readonly levels = new Set<string>();
  private last: string | null = null;
  /** False once the test cannot hold any more: a repeat, too many distinct values, a quiet of its own. */
  private open = true;
  private repeatSeen = false;
  private quietSeen = false;

  /** Takes one reading's values (not a duplicate: the caller skips those; nor one that ended a quiet: quietShown). */
  observe(values: ArrayLike<number>): void {
    let key = '';
    for (let i = 0; i < values.length; i++) key += i === 0 ? String(values[i]) : `,${values[i]}`;
    if (this.last !== null) {
      if (key === this.last) this.repeatSeen = true;
      else this.pairs++;
    }
    this.last = key;
    if (!this.open) return;
    if (this.repeatSeen) this.end();
    else {
      this.levels.add(key);
      if (this.levels.size > SEND_ON_DELTA_LEVELS) this.end();
    }
  }

  /** The stream ended a quiet of its own (a reading after filled steps or a gap; its values are not compared): no longer taken to send changes only, and its gaps varied (quiet). */
  quietShown(values: ArrayLike<number>): void {
    this.quietSeen = true;
    this.end();
    let key = '';
    for (let i = 0; i < values.length; i++) key += i === 0 ? String(values[i]) : `,${values[i]}`;
    this.last = key;
  }

  private end(): void {
    this.open = false;
    this.levels.clear();
  }

  /** True once a reading repeated the one before it (no quiet between: quietShown): the stream sends whether or not its value changed. */
  get repeated(): boolean {
    return this.repeatSeen;
  }

  /** True once the stream ended a quiet of its own (quietShown). */
  get quiet(): boolean {
    return this.quietSeen;
  }

  /** True when the stream is taken to send changes only: no repeat in its pairs, improbable for independent draws from its few values (≤ SEND_ON_DELTA_ALPHA). */
  get changesOnly(): boolean {
    if (!this.open || this.pairs === 0) return false;
    return Math.pow(1 - 1 / this.levels.size, this.pairs) <= SEND_ON_DELTA_ALPHA;
  }

  /** The state to checkpoint. */
  toJSON(): SendOnDeltaState {
    return {
      pairs: this.pairs,
      levels: [...this.levels],
      ...(this.open ? {} : { ended: true as const }),
      ...(this.repeatSeen ? { repeated: true as const } : {}),
      ...(this.quietSeen ? { quiet: true as const } : {}),
    };
  }

  /**
   * Restores a state written by toJSON (its latest value is not kept, so the next reading is compared with none: one
   * pair fewer counted). Throws on anything malformed.
   */
  static fromJSON(json: unknown): SendOnDelta {
    if (typeof json !== 'object' || json === null) throw new Error('send-on-delta state: not an object');
    const { pairs, levels, ended, repeated, quiet } = json as { [K in keyof SendOnDeltaState]?: unknown };
    const flag = (v: unknown): boolean => v === undefined || v === true;
    if (!flag(ended) || !flag(repeated) || !flag(quiet)) throw new Error('send-on-delta state: ended, repeated and quiet must be true or absent');
    if (typeof pairs !== 'number' || !Number.isInteger(pairs) || pairs < 0) throw new Error('send-on-delta state: pairs must be an integer >= 0');
    if (!Array.isArray(levels) || levels.length > SEND_ON_DELTA_LEVELS || !levels.every((l): l is string => typeof l === 'string')) throw new Error(`send-on-delta state: levels must be at most ${SEND_ON_DELTA_LEVELS} strings`);
    const t = new SendOnDelta();
    t.pairs = pairs;
    t.open = ended !== true;
    t.repeatSeen = repeated === true;
    t.quietSeen = quiet === true;
    for (const l of levels) t.levels.add(l);
    return t;
  }
}
