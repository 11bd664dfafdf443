/** explain.units: `pattern=unit` entries, `*` any characters, letters in any case, the first match wins. */
import { describe, expect, it } from 'vitest';
import { compileUnits, unitOf } from '../../src/explain/units.js';

describe('explain.units', () => {
  it("matches a pattern regardless of case: *temperature*=°C gives Tasmota's Capitalised fields their unit (tryout 14, finding 8)", () => {
    const rules = compileUnits(['*apower=W', '*voltage=V', '*/current=A', '*temperature*=°C', '*ENERGY.Power=W']);
    expect(unitOf(rules, 'bedroom_sensor/temperature')).toBe('°C');
    expect(unitOf(rules, 'Room10/Temperature')).toBe('°C');
    expect(unitOf(rules, 'plug-tv/ENERGY.Voltage')).toBe('V');
    expect(unitOf(rules, 'plug-tv/energy.power')).toBe('W');
    expect(unitOf(rules, 'shellyplusplugs-washer/switch:0/apower')).toBe('W');
    // Still anchored, `.` literal, the first match wins, no match no unit.
    expect(unitOf(rules, 'plug-tv/ENERGY.Current')).toBeNull();
    expect(unitOf(rules, 'plug-tv/ENERGYxPower')).toBeNull();
    expect(unitOf(compileUnits(['*TEMP*=K', '*temp*=°C']), 'a/temp')).toBe('K');
  });
});
