/**
 * The shared (shipped) model's weights, which a scope's own model starts from (fine-tuning, docs/MODEL.md "Learning
 * on the device"), read as both the daemon (src/daemon.ts) and the replay (src/replay/run.ts) read them.
 */
import { readModelParams } from '../model/onnx-params.js';
import type { Seq2SeqParams } from '../model/spec.js';

/**
 * The weights of the model whose sidecar is `sidecarPath` (readModelParams); null when they cannot be read (the
 * file missing, unreadable or not a seq2seq model), after telling `warn` why (`err`, what readModelParams threw)
 * and what follows, in one sentence: "could not read the shared model's weights (ENOENT: …): own models are learnt
 * from scratch". Never throws.
 */
export function sharedWeightsOf(sidecarPath: string, warn: (message: string, err: unknown) => void): Seq2SeqParams | null {
  try {
    return readModelParams(sidecarPath);
  } catch (err) {
    warn(`could not read the shared model’s weights (${err instanceof Error ? err.message : String(err)}): own models are learnt from scratch`, err);
    return null;
  }
}
