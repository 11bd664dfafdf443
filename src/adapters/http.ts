/**
 * The local HTTP API and dashboard page (node:http, no framework). The routes live in src/http/routes.ts;
 * this adapter owns the socket: request size limits, the optional bearer token, the guards a server on
 * 127.0.0.1 needs against web pages in the operator's own browser (DNS rebinding, cross-site POSTs), and
 * a stop that closes keep-alive connections instead of waiting for them. See docs/HTTP.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { listenError } from '../util/net.js';
import { MAX_COMMAND_PAYLOAD_BYTES } from '../pipeline/commands.js';
import { dashboardAssets, type Asset } from './dashboard-assets.js';
import { routeRequest, type Reply } from '../http/routes.js';
import type { DaemonView } from '../http/view.js';

export type { DaemonView, DaemonStatusView, SensorView } from '../http/view.js';

export interface HttpServerOptions {
  /** Default 127.0.0.1 (local only); see docs/HTTP.md before binding anywhere else. */
  readonly host: string;
  /** 0 lets the OS pick one; read it from `port` after start(). */
  readonly port: number;
  readonly logger: Logger;
  readonly view: DaemonView;
  /** When set, every /api request needs `Authorization: Bearer <token>`. */
  readonly token?: string | null;
  /** Request bodies above this are refused with 413. Default: the MQTT command payload limit. */
  readonly maxBodyBytes?: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const LOOPBACK_HOST_HEADERS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const MAX_CONNECTIONS = 64;
/** JSON bodies larger than this are gzipped for clients that accept it (a 7-day series is ~100 kB plain). */
const GZIP_MIN_BYTES = 1024;

export class HttpServer {
  private readonly log: Logger;
  private readonly maxBodyBytes: number;
  private readonly tokenDigest: Buffer | null;
  private server: Server | null = null;
  private stopping: Promise<void> | null = null;
  private boundPort: number | null = null;

  constructor(private readonly opts: HttpServerOptions) {
    this.log = opts.logger.child({ module: 'http' });
    this.maxBodyBytes = opts.maxBodyBytes ?? MAX_COMMAND_PAYLOAD_BYTES;
    this.tokenDigest = opts.token != null && opts.token !== '' ? digest(opts.token) : null;
  }

  /** The bound port (the OS's choice when the configured port is 0); null before start() resolves. */
  get port(): number | null {
    return this.boundPort;
  }

