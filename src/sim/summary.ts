/**
 * The demo's report card: how many of the anomalies the simulator injected were caught, of each kind, how
 * late, and how many episodes were false alarms. Pure: the ground truth (the simulator's injected list)
 * and the episodes the detector opened (from its alerts) in, the summary out.
 *
 * Matching. An injected anomaly on sensor S over [start, end] is caught when an episode of S (or of one of
 * its streams, `S/<field>`) opened at a data time in [start, end + graceMs]: a window still holds the
 * anomaly for a window's length after it ended, and the episode opens only after `openAfter` windows.
 * Its latency is the earliest such opening minus `start`, in data (simulated) time. An anomaly whose end + graceMs is after the end
 * of the run is in progress and not judged. An episode that matches no injected anomaly is a false alarm.
 */
import type { AnomalyKind, InjectedAnomaly } from './simulator.js';
import { formatDuration } from '../util/duration.js';

/** An episode the detector opened, as its `open` alert told it. */
export interface OpenedEpisode {
  readonly anomalyId: string;
  readonly sensor: string;
  /** Data time of the window that opened it (the alert's `ts`), epoch ms. */
  readonly openTs: number;
  /**
   * The kind its latest alert's explanation told (`spike`, `level_shift`, `noise_change`, `stuck`, …), null
   * when none told one; absent when not followed.
   */
  told?: string | null;
}

export interface KindSummary {
  readonly injected: number;
  readonly caught: number;
  readonly missed: number;
  /** Detection delays of the caught ones in data (simulated) time, ms, ascending: the opening reading's time minus the anomaly's start. */
  readonly latenciesMs: readonly number[];
  /**
   * Caught ones whose first matching episode's explanation told the injected kind (TOLD_AS: a noise burst is
   * a `noise_change`); the rest told another kind or none.
   */
  readonly toldAsSuch: number;
  /** The kinds the caught ones were told, by kind told (`none`: no kind told), e.g. {spike: 110, none: 5}. */
  readonly told: Readonly<Record<string, number>>;
}

export interface DetectionSummary {
  /** Simulated time covered, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** When injection began (null: it never did, the sensors were still learning). */
  readonly injectionFrom: number | null;
  readonly kinds: Readonly<Record<AnomalyKind, KindSummary>>;
  /** Injected anomalies too close to the end to judge. */
  readonly inProgress: number;
  readonly episodes: number;
  readonly falseAlarms: {
    readonly total: number;
    /** Of those, opened before injection began (while the sensors learnt or settled). */
    readonly beforeInjection: number;
    readonly bySensor: Readonly<Record<string, number>>;
  };
}

export interface SummaryOptions {
  readonly from: number;
  readonly to: number;
  readonly injectionFrom: number | null;
  readonly graceMs: number;
}

const KINDS: readonly AnomalyKind[] = ['spike', 'level_shift', 'noise_burst', 'stuck'];

/** The explanation kind (docs/ALERTS.md) that tells each injected kind. */
export const TOLD_AS: Readonly<Record<AnomalyKind, string>> = { spike: 'spike', level_shift: 'level_shift', noise_burst: 'noise_change', stuck: 'stuck' };

function ofSensor(episodeSensor: string, sensor: string): boolean {
  return episodeSensor === sensor || episodeSensor.startsWith(`${sensor}/`);
}

