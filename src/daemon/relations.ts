/**
 * Streams of one device that follow another's state, told when the relation breaks (`score.relations`, off by
 * default; docs/ALERTS.md, "A stream that breaks its relation to another"; docs/SCORING.md, "A stream that follows
 * another's state"). Tryout 39, finding 2: a bearing temperature rising 9 °C while its motor was off was silent,
 * each stream judged alone and 9 °C within the temperature's own range.
 *
 * Every one-channel stream of a device of at least two streams is watched as a possible leader (LeaderTimeline,
 * src/pipeline/relation.ts: a duty cycle, as DwellTracker recognises one); once one is a duty cycle, each other
 * one-channel stream of its device is judged as its follower (Follower): its rate over SPAN of its readings against
 * the rate its level has had in the leader's present state. An episode of the follower opens when OPEN_RUN verdicts
 * in a row (its readings, SPAN · 2: a step of the follower inside one span, a switch's echo, lasts SPAN) are beyond the
 * threshold's z on the same side (two-sided normal tail of the robust z at `score.threshold`'s surprise), and
 * resolves after as many in a row within the hold level (`score.holdMargin` below it) or not judged. Its kind is
 * `relation`: `workshop/bearing_temp rising +17.4 °C/h while workshop/motor_current is low (0.050 A), expected
 * −64.8 ± 9.70 °C/h at 31.0 °C since 00:14 (relation)` (the spread ± 2 robust spreads of the state's residuals). Its stream is the follower's, its model `none`, its score the
 * normal tail of its largest z; it is stored and alerted beside the follower's own episodes (one may be open at once).
 *
 * Nothing is checkpointed: after a restart the leader's dwells and the fits are learnt again (hours of a duty
 * cycle). Nothing runs in replay or evaluation (the daemon only): their streams are scored one at a time.
 */
import type { Logger } from 'pino';
import type { AlertExplanation } from '../contract/alerts.js';
import type { AnomalyEvent } from '../contract/types.js';
import { clockTime, KIND_LABELS } from '../explain/explain.js';
import { normalTailSurprise } from '../pipeline/dwell.js';
import { Follower, LeaderTimeline, SPAN, type RelationVerdict } from '../pipeline/relation.js';

/** Verdicts in a row beyond the threshold that open an episode, and within the hold level that resolve it. */
export const OPEN_RUN = 2 * SPAN;

/** What the relation book needs of the daemon. */
export interface RelationsWiring {
  /** The streams of `device` anomalyd knows now. */
  readonly streamsOf: (device: string) => readonly string[];
  /** Stores, then alerts, one event (Daemon.recordEvent); false when the store refused it. */
  readonly record: (ev: AnomalyEvent, explanation: AlertExplanation | null) => boolean;
  readonly newId: () => string;
  /** score.threshold (a probability in (0, 1)) and score.holdMargin (surprise). */
  readonly threshold: number;
  readonly holdMargin: number;
  /** The stream's unit (explain.units, or its hub's), or null. */
  readonly unitOf: (stream: string) => string | null;
  readonly timeZone?: string;
  readonly log: Logger;
}

/** An open relation episode. */
interface Open {
  readonly anomalyId: string;
  readonly since: number;
  peak: RelationVerdict;
  peakSurprise: number;
  latest: RelationVerdict;
  calm: number;
}

/** One leader–follower pair. */
interface Pair {
  readonly leader: string;
  readonly follower: string;
  readonly device: string;
  readonly judge: Follower;
  /** The run of verdicts beyond the threshold: its sign (+1 / −1, 0: none), length, and first reading's span start. */
  sign: number;
  run: number;
  runSince: number;
  open: Open | null;
}

/** Two-sided normal tail surprise of a robust z (−log10 P(|Z| ≥ |z|)). */
export function zSurprise(z: number): number {
  return Number.isFinite(z) ? Math.max(0, normalTailSurprise(Math.abs(z)) - Math.log10(2)) : 0;
}

/** The relation book (see the module comment). Bounded by the streams of multi-stream devices and their pairs. */
export class Relations {
  private readonly leaders = new Map<string, LeaderTimeline>();
  /** Follower stream → its pairs (one per leader of its device). */
  private readonly pairs = new Map<string, Pair[]>();
  private readonly openSurprise: number;
  private readonly holdSurprise: number;

