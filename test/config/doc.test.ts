import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument, isMap, isPair, isScalar, type Node as YamlNode } from 'yaml';
import { renderConfigDoc } from '../../src/config/doc.js';
import { dotted, leaves } from '../../src/config/dsl.js';
import { envNameOf } from '../../src/config/env.js';
import { schema } from '../../src/config/schema.js';
import { TRAIN_DEFAULTS } from '../../src/train/trainer.js';

const docPath = fileURLToPath(new URL('../../docs/CONFIG.md', import.meta.url));
const modelDocPath = fileURLToPath(new URL('../../docs/MODEL.md', import.meta.url));
const defaultYamlPath = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

describe('docs/CONFIG.md', () => {
  it('is the text rendered from the schema (UPDATE_CONFIG_DOC=1 rewrites it)', () => {
    const rendered = renderConfigDoc();
    if (process.env.UPDATE_CONFIG_DOC === '1') writeFileSync(docPath, rendered);
    expect(readFileSync(docPath, 'utf8')).toBe(rendered);
  });

  it('documents every setting with its env name', () => {
    const rendered = renderConfigDoc();
    for (const { path } of leaves(schema)) {
      expect(rendered).toContain(`\`${dotted(path)}\``);
      if (dotted(path) !== 'version') expect(rendered).toContain(envNameOf(path));
    }
  });
});

/** Dotted paths of the scalar/list settings in a YAML mapping, with whether each has a comment on its line. */
function yamlLeaves(node: YamlNode | null, prefix: string[], text: string): Array<{ path: string; commented: boolean }> {
  if (!isMap(node)) return [];
  return node.items.flatMap((pair) => {
    if (!isPair(pair) || !isScalar(pair.key)) return [];
    const path = [...prefix, String(pair.key.value)];
    const value = pair.value;
    if (isMap(value)) return yamlLeaves(value, path, text);
    const start = pair.key.range?.[0] ?? 0;
    const line = text.slice(start, text.indexOf('\n', start));
    return [{ path: path.join('.'), commented: /\s#\s\S/.test(line) }];
  });
}

describe('config/default.yaml', () => {
  const text = readFileSync(defaultYamlPath, 'utf8');
  const found = yamlLeaves(parseDocument(text).contents, [], text);

  it('spells out every setting of the schema, and nothing else', () => {
    expect(found.map((f) => f.path).sort()).toEqual(leaves(schema).map((e) => dotted(e.path)).sort());
  });

  it('has a comment on every setting’s line', () => {
    expect(found.filter((f) => !f.commented).map((f) => f.path)).toEqual([]);
  });
});

describe('docs/MODEL.md', () => {
  it('gives the most epochs of both trainings as the code has them (tryout 39, finding 13: it said 12, the config 20, the log 60)', () => {
    const text = readFileSync(modelDocPath, 'utf8').replace(/\s+/g, ' ');
    const learning = leaves(schema).find((e) => dotted(e.path) === 'learning.epochs')!.leaf.default;
    expect(text).toContain(`\`anomalyd train --epochs\` (${TRAIN_DEFAULTS.epochs} by default)`);
    expect(text).toContain(`\`learning.epochs\` (${String(learning)} by default)`);
    // No other default stated for them.
    expect(text.match(/`(?:--)?epochs` \(\d+ by default\)/g) ?? []).toEqual([]);
  });
});
