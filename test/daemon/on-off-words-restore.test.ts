/**
 * An on/off stream's words given back from its checkpoint (MessageParser.restoreOnOffWords, StatedOnOff): told before
 * its next reading, never judged by (statedOnOff waits for a reading since the start), dropped by a reading that is no
 * on/off one (the configuration changed while stopped), and kept through a second restart without a reading.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { readStoredOnOff } from '../../src/daemon/checkpoints.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';

const DOOR = 'door_contact/contact';
const WORDS = { on: 'closed', off: 'open', alarm: false, active: 0 as const };

function parser(presets: string[]): MessageParser {
  const loaded = loadConfig({ path: '/dev/null', env: {}, overrides: { ingest: { presets, timezone: 'UTC' } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return new MessageParser(parseOptionsOf(loaded.config));
}
const door = (contact: unknown, receivedAt: number) => ({ topic: 'zigbee2mqtt/door_contact', payload: Buffer.from(JSON.stringify({ battery: 100, contact })), receivedAt });

describe('on/off words restored at start', () => {
  it('are told before the next reading, not judged by; a reading since the start names them again', () => {
    const p = parser(['zigbee2mqtt']);
    p.restoreOnOffWords(DOOR, WORDS);
    expect(p.onOffWords(DOOR)).toEqual(WORDS);
    expect(p.statedOnOff(DOOR)).toBe(false);
    expect(readStoredOnOff(JSON.parse(JSON.stringify(p.onOffWords(DOOR))))).toEqual(WORDS);
    expect(p.parse(door(true, 1_000_000)).kind).toBe('readings');
    expect(p.statedOnOff(DOOR)).toBe(true);
    expect(p.onOffWords(DOOR)).toMatchObject({ on: 'closed', off: 'open' });
  });

  it('are dropped by a reading that is no on/off one (the stream configured otherwise since)', () => {
    // The stored words of a stream whose readings are measurements now (here a motion sensor's illuminance, standing
    // for a field no longer configured on/off).
    const p = parser(['zigbee2mqtt']);
    const lux = 'hall_motion/illuminance';
    p.restoreOnOffWords(lux, WORDS);
    expect(p.onOffWords(lux)).toEqual(WORDS);
    const r = p.parse({ topic: 'zigbee2mqtt/hall_motion', payload: Buffer.from(JSON.stringify({ occupancy: false, illuminance: 12 })), receivedAt: 1_000_000 });
    expect(r.kind === 'readings' ? r.readings.map((x) => x.sensor) : []).toContain(lux);
    expect(p.onOffWords(lux)).toBeNull();
    expect(p.statedOnOff(lux)).toBe(false);
    expect(p.onOffWords('hall_motion/occupancy')).toMatchObject({ on: 'detected', off: 'clear' });
  });

  it('a malformed stored value restores none', () => {
    expect(readStoredOnOff({ on: 'closed', off: 'open', alarm: false, active: 2 })).toBeNull();
    expect(readStoredOnOff({ on: '', off: 'open', alarm: false, active: 1 })).toBeNull();
    expect(readStoredOnOff(null)).toBeNull();
  });
});
