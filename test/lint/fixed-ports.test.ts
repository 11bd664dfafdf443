/**
 * No test binds a fixed TCP port. The suite runs its files in parallel (vitest, forks), and CI once failed 4 tests
 * with EADDRINUSE on ports of a fixed block (18200, 18400, 19830) that another run's leftovers still held. A broker,
 * proxy or HTTP API in a test takes its port from freePort / freePorts (test/helpers/net.ts), or listens on port 0 and
 * reads the port back (a Daemon's httpUrl and brokerUrl, a Mosquitto's or MqttProxy's `port`); a port that must
 * refuse connections is a freePort() never bound.
 *
 * This guard scans every file under test/ for a port number (1024–65535) written as a literal where a port goes, and
 * fails naming the file, line and port. ALLOWED lists the few literals that are never bound (an address a pure
 * function formats, a config value parsed, an error message): each with why.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SELF = join('test', 'lint', 'fixed-ports.test.ts');

/** A port literal found: 1-based line, the port, the line's text. */
interface Found {
  readonly line: number;
  readonly port: number;
  readonly text: string;
}

/** Literals that name a port no test binds: file (from the project root), port, and why it may stay. */
const ALLOWED: readonly { readonly file: string; readonly port: number; readonly why: string }[] = [
  { file: 'test/adapters/mqtt.test.ts', port: 1883, why: 'the text of a made-up ECONNREFUSED error, no socket' },
  { file: 'test/cli/status.test.ts', port: 8080, why: 'apiBase formats an address; nothing listens' },
  { file: 'test/config/derived.test.ts', port: 41234, why: 'resolveMqttConnection builds a URL from a given port; nothing listens' },
  { file: 'test/config/derived.test.ts', port: 1883, why: 'the default broker port in a derived URL; nothing listens' },
  { file: 'test/config/env.test.ts', port: 1884, why: 'ANOMALYD_BROKER_PORT parsed into the config; nothing listens' },
  { file: 'test/http/helpers.ts', port: 1883, why: 'the MQTT URL of a fake status view; nothing connects' },
];

const NUMBER = String.raw`(\d[\d_]*)`;
/**
 * Where a number is a port: after a name that is or ends in a port word (`port`, `brokerPort`, `HTTP_PORT`,
 * `ANOMALYD_HTTP_PORT`, YAML's `port:` after an escaped newline; not `viewport`, `report`), quoted or not; in `listen(N`; after a loopback host in an address;
 * after `--port` / `--http-port`; after mosquitto's `listener`.
 */
const PORT_NAME = String.raw`(?:\b|(?<=\\n))(?:port|[\w$]*Port|(?:[\w$]*_)?PORT)S?\w*`;
const SINGLE: readonly RegExp[] = [
  new RegExp(String.raw`${PORT_NAME}['"]?\s*[:=]\s*['"]?${NUMBER}`, 'g'),
  new RegExp(String.raw`\.listen\(\s*${NUMBER}`, 'g'),
  new RegExp(String.raw`(?:127\.0\.0\.1|localhost|\[::1?\]|0\.0\.0\.0):${NUMBER}`, 'g'),
  new RegExp(String.raw`--(?:http-)?port['"]?\s*[,= ]\s*['"]?${NUMBER}`, 'g'),
  new RegExp(String.raw`\blistener\s+${NUMBER}`, 'g'),
];
/** A table of ports on one line: `HTTP_PORTS = { embedded: 19_140, mosquitto: 19_141 }` (any type annotation). */
const TABLE = new RegExp(String.raw`${PORT_NAME}[^=\n{]*=\s*\{([^}\n]*)\}`, 'g');

