import { describe, expect, it } from 'vitest';
import { closeNames } from '../../src/pipeline/names.js';

describe('closeNames', () => {
  const known = ['shelf60', 'shelf60/ENERGY.Power', 'shelf60/ENERGY.Voltage', 'shelf300/ENERGY.Power', 'Kitchen _2', 'dryer/apower'];

  it('offers a field named without its group before the device it is part of (tryout 25: `shelf60/Power` was offered `shelf60`)', () => {
    expect(closeNames('shelf60/Power', known)[0]).toBe('shelf60/ENERGY.Power');
    expect(closeNames('shelf60/power', known)).toContain('shelf60');
    expect(closeNames('shelf60/power', known)).not.toContain('shelf300/ENERGY.Power');
  });

  it('keeps the exact, safe-id, typo and containment rules, closest first', () => {
    expect(closeNames('Kitchen #2', known)).toEqual(['Kitchen _2']);
    expect(closeNames('dryer/apowr', known)).toEqual(['dryer/apower']);
    expect(closeNames('SHELF60', known)[0]).toBe('shelf60');
    expect(closeNames('zzzzzz', known)).toEqual([]);
    expect(closeNames('shelf', known, 2)).toHaveLength(2);
  });
});
