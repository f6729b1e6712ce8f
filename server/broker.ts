import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { FieldTable } from '../amqp/table.js';
import type { Definitions } from '../persistence/definitions.js';
import { AccessControl } from './access/access-control.js';
import { exportDefinitions, type DefinitionsHost } from './access/definitions-export.js';
import { importDefinitions, type ImportReport } from './access/definitions-import.js';
import { permissionFrom } from './access/permissions.js';
import { userFromInput } from './access/users.js';
import { resolveConfig, type BrokerConfig } from './ops/config.js';
import { Connection } from './connection/connection.js';
import { ControlServer } from './control.js';
import { DiskAlarm, parseBytes } from './ops/disk-alarm.js';
import { alarmReason, MemoryAlarm, totalMemory, type MemoryWatermark } from './ops/memory-alarm.js';
import { MemoryReleaser } from './ops/memory-release.js';
import { splitListener } from './ops/rabbitmq-conf.js';
import { tlsServerSettings, validateSslOptions, type TlsServerSettings } from './access/tls/tls-options.js';
import { MECHANISMS } from './connection/mechanisms.js';
import { DurableDefinitions } from './vhost/durable-definitions.js';
import { MessageStore } from './store/message-store.js';
import { schedulePreFlush, setTurnErrorHandler } from './ops/scheduler.js';
import { PolicyError, validatePolicy, type Policy } from './vhost/policy.js';
import { VirtualHost } from './vhost/vhost.js';
import { NodeCounters } from './ops/stats.js';
import type { ManagementServer } from './http/management.js';
import type { MetricsServer } from './http/prometheus/server.js';

export const VERSION = '0.1.0';

/** A resource alarm in effect (for health checks and metrics). */
export interface ResourceAlarm {
  resource: 'memory' | 'disk';
  /** Resident memory, or free disk space, at the last check (bytes). */
  value: number;
  /** The watermark, or disk_free_limit (bytes). */
  limit: number;
}

/** A listening socket, named as RabbitMQ's listener list names them. */
export interface Listener {
  protocol: 'amqp' | 'amqp/ssl' | 'http' | 'http/prometheus';
  address: string;
  port: number;
}

/** Entries imported per section, for the start-up log line. */
function counts(report: ImportReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [section, r] of Object.entries(report)) if (r.imported > 0) out[section] = r.imported;
  return out;
}

/** The running broker: listener, vhosts, users and live connections. */
export class Broker implements DefinitionsHost {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly vhosts = new Map<string, VirtualHost>();
  /** Users, permissions and limits. */
  readonly access: AccessControl;
  /** Global runtime parameters from imported definitions (cluster_name, internal_cluster_id). */
  readonly globalParameters = new Map<string, unknown>();
  readonly connections = new Set<Connection>();
  readonly serverProperties: FieldTable;
  readonly version = VERSION;
  /** The durable topology on disk; null when the broker runs without a data directory. */
  readonly definitions: DurableDefinitions | null = null;
  /** Persistent messages of durable queues; null without a data directory. */
  readonly store: MessageStore | null = null;
  /** disk_free_limit on the data directory's file system; null without a data directory. */
  readonly diskAlarm: DiskAlarm | null = null;
  /** vm_memory_high_watermark over the process's resident memory. */
  readonly memoryAlarm: MemoryAlarm;
  /** The reason publishers are blocked ("low on disk", "low on memory", "low on disk & memory"), or null. */
  alarmReason: string | null = null;
  /** Coarse clock, updated once a second; enough for heartbeats and timeouts. */
  now = Date.now();
  /** Churn counters and the statistics of deleted vhosts (the management plane's). */
  readonly counters = new NodeCounters();
  readonly startedAt = Date.now();
  /** The node's name, as RabbitMQ's `rabbit@host`. */
  readonly nodeName = `warren@${hostname()}`;
  /** RabbitMQ's internal_cluster_id: a global parameter made at first start and kept in the definitions. */
  get clusterId(): string {
    return String(this.globalParameters.get('internal_cluster_id') ?? '');
  }
  /** The management HTTP API and the Prometheus endpoint, when configured. */
  management: ManagementServer | null = null;
  metrics: MetricsServer | null = null;
  /** The management API's and Prometheus's listeners, once bound. */
  private readonly httpListeners: Listener[] = [];
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Collects garbage once a backlog has drained (ops/memory-release.ts). */
  readonly memoryReleaser = new MemoryReleaser();
  private control: ControlServer | null = null;
  /** Listeners besides `server`: extraTcpListeners and sslListeners. */
  private readonly moreServers: { server: Server; protocol: Listener['protocol'] }[] = [];
  /** Certificates and options of the amqps listeners, read at construction; null without any. */
  private readonly tls: TlsServerSettings | null = null;

