import type { AddressInfo, Socket } from 'node:net';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
import { DataDirLock } from './ops/data-dir-lock.js';
import { DiskAlarm, parseBytes } from './ops/disk-alarm.js';
import { alarmReason, MemoryAlarm, totalMemory, type MemoryWatermark } from './ops/memory-alarm.js';
import { MemoryReleaser } from './ops/memory-release.js';
import { AmqpListeners, type Listener } from './amqp-listeners.js';
import { DurableDefinitions } from './vhost/durable-definitions.js';
import { MessageStore } from './store/message-store.js';
import { schedulePreFlush, setTurnErrorHandler } from './ops/scheduler.js';
import { TimerWheel } from './ops/timer-wheel.js';
import { PolicyError, validatePolicy, type Policy } from './vhost/policy.js';
import { VirtualHost } from './vhost/vhost.js';
import { Federation } from './federation/federation.js';
import { Shovels } from './federation/shovel/shovels.js';
import type { LocalSocket } from './federation/link/local-socket.js';
import { NodeCounters } from './ops/stats.js';
import type { ManagementServer } from './http/management.js';
import type { MetricsServer } from './http/prometheus/server.js';
import { pool as bodyPool } from './queue/body-pool.js';

export type { Listener } from './amqp-listeners.js';

/** Warren's own version (package.json's; a test keeps them equal). */
export const VERSION = '0.1.0';
/**
 * The RabbitMQ release whose behaviour Warren follows, reported as `version` in
 * connection.start: clients turn features on by broker version (headers-exchange x-
 * arguments from 3.10, for one). Warren's own version goes in `warren_version`.
 */
export const RABBITMQ_VERSION = '3.10.8';

/** How often the broker's clock advances the timer wheel: fine enough for heartbeat=1 (every 500 ms). */
const CLOCK_MS = 50;

/** A resource alarm in effect (for health checks and metrics). */
export interface ResourceAlarm {
  resource: 'memory' | 'disk';
  /** Resident memory, or free disk space, at the last check (bytes). */
  value: number;
  /** The watermark, or disk_free_limit (bytes). */
  limit: number;
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
  /** Federation links: the federation-upstream(-set) parameters, applied by policies. */
  readonly federation: Federation;
  /** Dynamic shovels: the `shovel` runtime parameters, running. */
  readonly shovels: Shovels;
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
  /** Set while the process is out of file descriptors: new connections are refused meanwhile. */
  outOfDescriptors = false;
  /** Coarse wall clock, updated every CLOCK_MS; enough for TTLs and timeouts. */
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
  /** Every connection's heartbeat, handshake and close deadlines (monotonic time). */
  readonly wheel = new TimerWheel(CLOCK_MS);
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  /** Periodic checks whose last run failed (logged once, until they work again). */
  private readonly failing = new Set<string>();
  /** Collects garbage once a backlog has drained (ops/memory-release.ts). */
  readonly memoryReleaser = new MemoryReleaser();
  private control: ControlServer | null = null;
  /** Held from the constructor to close(); null without a data directory. */
  private readonly lock: DataDirLock | null = null;
  /** The AMQP and amqps listening sockets. */
  private readonly amqp: AmqpListeners;

