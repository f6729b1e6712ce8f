import { Broker } from './broker.js';
import type { BrokerConfig } from './ops/config.js';
import { addVhost, loadDefinitions, recreateVhost, reloadVhost, type DefinitionsSource } from './vhosts.js';

export { Broker } from './broker.js';
export type { BrokerConfig } from './ops/config.js';
export type { DefinitionsSource } from './vhosts.js';
export type { Definitions } from '../persistence/definitions.js';

export interface StartOptions extends Partial<BrokerConfig> {
  /**
   * A topology to declare at start, in RabbitMQ's definitions format (exchanges, queues,
   * bindings, policies; entries without a `vhost` go to '/'): an object, its JSON text, or
   * the path of a JSON file, such as `rabbitmqctl export_definitions` writes.
   */
  definitions?: DefinitionsSource;
}

/** One virtual host of a running broker, for a test to use on its own. */
export interface VhostHandle {
  readonly name: string;
  /** amqp://guest:guest@host:port/<vhost> — ready for amqplib.connect(). */
  readonly url: string;
  /**
   * Puts the vhost back as it was created: closes its connections (320 CONNECTION_FORCED,
   * as deleting a vhost does in RabbitMQ), deletes every queue (with its messages),
   * exchange, binding and policy, then declares its definitions again.
   */
  reset(): void;
  /** Deletes the vhost; its connections are closed with 320 CONNECTION_FORCED. */
  delete(): void;
  /** Declares more definitions in this vhost (their `vhost` fields are ignored); they come back on reset. */
  load(definitions: DefinitionsSource): void;
}

export interface RunningBroker {
  /** amqp://guest:guest@host:port — ready for amqplib.connect(). */
  url: string;
  port: number;
  /** http://host:port of the management API, when `managementPort` was given. */
  managementUrl?: string;
  /** http://host:port of the Prometheus endpoint (/metrics), when `prometheusPort` was given. */
  prometheusUrl?: string;
  broker: Broker;
  close(): Promise<void>;
  /** A handle on an existing vhost (default '/'). */
  vhost(name?: string): VhostHandle;
  /**
   * Creates a fresh vhost (named `test-1`, `test-2`, … unless given) and declares the
   * definitions in it, whatever vhost their entries name: one per test keeps tests apart
   * while one broker serves the whole suite.
   */
  createVhost(name?: string, opts?: { definitions?: DefinitionsSource }): VhostHandle;
}

/**
 * Starts a broker in this process, for test suites: `startBroker({ port: 0 })`
 * picks a free port. Listens on loopback, logs nothing and keeps nothing on disk
 * unless asked (give `dataDir` to keep durable definitions there). The management API and
 * the Prometheus endpoint start only when given a port: `startBroker({ managementPort: 0,
 * prometheusPort: 0 })`.
 */
export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const { definitions, ...config } = options;
  const broker = new Broker({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    dataDir: '',
    managementPort: null,
    prometheusPort: null,
    ...config,
  });
  /** What each vhost was loaded with, declared again by reset(): [source, whole-broker definitions?]. */
  const loaded = new Map<string, [DefinitionsSource, boolean][]>();
  const remember = (vhost: string, src: DefinitionsSource, whole: boolean) => {
    let list = loaded.get(vhost);
    if (list === undefined) loaded.set(vhost, (list = []));
    list.push([src, whole]);
  };
  if (definitions !== undefined) {
    try {
      loadDefinitions(broker, definitions);
    } catch (err) {
      await broker.close();
      throw err;
    }
    for (const v of broker.vhosts.keys()) remember(v, definitions, true);
  }
  let addr;
  try {
    addr = await broker.listen();
  } catch (err) {
    await broker.close(); // lets go of the data directory
    throw err;
  }
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `amqp://guest:guest@${host}:${addr.port}`;
  let next = 0;

  const handle = (name: string): VhostHandle => ({
    name,
    url: `${url}/${encodeURIComponent(name)}`,
    reset() {
      recreateVhost(broker, name);
      for (const [src, whole] of loaded.get(name) ?? []) {
        if (whole) reloadVhost(broker, src, name);
        else loadDefinitions(broker, src, name);
      }
    },
    delete() {
      if (!broker.vhosts.has(name)) throw new Error(`no vhost '${name}'`);
      broker.access.deleteVhost(name);
      loaded.delete(name);
    },
    load(src: DefinitionsSource) {
      if (!broker.vhosts.has(name)) throw new Error(`no vhost '${name}'`);
      loadDefinitions(broker, src, name);
      remember(name, src, false);
    },
  });

  const running: RunningBroker = {
    url,
    port: addr.port,
    broker,
    close: () => broker.close(),
    vhost(name = '/') {
      if (!broker.vhosts.has(name)) throw new Error(`no vhost '${name}'`);
      return handle(name);
    },
    createVhost(name?: string, opts: { definitions?: DefinitionsSource } = {}) {
      if (name === undefined) {
        do name = `test-${++next}`;
        while (broker.vhosts.has(name));
      } else if (broker.vhosts.has(name)) {
        throw new Error(`vhost '${name}' already exists`);
      }
      addVhost(broker, name);
      const h = handle(name);
      if (opts.definitions !== undefined) h.load(opts.definitions);
      return h;
    },
  };
  for (const l of broker.listeners()) {
    const h = l.address.includes(':') ? `[${l.address}]` : l.address;
    if (l.protocol === 'http') running.managementUrl = `http://${h}:${l.port}`;
    if (l.protocol === 'http/prometheus') running.prometheusUrl = `http://${h}:${l.port}`;
  }
  return running;
}