  constructor(config: Partial<BrokerConfig> = {}, log?: Logger) {
    this.config = resolveConfig(config);
    this.log = log ?? pino({ level: this.config.logLevel, base: { name: 'warren' } });
    setTurnErrorHandler((err, where) => this.log.error({ err, where }, 'internal error, carrying on'));
    this.access = new AccessControl(this, this.config.loopbackUsers);
    this.memoryAlarm = new MemoryAlarm(this.config.vmMemoryHighWatermark, totalMemory(this.config.totalMemoryAvailableOverrideValue), this.log);
    this.checkAlarms();
    this.tls = this.checkListeners();
    let stored: Definitions | null = null;
    if (this.config.dataDir !== '') {
      mkdirSync(this.config.dataDir, { recursive: true });
      this.diskAlarm = new DiskAlarm(this.config.dataDir, parseBytes(this.config.diskFreeLimit, 'disk_free_limit'), this.log);
      this.checkAlarms();
      const defs = new DurableDefinitions(this.config.dataDir, () => exportDefinitions(this, { durableOnly: true }), this.log);
      this.definitions = defs;
      stored = defs.read();
      if (stored !== null) {
        const report = this.importQuietly(stored, 'recovery');
        this.log.info({ path: defs.path, ...counts(report) }, 'definitions recovered');
      }
    }
    if (this.config.loadDefinitions !== '') {
      // RabbitMQ's rule: with definitions to load, nothing is seeded.
      this.log.info({ path: this.config.loadDefinitions }, 'Will not seed default virtual host and user: have definitions to load');
      this.loadDefinitionsAtBoot(this.config.loadDefinitions);
    } else if (stored === null || stored.users === undefined) {
      this.seed();
    }
    for (const p of this.config.policies) {
      const policy = validatePolicy(p);
      const vhost = this.vhosts.get(policy.vhost);
      if (vhost === undefined) throw new PolicyError(`policy '${policy.name}': no vhost '${policy.vhost}'`);
      vhost.setPolicy(policy);
    }
    if (!this.globalParameters.has('internal_cluster_id')) {
      this.globalParameters.set('internal_cluster_id', `warren-cluster-id-${randomBytes(16).toString('base64url')}`);
    }
    const defs = this.definitions;
    if (defs !== null) {
      // Persist what the config seeded and anything the recovery normalised.
      defs.save();
      // Messages go back into the recovered queues, under the policies now in force.
      const store = new MessageStore(this.config.dataDir, this.config, this.log, this.vhosts);
      for (const v of this.vhosts.values()) v.store = store;
      store.finishRecovery();
      this.store = store;
      this.checkPaging();
    }
    this.serverProperties = {
      product: 'Warren',
      version: VERSION,
      platform: `Node.js ${process.version}`,
      copyright: 'Copyright (c) the Warren authors',
      information: 'Licensed under the MIT licence',
      cluster_name: this.nodeName,
      capabilities: {
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        consumer_priorities: true,
        authentication_failure_close: true,
        per_consumer_qos: true,
        direct_reply_to: true,
      },
    };
  }

  /** First start (RabbitMQ's default user and vhost): the configured vhosts and users, with their permissions. */
  private seed(): void {
    for (const v of this.config.vhosts) {
      if (!this.vhosts.has(v)) this.access.addVhost(v, v === '/' ? { description: 'Default virtual host' } : {});
    }
    for (const u of this.config.users) {
      this.access.putUser(userFromInput({ tags: [], ...u }));
      const perms = u.permissions ?? Object.fromEntries(this.config.vhosts.map((v) => [v, { configure: '.*', write: '.*', read: '.*' }]));
      for (const [vhost, p] of Object.entries(perms)) this.access.setPermissions(u.name, vhost, permissionFrom(p));
    }
  }

