import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { FieldTable } from '../amqp/table.js';
import { resolveConfig, type BrokerConfig, type UserConfig } from './ops/config.js';
import { Connection } from './connection/connection.js';
import { ControlServer } from './control.js';
import { DataDirLock } from './ops/data-dir-lock.js';
import { DiskAlarm, LOW_ON_DISK, parseBytes } from './ops/disk-alarm.js';
import { DurableDefinitions } from './vhost/durable-definitions.js';
import { MessageStore } from './store/message-store.js';
import { schedulePreFlush, setTurnErrorHandler } from './ops/scheduler.js';
import { TimerWheel } from './ops/timer-wheel.js';
import { PolicyError, validatePolicy } from './vhost/policy.js';
import { VirtualHost } from './vhost/vhost.js';

/** Warren's own version (package.json's; a test keeps them equal). */
export const VERSION = '0.1.0';
/**
 * The RabbitMQ release whose behaviour Warren follows, reported as `version` in
 * connection.start: clients turn features on by broker version (headers-exchange x-
 * arguments from 3.10, for one). Warren's own version goes in `warren_version`.
 */
export const RABBITMQ_VERSION = '3.10.8';

/** What listening on '::' fails with where the system has no IPv6. */
const IPV6_UNAVAILABLE = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

/** How often the broker's clock advances the timer wheel: fine enough for heartbeat=1 (every 500 ms). */
const CLOCK_MS = 50;

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
  /** Set while the process is out of file descriptors: new connections are refused meanwhile. */
  outOfDescriptors = false;
  /** Coarse wall clock, updated every CLOCK_MS; enough for TTLs and timeouts. */
  now = Date.now();
  /** Every connection's heartbeat, handshake and close deadlines (monotonic time). */
  readonly wheel = new TimerWheel(CLOCK_MS);
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  /** Periodic checks whose last run failed (logged once, until they work again). */
  private readonly failing = new Set<string>();
  private control: ControlServer | null = null;
  /** Held from the constructor to close(); null without a data directory. */
  private readonly lock: DataDirLock | null = null;

  constructor(config: Partial<BrokerConfig> = {}, log?: Logger) {
    this.config = resolveConfig(config);
    this.log = log ?? pino({ level: this.config.logLevel, base: { name: 'warren' } });
    setTurnErrorHandler((err, where) => this.log.error({ err, where }, 'internal error, carrying on'));
    for (const v of this.config.vhosts) this.vhosts.set(v, new VirtualHost(v));
    for (const u of this.config.users) this.users.set(u.name, u);
    if (this.config.dataDir !== '') {
      mkdirSync(this.config.dataDir, { recursive: true });
      // Before anything in the directory is read or written: a second broker leaves it untouched.
      // (Config errors are found before, so that they cannot leave the lock behind.)
      const diskFreeLimit = parseBytes(this.config.diskFreeLimit, 'disk_free_limit');
      for (const p of this.config.policies) validatePolicy(p);
      this.lock = DataDirLock.acquire(this.config.dataDir);
      this.diskAlarm = new DiskAlarm(this.config.dataDir, diskFreeLimit, this.log);
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
      version: RABBITMQ_VERSION,
      warren_version: VERSION,
      platform: `Node.js ${process.version}`,
      copyright: 'Copyright (c) the Warren authors',
      information: 'Licensed under the MIT licence',
      cluster_name: `warren@${hostname()}`,
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

  /** Starts listening (and the control socket, if configured); resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    if (this.config.controlSocket !== '') {
      this.control = new ControlServer(this, this.config.controlSocket);
      await this.control.listen();
    }
    return this.listenAmqp();
  }

  private listenAmqp(): Promise<AddressInfo> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    this.timer = setInterval(() => this.onClock(), CLOCK_MS);
    this.timer.unref();
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException): void => {
        // The default, '::', listens on IPv6 and IPv4 at once; where IPv6 is unavailable, IPv4 alone.
        if (this.config.host === '::' && IPV6_UNAVAILABLE.has(err.code ?? '') && server.listening === false) {
          this.log.warn({ code: err.code }, 'IPv6 is not available: listening on IPv4 only (0.0.0.0)');
          server.listen(this.config.port, '0.0.0.0');
          return;
        }
        reject(err);
      };
      server.on('error', failed);
      server.listen(this.config.port, this.config.host);
      server.once('listening', () => {
        server.off('error', failed);
        // From now on 'error' means a failed accept (out of descriptors): never fatal.
        server.on('error', (err: NodeJS.ErrnoException) => this.acceptFailed(err));
        const addr = server.address() as AddressInfo;
        this.log.info({ host: addr.address, port: addr.port }, 'broker listening');
        resolve(addr);
      });
    });
  }


  private accept(socket: Socket): void {
    this.connections.add(new Connection(socket, this));
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
    this.guard('disk space check', this.checkAlarms);
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
    this.lock?.release();
    this.log.info('broker stopped');
  }
}
