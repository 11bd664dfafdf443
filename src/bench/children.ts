/** Forking and talking to the benchmark's MQTT child processes (see mqtt-child.ts). */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildConfig, ChildMessage, ParentMessage, PublishPlan, PublishResult, SubscriberReport } from './mqtt-child.js';

/**
 * The compiled child entry: beside this module in dist/bench, or, when this module runs from src/
 * (under vitest), the built copy in dist/bench. Children always run compiled JavaScript.
 */
export function compiledEntry(name: string): string {
  const beside = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL(`../../dist/bench/${name}`, import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`benchmark child ${name} not found beside ${beside} or in dist/bench: run 'npm run build' first`);
}

type Reply = Exclude<ChildMessage, { type: 'error' }>;

export class MqttChild {
  private waiting: { type: Reply['type']; resolve: (m: Reply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (m: ChildMessage) => this.onMessage(m));
    proc.on('exit', (code) => this.fail(new Error(`benchmark child exited with ${String(code)}`)));
  }

  static async start(config: ChildConfig): Promise<MqttChild> {
    const proc = fork(compiledEntry('mqtt-child.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const child = new MqttChild(proc);
    await child.next('ready');
    return child;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Fails after `timeoutMs` rather than hanging the suite when the broker stops taking messages. */
  async publish(plan: PublishPlan, timeoutMs = 180_000): Promise<PublishResult> {
    this.post({ cmd: 'publish', plan });
    const timer = setTimeout(() => this.fail(new Error(`publisher did not finish within ${timeoutMs} ms`)), timeoutMs);
    const m = await this.next('published').finally(() => clearTimeout(timer));
    if (m.type !== 'published') throw new Error('unreachable');
    return m.result;
  }

  async arm(firstIndex: number, hop: number, perMessage: number): Promise<void> {
    this.post({ cmd: 'arm', firstIndex, hop, perMessage });
    await this.next('ready');
  }

  async report(): Promise<SubscriberReport> {
    this.post({ cmd: 'report' });
    const m = await this.next('report');
    if (m.type !== 'report') throw new Error('unreachable');
    return m.report;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      this.post({ cmd: 'exit' });
    } catch {
      this.proc.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private post(msg: ParentMessage): void {
    if (this.failure) throw this.failure;
    this.proc.send(msg);
  }

  private next(type: Reply['type']): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { type, resolve, reject };
    });
  }

  private onMessage(m: ChildMessage): void {
    if (m.type === 'error') {
      this.fail(new Error(`benchmark child: ${m.message}`));
      return;
    }
    const w = this.waiting;
    if (w && w.type === m.type) {
      this.waiting = null;
      w.resolve(m);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }
}
