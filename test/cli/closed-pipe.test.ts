/**
 * `anomalyd <listing> | head`: a reader that closes the pipe early ends the command quietly (exit 0, no stack
 * trace), as Unix tools do on SIGPIPE (tryout 9: `anomalyd models | head -6` died on an unhandled EPIPE).
 * The real CLI as a child process, its stdout a pipe this test closes after the first chunk.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = resolve('dist/main.js');

describe.skipIf(!existsSync(MAIN))('a listing piped into a reader that stops early', () => {
  it('ends with exit code 0 and no EPIPE on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-pipe-'));
    const csv = join(dir, 'long.csv');
    // Long enough that the output (one row per reading) cannot leave in the pipe's first chunk.
    writeFileSync(csv, `value\n${Array.from({ length: 20_000 }, (_, i) => (10 + Math.sin(i / 7)).toFixed(3)).join('\n')}\n`);
    const child = spawn(process.execPath, [MAIN, 'replay', '--input', csv, '--timestamp-column', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled 'error'/);
    expect(code).toBe(0);
  }, 60_000);
});
