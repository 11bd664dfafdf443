/**
 * A gate on a model's step calls, for tests that must hold the daemon's scoring at a known point whatever the machine's
 * speed (test/e2e/stop-kept.test.ts, test/e2e/stop-forced.test.ts).
 */
import type { LoadedModel, ModelLoader } from '../../src/contract/ports.js';

/**
 * Model calls held until `open()`: a loader whose models' `step` waits at the gate while it is shut. `held` counts the
 * calls waiting; `done` settles when every call let go has returned (or failed: the stop releases the model).
 */
export class Gate {
  private shut = false;
  private waiting: Array<() => void> = [];
  private running: Promise<unknown>[] = [];
  held = 0;

  close(): void {
    this.shut = true;
  }

  open(): void {
    this.shut = false;
    const w = this.waiting;
    this.waiting = [];
    for (const go of w) go();
  }

  /** Settles once every call that passed the gate has returned or failed. */
  async done(): Promise<void> {
    await Promise.allSettled(this.running);
  }

  loader(inner: ModelLoader): ModelLoader {
    return async (path) => {
      const m = await inner(path);
      const gated: LoadedModel = {
        id: m.id,
        sidecar: m.sidecar,
        runBatch: (b) => m.runBatch(b),
        decode: (i) => m.decode(i),
        release: () => m.release(),
        step: (input) => {
          const call = this.pass().then(() => m.step(input));
          this.running.push(call);
          return call;
        },
      };
      return gated;
    };
  }

  private async pass(): Promise<void> {
    if (!this.shut) return;
    this.held++;
    await new Promise<void>((go) => this.waiting.push(go));
  }
}