export function summarise(injected: readonly InjectedAnomaly[], episodes: readonly OpenedEpisode[], opts: SummaryOptions): DetectionSummary {
  const kinds = Object.fromEntries(KINDS.map((k) => [k, { injected: 0, caught: 0, missed: 0, latenciesMs: [] as number[], toldAsSuch: 0, told: {} }])) as Record<
    AnomalyKind,
    { injected: number; caught: number; missed: number; latenciesMs: number[]; toldAsSuch: number; told: Record<string, number> }
  >;
  const matched = new Set<string>();
  let inProgress = 0;
  for (const a of injected) {
    const hits = episodes.filter((e) => ofSensor(e.sensor, a.sensor) && e.openTs >= a.startTs && e.openTs <= a.endTs + opts.graceMs);
    for (const e of hits) matched.add(e.anomalyId);
    if (a.endTs + opts.graceMs > opts.to) {
      inProgress++;
      continue;
    }
    const k = kinds[a.kind];
    k.injected++;
    if (hits.length === 0) {
      k.missed++;
      continue;
    }
    k.caught++;
    const first = hits.reduce((x, y) => (y.openTs < x.openTs ? y : x));
    k.latenciesMs.push(first.openTs - a.startTs);
    const told = first.told ?? null;
    k.told[told ?? 'none'] = (k.told[told ?? 'none'] ?? 0) + 1;
    if (told === TOLD_AS[a.kind]) k.toldAsSuch++;
  }
  for (const k of KINDS) kinds[k].latenciesMs.sort((x, y) => x - y);
  const bySensor: Record<string, number> = {};
  let beforeInjection = 0;
  for (const e of episodes) {
    if (matched.has(e.anomalyId)) continue;
    bySensor[e.sensor] = (bySensor[e.sensor] ?? 0) + 1;
    if (opts.injectionFrom === null || e.openTs < opts.injectionFrom) beforeInjection++;
  }
  const total = Object.values(bySensor).reduce((a, b) => a + b, 0);
  return { from: opts.from, to: opts.to, injectionFrom: opts.injectionFrom, kinds, inProgress, episodes: episodes.length, falseAlarms: { total, beforeInjection, bySensor } };
}

/**
 * What "detected after" measures. The printed line times are the simulated clock when a line is printed, and
 * an alert is printed only once it is stored and delivered (real time, so more simulated time at a higher
 * speed): an ALERT line can read tens of simulated seconds after its injection although detected after 0 s.
 */
export const LATENCY_NOTE =
  "detected after: in simulated (data) time, from the anomaly's first reading to the reading that opened its episode; an ALERT line is printed later, once stored and sent";

/** The summary as a small table for the terminal. */
export function formatSummary(s: DetectionSummary, speed: { readonly asked: number; readonly achieved: number }): string {
  const span = formatSpan(s.to - s.from);
  const lines: string[] = [];
  const pace = Math.round(speed.achieved) < Math.round(speed.asked) ? `at ${Math.round(speed.achieved)}x (asked ${speed.asked}x)` : `at ${speed.asked}x`;
  if (s.injectionFrom === null) {
    lines.push(`summary: ${span} simulated ${pace}; no anomaly was injected: the sensors were still learning their normal.`);
  } else {
    lines.push(`summary: ${span} simulated ${pace}; anomalies injected from ${new Date(s.injectionFrom).toISOString()} (after learning)`);
    const latency = 'detected after, simulated time (median / max)';
    lines.push(`  kind          injected  caught  missed  told as such  ${latency}  told otherwise`);
    for (const [kind, k] of Object.entries(s.kinds) as [AnomalyKind, KindSummary][]) {
      const lat = k.latenciesMs.length > 0 ? `${formatSpan(k.latenciesMs[Math.floor((k.latenciesMs.length - 1) / 2)])} / ${formatSpan(k.latenciesMs[k.latenciesMs.length - 1])}` : '–';
      lines.push(`  ${kind.padEnd(12)}  ${String(k.injected).padStart(8)}  ${String(k.caught).padStart(6)}  ${String(k.missed).padStart(6)}  ${String(k.toldAsSuch).padStart(12)}  ${lat.padEnd(latency.length)}  ${toldOtherwise(kind, k)}`);
    }
    if (s.inProgress > 0) lines.push(`  still in progress at the end, not judged: ${s.inProgress}`);
    lines.push(`  ${LATENCY_NOTE}`);
  }
  const fa = s.falseAlarms;
  const where = Object.entries(fa.bySensor)
    .map(([sensor, n]) => `${sensor} ${n}`)
    .join(', ');
  lines.push(
    `  false alarms: ${fa.total}${fa.total > 0 ? ` (${where})` : ''}${fa.beforeInjection > 0 ? `, ${fa.beforeInjection} of them before injection began` : ''}; episodes in all: ${s.episodes}`,
  );
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * What the caught ones not told as such were told instead, most first: `level_shift 3, spike 2` (`none`: no
 * kind told); `–` when every caught one was told as such.
 */
function toldOtherwise(kind: AnomalyKind, k: KindSummary): string {
  const other = Object.entries(k.told)
    .filter(([told]) => told !== TOLD_AS[kind])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return other.length > 0 ? other.map(([told, n]) => `${told} ${n}`).join(', ') : '–';
}

/** 45 s, 12 min, 3.5 h, 2 d (simulated time): the one rule for durations (src/util/duration.ts). */
export const formatSpan = formatDuration;
