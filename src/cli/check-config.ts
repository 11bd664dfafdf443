/**
 * `anomalyd check-config [--config PATH]`: validates the configuration exactly as the daemon would
 * load it (file, environment) and prints the effective config with secrets masked.
 * Warnings (an insecure setting waived, topics two mapping rules both take: src/config/overlaps.ts, a
 * learning.minReadings too small for the gate: src/learn/learner.ts learningWarnings; a score.learnReadings below
 * the kinds' warm-up: src/pipeline/learning-period.ts learnReadingsWarnings; a window.intervalMs under a
 * second, a subscription no rule reads: src/config/mistakes.ts likelyMistakes) go to
 * stderr as `warning: <setting>: …` lines and leave the exit status alone.
 * Exit 0 when valid, 2 when not (or on a usage error).
 */
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.js';
import { maskSecrets } from '../config/mask.js';
import { likelyMistakes } from '../config/mistakes.js';
import { overlappingTopics } from '../config/overlaps.js';
import { waivedExposure } from '../config/schema.js';
import { learningWarnings } from '../learn/learner.js';
import { learnReadingsWarnings } from '../pipeline/learning-period.js';
import { sharedModelHop } from '../daemon.js';

export interface CheckConfigIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

export const CHECK_CONFIG_USAGE = `Usage: anomalyd check-config [--config PATH]

Validates the configuration the daemon would use and prints it, secrets masked.

  -c, --config PATH   config file (default: $ANOMALYD_CONFIG, else the package's config/default.yaml)
  -h, --help          show this help

Environment overrides (ANOMALYD__SECTION__KEY and the short aliases) are applied as by the daemon.
Warnings go to stderr as "warning: <setting>: ..." lines: an insecure setting waived (insecure: true), and
topics two mapping rules both take (presets, ingest.rules, the default rule), saying which rule reads them
(the first in match order), and a learning.minReadings too small for a sensor's first own model ever to pass
the gate (with the number it needs, from window.hop; 'run' logs it at start too), a window.intervalMs under
1000 (ms; 60 meant as seconds is 60000), and an ingest.topics filter no mapping rule can read (every message on
it would be rejected bad_topic; 'run' logs these at start too).
Exit status: 0 valid (warnings or not), 2 invalid or bad usage. See docs/CONFIG.md.
`;

type Parsed = { readonly kind: 'help' } | { readonly kind: 'run'; readonly path: string | undefined } | { readonly kind: 'usage'; readonly message: string };

function parseArgs(argv: readonly string[]): Parsed {
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-c' || arg === '--config') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) return { kind: 'usage', message: `${arg} needs a file path` };
      path = value;
      i++;
    } else if (arg.startsWith('--config=')) {
      path = arg.slice('--config='.length);
    } else {
      return { kind: 'usage', message: `unknown argument: ${arg}` };
    }
  }
  return { kind: 'run', path };
}

export function checkConfigCommand(argv: string[], io: CheckConfigIo): number {
  const parsed = parseArgs(argv);
  switch (parsed.kind) {
    case 'help':
      io.stdout(CHECK_CONFIG_USAGE);
      return 0;
    case 'usage':
      io.stderr(`check-config: ${parsed.message}\n\n${CHECK_CONFIG_USAGE}`);
      return 2;
    case 'run':
      break;
  }
  const result = loadConfig({ path: parsed.path, env: io.env });
  if (!result.ok) {
    io.stderr(result.errors.map((e) => `${e}\n`).join(''));
    return 2;
  }
  for (const [setting, problem] of waivedExposure(result.config)) io.stderr(`warning: INSECURE (insecure: true): ${setting} ${problem}\n`);
  for (const [setting, overlap] of overlappingTopics(result.config.ingest)) io.stderr(`warning: ${setting}: ${overlap}\n`);
  for (const [setting, why] of learningWarnings(result.config, sharedModelHop(result.config))) io.stderr(`warning: ${setting}: ${why}\n`);
  for (const [setting, why] of learnReadingsWarnings(result.config)) io.stderr(`warning: ${setting}: ${why}\n`);
  for (const [setting, why] of likelyMistakes(result.config)) io.stderr(`warning: ${setting}: ${why}\n`);
  const source = result.file ?? 'built-in defaults';
  io.stdout(`# anomalyd effective configuration: ${source} + environment; secrets masked\n${stringify(maskSecrets(result.config))}`);
  return 0;
}
