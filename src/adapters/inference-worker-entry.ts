/** The inference worker's entry (see inference-worker.ts): onnxruntime sessions, run off the main thread. */
import { parentPort } from 'node:worker_threads';
import type { HostReply, HostRequest } from './inference-worker.js';
import { OnnxModel } from './onnx-runner.js';

const port = parentPort;
if (!port) throw new Error('inference-worker-entry must run in a worker thread');
const models = new Map<number, OnnxModel>();
let nextKey = 0;

const reply = (msg: HostReply, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

async function handle(msg: HostRequest): Promise<void> {
  switch (msg.type) {
    case 'load': {
      const model = await OnnxModel.load(msg.sidecarPath);
      const key = ++nextKey;
      models.set(key, model);
      reply({ type: 'loaded', seq: msg.seq, key, id: model.id, sidecar: model.sidecar });
      return;
    }
    case 'run': {
      const model = models.get(msg.key);
      if (!model) throw new Error(`no model ${msg.key} in the inference worker`);
      const out = await model.runBatch(msg.batch);
      // onnxruntime hands out fresh output arrays: move them instead of copying.
      const transfer = [out.recon.buffer, out.pred.buffer, out.hCarry.buffer, ...(out.cCarry ? [out.cCarry.buffer] : [])].filter(
        (b, i, all): b is ArrayBuffer => b instanceof ArrayBuffer && all.indexOf(b) === i,
      );
      reply({ type: 'result', seq: msg.seq, out }, transfer);
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
