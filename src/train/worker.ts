/** Worker-thread entry for trainInWorker (in-worker.ts): one request, progress messages, one result. */
import { parentPort } from 'node:worker_threads';
import { paramBuffers, type WorkerMessage, type WorkerRequest } from './in-worker.js';
import { trainModel } from './trainer.js';

function serve(port: NonNullable<typeof parentPort>): void {
  port.once('message', (req: WorkerRequest) => {
    const post = (msg: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);
    try {
      const result = trainModel(req.series, req.opts, (progress) => post({ type: 'progress', progress }));
      post({ type: 'result', result }, paramBuffers(result.params));
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'error', name: e.name, message: e.message });
    }
  });
}

if (parentPort !== null) serve(parentPort);
