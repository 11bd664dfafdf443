#!/usr/bin/env node
// The README's first command: `npm run demo` from a fresh clone, with nothing else installed.
// Installs dependencies if they are missing, builds if the build is missing or stale, then runs anomalyd.
// With --prepare it stops after the build (npm test's pretest).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.error('anomalyd: installing dependencies (npm ci) ...');
  run(npm, ['ci', '--no-fund', '--no-audit']);
}
const main = join(root, 'dist', 'main.js');
if (!existsSync(main) || statSync(main).mtimeMs < newest(join(root, 'src'))) {
  console.error('anomalyd: building ...');
  run(npm, ['run', '--silent', 'build']);
}
// `--prepare`: install and build only (npm test's pretest, so `npm test` works from a fresh clone too).
if (process.argv[2] === '--prepare') process.exit(0);

// Run anomalyd as a child and wait for it: Ctrl-C reaches it directly (same process group), a SIGTERM sent
// to this launcher is passed on, and the launcher exits with the child's code once it has stopped cleanly.
const child = spawn(process.execPath, [main, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
