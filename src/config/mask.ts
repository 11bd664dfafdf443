import { leaves } from './dsl.js';
import { schema, type Config } from './schema.js';

/** A copy of the config that is safe to print or log: secrets become `***`, URL passwords too. */
export function maskSecrets(config: Config): Config {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const { path, leaf } of leaves(schema)) {
    const parent = path.slice(0, -1).reduce((node, key) => node[key] as Record<string, unknown>, copy);
    const key = path[path.length - 1];
    parent[key] = leaf.mask(parent[key]);
  }
  return copy as Config;
}
