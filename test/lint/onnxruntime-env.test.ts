/**
 * onnxruntime's telemetry is turned off by src/adapters/onnxruntime-env.ts, which must run before 'onnxruntime-node'
 * is imported (test/e2e/no-telemetry.test.ts shows the effect on the real daemon and replay). Every file of the
 * project that imports 'onnxruntime-node' imports that module first; and what it does with the environment.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { disableOnnxruntimeTelemetry } from '../../src/adapters/onnxruntime-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Source files under `dir` (relative to the project), recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mts|js|mjs|cjs)$/.test(f))
    .map((f) => join(dir, f));
}

describe('onnxruntime-env is imported before onnxruntime-node', () => {
  const files = [...sources('src'), ...sources('test'), ...sources('scripts')];
  const importers = files.filter((f) => /(from |import\(|require\()\s*'onnxruntime-node'/.test(readFileSync(join(root, f), 'utf8')));

  it('finds the files that load onnxruntime-node (the scan works)', () => {
    expect(importers).toContain(join('src', 'adapters', 'onnx-runner.ts'));
  });

  it.each(importers.filter((f) => f !== join('test', 'lint', 'onnxruntime-env.test.ts')))('%s', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const ort = text.search(/(from |import\(|require\()\s*'onnxruntime-node'/);
    const env = text.search(/import '[./]*(src\/)?adapters\/onnxruntime-env\.js'|import '\.\/onnxruntime-env\.js'/);
    expect(env, `${file} imports onnxruntime-node without importing onnxruntime-env.js before it`).toBeGreaterThanOrEqual(0);
    expect(env).toBeLessThan(ort);
  });
});

describe('disableOnnxruntimeTelemetry', () => {
  it('sets ORT_DISABLE_TELEMETRY=1 when it is unset or empty', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(disableOnnxruntimeTelemetry(env)).toBe('off');
    expect(env.ORT_DISABLE_TELEMETRY).toBe('1');
    const empty: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: '' };
    expect(disableOnnxruntimeTelemetry(empty)).toBe('off');
    expect(empty.ORT_DISABLE_TELEMETRY).toBe('1');
  });

  it("leaves a value the user set, and says what onnxruntime makes of it ('1', 'true', 'yes' in any case: off)", () => {
    for (const v of ['1', 'TRUE', 'yes']) {
      const env: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: v };
      expect(disableOnnxruntimeTelemetry(env)).toBe('off by the environment');
      expect(env.ORT_DISABLE_TELEMETRY).toBe(v);
    }
    const optIn: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: '0' };
    expect(disableOnnxruntimeTelemetry(optIn)).toBe('on by the environment');
    expect(optIn.ORT_DISABLE_TELEMETRY).toBe('0');
  });

  it('has set it in this process (the module was imported above)', () => {
    expect(process.env.ORT_DISABLE_TELEMETRY).toBeTruthy();
  });
});