/** The port literals (1024–65535) of `text`, by line. Port 0 and numbers elsewhere (timeouts, sizes) are not ports. */
function portLiterals(text: string): Found[] {
  const found: Found[] = [];
  text.split('\n').forEach((line, i) => {
    const numbers = [...SINGLE.flatMap((re) => [...line.matchAll(re)].map((m) => m[1])), ...[...line.matchAll(TABLE)].flatMap((m) => m[1].match(/\d[\d_]*/g) ?? [])];
    for (const n of new Set(numbers.map((s) => Number(s.replace(/_/g, ''))))) {
      if (n >= 1024 && n <= 65535) found.push({ line: i + 1, port: n, text: line.trim() });
    }
  });
  return found;
}

/** Files under test/ (relative to the project root) a test or helper can be in. */
function testFiles(): string[] {
  return readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mts|js|mjs|cjs)$/.test(f))
    .map((f) => join('test', f))
    .filter((f) => f !== SELF);
}

describe('no test binds a fixed TCP port', () => {
  it('the scan finds the ways a port is written, and leaves port 0, read-back ports and other numbers alone', () => {
    const caught = [
      'const HTTP_PORT = 18_200;',
      "const HTTP_PORTS: Record<string, number> = { embedded: 18_781, mosquitto: 18_782 };",
      'const MOSQUITTO_PORTS = { silence: 18_100, offline: 18_101 };',
      'await startHubDaemon({ brokerPort: 19830, presets });',
      "writeFileSync(p, stringify({ http: { port: 19661 } }));",
      "'broker:\\n  port: 19871\\n'",
      "'http:\\nport: 19872\\n'",
      "const env = { ANOMALYD_HTTP_PORT: '18790' };",
      'server.listen(18400, "127.0.0.1");',
      'await fetch(`http://127.0.0.1:19741/api/status`);',
      "const url = 'mqtt://localhost:19650';",
      "spawn(MAIN, ['demo', '--port', '19500', '--http-port', '19501']);",
      '`listener 19620 127.0.0.1`',
    ];
    expect(caught.map((line) => portLiterals(line).map((f) => f.port))).toEqual([
      [18200], [18781, 18782], [18100, 18101], [19830], [19661], [19871], [19872], [18790], [18400], [19741], [19650], [19500, 19501], [19620],
    ]);
    const clean = [
      'const port = await freePort();',
      "http: { port: 0, host: '127.0.0.1' }",
      "spawn(MAIN, ['demo', '--port', '0', '--http-port', '0']);",
      'await waitFor(() => broker.port > 0, 1000, "broker");',
      'const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });',
      'const reportOpts = { seed: 8, perKind: 2, rows: 3000 };',
      'const url = `http://127.0.0.1:${httpPort}`;',
      "broker: { port: 70000 }",
    ];
    expect(clean.flatMap((line) => portLiterals(line))).toEqual([]);
  });

  it('finds the test files (the scan reads the tree)', () => {
    const files = testFiles();
    expect(files).toContain(join('test', 'helpers', 'net.ts'));
    expect(files.length).toBeGreaterThan(100);
  });

  it('no file under test/ writes a port literal outside the allow-list', () => {
    const offending: string[] = [];
    const allowedSeen = new Set<string>();
    for (const file of testFiles()) {
      const rel = file.split('\\').join('/');
      for (const f of portLiterals(readFileSync(join(root, file), 'utf8'))) {
        const allowed = ALLOWED.find((a) => a.file === rel && a.port === f.port);
        if (allowed) allowedSeen.add(`${allowed.file}:${allowed.port}`);
        else offending.push(`${rel}:${f.line}: port ${f.port}: ${f.text}`);
      }
    }
    expect(
      offending,
      'a fixed TCP port in a test clashes with a parallel run (EADDRINUSE): use freePort()/freePorts() from test/helpers/net.ts, ' +
        'or listen on port 0 and read the port back; a port that must refuse connections is a freePort() never bound. ' +
        'A literal that is never bound (an address formatted, a config value parsed) goes into ALLOWED with why',
    ).toEqual([]);
    // An entry whose literal is gone is removed, so the list stays what the tree needs.
    expect(ALLOWED.map((a) => `${a.file}:${a.port}`).filter((k) => !allowedSeen.has(k)), 'ALLOWED entries no file needs any more').toEqual([]);
  });
});
