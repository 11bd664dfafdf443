import type { Logger } from 'pino';
import type { LoadedModel, StepModel } from '../contract/ports.js';

/**
 * Which model each sensor uses. The fallback (the shared model from model.cell / model.name) serves every
 * sensor without a model of its own; a model learnt for a group serves every sensor of the group,
 * including ones that join later. One owner: the daemon, which releases it at stop.
 *
 * The registry is also the one owner of a loaded model's lifetime. Its users (the step engine,
 * src/pipeline/steps.ts) `hold` a model while a stream is attached to it or a call of it is queued or running,
 * and `letGo` of it after; a model no sensor uses any more (releaseUnused) is freed only once nobody holds it.
 * A stream keeps its model to the end of its current chunk and a batch of calls is formed before it runs, so a
 * model swapped out while readings flow is still stepped for a while: freeing it at once failed those calls
 * ("no model N in the inference worker").
 */
export class ModelRegistry {
  private readonly models = new Map<string, LoadedModel>();
  /** Holds per model object (not id: a model reloaded under the same id is another object). */
  private readonly holds = new Map<StepModel, number>();
  /** Models no sensor uses any more, freed when their last hold is let go. */
  private readonly retired = new Set<LoadedModel>();
  /** Frees under way that no caller awaits (started by letGo); releaseAll waits for them. */
  private readonly freeing = new Set<Promise<void>>();
  private readonly bySensor = new Map<string, string>();
  private readonly byScope = new Map<string, string>();
  /** Sensors put back on the shared model (a rollback to it), whatever their group has. */
  private readonly shared = new Set<string>();

  constructor(
    private readonly fallback: LoadedModel | null,
    private readonly scopeOf: (sensor: string) => string,
    private readonly log: Logger,
  ) {
    if (fallback) this.models.set(fallback.id, fallback);
  }

  get fallbackModel(): LoadedModel | null {
    return this.fallback;
  }

  /** The sensor's model: its own, else its group's, else the fallback, else null (no scoring). */
  modelFor(sensor: string): LoadedModel | null {
    if (this.shared.has(sensor)) return this.fallback;
    const id = this.bySensor.get(sensor) ?? this.byScope.get(this.scopeOf(sensor));
    return (id !== undefined ? this.models.get(id) : undefined) ?? this.fallback;
  }

  /** True when the sensor has a model learnt for it or its group (not just the fallback). */
  hasOwnModel(sensor: string): boolean {
    if (this.shared.has(sensor)) return false;
    return this.bySensor.has(sensor) || this.byScope.has(this.scopeOf(sensor));
  }

  /**
   * True when the sensor's model was learnt on this sensor alone (its own scope, assigned to it): only then is
   * the model's sidecar normalisation in the sensor's units, fit to seed a new stream of it
   * (src/pipeline/steps.ts StreamModel.own). A group's model, or one a sensor joined, is not.
   */
  learntOnAlone(sensor: string): boolean {
    if (this.shared.has(sensor) || this.scopeOf(sensor) !== sensor) return false;
    return this.bySensor.has(sensor);
  }

  scopeHasModel(scope: string): boolean {
    return this.byScope.has(scope);
  }

  get(id: string): LoadedModel | undefined {
    return this.models.get(id);
  }

  has(id: string): boolean {
    return this.models.has(id);
  }

  add(model: LoadedModel): void {
    this.models.set(model.id, model);
  }

  /** Points a sensor (and its scope, for sensors that join later) at a loaded model. */
  assign(sensor: string, modelId: string): void {
    if (!this.models.has(modelId)) throw new Error(`model ${modelId} is not loaded`);
    this.shared.delete(sensor);
    this.bySensor.set(sensor, modelId);
    this.byScope.set(this.scopeOf(sensor), modelId);
  }

  /**
   * Puts a sensor back on the shared model (the fallback; none when there is no fallback). A sensor that is
   * its own scope loses its scope's model too (so the learner may learn it again); in a group, the group's
   * model goes on serving the group's other sensors.
   */
  assignShared(sensor: string): void {
    this.bySensor.delete(sensor);
    const scope = this.scopeOf(sensor);
    if (scope === sensor) this.byScope.delete(scope);
    this.shared.add(sensor);
  }

  /** True when the sensor was put back on the shared model (assignShared) and has not been given another since. */
  isShared(sensor: string): boolean {
    return this.shared.has(sensor);
  }

  /**
   * Takes a hold on a model: it is not freed (by releaseUnused) until every hold is let go. Taken by the step
   * engine for each stream attached to the model and for each batch of its calls, queued or running.
   */
  hold(model: StepModel): void {
    this.holds.set(model, (this.holds.get(model) ?? 0) + 1);
  }

  /**
   * Lets go of a hold taken by `hold`. When it was the last one and the model is no longer used (releaseUnused
   * took it out), the model is freed now (in the background; an error is logged, never thrown).
   */
  letGo(model: StepModel): void {
    const n = (this.holds.get(model) ?? 0) - 1;
    if (n > 0) {
      this.holds.set(model, n);
      return;
    }
    this.holds.delete(model);
    const retired = [...this.retired].find((m) => m === model);
    if (retired === undefined) return;
    this.retired.delete(retired);
    const freeing = this.free(retired);
    this.freeing.add(freeing);
    void freeing.finally(() => this.freeing.delete(freeing));
  }

  /**
   * Releases models no sensor, scope or fallback uses any more: at once when nobody holds them, else when the
   * last hold is let go (the streams still stepping them reached their next chunk, their calls returned). Either
   * way they are no longer handed out (modelFor, get) from now on.
   */
  async releaseUnused(): Promise<void> {
    const used = new Set<string>([...this.bySensor.values(), ...this.byScope.values()]);
    if (this.fallback) used.add(this.fallback.id);
    for (const [id, model] of this.models) {
      if (used.has(id)) continue;
      this.models.delete(id);
      if ((this.holds.get(model) ?? 0) > 0) this.retired.add(model);
      else await this.free(model);
    }
  }

  /** Releases every model, held or not (the daemon's stop, after the pipeline stopped), and waits for frees under way. */
  async releaseAll(): Promise<void> {
    for (const model of this.models.values()) await this.free(model);
    for (const model of this.retired) await this.free(model);
    this.models.clear();
    this.retired.clear();
    this.holds.clear();
    await Promise.all([...this.freeing]);
  }

  private async free(model: LoadedModel): Promise<void> {
    await model.release().catch((err: unknown) => this.log.warn({ err, model: model.id }, 'could not release model'));
  }
}

/** Compiles learning.groups ("name=pattern", * = any characters) into a sensor -> scope function. */
export function compileScopes(groups: readonly string[]): (sensor: string) => string {
  const compiled = groups.map((g) => {
    const eq = g.indexOf('=');
    const name = g.slice(0, eq);
    const pattern = g.slice(eq + 1);
    const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    return { name, re };
  });
  return (sensor) => {
    for (const { name, re } of compiled) if (re.test(sensor)) return `group:${name}`;
    return sensor;
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
