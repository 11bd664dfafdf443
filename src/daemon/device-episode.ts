/**
 * The event and explanation of an episode of a device as a whole, told without readings of its own: a device that
 * said it is offline (src/daemon/availability.ts, `device_offline`) and a device whose every field went silent
 * together (src/daemon/device-silence.ts, `missing_data`). Its stream is the device; it has no score, model,
 * channels or stretch; its end follows the time.
 */
import type { AlertExplanation } from '../contract/alerts.js';
import type { AnomalyEvent } from '../contract/types.js';
import { KIND_LABELS } from '../explain/explain.js';

/** A device's episode as it stands: its id and since when (epoch ms). */
export interface DeviceEpisode {
  readonly anomalyId: string;
  readonly since: number;
}

/**
 * The `kind` event of device `device`'s episode `ep` at `at` (epoch ms; its end, never before its start), with the
 * daemon's `threshold` (score.threshold, a probability in (0, 1)). Scores 0, model `none`, no channels.
 */
export function deviceEvent(kind: 'open' | 'resolve', device: string, ep: DeviceEpisode, at: number, threshold: number): AnomalyEvent {
  return {
    kind,
    sensor: device,
    device,
    anomalyId: ep.anomalyId,
    startTs: ep.since,
    endTs: Math.max(ep.since, at),
    peakScore: 0,
    score: 0,
    threshold,
    modelId: 'none',
    paddedFraction: 0,
    channelErrors: [],
    channels: [],
    windows: 0,
  };
}

/**
 * The explanation of device `device`'s episode `ep` of `kind` at `at` (epoch ms): `sentence` with the kind's label,
 * `duration_ms` from its start to `at` (ms, at least 0), no value, expectation or readings.
 */
export function deviceExplanation(kind: 'device_offline' | 'missing_data', device: string, ep: DeviceEpisode, at: number, sentence: string): AlertExplanation {
  return {
    kind,
    sentence: `${sentence} (${KIND_LABELS[kind]})`,
    stream: device,
    channel: 'value',
    unit: null,
    value: null,
    expected: null,
    band: null,
    basis: null,
    since: new Date(ep.since).toISOString(),
    duration_ms: Math.max(0, at - ep.since),
    shares: null,
    stretch: { ts: [], values: [], expected: null, band: null },
  };
}
