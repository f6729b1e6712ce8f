/**
 * The broker's AMQP listening sockets: the plain listener on host:port, extra plain ones,
 * and the amqps ones, with their settings checked and TLS certificates read up front.
 * Every accepted socket, plain or TLS, goes to the same `accept`.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { tlsServerSettings, validateSslOptions, type TlsServerSettings } from './access/tls/tls-options.js';
import { MECHANISMS } from './connection/handshake/mechanisms.js';
import type { BrokerConfig } from './ops/config.js';
import { splitListener } from './ops/rabbitmq-conf.js';

/** A listening socket, named as RabbitMQ's listener list names them. */
export interface Listener {
  protocol: 'amqp' | 'amqp/ssl' | 'http' | 'http/prometheus';
  address: string;
  port: number;
}

/** What listening on '::' fails with where the system has no IPv6. */
const IPV6_UNAVAILABLE = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

export class AmqpListeners {
  private primary: Server | null = null;
  /** Listeners besides the primary one: extraTcpListeners and sslListeners. */
  private readonly more: { server: Server; protocol: Listener['protocol'] }[] = [];
  /** Certificates and options of the amqps listeners; null without any. */
  private readonly tls: TlsServerSettings | null;

  /** Validates listener settings and ssl_options, and reads the TLS certificates (throws on bad ones). */
  constructor(
    private readonly config: BrokerConfig,
    private readonly log: Logger,
    private readonly accept: (socket: Socket) => void,
    /** A listening socket's 'error' after it is up: a failed accept, never fatal. */
    private readonly acceptFailed: (err: NodeJS.ErrnoException) => void,
  ) {
    const c = config;
    for (const [name, v] of [['extra_tcp_listeners', c.extraTcpListeners], ['ssl_listeners', c.sslListeners], ['auth_mechanisms', c.authMechanisms]] as const) {
      if (!Array.isArray(v)) throw new Error(`${name} must be a list; got ${JSON.stringify(v)}`);
    }
    if (typeof c.tcpListener !== 'boolean') throw new Error(`tcp_listener must be true or false; got ${JSON.stringify(c.tcpListener)}`);
    for (const l of [...c.extraTcpListeners, ...c.sslListeners]) {
      try {
        splitListener(l);
      } catch (err) {
        throw new Error(`listeners: ${(err as Error).message}`);
      }
    }
    validateSslOptions(c.sslOptions);
    if (!c.tcpListener && c.sslListeners.length === 0) throw new Error('no AMQP listener: the plain listener is off (listeners.tcp = none) and there is no listeners.ssl');
    for (const m of c.authMechanisms) {
      if (!(MECHANISMS as readonly string[]).includes(m)) log.warn({ mechanism: m }, 'auth_mechanisms: Warren does not implement this mechanism; not offered');
    }
    this.tls = null;
    if (c.sslListeners.length === 0) return;
    const settings = tlsServerSettings(c.sslOptions, c.sslHandshakeTimeout);
    for (const w of settings.warnings) log.warn(w);
    this.tls = settings;
  }

  /** Starts every AMQP listener; resolves with the primary one's address (or the first other one's). */
  async listen(): Promise<AddressInfo> {
    let first: AddressInfo | null = null;
    if (this.config.tcpListener) {
      const server = createServer((socket) => this.accept(socket));
      this.primary = server;
      first = await this.listenOn(server, this.config.port, this.config.host);
      this.log.info({ host: first.address, port: first.port }, 'broker listening');
    }
    const bind = async (server: Server, spec: number | string, protocol: Listener['protocol']): Promise<void> => {
      this.more.push({ server, protocol });
      const { host, port } = splitListener(spec);
      const addr = await this.listenOn(server, port, host ?? this.config.host);
      first ??= addr;
      this.log.info({ protocol, host: addr.address, port: addr.port }, 'broker listening');
    };
    for (const spec of this.config.extraTcpListeners) await bind(createServer((socket) => this.accept(socket)), spec, 'amqp');
    const tls = this.tls;
    if (tls !== null) {
      for (const spec of this.config.sslListeners) {
        const server = createTlsServer(tls.options, (socket) => this.acceptTls(socket, tls.verifyPeer));
        server.on('tlsClientError', (err, socket) => {
          this.log.warn({ err: err.message, remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'TLS handshake failed');
        });
        await bind(server, spec, 'amqp/ssl');
      }
    }
    return first!;
  }

  /**
   * With verify_peer but not fail_if_no_peer_cert, Node lets a certificate that does not
   * verify through the handshake (Erlang ends it with an alert); it is refused here.
   */
  private acceptTls(socket: TLSSocket, verifyPeer: boolean): void {
    if (verifyPeer && !socket.authorized && socket.getPeerCertificate().raw !== undefined) {
      this.log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: String(socket.authorizationError) }, 'TLS client certificate refused');
      socket.destroy();
      return;
    }
    this.accept(socket);
  }

  /** Every listening AMQP socket, the primary plain one first. */
  list(): Listener[] {
    const out: Listener[] = [];
    const add = (server: Server | null, protocol: Listener['protocol']): void => {
      const a = server?.address();
      if (a !== null && a !== undefined && typeof a === 'object') out.push({ protocol, address: a.address, port: a.port });
    };
    add(this.primary, 'amqp');
    for (const m of this.more) add(m.server, m.protocol);
    return out;
  }

  /** Stops accepting; resolves once every listener has closed. */
  close(): Promise<void> {
    const servers = [this.primary, ...this.more.splice(0).map((m) => m.server)];
    this.primary = null;
    return Promise.all(servers.map((s) => (s === null ? undefined : new Promise<void>((r) => s.close(() => r()))))).then(() => {});
  }

  /** Listens; '::' (the default: IPv6 and IPv4 at once) falls back to 0.0.0.0 where the system has no IPv6. */
  private listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException): void => {
        if (host === '::' && IPV6_UNAVAILABLE.has(err.code ?? '') && !server.listening) {
          this.log.warn({ code: err.code }, 'IPv6 is not available: listening on IPv4 only (0.0.0.0)');
          host = '0.0.0.0';
          server.listen(port, host);
          return;
        }
        reject(err);
      };
      server.on('error', failed);
      server.listen(port, host);
      server.once('listening', () => {
        server.off('error', failed);
        // From now on 'error' means a failed accept (out of descriptors): never fatal.
        server.on('error', (err: NodeJS.ErrnoException) => this.acceptFailed(err));
        resolve(server.address() as AddressInfo);
      });
    });
  }
}
