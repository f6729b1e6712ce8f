import { Broker } from './broker.js';
import type { BrokerConfig } from './ops/config.js';

export { Broker } from './broker.js';
export type { BrokerConfig } from './ops/config.js';

export interface RunningBroker {
  /** amqp://guest:guest@host:port — ready for amqplib.connect(). */
  url: string;
  port: number;
  broker: Broker;
  close(): Promise<void>;
}

/**
 * Starts a broker in this process, for test suites: `startBroker({ port: 0 })`
 * picks a free port. Listens on loopback, logs nothing and keeps nothing on disk
 * unless asked (give `dataDir` to keep durable definitions there).
 */
export async function startBroker(options: Partial<BrokerConfig> = {}): Promise<RunningBroker> {
  const broker = new Broker({ host: '127.0.0.1', port: 0, logLevel: 'silent', dataDir: '', ...options });
  let addr;
  try {
    addr = await broker.listen();
  } catch (err) {
    await broker.close(); // lets go of the data directory
    throw err;
  }
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `amqp://guest:guest@${host}:${addr.port}`,
    port: addr.port,
    broker,
    close: () => broker.close(),
  };
}
