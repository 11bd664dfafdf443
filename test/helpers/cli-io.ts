/**
 * A command context that captures what a CLI command writes (src/cli/context.ts CommandContext): `out` and
 * `err` hold stdout and stderr as written; `exit` throws `exit N` so a test sees a command that tried to exit.
 */
import type { CommandContext } from '../../src/cli/context.js';

export function captureIo(): CommandContext & { out: string; err: string } {
  const c = {
    out: '',
    err: '',
    stdout: (s: string) => void (c.out += s),
    stderr: (s: string) => void (c.err += s),
    env: {},
    exit: (code: number): never => {
      throw new Error(`exit ${code}`);
    },
  };
  return c;
}
