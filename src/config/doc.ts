/**
 * docs/CONFIG.md, rendered from the schema so the reference cannot drift from the code.
 * Regenerate with: UPDATE_CONFIG_DOC=1 npx vitest run test/config/doc.test.ts
 */
import { dotted, leaves, type Fields, type LeafEntry, type Section } from './dsl.js';
import { envNameOf } from './env.js';
import { CURRENT_VERSION, crossRules, schema } from './schema.js';
import { PRESET_NAMES } from './presets.js';

/** One table cell: pipes would end the cell and <name> would vanish as an HTML tag. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, ' ');
}

function formatDefault(value: unknown): string {
  if (typeof value === 'string') return `\`${value}\``;
  return `\`${JSON.stringify(value)}\``;
}

function envColumn(entry: LeafEntry): string {
  if (dotted(entry.path) === 'version') return '';
  const names = [envNameOf(entry.path), ...(entry.leaf.envAlias === null ? [] : [entry.leaf.envAlias])];
  return names.map((n) => `\`${n}\``).join('<br>');
}

function row(entry: LeafEntry): string {
  const { leaf } = entry;
  const notes = [leaf.doc, leaf.secret ? '**Secret**: masked in output.' : '', leaf.file ? 'The file must exist.' : '']
    .filter((s) => s !== '')
    .join(' ');
  return `| \`${dotted(entry.path)}\` | ${cell(leaf.type)} | ${cell(formatDefault(leaf.default))} | ${cell(leaf.range)} | ${envColumn(entry)} | ${cell(notes)} |`;
}

function table(entries: readonly LeafEntry[]): string[] {
  return ['| Key | Type | Default | Range | Environment | Description |', '|---|---|---|---|---|---|', ...entries.map(row)];
}

function directLeaves(section: Section<Fields>, path: readonly string[]): LeafEntry[] {
  return Object.entries(section.fields).flatMap(([key, node]) => (node.kind === 'leaf' ? [{ path: [...path, key], leaf: node }] : []));
}

function sectionBlocks(section: Section<Fields>, path: readonly string[]): string[] {
  const out: string[] = [];
  for (const [key, node] of Object.entries(section.fields)) {
    if (node.kind !== 'section') continue;
    const childPath = [...path, key];
    out.push(`### \`${dotted(childPath)}\``, '', node.doc, '', ...table(directLeaves(node, childPath)), '');
    out.push(...sectionBlocks(node, childPath));
  }
  return out;
}

const INTRO = `# Configuration reference

<!-- Generated from src/config/schema.ts by renderConfigDoc() in src/config/doc.ts. Do not edit by hand;
     regenerate with: UPDATE_CONFIG_DOC=1 npx vitest run test/config/doc.test.ts -->

Every setting is optional; a missing one takes its default. Settings are applied in this order, later
ones winning:

1. the defaults below;
2. the config file: \`--config PATH\`, else \`$ANOMALYD_CONFIG\`, else the package's \`config/default.yaml\`
   (a documented copy of the defaults), else none;
3. environment variables: every setting as \`ANOMALYD__SECTION__KEY\` (camelCase keys written in
   SCREAMING_SNAKE_CASE, e.g. \`ANOMALYD__WINDOW__INTERVAL_MS=1000\`), and a few common ones by a short
   alias (e.g. \`ANOMALYD_MQTT_URL\`). Values are parsed by the setting's type: booleans accept
   \`true/false/1/0/yes/no/on/off\`, lists a JSON array or comma-separated items, nullable settings the
   word \`null\`. An empty variable counts as unset. An unknown \`ANOMALYD__…\` variable is an error;
4. overrides passed by the program (command-line flags).

Unknown keys, wrong types, values out of range and broken rules are all reported together, one
\`path: message\` line each (\`env NAME: message\` for environment variables), and the daemon exits with
status 2 before opening any resource. \`anomalyd check-config [--config PATH]\` does the same checks and
prints the effective configuration with secrets masked. It also warns (on stderr, \`warning: <setting>: …\`,
exit status 0) of topics two mapping rules both take, presets, \`ingest.rules\` and the default rule alike:
a message there is read by the first rule in match order only (\`ingest.rules\`, then the presets in the
order ${PRESET_NAMES.join(', ')}, then the default
rule), and the warning names it (\`preset ha_statestream never reads "homeassistant/sensor/{sensor}/state":
preset homeassistant, tried first, takes every message there\`). Only a topic one rule takes whole is
reported, not two templates that meet where one's wildcard level meets the other's fixed level (a device
named \`events/rpc\` under \`zigbee2mqtt/\`).

Relative paths (\`dataDir\`, \`model.dir\`, \`mqtt.ca\`, …) are relative to the working directory.
The file format has a \`version\` (currently ${CURRENT_VERSION}); files written for an older version are
migrated when loaded, files for a newer one are refused. Example files: \`config/examples/\`.
`;

export function renderConfigDoc(): string {
  const lines = [
    INTRO,
    '## Settings',
    '',
    '### Top level',
    '',
    ...table(directLeaves(schema, [])),
    '',
    ...sectionBlocks(schema, []),
    '## Rules across settings',
    '',
    ...crossRules.map((rule) => `- ${rule.doc}`),
    '',
    `${leaves(schema).length} settings in all.`,
    '',
  ];
  return lines.join('\n');
}
