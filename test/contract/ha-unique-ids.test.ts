/**
 * Home Assistant keys an entity's registry entry (its name, area, history, the automations that name it) by the
 * discovery config's unique_id: a changed id leaves the old entity orphaned and makes a new one (`…_2`). With the
 * default node id (`anomalyd_<host>`) the ids read `anomalyd_anomalyd_<host>_…` (tryout 14 #9): kept on purpose,
 * so this pins them as every earlier version published them (README, "Home Assistant").
 */
import { describe, expect, it } from 'vitest';
import { nodeIdOf } from '../../src/adapters/ha-discovery.js';
import { loadConfig } from '../../src/config/load.js';
import { topics } from '../../src/contract/alerts.js';
import { binarySensorConfig, scoreSensorConfig } from '../../src/contract/ha-discovery.js';

describe('Home Assistant unique ids', () => {
  it('stay as published before: anomalyd_<nodeId>_<object>_<anomaly|score>, the default node id anomalyd_<host>', () => {
    const loaded = loadConfig({ path: '/dev/null', env: {} });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const nodeId = nodeIdOf(loaded.config, 'vm');
    expect(nodeId).toBe('anomalyd_vm');
    const ctx = { nodeId, topics: topics('anomalyd'), version: '0.1.0' };
    expect(binarySensorConfig(ctx, 'washer/apower', 'washer').unique_id).toBe('anomalyd_anomalyd_vm_washer_apower_94d748ba_anomaly');
    expect(scoreSensorConfig(ctx, 'washer/apower', 'washer').unique_id).toBe('anomalyd_anomalyd_vm_washer_apower_94d748ba_score');
    expect(binarySensorConfig(ctx, 'washer/apower', 'washer').device.identifiers).toEqual(['anomalyd_anomalyd_vm_washer_9d33c719']);
  });
});
