/**
 * A duty-cycled motor's current for the replay tests of a state held (test/replay/duty-run-held.test.ts,
 * duty-run-doubt.test.ts): runs at 8 ± 0.1 A and rests at 0.05 ± 0.01 A, two decimals, built phase by phase from one
 * seeded uniform source, then read at a fixed period.
 */

/** A standard normal draw from `u` by the sum of 12 uniforms (Irwin–Hall, mean 6, variance 1). */
export function gauss12(u: () => number): number {
  let s = 0;
  for (let i = 0; i < 12; i++) s += u();
  return s - 6;
}

/**
 * The motor's phases, built in order; every length is in ms and every time returned is epoch ms (`start` plus the
 * phases before). Ordinary runs are drawn uniform in [5 min, `longestRun`), ordinary rests in [5 min, `longestRest`).
 */
export class Motor {
  /** The phases in order: [running, length ms]. */
  private readonly phases: [boolean, number][] = [];
  /** The length of the phases so far (ms). */
  private t = 0;

  /**
   * @param u seeded uniform source in [0, 1): the phase lengths and the readings' noise are drawn from it, in order
   * @param start the first phase's start (epoch ms)
   * @param longestRun the longest ordinary run (ms, > 5 min)
   * @param longestRest the longest ordinary rest (ms, > 5 min)
   */
  constructor(
    private readonly u: () => number,
    private readonly start: number,
    private readonly longestRun: number,
    private readonly longestRest: number,
  ) {}

  /** The end of the phases so far (epoch ms). */
  get at(): number {
    return this.start + this.t;
  }

  /** Adds a run of `len` ms (an ordinary one when omitted); returns its [start, end] (epoch ms). */
  run(len: number = this.draw(this.longestRun)): [number, number] {
    this.phases.push([true, len]);
    this.t += len;
    return [this.at - len, this.at];
  }

  /** Adds a rest of `len` ms (an ordinary one when omitted); returns its [start, end] (epoch ms). */
  rest(len: number = this.draw(this.longestRest)): [number, number] {
    this.phases.push([false, len]);
    this.t += len;
    return [this.at - len, this.at];
  }

  /** Adds ordinary cycles (a run, then a rest) until the phases reach `until` (epoch ms). */
  ordinary(until: number): void {
    while (this.at < until) {
      this.run();
      this.rest();
    }
  }

  /** Sets the last phase's length to `len` ms; returns its [start, end] (epoch ms). Throws when there is no phase. */
  stretchLast(len: number): [number, number] {
    const last = this.phases.at(-1);
    if (last === undefined) throw new Error('no phase to stretch');
    const from = this.t - last[1];
    last[1] = len;
    this.t = from + len;
    return [this.start + from, this.at];
  }

  /** The readings, one every `sampleMs` from `start`: [epoch ms, A rounded to 0.01], never below 0. */
  rows(sampleMs: number): [number, number][] {
    const rows: [number, number][] = [];
    let at = 0;
    for (const [on, len] of this.phases) {
      for (let s = Math.ceil(at / sampleMs) * sampleMs; s < at + len; s += sampleMs) {
        const v = on ? 8 + 0.1 * gauss12(this.u) : 0.05 + 0.01 * gauss12(this.u);
        rows.push([this.start + s, Math.round(Math.max(0, v) * 100) / 100]);
      }
      at += len;
    }
    return rows;
  }

  private draw(longest: number): number {
    return 5 * 60_000 + this.u() * (longest - 5 * 60_000);
  }
}
