import type { FastifyInstance } from 'fastify';
import { activeAlarms, RESOURCE_NAME } from '../alarms.js';
import { badRequest, notFound } from '../errors.js';
import { getMessages, HTTP_OWNER, publish } from '../messages.js';
import { paramsSchema, sendOne, VHOST_PARAMS, vhostOr404, type ApiContext } from '../api-context.js';

/** The queue /api/aliveness-test/{vhost} declares, publishes to and gets from, as RabbitMQ's does. */
const ALIVENESS_QUEUE = 'aliveness-test';

/** RabbitMQ's health checks: 200 {"status":"ok"}, or 503 with what failed. */
export function registerHealth(app: FastifyInstance, ctx: ApiContext): void {
  const alarmCheck = (reason: string) => async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const alarms = activeAlarms(ctx.broker);
    if (alarms.length === 0) return sendOne(req, reply, { status: 'ok' });
    reply.code(503);
    return sendOne(req, reply, { status: 'failed', reason, alarms: alarms.map((a) => ({ resource: RESOURCE_NAME[a], node: ctx.node })) });
  };
  // One node: the cluster's alarms are this node's.
  app.get('/api/health/checks/alarms', alarmCheck('There are alarms in effect in the cluster'));
  app.get('/api/health/checks/local-alarms', alarmCheck('There are alarms in effect on the node'));

  app.get('/api/health/checks/port-listener/:port', { schema: { params: paramsSchema('port') } }, async (req, reply) => {
    const raw = (req.params as { port: string }).port;
    if (!/^\d+$/.test(raw)) throw badRequest('Invalid port');
    const port = Number(raw);
    const ports = ctx.broker.listeners().map((l) => l.port);
    if (ports.includes(port)) return sendOne(req, reply, { status: 'ok', port });
    reply.code(503);
    return sendOne(req, reply, { status: 'failed', reason: 'No active listener', missing: port, ports });
  });

  app.get('/api/health/checks/protocol-listener/:protocol', { schema: { params: paramsSchema('protocol') } }, async (req, reply) => {
    const wanted = (req.params as { protocol: string }).protocol;
    const aliases: Record<string, string> = { 'amqp091': 'amqp', 'amqp0.9.1': 'amqp', 'amqp0-9-1': 'amqp', 'prometheus': 'http/prometheus' };
    const protocol = aliases[wanted] ?? wanted;
    const protocols: string[] = ctx.broker.listeners().map((l) => l.protocol);
    if (protocols.includes(protocol)) return sendOne(req, reply, { status: 'ok', protocol: wanted });
    reply.code(503);
    return sendOne(req, reply, { status: 'failed', reason: 'No active listener', missing: wanted, protocols });
  });

  // The deprecated node health check RabbitMQ 3.10 still serves.
  app.get('/api/healthchecks/node', async (req, reply) => sendOne(req, reply, { status: 'ok' }));
  app.get('/api/healthchecks/node/:node', { schema: { params: paramsSchema('node') } }, async (req, reply) => {
    if ((req.params as { node: string }).node !== ctx.node) throw notFound();
    return sendOne(req, reply, { status: 'ok' });
  });

  // Every vhost lives in the broker process: none can be down on its own.
  app.get('/api/health/checks/virtual-hosts', async (req, reply) => sendOne(req, reply, { status: 'ok' }));

  app.get('/api/aliveness-test/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, async (req, reply) => {
    const v = vhostOr404(ctx, (req.params as { vhost: string }).vhost);
    const { queue } = v.declareQueue({ name: ALIVENESS_QUEUE, durable: false, exclusive: false, autoDelete: false, args: {} }, HTTP_OWNER);
    publish(v, '', ALIVENESS_QUEUE, {}, Buffer.from('test_message'), req.user.name);
    const got = getMessages(v, queue, 1, 'ack_requeue_false', 'auto', null);
    if (got.length === 0) {
      reply.code(503);
      return sendOne(req, reply, { status: 'failed', reason: 'aliveness-test queue is empty' });
    }
    return sendOne(req, reply, { status: 'ok' });
  });
}
