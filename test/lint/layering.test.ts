/**
 * The layering rules of `npm run lint` (issue 9): ESLint keeps adapters out of the folders that do no I/O,
 * dependency-cruiser fails on an import cycle between folders of src/. Each rule is shown to catch what
 * it is for, on sample code and on a small throw-away tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LAYERED = ['pipeline', 'contract', 'train', 'model', 'learn', 'http', 'replay', 'eval', 'csv', 'explain'];
const ADAPTER_IMPORTS = ["'../adapters/sqlite-store.js'", "'../../adapters/onnx-runner.js'", "'mqtt'", "'better-sqlite3'", "'onnxruntime-node'", "'aedes'", "'aedes/types/instance'"];

/** The no-restricted-imports setting ESLint computes for `file` (relative to the project). */
async function restrictedImportsFor(file: string): Promise<Linter.RuleEntry | undefined> {
  const config = (await new ESLint({ cwd: root }).calculateConfigForFile(file)) as { rules?: Record<string, Linter.RuleEntry> };
  return config.rules?.['no-restricted-imports'];
}

/** Messages of that setting on one line of code. */
function violations(entry: Linter.RuleEntry | undefined, code: string): string[] {
  if (entry === undefined) return [];
  const linter = new Linter({ configType: 'flat' });
  return linter
    .verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, sourceType: 'module' }, rules: { 'no-restricted-imports': entry } }], 'x.ts')
    .map((m) => m.message);
}

describe('ESLint: no adapters in the folders that do no I/O', () => {
  it.each(LAYERED)('src/%s may import neither an adapter nor an I/O package, not even a type', async (folder) => {
    const entry = await restrictedImportsFor(`src/${folder}/example.ts`);
    for (const spec of ADAPTER_IMPORTS) {
      for (const code of [`import x from ${spec};`, `import type { X } from ${spec};`, `export { x } from ${spec};`]) {
        expect(violations(entry, code), `${folder}: ${code}`).toEqual([expect.stringMatching(/take a port from src\/contract/)]);
      }
    }
    // Ports, records and plain libraries are fine.
    expect(violations(entry, "import { x } from '../contract/store.js'; import pino from 'pino'; import { of } from 'rxjs';")).toEqual([]);
  });

  it('leaves the composition root and the CLI free to build adapters, and exempts only the file the model loader replaces', async () => {
    for (const file of ['src/daemon.ts', 'src/daemon/adapters.ts', 'src/cli/replay.ts', 'src/replay/learn.ts']) {
      expect(violations(await restrictedImportsFor(file), "import x from '../adapters/onnx-runner.js';"), file).toEqual([]);
    }
    const config = readFileSync(join(root, 'eslint.config.js'), 'utf8');
    expect(config.match(/until the model loader lands \(issue 9\)/g)).toHaveLength(1);
  });
});

describe('dependency-cruiser: no import cycle between folders of src/', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anomalyd-layering-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const bin = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

  function tree(name: string, files: Record<string, string>): string {
    const dir = join(tmp, name);
    for (const [path, text] of Object.entries({ 'tsconfig.json': readFileSync(join(root, 'tsconfig.json'), 'utf8'), ...files })) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  function cruise(dir: string): { code: number; out: string } {
    try {
      const out = execFileSync(process.execPath, [bin, 'src', '--config', join(root, '.dependency-cruiser.cjs')], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      return { code: 0, out };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, out: `${e.stdout}${e.stderr}` };
    }
  }

  it('fails on two folders that import each other, though no module is in a cycle, and passes once one direction goes', () => {
    const files = {
      'src/learn/learner.ts': "import type { Row } from '../adapters/store.js';\nexport const learn = (r: Row): number => r.n;\n",
      'src/learn/registry.ts': 'export interface Loaded { readonly id: string }\n',
      'src/adapters/worker.ts': "import type { Loaded } from '../learn/registry.js';\nexport const idOf = (m: Loaded): string => m.id;\n",
      'src/adapters/store.ts': 'export interface Row { readonly n: number }\n',
    };
    const cyclic = cruise(tree('cyclic', files));
    expect(cyclic.code).not.toBe(0);
    expect(cyclic.out).toMatch(/no-folder-cycles: src\/(learn|adapters)/);
    const fixed = cruise(
      tree('fixed', {
        ...files,
        'src/contract/store.ts': 'export interface Row { readonly n: number }\n',
        'src/learn/learner.ts': "import type { Row } from '../contract/store.js';\nexport const learn = (r: Row): number => r.n;\n",
      }),
    );
    expect(fixed.out).toMatch(/no dependency violations found/);
    expect(fixed.code).toBe(0);
  });
});
