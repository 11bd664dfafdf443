/**
 * Home Assistant's templates rendered by Jinja2, the engine Home Assistant runs (python3 with jinja2; tests that need
 * it skip where it is missing), in its sandbox, with `value_json` the parsed payload and `value` its text, as its MQTT
 * value templates are.
 */
import { spawnSync } from 'node:child_process';

export const jinja = spawnSync('python3', ['-c', 'import jinja2'], { encoding: 'utf8' }).status === 0;

/** Renders `template` once per payload (`value_json` = the payload); throws with python's stderr on a failure. */
export function render(template: string, payloads: readonly unknown[]): string[] {
  const script = [
    'import json, sys',
    'from jinja2.sandbox import ImmutableSandboxedEnvironment',
    'req = json.load(sys.stdin)',
    'env = ImmutableSandboxedEnvironment()',
    't = env.from_string(req["template"])',
    'print(json.dumps([t.render(value_json=p, value=json.dumps(p)) for p in req["payloads"]]))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify({ template, payloads }), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[];
}
