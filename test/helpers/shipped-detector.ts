/**
 * The detector the daemon runs on the shipped configuration (config/default.yaml, no overrides) with no model for any
 * stream (modelFor and priorsFor answer null: the statistical core alone, as for a sensor without a model), and the
 * SignalBook that tells its episodes (no units, UTC, nothing persisted, a silent logger). For the pipeline tests that
 * judge silences on it in virtual time: test/pipeline/silence.test.ts, learning-silence.test.ts and young-silence.test.ts.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { ROOT } from './daemon.js';

/** What shippedDetector makes: a fresh detector, its book, and the configuration they were made from. */
export interface ShippedDetector {
  /** The detector, its episode ids `e1`, `e2`, ... in the order it opens them. */
  readonly det: Detector;
  readonly book: SignalBook;
  /** The shipped configuration as loaded (score.threshold, score.learnReadings, window.resetAfter, ...). */
  readonly config: Config;
}

/**
 * A new model-less Detector on the shipped configuration, and a SignalBook for its episodes; each call makes new ones
 * (a restart is a second call).
 * @throws Error with the loader's errors when config/default.yaml does not load
 */
export function shippedDetector(): ShippedDetector {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const { config } = loaded;
  let ids = 0;
  const det = new Detector(detectorOptions(config), { parser: new MessageParser(parseOptionsOf(config)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
  const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
  return { det, book, config };
}