  get url(): string | null {
    if (this.boundPort === null) return null;
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${host}:${this.boundPort}`;
  }

  /** Resolves once listening; rejects (and leaves nothing open) if the address cannot be bound. */
  start(): Promise<void> {
    if (this.server !== null) return Promise.resolve();
    const server = createServer((req, res) => this.handle(req, res));
    // Bounded everything: a slow or stuck client cannot hold a request open for long.
    server.headersTimeout = 5_000;
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = MAX_CONNECTIONS;
    // Requests node:http refuses before any handler sees them (headers too large, malformed, too slow)
    // get the same JSON error body as every other error.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => refuseClient(err, socket));
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        reject(listenError('dashboard/API (HTTP)', 'http.port or http.enabled', this.opts.host, this.opts.port, err));
      };
      server.once('error', onError);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log.error({ err }, 'http server error'));
        this.boundPort = (server.address() as AddressInfo).port;
        this.log.info({ url: this.url, auth: this.tokenDigest !== null }, 'http api listening');
        resolve();
      });
    });
  }

  /** Stops listening and closes every connection, idle or not. Idempotent; never throws. */
  stop(): Promise<void> {
    const server = this.server;
    if (server === null) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      server.close((err) => {
        if (err !== undefined) this.log.warn({ err }, 'http server close');
        this.boundPort = null;
        resolve();
      });
      server.closeAllConnections();
    });
    return this.stopping;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.handleRequest(req, res);
    } catch (err) {
      this.log.error({ err, method: req.method, url: req.url }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    if (!rawUrl.startsWith('/')) return sendJson(res, 400, { error: 'request target must be a path' });
    const url = new URL(rawUrl, 'http://localhost');
    const refusal = this.refusal(req, method, url.pathname);
    if (refusal !== null) return sendJson(res, refusal.status, { error: refusal.message }, refusal.headers);
    if (method !== 'POST') return this.reply(res, method, url, Buffer.alloc(0));
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBodyBytes) return this.tooLarge(res);
    readBody(req, this.maxBodyBytes, (body) => {
      if (body === null) this.tooLarge(res);
      else this.reply(res, method, url, body);
    });
  }

  /** Auth and the browser-attack guards; null when the request may go on. */
  private refusal(req: IncomingMessage, method: string, path: string): { status: number; message: string; headers?: Record<string, string> } | null {
    // Without a token, a page on any web site could reach a 127.0.0.1 server through a DNS name it
    // points at 127.0.0.1; such a request carries that name in Host, so only loopback names are taken.
    if (this.tokenDigest === null && LOOPBACK_HOSTS.has(this.opts.host) && !LOOPBACK_HOST_HEADERS.has(hostOnly(req.headers.host))) {
      return { status: 403, message: 'unexpected Host header: this server answers to 127.0.0.1 and localhost only' };
    }
    // A cross-site form or fetch POST carries the other site's Origin; the dashboard's own requests carry ours.
    const origin = req.headers.origin;
    if (method === 'POST' && origin !== undefined && hostOfOrigin(origin) !== (req.headers.host ?? '')) {
      return { status: 403, message: 'cross-origin request refused' };
    }
    // The page itself holds no data; it asks for the token and sends it with its API calls.
    if (this.tokenDigest !== null && path.startsWith('/api/') && !this.authorised(req)) {
      return { status: 401, message: 'missing or wrong bearer token', headers: { 'WWW-Authenticate': 'Bearer realm="anomalyd"' } };
    }
    return null;
  }

  private authorised(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Comparing fixed-length digests keeps the comparison constant-time whatever the token's length.
    return m !== null && this.tokenDigest !== null && timingSafeEqual(digest(m[1]), this.tokenDigest);
  }

  private reply(res: ServerResponse, method: string, url: URL, body: Buffer): void {
    const reply: Reply & { cause?: unknown } = routeRequest({ method, path: url.pathname, query: url.searchParams, body }, this.opts.view);
    if (reply.kind === 'page' || reply.kind === 'asset') return this.sendAsset(res, method, reply.kind === 'page' ? null : reply.name, res.req);
    if (reply.status >= 500) this.log.error({ err: reply.cause, method, path: url.pathname }, 'http route failed');
    else this.log.debug({ method, path: url.pathname, status: reply.status }, 'http request');
    sendJson(res, reply.status, reply.body, reply.allow !== undefined ? { Allow: reply.allow } : undefined, acceptsGzip(res.req));
  }

  /** The page (name null) or one of its assets; 404 for an unknown asset name. */
  private sendAsset(res: ServerResponse, method: string, name: string | null, req: IncomingMessage): void {
    let assets;
    try {
      assets = dashboardAssets();
    } catch (err) {
      this.log.error({ err }, 'dashboard assets unavailable (is uplot installed?)');
      return sendJson(res, 500, { error: 'internal error' });
    }
    const asset: Asset | undefined = name === null ? assets.page : assets.files.get(name);
    if (asset === undefined) return sendJson(res, 404, { error: `no such asset: ${JSON.stringify(name)}` });
    const headers: Record<string, string> = {
      'Content-Type': asset.type,
      ETag: asset.etag,
      'X-Content-Type-Options': 'nosniff',
      Vary: 'Accept-Encoding',
      // Asset names carry their content's hash: cache them for good. The page names the current ones.
      'Cache-Control': name === null ? 'no-cache' : 'public, max-age=31536000, immutable',
      ...(name === null ? { 'Content-Security-Policy': assets.csp, 'Referrer-Policy': 'no-referrer' } : {}),
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = acceptsGzip(req);
    const body = gzip ? asset.gzip : asset.body;
    res.writeHead(200, { ...headers, 'Content-Length': body.length, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
    res.end(method === 'HEAD' ? undefined : body);
  }

  private tooLarge(res: ServerResponse): void {
    // The rest of the body is not read, so the connection cannot carry another request.
    sendJson(res, 413, { error: `request body larger than ${this.maxBodyBytes} bytes` }, { Connection: 'close' });
  }
}

/** Calls back with the body, or null as soon as it exceeds max bytes (then stops reading). */
function readBody(req: IncomingMessage, max: number, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (body: Buffer | null): void => {
    if (finished) return;
    finished = true;
    done(body);
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) {
      req.pause();
      finish(null);
    } else chunks.push(chunk);
  });
  req.on('end', () => finish(Buffer.concat(chunks)));
  req.on('error', () => {
    finished = true;
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>, gzip = false): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  const zipped = gzip && text.length > GZIP_MIN_BYTES;
  const payload = zipped ? gzipSync(text) : text;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': payload.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(zipped ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : payload);
}

function acceptsGzip(req: IncomingMessage): boolean {
  const accept = req.headers['accept-encoding'];
  return typeof accept === 'string' && /\bgzip\b/i.test(accept);
}

/**
 * Answers, on the raw socket, a request node:http refused while parsing it: 431 for headers over the
 * limit, 408 for a request that did not arrive in time, 400 for anything malformed; with the JSON error
 * body every other error has. The connection is closed after it.
 */
function refuseClient(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431 ? 'request headers too large' : status === 408 ? 'request not received in time' : 'malformed HTTP request';
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n' +
      body,
  );
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The host name of a Host header, without the port ('[::1]:8080' -> '[::1]'). */
function hostOnly(host: string | undefined): string {
  if (host === undefined) return '';
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(host.toLowerCase());
  return m === null ? '' : m[1];
}

function hostOfOrigin(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return '';
  }
}
