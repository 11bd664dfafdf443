/**
 * Rows through the detector the daemon runs (runReplay, as `anomalyd replay` without --learn-first: every stream is
 * scored with the configuration's shipped model and learns its own normalisation and calibration), shared by the
 * replay tests of the shipped configuration (learning-end, learning-end-kinds, the field cases, the cyclic shifts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { Config } from '../../src/config/schema.js';
import { modelSidecarPath } from '../../src/daemon.js';
import type { ReplayOutput, ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';

/**
 * Replays `rows` (in order) with `config` and its shipped model; one output per row, in order. Its state directory
 * is a new temporary one, pushed on `dirs` for the caller to remove (removeDirs).
 */
export async function replayShipped(config: Config, rows: readonly ReplayRow[], dirs: string[]): Promise<ReplayOutput[]> {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-replay-shipped-'));
  dirs.push(dir);
  const out: ReplayOutput[] = [];
  await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir }, (o) => out.push(o));
  return out;
}

/** Per channel (column) c < `channels`, the indices of the outputs in which c's stream is in an open episode, ascending. */
export function alarmedRows(out: readonly ReplayOutput[], channels: number): number[][] {
  const by: number[][] = Array.from({ length: channels }, () => []);
  out.forEach((o, i) => {
    for (const c of o.anomalousChannels) by[c].push(i);
  });
  return by;
}

/** Removes the temporary directories collected in `dirs`. */
export function removeDirs(dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
