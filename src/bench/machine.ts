/** What a result was measured on: recorded with every benchmark result. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { mosquittoVersion } from './broker.js';
import { anomalydVersion } from '../model/onnx-export.js';

export interface MachineInfo {
  readonly hostname: string;
  readonly platform: string;
  readonly arch: string;
  readonly kernel: string;
  /** Cores this process may use (os.availableParallelism, i.e. nproc). */
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memTotalMb: number;
  readonly loadAvg1m: number;
  readonly node: string;
  readonly onnxruntime: string;
  readonly mqttJs: string;
  readonly betterSqlite3: string;
  readonly mosquitto: string | null;
  readonly anomalyd: string;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    const pkg = require(`${name}/package.json`) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** /proc/cpuinfo names the CPU on Linux, including on a Pi where os.cpus() may not. */
function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^(?:model name|Model|Hardware)\s*:\s*(.+)$/m.exec(info);
    if (m) return m[1].trim();
  } catch {
    // Not Linux: fall through to what Node knows.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): MachineInfo {
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    arch: os.arch(),
    kernel: os.release(),
    nproc: os.availableParallelism(),
    cpuModel: cpuModel(),
    memTotalMb: Math.round(os.totalmem() / 2 ** 20),
    loadAvg1m: os.loadavg()[0],
    node: process.version,
    onnxruntime: packageVersion('onnxruntime-node'),
    mqttJs: packageVersion('mqtt'),
    betterSqlite3: packageVersion('better-sqlite3'),
    mosquitto: mosquittoVersion(),
    anomalyd: anomalydVersion(),
  };
}
