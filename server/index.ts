import { Broker } from './broker.js';
import type { BrokerConfig } from './ops/config.js';

export { Broker } from './broker.js';
export type { BrokerConfig } from './ops/config.js';

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
}

/**
 * Starts a broker in this process, for test suites: `startBroker({ port: 0 })`
 * picks a free port. Listens on loopback, logs nothing and keeps nothing on disk
 * unless asked (give `dataDir` to keep durable definitions there). The management API and
 * the Prometheus endpoint start only when given a port: `startBroker({ managementPort: 0,
 * prometheusPort: 0 })`.
 */
export async function startBroker(options: Partial<BrokerConfig> = {}): Promise<RunningBroker> {
  const broker = new Broker({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    dataDir: '',
    managementPort: null,
    prometheusPort: null,
    ...options,
  });
  const addr = await broker.listen();
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const running: RunningBroker = {
    url: `amqp://guest:guest@${host}:${addr.port}`,
    port: addr.port,
    broker,
    close: () => broker.close(),
  };
  for (const l of broker.listenerList()) {
    const h = l.address.includes(':') ? `[${l.address}]` : l.address;
    if (l.protocol === 'http') running.managementUrl = `http://${h}:${l.port}`;
    if (l.protocol === 'http/prometheus') running.prometheusUrl = `http://${h}:${l.port}`;
  }
  return running;
}
