import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { FieldTable } from '../amqp/table.js';
import { resolveConfig, type BrokerConfig, type UserConfig } from './ops/config.js';
import { Connection } from './connection/connection.js';
import { ControlServer } from './control.js';
import { DiskAlarm, LOW_ON_DISK, parseBytes } from './ops/disk-alarm.js';
import { DurableDefinitions } from './vhost/durable-definitions.js';
import { MessageStore } from './store/message-store.js';
import { schedulePreFlush, setTurnErrorHandler } from './ops/scheduler.js';
import { PolicyError, validatePolicy } from './vhost/policy.js';
import { VirtualHost } from './vhost/vhost.js';
import { NodeCounters } from './ops/stats.js';
import type { ManagementServer } from './http/management.js';
import type { MetricsServer } from './http/prometheus/server.js';

export const VERSION = '0.1.0';

/** The running broker: listener, vhosts, users and live connections. */
export class Broker {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly vhosts = new Map<string, VirtualHost>();
  readonly users = new Map<string, UserConfig>();
  readonly connections = new Set<Connection>();
  readonly serverProperties: FieldTable;
  readonly version = VERSION;
  /** The durable topology on disk; null when the broker runs without a data directory. */
  readonly definitions: DurableDefinitions | null = null;
  /** Persistent messages of durable queues; null without a data directory. */
  readonly store: MessageStore | null = null;
  /** disk_free_limit on the data directory's file system; null without a data directory. */
  readonly diskAlarm: DiskAlarm | null = null;
  /** The reason publishers are blocked ("low on disk"), or null while no alarm is on. */
  alarmReason: string | null = null;
  /** Coarse clock, updated once a second; enough for heartbeats and timeouts. */
  now = Date.now();
  /** Churn counters and the statistics of deleted vhosts (the management plane's). */
  readonly counters = new NodeCounters();
  readonly startedAt = Date.now();
  /** The node's name, as RabbitMQ's `rabbit@host`. */
  readonly nodeName = `warren@${hostname()}`;
  readonly clusterId = `warren-cluster-id-${randomBytes(16).toString('base64url')}`;
  /** The management HTTP API and the Prometheus endpoint, when configured. */
  management: ManagementServer | null = null;
  metrics: MetricsServer | null = null;
  private readonly bound: { protocol: string; address: string; port: number }[] = [];
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private control: ControlServer | null = null;

  constructor(config: Partial<BrokerConfig> = {}, log?: Logger) {
    this.config = resolveConfig(config);
    this.log = log ?? pino({ level: this.config.logLevel, base: { name: 'warren' } });
    setTurnErrorHandler((err, where) => this.log.error({ err, where }, 'internal error, carrying on'));
    for (const v of this.config.vhosts) this.vhosts.set(v, new VirtualHost(v));
    const defaultVhost = this.vhosts.get('/');
    if (defaultVhost !== undefined) defaultVhost.description = 'Default virtual host';
    for (const u of this.config.users) this.users.set(u.name, u);
    if (this.config.dataDir !== '') {
      mkdirSync(this.config.dataDir, { recursive: true });
      this.diskAlarm = new DiskAlarm(this.config.dataDir, parseBytes(this.config.diskFreeLimit, 'disk_free_limit'), this.log);
      this.checkAlarms();
      const defs = new DurableDefinitions(this, this.config.dataDir);
      const n = defs.recover();
      if (n.exchanges + n.queues + n.bindings + n.policies > 0) this.log.info({ path: defs.path, ...n }, 'definitions recovered');
      this.definitions = defs;
    }
    for (const p of this.config.policies) {
      const policy = validatePolicy(p);
      const vhost = this.vhosts.get(policy.vhost);
      if (vhost === undefined) throw new PolicyError(`policy '${policy.name}': no vhost '${policy.vhost}'`);
      vhost.setPolicy(policy);
    }
    const defs = this.definitions;
    if (defs !== null) {
      const changed = (): void => schedulePreFlush(defs);
      for (const v of this.vhosts.values()) v.onDurableChange = changed;
      // Persist config policies and anything the recovery normalised.
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
      this.bound.push({ protocol: 'http', address: a.address, port: a.port });
    }
    if (prometheusPort !== null) {
      const { MetricsServer } = await import('./http/prometheus/server.js');
      this.metrics = new MetricsServer(this);
      const a = await this.metrics.listen(prometheusPort, host);
      this.bound.push({ protocol: 'http/prometheus', address: a.address, port: a.port });
    }
    const addr = await this.listenAmqp();
    this.bound.unshift({ protocol: 'amqp', address: addr.address, port: addr.port });
    return addr;
  }

  /** What the broker listens on, by protocol ('amqp', 'http', 'http/prometheus'). */
  listenerList(): readonly { protocol: string; address: string; port: number }[] {
    return this.bound;
  }

  /** Creates a vhost, or updates its description and tags (PUT /api/vhosts/{name}). */
  putVhost(name: string, description: string, tags: string[]): VirtualHost {
    let v = this.vhosts.get(name);
    if (v === undefined) {
      v = new VirtualHost(name);
      const defs = this.definitions;
      if (defs !== null) v.onDurableChange = () => schedulePreFlush(defs);
      v.store = this.store;
      this.vhosts.set(name, v);
    }
    v.description = description;
    v.tags = tags;
    v.onDurableChange();
    return v;
  }

  /**
   * Deletes a vhost: its connections are closed with 320 ("vhost 'v' is deleted", as
   * RabbitMQ says), its queues and their messages go, and its counters join the node's.
   */
  deleteVhost(name: string): void {
    const v = this.vhosts.get(name);
    if (v === undefined) return;
    for (const c of this.connections) if (c.vhost === v) c.closeAs(`vhost '${name}' is deleted`);
    for (const q of [...v.queues.values()]) v.deleteQueue(q);
    this.vhosts.delete(name);
    this.counters.deletedVhosts.add(v.counters);
    const defs = this.definitions;
    if (defs !== null) schedulePreFlush(defs);
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
    for (const c of this.connections) {
      try {
        c.tick(now);
      } catch (err) {
        this.log.error({ err, conn: c.id }, 'internal error in connection tick, carrying on');
      }
    }
  }

  /** Re-reads free disk space; when the alarm goes on or off, every connection hears of it. */
  checkAlarms(): void {
    if (this.diskAlarm === null || !this.diskAlarm.check()) return;
    this.alarmReason = this.diskAlarm.active ? LOW_ON_DISK : null;
    for (const c of this.connections) c.setAlarm(this.alarmReason);
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
    // Give clients a moment to answer close-ok, then drop whatever is left.
    const deadline = Date.now() + 1000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of this.connections) c.socket.destroy();
    await closed;
    try {
      await this.store?.close();
    } catch (err) {
      this.log.error({ err }, 'message store did not close cleanly');
    }
    await this.control?.close();
    this.log.info('broker stopped');
  }
}
