import { describe, expect, it } from 'vitest';
import { compileSensorPattern, subscriptionFilter } from '../../src/pipeline/topic.js';

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

describe('subscriptionFilter', () => {
  it('turns the pattern into the MQTT filter to subscribe to', () => {
    expect(subscriptionFilter('sensors/{sensor}')).toBe('sensors/+');
    expect(subscriptionFilter('site/+/{sensor}/#')).toBe('site/+/+/#');
  });
});
