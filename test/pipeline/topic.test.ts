import { describe, expect, it } from 'vitest';
import { MAX_INNER_LEVELS, compileSensorPattern, compileTopicTemplate, subscriptionFilters } from '../../src/pipeline/topic.js';

describe('compileSensorPattern', () => {
  it('captures the sensor level of the default pattern', () => {
    const sensorOf = compileSensorPattern('sensors/{sensor}');
    expect(sensorOf('sensors/boiler-1')).toBe('boiler-1');
    expect(sensorOf('sensors/')).toBeNull();
    expect(sensorOf('sensors')).toBeNull();
    expect(sensorOf('sensors/a/b')).toBeNull();
    expect(sensorOf('other/a')).toBeNull();
    expect(sensorOf('sensorsX/a')).toBeNull();
    expect(sensorOf('sensors/a/')).toBeNull();
  });

  it('matches + as any one level and # as the rest', () => {
    const sensorOf = compileSensorPattern('site/+/{sensor}/#');
    expect(sensorOf('site/hall-3/press-7/telemetry/raw')).toBe('press-7');
    expect(sensorOf('site/hall-3/press-7')).toBe('press-7'); // # also matches the parent level, as in MQTT
    expect(sensorOf('site/hall-3')).toBeNull();
    expect(sensorOf('site//press-7')).toBe('press-7'); // '+' matches an empty level, as in MQTT
  });

  it('captures a sensor in the first level and ignores $SYS topics', () => {
    const sensorOf = compileSensorPattern('{sensor}/value');
    expect(sensorOf('pump/value')).toBe('pump');
    expect(sensorOf('$SYS/value')).toBeNull();
  });

  it('rejects an over-long sensor id', () => {
    const sensorOf = compileSensorPattern('s/{sensor}');
    expect(sensorOf(`s/${'x'.repeat(128)}`)).toBe('x'.repeat(128));
    expect(sensorOf(`s/${'x'.repeat(129)}`)).toBeNull();
  });

  it.each([
    ['', /empty/],
    ['sensors/+', /exactly one '\{sensor\}'/],
    ['{sensor}/{sensor}', /exactly one '\{sensor\}'.*found 2/],
    ['a/#/{sensor}', /'#' may only be the last level/],
    ['a/pre{sensor}', /whole level/],
    ['a/{device}', /whole level/],
    ['a/b+/{sensor}', /whole levels/],
  ])('refuses pattern %j with a clear error', (pattern, message) => {
    expect(() => compileSensorPattern(pattern)).toThrow(message);
  });
});

describe('subscriptionFilters', () => {
  it('turns the pattern into the MQTT filter to subscribe to', () => {
    expect(subscriptionFilters('sensors/{sensor}')).toEqual(['sensors/+']);
    expect(subscriptionFilters('site/+/{sensor}/#')).toEqual(['site/+/+/#']);
  });
});

describe('{sensor#}: a device name of one or more levels (mapping rules)', () => {
  it('last: takes the whole rest of the topic, at least one level', () => {
    const t = compileTopicTemplate('zigbee2mqtt/{sensor#}', true);
    expect(t('zigbee2mqtt/kitchen/floor_light')).toEqual({ sensor: 'kitchen/floor_light', field: null });
    expect(t('zigbee2mqtt/plug')).toEqual({ sensor: 'plug', field: null });
    expect(t('zigbee2mqtt')).toBeNull();
    expect(t('zigbee2mqtt/')).toBeNull();
    expect(t('zigbee2mqtt/a//b')).toBeNull();
    expect(subscriptionFilters('zigbee2mqtt/{sensor#}')).toEqual(['zigbee2mqtt/#']);
  });

  it('before other levels: those are matched from the end, the name takes 1 to MAX_INNER_LEVELS levels, one filter per depth', () => {
    const t = compileTopicTemplate('{sensor#}/sensor/{field}/state', true);
    expect(t('node/sensor/temperature/state')).toEqual({ sensor: 'node', field: 'temperature' });
    expect(t('home/livingroom/sensor/temperature/state')).toEqual({ sensor: 'home/livingroom', field: 'temperature' });
    expect(t('a/b/c/sensor/temperature/state')).toBeNull();
    expect(MAX_INNER_LEVELS).toBe(2);
    expect(t('sensor/temperature/state')).toBeNull();
    expect(t('node/sensor/temperature/command')).toBeNull();
    expect(subscriptionFilters('{sensor#}/sensor/{field}/state')).toEqual(['+/sensor/+/state', '+/+/sensor/+/state']);
    expect(subscriptionFilters('site/{sensor#}/data')).toEqual(['site/+/data', 'site/+/+/data']);
  });

  it('is refused with a # level, twice, with {sensor}, or not as a whole level', () => {
    for (const bad of ['a/{sensor#}/#', '{sensor#}/{sensor#}', '{sensor}/{sensor#}', 'a/x{sensor#}']) expect(() => compileTopicTemplate(bad, true), bad).toThrow(/invalid sensor topic pattern/);
    // The default rule's sensorPattern keeps one level.
    expect(() => compileSensorPattern('a/{sensor#}')).toThrow(/invalid sensor topic pattern/);
  });
});
