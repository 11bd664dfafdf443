import type { Logger } from 'pino';
import type { LoadedModel } from '../contract/ports.js';

/**
 * Which model each sensor uses. The fallback (the shared model from model.cell / model.name) serves every
 * sensor without a model of its own; a model learnt for a group serves every sensor of the group,
 * including ones that join later. One owner: the daemon, which releases it at stop.
 */
export class ModelRegistry {
  private readonly models = new Map<string, LoadedModel>();
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

  /** Releases models no sensor, scope or fallback uses any more. */
  async releaseUnused(): Promise<void> {
    const used = new Set<string>([...this.bySensor.values(), ...this.byScope.values()]);
    if (this.fallback) used.add(this.fallback.id);
    for (const [id, model] of this.models) {
      if (used.has(id)) continue;
      this.models.delete(id);
      await model.release().catch((err: unknown) => this.log.warn({ err, model: id }, 'could not release model'));
    }
  }

  async releaseAll(): Promise<void> {
    for (const [id, model] of this.models) {
      await model.release().catch((err: unknown) => this.log.warn({ err, model: id }, 'could not release model'));
    }
    this.models.clear();
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
