/**
 * The demo at high speed over two simulated days, as a user runs it (`anomalyd demo`, a child process with
 * the embedded broker, the simulator and the real detector): no reading of its own is rejected however far
 * its simulated clock runs; anomalies are injected only after every sensor has learnt (its first own model
 * trained and judged by the gate: swapped in, or rejected and the shared model kept); and the summary it
 * prints and writes agrees with the database and the simulator's ground truth, recomputed here independently.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { DetectionSummary, OpenedEpisode } from '../../src/sim/summary.js';
import type { InjectedAnomaly } from '../../src/sim/simulator.js';
import { builtAndModelsPresent, MAIN, MODELS } from '../helpers/daemon.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'anomalyd-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SummaryFile extends DetectionSummary {
  readonly speed: { readonly asked: number; readonly achieved: number };
  readonly readings: { readonly published: number; readonly accepted: number; readonly rejected: number };
  readonly injected: InjectedAnomaly[];
  readonly opened: OpenedEpisode[];
}

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN, 'demo', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ANOMALYD_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!builtAndModelsPresent())('anomalyd demo over two simulated days', () => {
  it('rejects none of its readings, injects only after learning, and its summary agrees with the database', async () => {
    // Small own models (fewer readings and epochs than the defaults), so the learning phase is short here.
    const configPath = join(dir, 'demo.yaml');
    writeFileSync(configPath, stringify({ version: 2, model: { dir: MODELS }, learning: { minReadings: 600, epochs: 2 } }));
    const dataDir = join(dir, 'data');
    const summaryPath = join(dir, 'summary.json');
    const run = await runDemo(['--config', configPath, '--speed', '10000', '--sim-time', '2d', '--port', '0', '--http-port', '0', '--data-dir', dataDir, '--summary', summaryPath]);
    expect(run.code).toBe(0);
    // Warnings may come (backpressure at this speed); errors may not.
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('{') && (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
    const s = JSON.parse(readFileSync(summaryPath, 'utf8')) as SummaryFile;

    // Two simulated days, every reading taken, none rejected.
    expect(s.to - s.from).toBeGreaterThanOrEqual(2 * DAY);
    expect(s.readings.rejected).toBe(0);
    expect(s.readings.accepted).toBe(s.readings.published);
    expect(s.readings.published).toBeGreaterThanOrEqual(3 * 2 * 86_400);
    expect(run.stdout).toMatch(new RegExp(`demo stopped: ${s.readings.published} readings published, ${s.readings.published} accepted, 0 rejected`));

    const db = new Database(join(dataDir, 'anomalyd.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM rejections').pluck().get()).toBe(0);

      // Injection began only once every sensor's first own model was judged by the gate (swapped in, or
      // rejected with the sensor keeping the shared model), and nothing was injected before.
      const judgedAt = db.prepare<[], { scope: string; at: number }>('SELECT scope, min(at) AS at FROM model_checks GROUP BY scope').all();
      expect(judgedAt.map((a) => a.scope).sort()).toEqual(['motor_current', 'temperature', 'vibration']);
      expect(s.injectionFrom).not.toBeNull();
      for (const a of judgedAt) expect(a.at).toBeLessThanOrEqual(s.injectionFrom!);
      const swapped = db.prepare<[], { sensor: string }>('SELECT DISTINCT sensor FROM model_assignments').all();
      const accepted = db.prepare<[], { scope: string }>('SELECT DISTINCT scope FROM model_checks WHERE accepted = 1').all();
      expect(swapped.map((a) => a.sensor).sort()).toEqual(accepted.map((a) => a.scope).sort());
      expect(s.injected.length).toBeGreaterThan(100);
      for (const a of s.injected) expect(a.startTs).toBeGreaterThanOrEqual(s.injectionFrom!);

      // The episodes the summary saw (from the alerts) are those in the database, with the same open times.
      const opens = db
        .prepare<[], { id: string; sensor: string; ts: number }>("SELECT a.id, a.sensor, e.ts FROM anomalies a JOIN anomaly_events e ON e.anomaly_id = a.id AND e.kind = 'open'")
        .all();
      expect(s.opened.map((e) => [e.anomalyId, e.sensor, e.openTs]).sort()).toEqual(opens.map((o) => [o.id, o.sensor, o.ts]).sort());
      expect(s.episodes).toBe(opens.length);

      // Recount from the ground truth and the database: per kind injected = caught + missed, caught as matched here.
      // The grace the demo gives a detection (src/cli/demo.ts): a window plus openAfter hops of readings, one a second.
      const loaded = loadConfig({ path: configPath, env: {} });
      if (!loaded.ok) throw new Error(loaded.errors.join('; '));
      const { window, alerts } = loaded.config;
      const grace = (window.length + alerts.openAfter * window.hop) * 1000;
      const judged = s.injected.filter((a) => a.endTs + grace <= s.to);
      const caughtHere: Record<string, number> = {};
      const injectedHere: Record<string, number> = {};
      const matched = new Set<string>();
      for (const a of s.injected) {
        const hits = opens.filter((o) => o.sensor === a.sensor && o.ts >= a.startTs && o.ts <= a.endTs + grace);
        hits.forEach((h) => matched.add(h.id));
        if (!judged.includes(a)) continue;
        injectedHere[a.kind] = (injectedHere[a.kind] ?? 0) + 1;
        if (hits.length > 0) caughtHere[a.kind] = (caughtHere[a.kind] ?? 0) + 1;
      }
      expect(s.inProgress).toBe(s.injected.length - judged.length);
      for (const [kind, k] of Object.entries(s.kinds)) {
        expect(k.injected, kind).toBe(injectedHere[kind] ?? 0);
        expect(k.caught, kind).toBe(caughtHere[kind] ?? 0);
        expect(k.caught + k.missed, kind).toBe(k.injected);
        expect(k.latenciesMs, kind).toHaveLength(k.caught);
      }
      expect(s.falseAlarms.total).toBe(opens.filter((o) => !matched.has(o.id)).length);

      // And the printed table says the same.
      for (const [kind, k] of Object.entries(s.kinds)) {
        expect(run.stdout).toMatch(new RegExp(`^  ${kind} +${k.injected} +${k.caught} +${k.missed} `, 'm'));
      }
      expect(run.stdout).toMatch(new RegExp(`false alarms: ${s.falseAlarms.total}\\b`));
    } finally {
      db.close();
    }
  }, 600_000);
});
