/**
 * InferenceWorkerHost.idle: settles only once no model call is in flight in the worker (a forced stop waits for it
 * before the process may exit: an exit while onnxruntime runs could abort the process, status 134). The worker here is
 * a stand-in (a data: URL module) that holds every `step` reply until it is sent a `release`, so which calls are in
 * flight is known without any timing.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { InferenceWorkerHost } from '../../src/adapters/inference-worker.js';
import type { StepBatchInput } from '../../src/contract/ports.js';

const STAND_IN = `
import { parentPort } from 'node:worker_threads';
const held = [];
parentPort.on('message', (msg) => {
  if (msg.type === 'load') parentPort.postMessage({ type: 'loaded', seq: msg.seq, key: 1, id: 'stand-in', sidecar: {} });
  else if (msg.type === 'step') held.push(msg.seq);
  else if (msg.type === 'release') {
    for (const seq of held.splice(0)) parentPort.postMessage({ type: 'stepped', seq, out: { pred: new Float32Array(1), h: new Float32Array(1) } });
    parentPort.postMessage({ type: 'released', seq: msg.seq });
  }
});
`;
const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(STAND_IN)}`);
const input: StepBatchInput = { x: new Float32Array(1), seqLens: BigInt64Array.from([1n]), h0: new Float32Array(1), B: 1, T: 1 };

/** Whether `p` has settled after the turns the worker's replies need to arrive (a round trip to the worker). */
async function settledAfterRoundTrip(p: Promise<unknown>, host: InferenceWorkerHost): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  // A load is answered at once by the stand-in: once its reply is in, any reply sent before it is in too.
  await host.load('ping');
  return settled;
}

describe('InferenceWorkerHost.idle', () => {
  it('settles at once with no call in flight; waits for the calls in flight; settles when the last one is answered', async () => {
    const host = new InferenceWorkerHost(pino({ level: 'silent' }), workerUrl);
    host.start();
    try {
      const model = await host.load('stand-in.json');
      await expect(settledAfterRoundTrip(host.idle(), host)).resolves.toBe(true);
      const one = model.step(input);
      const two = model.step(input);
      const idle = host.idle();
      expect(await settledAfterRoundTrip(idle, host)).toBe(false);
      // The release lets both held calls answer: idle settles with them.
      await model.release();
      await Promise.all([one, two]);
      await expect(settledAfterRoundTrip(idle, host)).resolves.toBe(true);
    } finally {
      await host.stop();
    }
  });

  it('settles when the worker ends with calls in flight (they are rejected)', async () => {
    const host = new InferenceWorkerHost(pino({ level: 'silent' }), workerUrl);
    host.start();
    const model = await host.load('stand-in.json');
    const call = model.step(input);
    const idle = host.idle();
    await host.stop();
    await expect(call).rejects.toThrow(/inference worker exited/);
    await expect(idle).resolves.toBeUndefined();
  });
});
