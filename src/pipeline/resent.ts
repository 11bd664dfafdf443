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
 * id that outlives its acknowledgement). What a restarted daemon read before its start it does not know (nothing
 * kept in its checkpoint): such a message is judged again. No I/O, no clock.
 */

/** Messages read per topic that a re-sent one is compared with (a broker's in-flight window's worth at a cut). */
export const PER_TOPIC = 8;

interface Topic {
  /** The device (sensor id) its last message read came from: the rejection's sensor. */
  sensor: string;
  /** FNV-1a hashes and lengths of the last PER_TOPIC payloads read, a ring. */
  readonly hashes: Float64Array;
  next: number;
}

/** Per topic, the last messages read (their payloads' fingerprints), to tell a broker's re-sent copy of one. */
export class ResentMessages {
  private readonly topics = new Map<string, Topic>();

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

  /** Notes a message of `sensor` read on `topic` (it gave readings). */
  note(topic: string, payload: Buffer, sensor: string): void {
    let t = this.topics.get(topic);
    if (t === undefined) {
      if (this.topics.size >= this.maxTopics) return;
      this.topics.set(topic, (t = { sensor, hashes: new Float64Array(PER_TOPIC), next: 0 }));
    }
    t.sensor = sensor;
    t.hashes[t.next % PER_TOPIC] = fingerprint(payload);
    t.next++;
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
