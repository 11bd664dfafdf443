import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/config/migrate.js';
import { editDistance, closest } from '../../src/config/suggest.js';

describe('migrate', () => {
  // A pretend history: version 1 called it `windowSize`, version 2 moved it under `window.length`.
  const migrations = {
    1: (raw: Record<string, unknown>) => {
      const { windowSize, ...rest } = raw;
      return { ...rest, window: { length: windowSize } };
    },
    2: (raw: Record<string, unknown>) => raw,
  };

  it('runs every step from the file’s version to the current one', () => {
    expect(migrate({ version: 1, windowSize: 32 }, 3, migrations)).toEqual({ value: { version: 3, window: { length: 32 } }, errors: [] });
  });

  it('leaves a current file alone and stamps a missing version as current', () => {
    expect(migrate({ dataDir: 'x' }, 3, migrations).value).toEqual({ dataDir: 'x', version: 3 });
  });

  it('reports a gap in the migration chain', () => {
    expect(migrate({ version: 1 }, 4, migrations).errors).toEqual(['version: no migration from version 3; this file cannot be read']);
  });
});

describe('suggestions', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('lenght', 'length')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests only close candidates', () => {
    expect(closest('treshold', ['threshold', 'mode'])).toBe('threshold');
    expect(closest('DATADIR', ['dataDir', 'log'])).toBe('dataDir');
    expect(closest('colourful', ['level'])).toBeNull();
  });
});
