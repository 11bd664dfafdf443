/**
 * Training off the main thread, so the daemon's event loop (MQTT, watchdog pings) keeps running
 * while a model trains for minutes.
 */
import { Worker } from 'node:worker_threads';
import type { Seq2SeqParams } from '../model/spec.js';
import type { TrainOptions, TrainProgress, TrainResult, TrainSeries } from './trainer.js';

/** The clock cannot cross a thread boundary; the worker uses its own. */
export type WorkerTrainOptions = Omit<TrainOptions, 'now'>;

export interface WorkerRequest {
  readonly series: TrainSeries;
  readonly opts: WorkerTrainOptions;
}

export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: TrainProgress }
  | { readonly type: 'result'; readonly result: TrainResult }
  | { readonly type: 'error'; readonly name: string; readonly message: string };

export function paramBuffers(p: Seq2SeqParams): ArrayBuffer[] {
  return [p.encW, p.encR, p.encWb, p.encRb, p.decR, p.decWb, p.decRb, p.outW, p.outB, p.predW, p.predB].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

export interface InWorkerOptions {
  /** The compiled worker entry; defaults to worker.js beside this module (i.e. in dist/train). */
  readonly workerUrl?: URL;
  /** Aborting terminates the worker and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * trainModel in a worker thread. The series' typed arrays are TRANSFERRED, not copied: they are
 * detached (length 0) in the caller afterwards. Pass copies if you still need them.
 */
export function trainInWorker(
  series: TrainSeries,
  opts: WorkerTrainOptions,
  onProgress?: (p: TrainProgress) => void,
  options: InWorkerOptions = {},
): Promise<TrainResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const worker = new Worker(options.workerUrl ?? new URL('./worker.js', import.meta.url));
  return new Promise<TrainResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      settle(() => reject(signal?.reason as Error));
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (msg: WorkerMessage) => {
      switch (msg.type) {
        case 'progress':
          onProgress?.(msg.progress);
          break;
        case 'result':
          settle(() => resolve(msg.result));
          break;
        case 'error': {
          const err = msg.name === 'RangeError' ? new RangeError(msg.message) : new Error(msg.message);
          settle(() => reject(err));
          break;
        }
      }
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`training worker exited with code ${code} before finishing`))));
    // A Set: listing one buffer twice (arrays sharing a buffer) makes postMessage throw.
    const transfer = [...new Set([series.values.buffer, series.timestamps?.buffer, series.segments?.buffer])].filter(
      (b): b is ArrayBuffer => b instanceof ArrayBuffer,
    );
    // Only the series' own fields cross the thread (a caller's series may carry more, e.g. the CSV table it
    // was read from, whose functions cannot be cloned).
    const plain: TrainSeries = {
      channels: [...series.channels],
      values: series.values,
      ...(series.timestamps !== undefined ? { timestamps: series.timestamps } : {}),
      ...(series.segments !== undefined ? { segments: series.segments } : {}),
    };
    const request: WorkerRequest = { series: plain, opts };
    try {
      worker.postMessage(request, transfer);
    } catch (err) {
      // Nothing reached the worker: stop it, or it keeps the process alive with nothing to do.
      settle(() => reject(err instanceof Error ? err : new Error(String(err))));
      void worker.terminate();
    }
  });
}
