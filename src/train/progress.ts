/**
 * Training progress for humans: on a terminal one line redrawn in place (\r), otherwise (a pipe,
 * journald) one plain line per epoch so logs stay readable.
 */
import type { TrainProgress } from './trainer.js';

export interface ProgressOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressReporter {
  update(p: TrainProgress): void;
  /** Ends a line left open by the TTY bar. */
  finish(): void;
}

export interface ProgressOptions {
  /** Minimum time between two redraws of the bar. */
  readonly minIntervalMs?: number;
  readonly now?: () => number;
}

const BAR_WIDTH = 20;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmtLoss(v: number): string {
  return v.toPrecision(4);
}

export function barLine(p: TrainProgress): string {
  const filled = Math.round((BAR_WIDTH * p.batch) / Math.max(1, p.batches));
  const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
  return (
    `epoch ${p.epoch}/${p.maxEpochs} [${bar}] ${p.batch}/${p.batches} ` +
    `loss ${fmtLoss(p.trainLoss)} val ${fmtLoss(p.valLoss)} ETA ${formatDuration(p.etaMs)}`
  );
}

export function epochLine(p: TrainProgress): string {
  return (
    `epoch ${p.epoch}/${p.maxEpochs} train ${fmtLoss(p.trainLoss)} val ${fmtLoss(p.valLoss)} ` +
    `best ${fmtLoss(p.bestValLoss)} elapsed ${formatDuration(p.elapsedMs)} eta ${formatDuration(p.etaMs)}`
  );
}

export function createProgressReporter(out: ProgressOutput, opts: ProgressOptions = {}): ProgressReporter {
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 100;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lineOpen = false;
  if (out.isTTY !== true) {
    return {
      update: (p) => {
        if (p.epochDone) out.write(`${epochLine(p)}\n`);
      },
      finish: () => undefined,
    };
  }
  const fit = (line: string): string => (out.columns !== undefined && line.length >= out.columns ? line.slice(0, out.columns - 1) : line);
  return {
    update: (p) => {
      if (p.epochDone) {
        // Keep each finished epoch on screen; the next batch starts a fresh bar below it.
        out.write(`\r${fit(epochLine(p))}\x1b[K\n`);
        lineOpen = false;
        lastDraw = Number.NEGATIVE_INFINITY;
        return;
      }
      const t = now();
      if (t - lastDraw < minInterval && p.batch < p.batches) return;
      lastDraw = t;
      out.write(`\r${fit(barLine(p))}\x1b[K`);
      lineOpen = true;
    },
    finish: () => {
      if (lineOpen) out.write('\n');
      lineOpen = false;
    },
  };
}
