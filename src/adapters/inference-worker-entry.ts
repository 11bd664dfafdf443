/** The inference worker's entry (see inference-worker.ts): onnxruntime sessions, run off the main thread. */
import { parentPort } from 'node:worker_threads';
import type { HostReply, HostRequest } from './inference-worker.js';
import type { LoadedModel } from '../contract/ports.js';
import { loadModel } from './onnx-runner.js';

const port = parentPort;
if (!port) throw new Error('inference-worker-entry must run in a worker thread');
const models = new Map<number, LoadedModel>();
let nextKey = 0;

const reply = (msg: HostReply, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

/** onnxruntime hands out fresh output arrays: move them instead of copying (each buffer listed once). */
function buffersOf(...arrays: (Float32Array | undefined)[]): ArrayBuffer[] {
  return arrays
    .map((a) => a?.buffer)
    .filter((b, i, all): b is ArrayBuffer => b instanceof ArrayBuffer && all.indexOf(b) === i);
}

function modelOf(key: number): LoadedModel {
  const model = models.get(key);
  if (!model) throw new Error(`no model ${key} in the inference worker`);
  return model;
}

async function handle(msg: HostRequest): Promise<void> {
  switch (msg.type) {
    case 'load': {
      const model = await loadModel(msg.sidecarPath);
      const key = ++nextKey;
      models.set(key, model);
      reply({ type: 'loaded', seq: msg.seq, key, id: model.id, sidecar: model.sidecar });
      return;
    }
    case 'run': {
      const out = await modelOf(msg.key).runBatch(msg.batch);
      reply({ type: 'result', seq: msg.seq, out }, buffersOf(out.recon, out.pred, out.hCarry, out.cCarry));
      return;
    }
    case 'step': {
      const out = await modelOf(msg.key).step(msg.input);
      reply({ type: 'stepped', seq: msg.seq, out }, buffersOf(out.pred, out.h, out.c));
      return;
    }
    case 'decode': {
      const out = await modelOf(msg.key).decode(msg.input);
      reply({ type: 'decoded', seq: msg.seq, out }, buffersOf(out.recon));
      return;
    }
    case 'release': {
      const model = models.get(msg.key);
      models.delete(msg.key);
      await model?.release();
      reply({ type: 'released', seq: msg.seq });
      return;
    }
  }
}

port.on('message', (msg: HostRequest) => {
  handle(msg).catch((err: unknown) => reply({ type: 'error', seq: msg.seq, message: err instanceof Error ? err.message : String(err) }));
});
