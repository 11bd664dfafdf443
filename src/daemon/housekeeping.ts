/**
 * The daemon's periodic work, one timer for all of it: each task runs in turn every interval, and a task
 * that throws is logged and does not stop the others or the next tick. One owner (the daemon) starts and
 * stops it.
 */
import type { Logger } from 'pino';

export interface HousekeepingTask {
  readonly name: string;
  run(): void;
}

export class Housekeeping {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tasks: readonly HousekeepingTask[],
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Runs every task once, now. */
  tick(): void {
    for (const task of this.tasks) {
      try {
        task.run();
      } catch (err) {
        this.log.warn({ err, task: task.name }, 'housekeeping task failed');
      }
    }
  }

  /** Stops the timer; idempotent. A tick in progress (they are synchronous) has finished by then. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
