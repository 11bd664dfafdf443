/**
 * onnxruntime in a worker thread. `session.run` executes synchronously on the calling thread, so on the
 * main thread it stops MQTT reading and parsing while it runs; in one worker (shared by every model) the
 * two overlap on a second core, and the adaptive batch grows with whatever arrived meanwhile.
 * One owner: the daemon starts the host, loads models through it, and stops it last.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type {
  DecodeBatchInput,
  DecodeBatchOutput,
  LoadedModel,
  ModelBatchInput,
  ModelBatchOutput,
  StepBatchInput,
  StepBatchOutput,
} from '../contract/ports.js';
import type { ModelSidecar } from '../model/spec.js';

/** Messages to the worker. */
export type HostRequest =
  | { readonly type: 'load'; readonly seq: number; readonly sidecarPath: string }
  | { readonly type: 'run'; readonly seq: number; readonly key: number; readonly batch: ModelBatchInput }
  | { readonly type: 'step'; readonly seq: number; readonly key: number; readonly input: StepBatchInput }
  | { readonly type: 'decode'; readonly seq: number; readonly key: number; readonly input: DecodeBatchInput }
  | { readonly type: 'release'; readonly seq: number; readonly key: number };

/** Messages from the worker. */
export type HostReply =
  | { readonly type: 'loaded'; readonly seq: number; readonly key: number; readonly id: string; readonly sidecar: ModelSidecar }
  | { readonly type: 'result'; readonly seq: number; readonly out: ModelBatchOutput }
  | { readonly type: 'stepped'; readonly seq: number; readonly out: StepBatchOutput }
  | { readonly type: 'decoded'; readonly seq: number; readonly out: DecodeBatchOutput }
  | { readonly type: 'released'; readonly seq: number }
  | { readonly type: 'error'; readonly seq: number; readonly message: string };

/**
 * The entry beside this module. When the TypeScript source itself runs (vitest), a worker cannot load a
 * .ts file, so the compiled entry in dist/ is used instead (the test command builds first).
 */
function defaultEntry(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/adapters/inference-worker-entry.js', here) : new URL('./inference-worker-entry.js', here);
}

interface Pending {
  readonly resolve: (reply: HostReply) => void;
  readonly reject: (err: Error) => void;
}

export class InferenceWorkerHost {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private stopping = false;
  /** Model calls (run, step, decode) sent and not answered, and who waits for there being none (idle). */
  private calls = 0;
  private idlers: Array<() => void> = [];

  constructor(
    private readonly logger: Logger,
    /** The compiled worker entry; defaults to inference-worker-entry.js beside this module (dist/adapters). */
    private readonly workerUrl: URL = defaultEntry(),
  ) {}

  start(): void {
    if (this.worker) return;
    const worker = new Worker(this.workerUrl);
    worker.on('message', (reply: HostReply) => {
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      if (reply.type === 'error') p.reject(new Error(reply.message));
      else p.resolve(reply);
    });
    worker.on('error', (err) => this.logger.error({ err }, 'inference worker failed'));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(new Error(`inference worker exited (code ${code})`));
      this.pending.clear();
      if (!this.stopping) this.logger.error({ code }, 'inference worker exited; models loaded in it are gone');
    });
    this.worker = worker;
  }

  /**
   * The ModelLoader port in the worker: the model's sessions live in the worker thread and every call
   * (runBatch, step, decode) is a message there and back. Bound, so `host.load` can be passed as a loader.
   */
  readonly load = async (sidecarPath: string): Promise<LoadedModel> => {
    const reply = await this.request({ type: 'load', seq: 0, sidecarPath });
    if (reply.type !== 'loaded') throw new Error(`inference worker: unexpected reply ${reply.type} to load`);
    const { key, id, sidecar } = reply;
    return {
      id,
      sidecar,
      runBatch: async (batch: ModelBatchInput): Promise<ModelBatchOutput> => {
        const r = await this.request({ type: 'run', seq: 0, key, batch });
        if (r.type !== 'result') throw new Error(`inference worker: unexpected reply ${r.type} to run`);
        return r.out;
      },
      step: async (input: StepBatchInput): Promise<StepBatchOutput> => {
        const r = await this.request({ type: 'step', seq: 0, key, input });
        if (r.type !== 'stepped') throw new Error(`inference worker: unexpected reply ${r.type} to step`);
        return r.out;
      },
      decode: async (input: DecodeBatchInput): Promise<DecodeBatchOutput> => {
        const r = await this.request({ type: 'decode', seq: 0, key, input });
        if (r.type !== 'decoded') throw new Error(`inference worker: unexpected reply ${r.type} to decode`);
        return r.out;
      },
      release: async (): Promise<void> => {
        if (!this.worker) return;
        await this.request({ type: 'release', seq: 0, key });
      },
    };
  };

  /**
   * Settles once no model call (run, step, decode) is in flight in the worker: onnxruntime runs synchronously there,
   * and ending the process or the worker during a run can abort the process (`Napi::Error`, status 134). Also once the
   * worker has exited. Never rejects.
   */
  idle(): Promise<void> {
    if (this.calls === 0 || this.worker === null) return Promise.resolve();
    return new Promise<void>((resolve) => this.idlers.push(resolve));
  }

  /** Ends the worker (and every session in it). Idempotent; never throws. */
  async stop(): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate().catch(() => undefined);
  }

  private request(msg: HostRequest): Promise<HostReply> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('inference worker not running'));
    const seq = ++this.seq;
    const call = msg.type === 'run' || msg.type === 'step' || msg.type === 'decode';
    if (call) this.calls++;
    const done = (): void => {
      if (!call) return;
      this.calls--;
      if (this.calls > 0) return;
      const idlers = this.idlers;
      this.idlers = [];
      for (const go of idlers) go();
    };
    return new Promise<HostReply>((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (reply) => {
          done();
          resolve(reply);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      // Typed arrays are copied (structured clone): the engine reuses its input buffers for the next batch.
      worker.postMessage({ ...msg, seq });
    });
  }
}