  constructor(config: Partial<BrokerConfig> = {}, log?: Logger) {
    this.config = resolveConfig(config);
    this.log = log ?? pino({ level: this.config.logLevel, base: { name: 'warren' } });
    setTurnErrorHandler((err, where) => this.log.error({ err, where }, 'internal error, carrying on'));
    this.access = new AccessControl(this, this.config.loopbackUsers);
    this.federation = new Federation(this, (socket) => this.accept(socket as unknown as Socket));
    this.shovels = new Shovels(this);
    this.access.registerParameterComponent('shovel', this.shovels);
    this.memoryAlarm = new MemoryAlarm(this.config.vmMemoryHighWatermark, totalMemory(this.config.totalMemoryAvailableOverrideValue), this.log);
    this.checkAlarms();
    this.amqp = new AmqpListeners(this.config, this.log, (socket) => this.accept(socket), (err) => this.acceptFailed(err));
    let stored: Definitions | null = null;
    if (this.config.dataDir !== '') {
      mkdirSync(this.config.dataDir, { recursive: true });
      // Before anything in the directory is read or written: a second broker leaves it untouched.
      // (Config errors are found before, so that they cannot leave the lock behind.)
      const diskFreeLimit = parseBytes(this.config.diskFreeLimit, 'disk_free_limit');
      for (const p of this.config.policies) validatePolicy(p);
      this.lock = DataDirLock.acquire(this.config.dataDir);
      this.diskAlarm = new DiskAlarm(this.config.dataDir, diskFreeLimit, this.log);
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
      version: RABBITMQ_VERSION,
      warren_version: VERSION,
      platform: `Node.js ${process.version}`,
      copyright: 'Copyright (c) the Warren authors',
      information: 'Licensed under the MIT licence',
      // As rabbit_nodes:cluster_name: the global parameter, else the configured name, else the node's.
      cluster_name: [this.globalParameters.get('cluster_name'), this.config.clusterName].find((n): n is string => typeof n === 'string' && n !== '') ?? this.nodeName,
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
    v.observer = this.federation;
    v.store = this.store;
    this.vhosts.set(name, v);
    return v;
  }

  /** Deletes a vhost with its queues (and their messages) and exchanges (AccessHost). */
  destroyVhost(name: string): void {
    const v = this.vhosts.get(name);
    if (v === undefined) return;
    this.federation.vhostDeleted(name);
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
    this.timer = setInterval(() => this.onClock(), CLOCK_MS);
    this.timer.unref();
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
    const addr = await this.amqp.listen();
    this.federation.start();
    this.shovels.start();
    return addr;
  }

  /** Every listening socket: AMQP (the primary plain one first), then the management API and Prometheus. */
  listeners(): Listener[] {
    return [...this.amqp.list(), ...this.httpListeners];
  }

  /** A deleted vhost's statistics join the node's (AccessHost.destroyVhost calls this). */
  private keepVhostCounters(v: VirtualHost): void {
    this.counters.deletedVhosts.add(v.counters);
  }

  private accept(socket: Socket): void {
    this.connections.add(new Connection(socket, this));
  }

  /** An in-process client (a shovel's URI with no host): served like a TCP client. */
  acceptLocal(socket: LocalSocket): void {
    this.accept(socket as unknown as Socket);
  }

  /** One clock for the whole broker: the wheel at every beat, everything else once a second. */
  private onClock(): void {
    const now = (this.now = Date.now());
    this.wheel.advance();
    if (now - this.lastTick >= 1000 || now < this.lastTick) {
      this.lastTick = now;
      this.tick(now);
    }
  }

  /**
   * Out of descriptors, libuv accepts each pending connection with a reserved descriptor and
   * closes it at once, and goes on listening; Node rarely even hears of it. So the broker
   * probes for a free descriptor every second, and reports a shortage once when it starts
   * and once when it ends, never once per refused socket.
   */
  private acceptFailed(err: NodeJS.ErrnoException): void {
    if (err.code === 'EMFILE' || err.code === 'ENFILE') this.descriptorsExhausted(err);
    else this.log.warn({ code: err.code, err: err.message }, 'accept failed');
  }

  private descriptorsExhausted(err: NodeJS.ErrnoException): void {
    if (this.outOfDescriptors) return;
    this.outOfDescriptors = true;
    this.log.warn({ code: err.code, connections: this.connections.size }, 'out of file descriptors: new connections are refused until some are free');
  }

  private probeDescriptors(): void {
    closeSync(openSync('/dev/null', 'r'));
    if (!this.outOfDescriptors) return;
    this.outOfDescriptors = false;
    this.log.warn({ connections: this.connections.size }, 'file descriptors available again: accepting connections');
  }

  private tick(now: number): void {
    // Each of these asks the system for something (a descriptor, a /proc file, statfs); when
    // that fails (out of descriptors), the broker carries on and tries again next second.
    if (process.platform !== 'win32') this.guard('descriptor check', this.probeDescriptors);
    this.guard('memory check', this.checkPaging);
    this.guard('resource alarm check', this.checkAlarms);
    this.guard('memory release', this.releaseMemory);
    bodyPool.tick();
    for (const c of this.connections) {
      try {
        c.tick(now);
      } catch (err) {
        this.log.error({ err, conn: c.id }, 'internal error in connection tick, carrying on');
      }
    }
  }

  /** Runs a periodic check; a failure is logged once, and again when the check works again. */
  private guard(what: string, check: (this: Broker) => void): void {
    try {
      check.call(this);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EMFILE' || code === 'ENFILE') this.descriptorsExhausted(err as NodeJS.ErrnoException);
      else if (!this.failing.has(what)) this.log.error({ err, check: what }, 'periodic check failed, retrying every second');
      this.failing.add(what);
      return;
    }
    if (this.failing.delete(what)) this.log.info({ check: what }, 'periodic check works again');
  }

  private releaseMemory(): void {
    let queued = 0;
    for (const v of this.vhosts.values()) for (const q of v.queues.values()) queued += q.messageCount;
    const rss = this.memoryReleaser.tick(queued, this.now);
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
    await this.shovels.close(); // first: on-confirm shovels settle what is in flight
    await this.federation.close(); // links first, while both ends are up
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.management?.close();
    await this.metrics?.close();
    this.management = null;
    this.metrics = null;
    for (const c of this.connections) c.forceClose(reason);
    const closed = this.amqp.close();
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
    this.lock?.release();
    this.log.info('broker stopped');
  }
}