  /** load_definitions: a file, or every .json file of a directory in name order. */
  private loadDefinitionsAtBoot(path: string): void {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      throw new Error(`cannot read definitions from ${path}: ${(err as Error).message}`);
    }
    const files = isDir
      ? readdirSync(path)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => join(path, f))
      : [path];
    for (const file of files) {
      let defs: Definitions;
      try {
        defs = JSON.parse(readFileSync(file, 'utf8')) as Definitions;
      } catch (err) {
        throw new Error(`cannot read definitions from ${file}: ${(err as Error).message}`);
      }
      const report = this.importQuietly(defs, 'boot');
      this.log.info({ path: file, ...counts(report) }, 'definitions imported');
    }
  }

  private importQuietly(defs: Definitions, mode: 'recovery' | 'boot'): ImportReport {
    this.access.quiet = true;
    try {
      return importDefinitions(this, defs, { mode });
    } finally {
      this.access.quiet = false;
    }
  }

  /** Creates an empty vhost wired to this broker (AccessHost). */
  createVhost(name: string): VirtualHost {
    const v = new VirtualHost(name);
    const defs = this.definitions;
    if (defs !== null) v.onDurableChange = () => schedulePreFlush(defs);
    v.onInertPolicyKeys = (p, keys) => this.warnInertPolicyKeys(p, keys);
    v.store = this.store;
    this.vhosts.set(name, v);
    return v;
  }

  /** Deletes a vhost with its queues (and their messages) and exchanges (AccessHost). */
  destroyVhost(name: string): void {
    const v = this.vhosts.get(name);
    if (v === undefined) return;
    for (const q of [...v.queues.values()]) v.deleteQueue(q);
    this.vhosts.delete(name);
    this.keepVhostCounters(v);
    this.accessChanged();
  }

  /** Users, permissions, limits or parameters changed: save with this turn (AccessHost). */
  accessChanged(): void {
    const defs = this.definitions;
    if (defs !== null) schedulePreFlush(defs);
  }

  /** Writes the durable definitions now (after a control-socket or HTTP change, before answering). */
  saveDefinitions(): void {
    this.definitions?.save();
  }

  /** Closes matching connections with 320 CONNECTION_FORCED (AccessHost). */
  closeConnections(match: (user: string, vhost: string) => boolean, text: string): void {
    for (const c of this.connections) {
      if (c.user !== '' && match(c.user, c.vhost?.name ?? '')) c.closeForced(text);
    }
  }

  private readonly warnedPolicyKeys = new Set<string>();

  /** Policy keys Warren accepts without acting on them: one warning per key. */
  private warnInertPolicyKeys(p: Policy, keys: string[]): void {
    const fresh = keys.filter((k) => !this.warnedPolicyKeys.has(k));
    if (fresh.length === 0) return;
    for (const k of fresh) this.warnedPolicyKeys.add(k);
    this.log.warn({ vhost: p.vhost, policy: p.name, keys: fresh }, 'policy keys accepted and stored, but they have no effect in Warren');
  }

  /**
   * Starts listening: the management API and Prometheus first if they have ports (and the
   * control socket, if configured), AMQP last, so that once clients can connect everything
   * is up; resolves with the AMQP address.
   */
  async listen(): Promise<AddressInfo> {
    if (this.config.controlSocket !== '') {
      this.control = new ControlServer(this, this.config.controlSocket);
      await this.control.listen();
    }
    const { managementPort, prometheusPort, host } = this.config;
    // Loaded only when wanted: fastify costs a process that runs without them time at start.
    if (managementPort !== null) {
      const { ManagementServer } = await import('./http/management.js');
      this.management = new ManagementServer(this);
      const a = await this.management.listen(managementPort, host);
      this.httpListeners.push({ protocol: 'http', address: a.address, port: a.port });
    }
    if (prometheusPort !== null) {
      const { MetricsServer } = await import('./http/prometheus/server.js');
      this.metrics = new MetricsServer(this);
      const a = await this.metrics.listen(prometheusPort, host);
      this.httpListeners.push({ protocol: 'http/prometheus', address: a.address, port: a.port });
    }
    let first: AddressInfo | null = null;
    if (this.config.tcpListener) first = await this.listenAmqp();
    else {
      this.timer = setInterval(() => this.tick(), 1000);
      this.timer.unref();
    }
    const more = await this.listenMore();
    return first ?? more!;
  }

  /** Validates listener settings and ssl_options, and reads the TLS certificates. */
  private checkListeners(): TlsServerSettings | null {
    const c = this.config;
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
      if (!(MECHANISMS as readonly string[]).includes(m)) this.log.warn({ mechanism: m }, 'auth_mechanisms: Warren does not implement this mechanism; not offered');
    }
    if (c.sslListeners.length === 0) return null;
    const settings = tlsServerSettings(c.sslOptions, c.sslHandshakeTimeout);
    for (const w of settings.warnings) this.log.warn(w);
    return settings;
  }

  /** Extra plain listeners and the amqps listeners; resolves with the first one's address. */
  private async listenMore(): Promise<AddressInfo | null> {
    let first: AddressInfo | null = null;
    const bind = async (server: Server, spec: number | string, protocol: Listener['protocol']): Promise<void> => {
      this.moreServers.push({ server, protocol });
      const { host, port } = splitListener(spec);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host ?? this.config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
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
    return first;
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

  /** Every listening socket, the primary plain one first. */
  listeners(): Listener[] {
    const out: Listener[] = [];
    const add = (server: Server | null, protocol: Listener['protocol']): void => {
      const a = server?.address();
      if (a !== null && a !== undefined && typeof a === 'object') out.push({ protocol, address: a.address, port: a.port });
    };
    add(this.server, 'amqp');
    for (const m of this.moreServers) add(m.server, m.protocol);
    out.push(...this.httpListeners);
    return out;
  }

  /** A deleted vhost's statistics join the node's (AccessHost.destroyVhost calls this). */
  private keepVhostCounters(v: VirtualHost): void {
    this.counters.deletedVhosts.add(v.counters);
  }

  private listenAmqp(): Promise<AddressInfo> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        const addr = server.address() as AddressInfo;
        this.log.info({ host: addr.address, port: addr.port }, 'broker listening');
        resolve(addr);
      });
    });
  }

  private accept(socket: Socket): void {
    this.connections.add(new Connection(socket, this));
  }

  private tick(): void {
    const now = (this.now = Date.now());
    this.checkPaging();
    this.checkAlarms();
    this.releaseMemory(now);
    for (const c of this.connections) {
      try {
        c.tick(now);
      } catch (err) {
        this.log.error({ err, conn: c.id }, 'internal error in connection tick, carrying on');
      }
    }
  }

  private releaseMemory(now: number): void {
    let queued = 0;
    for (const v of this.vhosts.values()) for (const q of v.queues.values()) queued += q.messageCount;
    const rss = this.memoryReleaser.tick(queued, now);
    if (rss >= 0) this.log.info({ rss, queued }, 'backlog drained: garbage collected');
  }

  /** Re-reads free disk space and memory use; when an alarm goes on or off, every connection hears of it. */
  checkAlarms(): void {
    const disk = this.diskAlarm?.check() ?? false;
    const memory = this.memoryAlarm.check();
    if (!disk && !memory) return;
    const reason = alarmReason(this.diskAlarm?.active === true, this.memoryAlarm.active);
    if (reason === this.alarmReason) return;
    this.alarmReason = reason;
    for (const c of this.connections) c.setAlarm(reason);
  }

  /** The resource alarms in effect, disk first. */
  alarms(): ResourceAlarm[] {
    const out: ResourceAlarm[] = [];
    const d = this.diskAlarm;
    if (d?.active === true) out.push({ resource: 'disk', value: d.free, limit: d.limit });
    const m = this.memoryAlarm;
    if (m.active) out.push({ resource: 'memory', value: m.used, limit: m.limit });
    return out;
  }

  /** Changes vm_memory_high_watermark at run time (like rabbitmqctl set_vm_memory_high_watermark) and checks at once. */
  setMemoryHighWatermark(w: MemoryWatermark): void {
    this.memoryAlarm.setWatermark(w);
    this.checkAlarms();
  }

  /** Changes disk_free_limit at run time (bytes) and checks at once. */
  setDiskFreeLimit(bytes: number): void {
    if (this.diskAlarm === null) throw new Error('disk_free_limit needs a data directory');
    this.diskAlarm.limit = bytes;
    this.checkAlarms();
  }

  /** Above the memory threshold, transient messages are paged out to the store too (checked once a second). */
  checkPaging(): void {
    const store = this.store;
    if (store === null) return;
    const rss = process.memoryUsage.rss();
    const paging = rss > this.config.memoryPagingThreshold;
    if (paging === store.paging) return;
    store.paging = paging;
    this.log.info({ rss, threshold: this.config.memoryPagingThreshold }, paging ? 'memory above the paging threshold: transient messages now go to disk' : 'memory below the paging threshold: transient messages stay in memory');
  }

  /** Closes every connection with 320 CONNECTION_FORCED and stops listening. */
  async close(reason = 'shutdown'): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.management?.close();
    await this.metrics?.close();
    this.management = null;
    this.metrics = null;
    const server = this.server;
    this.server = null;
    for (const c of this.connections) c.forceClose(reason);
    const closed = server === null ? Promise.resolve() : new Promise<void>((r) => server.close(() => r()));
    const more = this.moreServers.splice(0).map(({ server: s }) => new Promise<void>((r) => s.close(() => r())));
    // Give clients a moment to answer close-ok, then drop whatever is left.
    const deadline = Date.now() + 1000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of this.connections) c.socket.destroy();
    await closed;
    await Promise.all(more);
    try {
      await this.store?.close();
    } catch (err) {
      this.log.error({ err }, 'message store did not close cleanly');
    }
    await this.control?.close();
    this.log.info('broker stopped');
  }
}
