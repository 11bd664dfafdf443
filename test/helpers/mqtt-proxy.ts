/**
 * A TCP proxy in front of a broker that can lose the broker's PUBACKs on the way back to the client and
 * cut connections: the network failure where a message reached the broker but its acknowledgement did
 * not reach the sender, which a broker restart does not produce.
 */
import net from 'node:net';

const PUBLISH = 3;
const PUBACK = 4;
const SUBSCRIBE = 8;

export class MqttProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** While true, PUBACK packets from the broker are swallowed. */
  dropPubacks = false;
  droppedPubacks = 0;
  connections = 0;
  /**
   * While set, the PUBACK of each client PUBLISH (QoS 1) whose topic it accepts is swallowed, on a link that
   * stays up otherwise (a broker that lost it, as mosquitto 2.0 does for a client whose queue is full).
   * `withheld` counts them.
   */
  withholdPubackOf: ((topic: string) => boolean) | null = null;
  withheld = 0;
  /**
   * While true, PUBACK packets from the client (a subscriber acknowledging the broker's QoS 1 deliveries) are
   * swallowed: the broker keeps those messages in flight and re-sends them (DUP) when the session reconnects,
   * though the client read them. `droppedClientPubacks` counts them.
   */
  dropClientPubacks = false;
  droppedClientPubacks = 0;
  /**
   * While true, everything the client sends (its PUBACKs of the broker's QoS 1 deliveries, its pings) is held, not
   * passed on, until `release()`: the broker sees a subscriber that stopped reading, keeps its in-flight window
   * (mosquitto: max_inflight_messages, 20) and its queue (max_queued_messages) and drops what comes beyond them.
   */
  holdFromClient = false;
  private readonly held: { socket: net.Socket; chunk: Buffer }[] = [];
  /**
   * While true, the client's SUBSCRIBE packets are held (everything else passes) until `releaseSubscribes()`: a
   * broker slow to take a subscription in. `heldSubscribes` counts them.
   */
  holdSubscribes = false;
  heldSubscribes = 0;
  private readonly heldSubscribePackets: { socket: net.Socket; packet: Buffer }[] = [];
  /** While true, `clientPubacks` counts every PUBACK from the client (passed on or dropped), once the proxy has handled it. */
  watchClientPubacks = false;
  clientPubacks = 0;

  /** Listens on a port the system picks (read back into `port` at start), in front of the broker on `upstreamPort`. */
  constructor(private readonly upstreamPort: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => this.pipe(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Ends `holdFromClient` and passes on what it held, in order. */
  release(): void {
    this.holdFromClient = false;
    for (const { socket, chunk } of this.held.splice(0)) if (!socket.destroyed) socket.write(chunk);
  }

  /** Ends `holdSubscribes` and passes on the SUBSCRIBE packets it held, in order. */
  releaseSubscribes(): void {
    this.holdSubscribes = false;
    for (const { socket, packet } of this.heldSubscribePackets.splice(0)) if (!socket.destroyed) socket.write(packet);
  }

  /** Drops every open connection (both sides), as a failing link would. */
  cutConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    this.cutConnections();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private pipe(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    // Message ids of this connection's client publishes whose PUBACK is withheld.
    const withhold = new Set<number>();
    let fromClient = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (this.holdFromClient) {
        this.held.push({ socket: upstream, chunk });
        return;
      }
      if (this.withholdPubackOf === null && !this.dropClientPubacks && !this.watchClientPubacks && !this.holdSubscribes && fromClient.length === 0) {
        upstream.write(chunk);
        return;
      }
      fromClient = Buffer.concat([fromClient, chunk]);
      for (;;) {
        const size = packetSize(fromClient);
        if (size === null || fromClient.length < size) break;
        const packet = fromClient.subarray(0, size);
        fromClient = fromClient.subarray(size);
        if (packet[0] >> 4 === PUBACK) this.clientPubacks++;
        if (this.holdSubscribes && packet[0] >> 4 === SUBSCRIBE) {
          this.heldSubscribes++;
          this.heldSubscribePackets.push({ socket: upstream, packet: Buffer.from(packet) });
          continue;
        }
        if (this.dropClientPubacks && packet[0] >> 4 === PUBACK) {
          this.droppedClientPubacks++;
          continue;
        }
        upstream.write(packet);
        const qos = (packet[0] >> 1) & 3;
        if (packet[0] >> 4 !== PUBLISH || qos === 0 || this.withholdPubackOf === null) continue;
        let at = 1;
        while (packet[at] & 0x80) at++;
        at++;
        const topicLength = packet.readUInt16BE(at);
        const topic = packet.subarray(at + 2, at + 2 + topicLength).toString('utf8');
        if (this.withholdPubackOf(topic)) withhold.add(packet.readUInt16BE(at + 2 + topicLength));
      }
    });
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const size = packetSize(pending);
        if (size === null || pending.length < size) break;
        const packet = pending.subarray(0, size);
        pending = pending.subarray(size);
        if (this.dropPubacks && packet[0] >> 4 === PUBACK) this.droppedPubacks++;
        else if (packet[0] >> 4 === PUBACK && withhold.delete(packet.readUInt16BE(2))) this.withheld++;
        else client.write(packet);
      }
    });
  }
}

/** Bytes of the first MQTT packet in `buf` (fixed header + remaining length), or null if incomplete. */
function packetSize(buf: Buffer): number | null {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= buf.length) return null;
    remaining += (buf[i] & 0x7f) * multiplier;
    if ((buf[i] & 0x80) === 0) return 1 + i + remaining;
    multiplier *= 128;
  }
  throw new Error('malformed MQTT remaining length');
}
