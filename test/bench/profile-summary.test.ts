import { describe, expect, it } from 'vitest';
import { areaOf, summariseProfile, type CpuProfile } from '../../src/bench/profile-summary.js';

describe('profile summary', () => {
  it('attributes self time to functions and areas, shares of busy time', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'parse', url: 'file:///x/dist/pipeline/parse.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'run', url: 'file:///x/node_modules/onnxruntime-node/dist/backend.js', lineNumber: 0 } },
        { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 2, 3, 4, 2],
      timeDeltas: [100, 100, 200, 1000, 100],
    };
    const s = summariseProfile(profile);
    expect(s.totalMs).toBeCloseTo(1.5);
    expect(s.busyMs).toBeCloseTo(0.5);
    expect(s.functions[0]).toMatchObject({ name: 'parse dist/pipeline/parse.js:10' });
    expect(s.functions[0].share).toBeCloseTo(0.6);
    expect(s.areas.find((a) => a.name === 'onnxruntime')?.share).toBeCloseTo(0.4);
  });

  it('knows our stages and the libraries by path', () => {
    expect(areaOf('file:///a/dist/pipeline/window.js', 'push')).toBe('window');
    expect(areaOf('file:///a/node_modules/mqtt-packet/parser.js', 'x')).toBe('mqtt.js');
    expect(areaOf('', '(garbage collector)')).toBe('GC');
  });
});
