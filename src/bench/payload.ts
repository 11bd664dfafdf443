/**
 * Synthetic sensor traffic for the benchmark: deterministic JSON payloads on a fixed 1 s grid, so the
 * publisher and the subscribers can tell, without parsing, which reading completes a window.
 */

export const SENSOR_TOPIC_PREFIX = 'sensors/';
export const INTERVAL_MS = 1000;

const TABLE_SIZE = 4096;
/** Precomputed value strings: formatting numbers would cost the publisher more than sending them. */
const VALUES: readonly string[] = Array.from({ length: TABLE_SIZE }, (_, k) => {
  const noise = Math.sin(k * 12.9898) * 43758.5453;
  const v = 20 + 5 * Math.sin((2 * Math.PI * k) / 50) + 0.3 * (noise - Math.floor(noise) - 0.5);
  return v.toFixed(3);
});

export function sensorName(i: number): string {
  return `s${String(i).padStart(4, '0')}`;
}

export function sensorTopic(i: number): string {
  return SENSOR_TOPIC_PREFIX + sensorName(i);
}

function valueOf(sensor: number, k: number): string {
  return VALUES[(k + 37 * sensor) % TABLE_SIZE];
}

/** Epoch ms of reading k (0-based, per sensor). */
export function readingTs(t0: number, k: number): number {
  return t0 + k * INTERVAL_MS;
}

/** One reading: `{"ts":...,"value":...}`. */
export function singlePayload(t0: number, sensor: number, k: number): string {
  return `{"ts":${readingTs(t0, k)},"value":${valueOf(sensor, k)}}`;
}

/** Readings k .. k+n-1 as one burst: `{"ts":...,"interval_ms":1000,"values":[...]}`. */
export function burstPayload(t0: number, sensor: number, k: number, n: number): string {
  let values = valueOf(sensor, k);
  for (let i = 1; i < n; i++) values += `,${valueOf(sensor, k + i)}`;
  return `{"ts":${readingTs(t0, k)},"interval_ms":${INTERVAL_MS},"values":[${values}]}`;
}

/**
 * True when reading k (0-based) of a sensor completes a window: with a fixed interval and no gaps the
 * windower emits after every `hop` steps of the segment.
 */
export function completesWindow(k: number, hop: number): boolean {
  return (k + 1) % hop === 0;
}

/** Windows a sensor has emitted after `readings` readings (no gaps, fixed interval). */
export function windowsAfter(readings: number, hop: number): number {
  return Math.floor(readings / hop);
}
