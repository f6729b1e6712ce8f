import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Broker } from '../../broker.js';
import { renderMetrics, streamMetrics } from './exposition.js';

const CONTENT_TYPE = 'text/plain; version=0.0.4';

/** The Prometheus endpoint on its own port, as rabbitmq_prometheus serves it: no authentication. */
export class MetricsServer {
  readonly app: FastifyInstance;

  constructor(readonly broker: Broker) {
    const app = Fastify({ logger: false });
    this.app = app;
    app.get('/metrics', async (_req, reply) => reply.type(CONTENT_TYPE).send(renderMetrics(broker, false)));
    // Per object the scrape is large (a series per queue): it is rendered a family per turn.
    app.get('/metrics/per-object', async (_req, reply) => reply.type(CONTENT_TYPE).send(streamMetrics(broker, true)));
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await this.app.listen({ port, host });
    const addr = this.app.server.address() as AddressInfo;
    this.broker.log.info({ host: addr.address, port: addr.port }, 'Prometheus metrics listening');
    return addr;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
