/**
 * What the scripts that drive a built checkout's own detector share: its modules, imported from ROOT/dist (so a
 * worktree's build is measured, not this checkout's), and its shipped configuration (ROOT/config/default.yaml,
 * models from ROOT/models).
 *
 *   const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } =
 *     await shipped(root);
 *   const model = await loadModel(join(root, 'models/gru.json'));
 *   const { payloadOf } = await import(at('dist/replay/drive.js'));   // anything else ROOT has
 *
 * Throws when ROOT has no build (`npm run build` there first) or its shipped configuration does not load.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function shipped(root) {
  const at = (p) => pathToFileURL(resolve(root, p)).href;
  const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
  const { loadConfig } = await import(at('dist/config/load.js'));
  const { Detector, detectorOptions, priorsOf } = await import(at('dist/pipeline/detector.js'));
  const { MessageParser } = await import(at('dist/pipeline/parse.js'));
  const { parseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
  const { SignalBook } = await import(at('dist/daemon/signals.js'));
  const loaded = loadConfig({ path: join(root, 'config/default.yaml'), env: {}, overrides: { model: { dir: join(root, 'models') } } });
  if (!loaded.ok) throw new Error(`${root}/config/default.yaml: ${loaded.errors.join('; ')}`);
  return { at, cfg: loaded.config, loadModel, loadConfig, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook };
}
