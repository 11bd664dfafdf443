/**
 * Messages an MQTT broker says it sent before (the DUP flag of a QoS 1 PUBLISH: re-sent after a reconnect because its
 * PUBACK did not come back) that the daemon read already. A message without a device time is stamped on its arrival,
 * so admission cannot tell it re-sent by its time (src/pipeline/admit.ts: `redelivered`): taken, it would be judged
 * again, at its new arrival, as a fresh step (m1, m2, m3 re-sent after m3 was read: three more steps going back to
 * m1's values). The DUP flag alone does not say the daemon read it (the first copy may have been lost with the
 * connection), so a re-sent message is taken for one read when its payload is identical, byte for byte, to one of
 * the last PER_TOPIC messages read on its topic (a 32-bit FNV-1a hash and the length: no payload is kept). A steady
 * value sent again may so match a copy that was not read: one repeat of a value the stream had just read is lost,
 * which the cadence fills by holding that value. The MQTT 3.1.1 specification (4.3.2) lets a QoS 1 receiver see a
 * message more than once; telling the copies apart is the application's (by content here: a QoS 1 message carries no
 * id that outlives its acknowledgement). No I/O, no clock.
 *
 * Across a restart. A message the daemon read right before it stopped, whose PUBACK did not reach the broker (lost
 * with the connection, or not yet sent), is re-sent by the broker to the restarted daemon (a persistent session:
 * clean false, QoS 1), DUP set. Its readings' device times tell a device-timed copy (the parser snapshot keeps the
 * stream's last times: src/pipeline/admit.ts); a message stamped on arrival has only its payload. So the
 * fingerprints of a topic whose last message read gave readings stamped on arrival go into the checkpoint with the
 * stream of its first reading (`snapshot`, `restore`: at most PER_TOPIC numbers, about 180 bytes of JSON with a
 * 30-character topic, for such a stream only; a device-timed stream's snapshot is as before). Restored, they are
 * compared with DUP messages only, as live ones: a message the restarted daemon reads without DUP is never taken for
 * a copy.
 */

/** Messages read per topic that a re-sent one is compared with (a broker's in-flight window's worth at a cut). */
export const PER_TOPIC = 8;

interface Topic {
  /** The device (sensor id) its last message read came from: the rejection's sensor. */
  sensor: string;
  /** The stream whose snapshot carries the fingerprints (its last message's readings were stamped on arrival), or null. */
  stream: string | null;
  /** FNV-1a hashes and lengths of the last PER_TOPIC payloads read, a ring. */
  readonly hashes: Float64Array;
  next: number;
}

/** Per topic, the last messages read (their payloads' fingerprints), to tell a broker's re-sent copy of one. */
/** A topic's fingerprints as a stream's snapshot carries them (JSON-safe). */
export interface ResentSnapshot {
  /** The MQTT topic. */
  readonly topic: string;
  /** The device its messages came from (the rejection's sensor). */
  readonly sensor: string;
  /** Fingerprints (FNV-1a 32-bit hash + 2^32 * byte length) of its last payloads read, oldest first, at most PER_TOPIC. */
  readonly prints: readonly number[];
}

export class ResentMessages {
  private readonly topics = new Map<string, Topic>();
  /** Stream -> the topic whose fingerprints its snapshot carries. */
  private readonly byStream = new Map<string, string>();

  /** `maxTopics`: topics remembered (beyond it, a new topic's messages are not; >= 0). */
  constructor(private readonly maxTopics: number) {}

  /** The device of the message read on `topic` that `payload` is identical to, or null (none of the last PER_TOPIC). */
  readOf(topic: string, payload: Buffer): string | null {
    const t = this.topics.get(topic);
    if (t === undefined) return null;
    const h = fingerprint(payload);
    const n = Math.min(t.next, PER_TOPIC);
    for (let i = 0; i < n; i++) if (t.hashes[i] === h) return t.sensor;
    return null;
  }

  /**
   * Notes a message of `sensor` read on `topic` (it gave readings). `stamped`: the stream of its first reading when
   * its readings were stamped on arrival (no device time: its fingerprints then go into that stream's snapshot), else null.
   */
  note(topic: string, payload: Buffer, sensor: string, stamped: string | null = null): void {
    let t = this.topics.get(topic);
    if (t === undefined) {
      if (this.topics.size >= this.maxTopics) return;
      this.topics.set(topic, (t = { sensor, stream: null, hashes: new Float64Array(PER_TOPIC), next: 0 }));
    }
    t.sensor = sensor;
    t.hashes[t.next % PER_TOPIC] = fingerprint(payload);
    t.next++;
    if (t.stream !== stamped) {
      if (t.stream !== null && this.byStream.get(t.stream) === topic) this.byStream.delete(t.stream);
      t.stream = stamped;
      if (stamped !== null) this.byStream.set(stamped, topic);
    }
  }

  /** The fingerprints `stream`'s snapshot carries (see the file doc), or null (none: a device-timed stream's). */
  snapshot(stream: string): ResentSnapshot | null {
    const topic = this.byStream.get(stream);
    const t = topic === undefined ? undefined : this.topics.get(topic);
    if (topic === undefined || t === undefined || t.next === 0) return null;
    const n = Math.min(t.next, PER_TOPIC);
    const prints: number[] = [];
    for (let i = t.next - n; i < t.next; i++) prints.push(t.hashes[i % PER_TOPIC]);
    return { topic, sensor: t.sensor, prints };
  }

  /**
   * Takes back what snapshot() gave for `stream` (after a JSON round trip), unless its topic was read since the start
   * (newer) or maxTopics are known. Throws on a malformed one.
   */
  restore(stream: string, snapshot: unknown): void {
    if (typeof snapshot !== 'object' || snapshot === null) throw new Error('resent: not an object');
    const s = snapshot as Record<string, unknown>;
    const prints: unknown = s.prints;
    const ok = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (typeof s.topic !== 'string' || typeof s.sensor !== 'string' || !Array.isArray(prints) || prints.length === 0 || prints.length > PER_TOPIC || !prints.every(ok)) throw new Error('resent: malformed');
    if (this.topics.has(s.topic) || this.topics.size >= this.maxTopics) return;
    const hashes = new Float64Array(PER_TOPIC);
    (prints as number[]).forEach((h, i) => (hashes[i] = h));
    this.topics.set(s.topic, { sensor: s.sensor, stream, hashes, next: prints.length });
    this.byStream.set(stream, s.topic);
  }

  /** Forgets the fingerprints `stream`'s snapshot carries (the stream is dropped: evicted). */
  forget(stream: string): void {
    const topic = this.byStream.get(stream);
    if (topic === undefined) return;
    this.byStream.delete(stream);
    this.topics.delete(topic);
  }
}

/** A payload's 32-bit FNV-1a hash and its length in one number: hash + 2^32 * length (exact below 2^21 bytes). */
function fingerprint(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h + 4294967296 * b.length;
}
