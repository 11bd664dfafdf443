/**
 * Turns off onnxruntime's own telemetry in this process. Import this module for its effect, before
 * 'onnxruntime-node' (src/adapters/onnx-runner.ts does, and every way anomalyd loads onnxruntime goes through
 * that file; test/lint/onnxruntime-env.test.ts checks the order).
 *
 * The official onnxruntime builds for Linux and macOS carry Microsoft 1DS telemetry since 1.29 (microsoft/onnxruntime
 * PR #27379, "Add POSIX telemetry"), on unless the process opts out. With it, the first session of a process writes
 * a persistent device id and an event store (`deviceid`, `onnxruntime.db` + WAL under `$XDG_CACHE_HOME` or
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`), `.ses` and an empty `mat-debug-<pid>.log` in `$TMPDIR`, and
 * uploads events (the process, OS, CPU; each session's model file name, graph name, producer and metadata; run
 * counts) to https://mobile.events.data.microsoft.com/OneCollector/1.0. `ORT_DISABLE_TELEMETRY=1` set before the
 * runtime initialises (its first session) is the full opt-out: no device id, no event store, no upload (PR #29843);
 * the decision is latched for the life of the process. Measured with onnxruntime-node 1.30.0: docs/SECURITY.md,
 * "No telemetry".
 *
 * The variable is set in the process environment (Node's `process.env` writes through to the C environment that
 * the native library reads), so it holds for worker threads started afterwards too.
 */

/** The environment variable onnxruntime reads (`1`, `true` or `yes` = no telemetry). */
export const ORT_TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

/**
 * How onnxruntime's telemetry stands in this process: `off` (set here), `off by the environment` (already set
 * to an opt-out value), or `on by the environment` (set to anything else, e.g. `0`: the user's explicit choice,
 * which anomalyd leaves alone).
 */
export type OnnxruntimeTelemetry = 'off' | 'off by the environment' | 'on by the environment';

/**
 * Sets `ORT_DISABLE_TELEMETRY=1` in `env` unless it holds a value already (empty counts as unset).
 * @param env the environment to change (`process.env` in a process; a plain object in a test)
 * @returns how telemetry stands afterwards
 */
export function disableOnnxruntimeTelemetry(env: NodeJS.ProcessEnv): OnnxruntimeTelemetry {
  const given = env[ORT_TELEMETRY_VARIABLE];
  if (given === undefined || given === '') {
    env[ORT_TELEMETRY_VARIABLE] = '1';
    return 'off';
  }
  return /^(1|true|yes)$/i.test(given.trim()) ? 'off by the environment' : 'on by the environment';
}

/** What this process runs with (set once, when this module is first imported). */
export const onnxruntimeTelemetry: OnnxruntimeTelemetry = disableOnnxruntimeTelemetry(process.env);