  constructor(private readonly w: RelationsWiring) {
    this.openSurprise = -Math.log10(1 - w.threshold);
    this.holdSurprise = Math.max(0, this.openSurprise - w.holdMargin);
  }

  /**
   * Takes a scored reading of `stream` of `device` (`ts` epoch ms, `value` sensor units; one-channel streams only,
   * not duplicates) and records the relation episodes it opens or resolves.
   */
  reading(stream: string, device: string, ts: number, value: number): void {
    if (device === stream) return;
    const streams = this.w.streamsOf(device);
    if (streams.length < 2) return;
    const leader = this.timeline(stream);
    const wasLeader = leader.state !== null;
    // As a follower first (its own leaders' timelines as they stand), then as a leader (its followers' waiting readings).
    for (const p of this.pairsOf(stream, device, streams)) for (const v of p.judge.step(ts, value, this.leaderOf(p), () => this.censor(p))) this.verdict(p, v);
    if (!leader.step(ts, value)) return;
    if (leader.state !== null && !wasLeader) this.w.log.debug({ stream, device }, 'relation: a duty cycle, its device’s other streams judged against its state');
    for (const other of streams) {
      if (other === stream) continue;
      for (const p of this.pairs.get(other) ?? []) if (p.leader === stream) for (const v of p.judge.drain(leader, () => this.censor(p))) this.verdict(p, v);
    }
  }

  /**
   * Forgets a stream (`anomalyd sensors forget`, a displaced or evicted one): its timeline and its pairs, as follower or
   * leader; an open episode of such a pair is resolved `forgotten` at its latest verdict.
   */
  forget(stream: string): void {
    this.leaders.delete(stream);
    for (const [f, list] of this.pairs) {
      const gone = list.filter((p) => p.leader === stream || f === stream);
      for (const p of gone) if (p.open !== null) this.emit(p, 'resolve', p.open.latest.ts, 'forgotten');
      if (f === stream) this.pairs.delete(f);
      else if (gone.length > 0) this.pairs.set(f, list.filter((p) => p.leader !== stream));
    }
  }

  /** Open relation episodes (for tests and status): follower, leader, episode id. */
  openEpisodes(): { readonly follower: string; readonly leader: string; readonly anomalyId: string }[] {
    const out: { follower: string; leader: string; anomalyId: string }[] = [];
    for (const list of this.pairs.values()) for (const p of list) if (p.open !== null) out.push({ follower: p.follower, leader: p.leader, anomalyId: p.open.anomalyId });
    return out;
  }

  /** The timeline of stream `stream` as a leader, made at its first use. */
  private timeline(stream: string): LeaderTimeline {
    let l = this.leaders.get(stream);
    if (l === undefined) {
      l = new LeaderTimeline();
      this.leaders.set(stream, l);
    }
    return l;
  }

  private leaderOf(p: Pair): LeaderTimeline {
    return this.timeline(p.leader);
  }

  /**
   * The follower's pairs, one for each other stream of its device, made before that stream is known to be a duty
   * cycle: in a history sent at once the daemon scores each stream's backlog at its own pace (a 10 s follower ran
   * hours ahead of its 2 s leader), so the follower's readings wait for the leader's from the start (Follower.step).
   */
  private pairsOf(stream: string, device: string, streams: readonly string[]): Pair[] {
    let list = this.pairs.get(stream);
    if (list === undefined) {
      list = [];
      this.pairs.set(stream, list);
    }
    if (list.length < streams.length - 1) {
      for (const other of streams) {
        if (other === stream || list.some((p) => p.leader === other)) continue;
        this.timeline(other);
        list.push({ leader: other, follower: stream, device, judge: new Follower(), sign: 0, run: 0, runSince: 0, open: null });
      }
    }
    return list;
  }

  /** The |z| from which a span is not taught: the threshold's while closed; while open, none is taught. */
  private censor(p: Pair): number {
    if (p.open !== null) return 0;
    return zOf(this.openSurprise);
  }

