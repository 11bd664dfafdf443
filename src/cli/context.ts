/** What a command may touch of the process; main.ts provides it, tests provide their own. */
export interface CommandContext {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Ends the process at once (only for a forced exit: a second or third signal, src/cli/run.ts). */
  readonly exit: (code: number) => never;
}
