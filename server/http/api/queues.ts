import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChannelError } from '../../../amqp/errors.js';
import type { Queue } from '../../queue/queue.js';
import type { VirtualHost } from '../../vhost/vhost.js';
import { badRequest, notFound } from '../errors.js';
import { jsonToTable } from '../format.js';
import { bindingJson, bindingsOf, consumerJson, queueJson } from '../format-objects.js';
import { getMessages, HTTP_OWNER, type AckMode, type Encoding } from '../messages.js';
import { byName, created, paramsSchema, plain, sendList, sendOne, VHOST_PARAMS, vhostOr404, vhostsFor, type ApiContext } from '../api-context.js';
import { BINDING_SORT, vhostOr404ForPut } from './exchanges.js';

interface QueueParams {
  vhost: string;
  name: string;
}

const DECLARE_BODY = {
  type: 'object',
  properties: {
    durable: { type: 'boolean' },
    auto_delete: { type: 'boolean' },
    arguments: { type: 'object' },
    node: { type: 'string' },
  },
} as const;

const GET_BODY = {
  type: 'object',
  properties: {
    count: { type: 'integer', minimum: 0 },
    ackmode: { type: 'string', enum: ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] },
    encoding: { type: 'string' },
    truncate: { type: 'integer', minimum: 0 },
  },
} as const;

/** /api/queues: list, get, declare (PUT), delete, purge (/contents), get messages (/get), bindings. */
export function registerQueues(app: FastifyInstance, ctx: ApiContext): void {
  function queueOr404(req: FastifyRequest): { v: VirtualHost; q: Queue } {
    const p = req.params as QueueParams;
    const v = vhostOr404(ctx, p.vhost);
    const q = v.queues.get(p.name);
    if (q === undefined) throw notFound();
    return { v, q };
  }

  function* queues(vhosts: VirtualHost[]): Generator<[Queue, VirtualHost]> {
    for (const v of vhosts) for (const q of v.queues.values()) yield [q, v];
  }

  const list = async (req: FastifyRequest, reply: FastifyReply) =>
    sendList(
      req,
      reply,
      queues(vhostsFor(ctx, req)),
      byName(([q, v], stats) => queueJson(q, v, ctx, stats), ([q, v]) => ({ vhost: v.name, name: q.name })),
    );
  app.get('/api/queues', list);
  app.get('/api/queues/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, list);

  const one = { config: { access: 'vhost' as const }, schema: { params: paramsSchema('vhost', 'name') } };

  app.get('/api/queues/:vhost/:name', one, async (req, reply) => {
    const { v, q } = queueOr404(req);
    const stats = (req.query as { disable_stats?: string }).disable_stats !== 'true';
    const out = queueJson(q, v, ctx, stats);
    if (stats) {
      out['consumer_details'] = q.consumers.map((c) => consumerJson(c, v, ctx));
      out['deliveries'] = [];
      out['incoming'] = [];
    }
    return sendOne(req, reply, out);
  });

  app.put('/api/queues/:vhost/:name', { ...one, schema: { ...one.schema, body: DECLARE_BODY } }, async (req, reply) => {
    const p = req.params as QueueParams;
    const v = vhostOr404ForPut(ctx, p.vhost);
    const body = req.body as { durable?: boolean; auto_delete?: boolean; arguments?: unknown };
    if (p.name.startsWith('amq.')) throw new ChannelError(403, `queue name '${p.name}' contains reserved prefix 'amq.*'`);
    const { created: isNew } = v.declareQueue(
      { name: p.name, durable: body.durable ?? false, exclusive: false, autoDelete: body.auto_delete ?? false, args: jsonToTable(body.arguments) },
      HTTP_OWNER,
    );
    return created(reply, isNew);
  });

  app.delete('/api/queues/:vhost/:name', one, async (req, reply) => {
    const { v, q } = queueOr404(req);
    const query = req.query as Record<string, string>;
    v.checkExclusive(q, HTTP_OWNER);
    if (query['if-empty'] === 'true' && q.messageCount > 0) throw new ChannelError(406, `${q.resource} not empty`);
    if (query['if-unused'] === 'true' && q.consumerCount > 0) throw new ChannelError(406, `${q.resource} in use`);
    v.deleteQueue(q);
    return reply.code(204).send();
  });

  app.delete('/api/queues/:vhost/:name/contents', one, async (req, reply) => {
    const { v, q } = queueOr404(req);
    v.checkExclusive(q, HTTP_OWNER);
    q.purge();
    return reply.code(204).send();
  });

  app.post('/api/queues/:vhost/:name/get', { ...one, schema: { ...one.schema, body: GET_BODY } }, async (req, reply) => {
    const { v, q } = queueOr404(req);
    const b = req.body as { count?: number; ackmode?: AckMode; encoding?: string; truncate?: number };
    const missing = (['ackmode', 'count', 'encoding'] as const).filter((k) => b[k] === undefined);
    if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
    if (b.encoding !== 'auto' && b.encoding !== 'base64') throw badRequest('Unsupported encoding. Please use auto or base64.');
    v.checkExclusive(q, HTTP_OWNER);
    const messages = getMessages(v, q, b.count!, b.ackmode!, b.encoding as Encoding, b.truncate ?? null);
    return sendOne(req, reply, messages);
  });

  app.get('/api/queues/:vhost/:name/bindings', one, async (req, reply) => {
    const { v, q } = queueOr404(req);
    const mine = [...bindingsOf(v)].filter((b) => b.destinationType === 'queue' && b.destination === q.name);
    return sendList(req, reply, mine, plain(bindingJson, BINDING_SORT));
  });
}