  private verdict(p: Pair, v: RelationVerdict): void {
    const s = zSurprise(v.z);
    const sign = Math.sign(v.z);
    if (p.open === null) {
      if (s >= this.openSurprise && (p.run === 0 || sign === p.sign)) {
        if (p.run === 0) p.runSince = v.ts;
        p.sign = sign;
        p.run++;
      } else if (s >= this.openSurprise) {
        p.sign = sign;
        p.run = 1;
        p.runSince = v.ts;
      } else p.run = 0;
      if (p.run >= OPEN_RUN) {
        p.open = { anomalyId: this.w.newId(), since: p.runSince, peak: v, peakSurprise: s, latest: v, calm: 0 };
        p.run = 0;
        this.emit(p, 'open', v.ts);
      }
      return;
    }
    const o = p.open;
    o.latest = v;
    if (s > o.peakSurprise && sign === p.sign) {
      o.peak = v;
      o.peakSurprise = s;
    }
    if (s >= this.holdSurprise && sign === p.sign) o.calm = 0;
    else o.calm++;
    if (o.calm >= OPEN_RUN) {
      this.emit(p, 'resolve', v.ts);
      p.open = null;
    }
  }

  private emit(p: Pair, kind: 'open' | 'resolve', at: number, resolution: 'recovered' | 'forgotten' = 'recovered'): void {
    const o = p.open;
    if (o === null) return;
    const score = 1 - 10 ** -Math.min(16, o.peakSurprise);
    const ev: AnomalyEvent = {
      kind,
      sensor: p.follower,
      device: p.device,
      anomalyId: o.anomalyId,
      startTs: o.since,
      endTs: Math.max(o.since, kind === 'resolve' ? at : o.peak.ts),
      peakScore: score,
      score: kind === 'open' ? score : 1 - 10 ** -Math.min(16, zSurprise(o.latest.z)),
      threshold: this.w.threshold,
      modelId: 'none',
      paddedFraction: 0,
      channelErrors: [0],
      channels: ['value'],
      windows: 1,
      evidence: { relation: o.peakSurprise },
      ...(kind === 'resolve' ? { resolution } : {}),
    };
    if (!this.w.record(ev, this.explain(p, o, at))) this.w.log.warn({ stream: p.follower, leader: p.leader }, 'relation: the store refused an event');
  }

  /** The episode's explanation: its peak verdict's rate against the expected, the leader's state (module comment). */
  private explain(p: Pair, o: Open, at: number): AlertExplanation {
    const v = o.peak;
    const unit = this.w.unitOf(p.follower);
    const leaderUnit = this.w.unitOf(p.leader);
    const u = unit === null ? '/h' : ` ${unit}/h`;
    const state = v.state ?? 0;
    const level = this.leaders.get(p.leader)?.level(state) ?? Number.NaN;
    const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${fmt(Math.abs(x))}`;
    const leaderLevel = Number.isFinite(level) ? ` (${fmt(level)}${leaderUnit === null ? '' : ` ${leaderUnit}`})` : '';
    const how = v.rate >= 0 ? 'rising' : 'falling';
    const sentence =
      `${p.follower} ${how} ${signed(v.rate)}${u} while ${p.leader} is ${state === 1 ? 'high' : 'low'}${leaderLevel}, ` +
      `expected ${signed(v.expected)} ± ${fmt(2 * v.spread)}${u} at ${fmt(v.value)}${unit === null ? '' : ` ${unit}`} since ${clockTime(o.since, at, this.w.timeZone)} (${KIND_LABELS.relation})`;
    return {
      kind: 'relation',
      sentence,
      stream: p.follower,
      channel: 'value',
      unit,
      value: v.value,
      expected: null,
      band: null,
      basis: null,
      since: new Date(o.since).toISOString(),
      duration_ms: Math.max(0, at - o.since),
      rate_per_hour: v.rate,
      shares: null,
      stretch: { ts: [], values: [], expected: null, band: null },
    };
  }
}

/** The |z| whose two-sided surprise (zSurprise) is `s` (bisection; s ≤ 0: 0). */
export function zOf(s: number): number {
  if (!(s > 0)) return 0;
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (zSurprise(mid) < s) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** A figure with three significant digits at most, one decimal at least below 100. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return '?';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}
