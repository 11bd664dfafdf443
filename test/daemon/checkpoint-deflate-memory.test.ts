/**
 * A checkpoint row is deflated from one reused buffer of its text into an output chunk of about half the text (src/
 * daemon/checkpoint-codec.ts storeText), not from a Buffer made of each row's text into zlib's default chunk of
 * 16 kB; and the stored bytes are the very bytes the row's text deflated with zlib's defaults made.
 *
 * Finding (memheap, BENCHMARKS.md): each row of a checkpoint allocated a Buffer of its text and a fresh 16 kB output
 * chunk that the deflated row, a slice of it, kept alive until it was copied behind its 4-byte prefix: ~38 kB of
 * ArrayBuffers for the collector a young sensor's row (15 kB of text, 7 kB deflated), ~15 kB this way; a save of
 * 1,000 such sensors left the main thread's malloc (glibc's [heap]) 1.5-2.6 MB larger on main than this way.
 *
 * What could fail: a row's deflate is given zlib's default output chunk (main: no chunkSize, 16 kB) or one larger than
 * half its text and 64 bytes; a stored row (small, of several output chunks, of text outside ASCII, a base row)
 * differs by a byte from what main wrote; a row that deflates to far less than a quarter of its text (several
 * inflate chunks) does not decode to the state.
 */
import { inflateRawSync } from 'node:zlib';
import { deflateRawSync as realDeflateRawSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { baseRow, decodeCheckpoint, encodeCheckpoint, readBase } from '../../src/daemon/checkpoint-codec.js';
import { mulberry32 } from '../../src/train/rng.js';

/** Every deflateRawSync / inflateRawSync call the codec makes: its input's bytes and the output chunk it asked for. */
const calls = vi.hoisted(() => [] as { fn: 'deflate' | 'inflate'; input: number; chunkSize: number | undefined }[]);

vi.mock('node:zlib', async (importOriginal) => {
  const z = await importOriginal<typeof import('node:zlib')>();
  return {
    ...z,
    deflateRawSync: (input: Buffer, opts?: import('node:zlib').ZlibOptions) => {
      calls.push({ fn: 'deflate', input: input.length, chunkSize: opts?.chunkSize });
      return z.deflateRawSync(input, opts);
    },
    inflateRawSync: (input: Buffer, opts?: import('node:zlib').ZlibOptions) => {
      calls.push({ fn: 'inflate', input: input.length, chunkSize: opts?.chunkSize });
      return z.inflateRawSync(input, opts);
    },
  };
});

/** How a stored row begins (checkpoint-codec's DEFLATED). */
const DEFLATED = Buffer.from([0x00, 0x61, 0x63, 0x32]);

/** The row as main stored its text: the prefix and the text deflated with zlib's defaults but level 1. */
function asMainStored(blob: Buffer): Buffer {
  expect(blob.subarray(0, 4).equals(DEFLATED)).toBe(true);
  const text = inflateRawSync(blob.subarray(4));
  return Buffer.concat([DEFLATED, realDeflateRawSync(text, { level: 1 })]);
}

/** States of a young sensor's shape and size, of a long ring of noise (deflates to several output chunks), outside ASCII. */
function states(): { name: string; state: unknown }[] {
  const rng = mulberry32(3);
  const noise = (n: number): number[] => Array.from({ length: n }, () => rng() * 1000 - 500);
  return [
    { name: 'young', state: { scorer: { longLog: noise(8), cycles: [{ ring: noise(128) }] }, steps: { raw: noise(64), mean: [20.5] } } },
    { name: 'long ring of noise', state: { scorer: { cycles: [{ ring: noise(4096) }] }, other: noise(3000) } },
    { name: 'outside ASCII', state: { sensor: 'Küche ☃ température', notes: Array.from({ length: 400 }, (_, i) => `Wohnzimmer ${i} °C ☀`), values: noise(50) } },
  ];
}

describe('checkpoint rows: deflated without a 16 kB chunk and a Buffer of the text a row', () => {
  it('gives each deflate an output chunk of at most half its text and 64 bytes, and stores the bytes main stored', () => {
    for (const { name, state } of states()) {
      calls.length = 0;
      const row = encodeCheckpoint(state, null, `b-${name}`, 'inline')!;
      const blob = row.blob;
      const deflates = calls.filter((c) => c.fn === 'deflate');
      expect(deflates, name).toHaveLength(1);
      expect(deflates[0].chunkSize, name).toBeDefined();
      expect(deflates[0].chunkSize!, name).toBeLessThanOrEqual(Math.max(64, deflates[0].input / 2 + 64));
      expect(blob.equals(asMainStored(blob)), name).toBe(true);
      expect(decodeCheckpoint(blob)).toEqual(JSON.parse(JSON.stringify(state)));
    }
    // Several output chunks: the noise deflates to more than half its text.
    const noisy = encodeCheckpoint(states()[1].state, null, 'b-n', 'inline')!.blob;
    expect(noisy.length).toBeGreaterThan(0.5 * inflateRawSync(noisy.subarray(4)).length + 64);
  });

  it('stores a base row as main did, and decodes a row that deflates to far less than a quarter of its text', () => {
    const rings = new Map([['/scorer/cycles/0/ring', Float64Array.from({ length: 2048 }, (_, i) => (i % 60) / 4)]]);
    calls.length = 0;
    const base = baseRow('b1', rings);
    expect(calls.filter((c) => c.fn === 'deflate')[0].chunkSize).toBeDefined();
    expect(base.equals(asMainStored(base))).toBe(true);
    expect(Array.from(readBase(base).rings.get('/scorer/cycles/0/ring')!)).toEqual(Array.from(rings.get('/scorer/cycles/0/ring')!));
    const flat = { scorer: { cycles: [{ ring: new Array<number>(20_000).fill(21.5) }] } };
    const blob = encodeCheckpoint(flat, null, 'b-flat', 'inline')!.blob;
    expect(inflateRawSync(blob.subarray(4)).length).toBeGreaterThan(8 * (blob.length - 4));
    expect(decodeCheckpoint(blob)).toEqual(flat);
  });
});
