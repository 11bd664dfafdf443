/**
 * The demo's console order: a sensor's state line that belongs to an episode prints after the alert of it
 * (the daemon publishes the state at once, the alert only once committed), never before.
 */
import { describe, expect, it } from 'vitest';
import { DemoLineOrder } from '../../src/cli/demo-order.js';

describe('DemoLineOrder', () => {
  it('prints state anomalous after ALERT open and state ok after ALERT resolve, as the daemon delivers them (state first)', () => {
    const o = new DemoLineOrder();
    const printed: string[] = [];
    const print = (ls: string[]): number => printed.push(...ls);
    print(o.state('pump', undefined, 'state pump ok', 0));
    print(o.state('pump', 'X', 'state pump anomalous', 1));
    print(o.state('fan', undefined, 'state fan ok', 2)); // another sensor is not held up
    print(o.alert('pump', 'update', 'X', null));
    expect(printed).toEqual(['state pump ok', 'state fan ok']);
    print(o.alert('pump', 'open', 'X', 'ALERT open X'));
    print(o.state('pump', undefined, 'state pump ok (again)', 3));
    print(o.state('pump', undefined, 'state pump stale', 4)); // behind the held one
    print(o.alert('pump', 'resolve', 'X', 'ALERT resolve X'));
    expect(printed).toEqual(['state pump ok', 'state fan ok', 'ALERT open X', 'state pump anomalous', 'ALERT resolve X', 'state pump ok (again)', 'state pump stale']);
  });

  it('an episode that opens and resolves before either alert comes: both states wait, each for its own alert', () => {
    const o = new DemoLineOrder();
    expect(o.state('pump', 'X', 'anomalous', 0)).toEqual([]);
    expect(o.state('pump', undefined, 'ok', 1)).toEqual([]);
    expect(o.alert('pump', 'open', 'X', 'ALERT open')).toEqual(['ALERT open', 'anomalous']);
    expect(o.alert('pump', 'resolve', 'X', 'ALERT resolve')).toEqual(['ALERT resolve', 'ok']);
  });

  it('prints at once when the alert came first, and lets a line out after maxHoldMs when its alert never comes', () => {
    const o = new DemoLineOrder(2000);
    expect(o.alert('pump', 'open', 'X', 'ALERT open')).toEqual(['ALERT open']);
    expect(o.state('pump', 'X', 'anomalous', 0)).toEqual(['anomalous']);
    // The episode was dropped without a resolve (a restart's reconciliation): no alert ever comes.
    expect(o.state('pump', undefined, 'ok', 10)).toEqual([]);
    expect(o.due(2009)).toEqual([]);
    expect(o.due(2011)).toEqual(['ok']);
    expect(o.state('fan', 'Y', 'fan anomalous', 3000)).toEqual([]);
    expect(o.flush()).toEqual(['fan anomalous']);
    expect(o.flush()).toEqual([]);
  });
});
