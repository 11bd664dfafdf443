import net from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
  /** When set, every client must present these credentials. */
  readonly username: string | null;
  readonly password: string | null;
  readonly logger: Logger;
}

function sameSecret(a: string, b: Buffer | undefined): boolean {
  if (b === undefined) return false;
  const ab = Buffer.from(a);
  return ab.length === b.length && timingSafeEqual(ab, b);
}

/**
 * The embedded MQTT broker (aedes) that lets anomalyd run with no outside service:
 * on 127.0.0.1 by default, or on the LAN address so sensors publish straight to the device.
 * One owner: the daemon starts it before the MQTT client and stops it after.
 */
export class EmbeddedBroker {
  private aedes: Aedes | null = null;
  private server: net.Server | null = null;
  private boundPort = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.opts.host === '0.0.0.0' || this.opts.host === '::' ? '127.0.0.1' : this.opts.host;
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const log = this.opts.logger;
    const aedes = await Aedes.createBroker({ drainTimeout: 30_000 });
    const { username, password } = this.opts;
    if (username !== null) {
      aedes.authenticate = (_client, user, pass, done) => {
        const ok = user === username && password !== null && sameSecret(password, pass);
        if (!ok) log.warn({ user }, 'embedded broker: authentication failed');
        done(null, ok);
      };
    }
    aedes.on('clientError', (client, err) => log.debug({ client: client.id, err }, 'embedded broker: client error'));
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
    this.aedes = aedes;
    this.server = server;
    log.info({ host: this.opts.host, port: this.boundPort, auth: username !== null }, 'embedded broker listening');
  }

  /** Idempotent; never throws. */
  async stop(): Promise<void> {
    const { server, aedes } = this;
    this.server = null;
    this.aedes = null;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
