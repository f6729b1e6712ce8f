import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ChannelError } from '../../../amqp/errors.js';
import type { Exchange } from '../../vhost/exchange.js';
import type { VirtualHost } from '../../vhost/vhost.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { jsonToProperties, jsonToTable } from '../format.js';
import { bindingJson, bindingsOf, exchangeJson } from '../format-objects.js';
import { publish } from '../messages.js';
import { byName, created, paramsSchema, plain, sendList, sendOne, VHOST_PARAMS, vhostOr404, vhostsFor, type ApiContext } from '../api-context.js';

/** The exchange name in a path: amq.default stands for the default exchange ''. */
export function exchangeName(name: string): string {
  return name === 'amq.default' ? '' : name;
}

interface ExchangeParams {
  vhost: string;
  name: string;
}

const DECLARE_BODY = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    durable: { type: 'boolean' },
    auto_delete: { type: 'boolean' },
    internal: { type: 'boolean' },
    arguments: { type: 'object' },
  },
} as const;

const PUBLISH_BODY = {
  type: 'object',
  properties: {
    properties: { type: ['object', 'array'] },
    routing_key: { type: 'string' },
    payload: { type: 'string' },
    payload_encoding: { type: 'string', enum: ['string', 'base64'] },
  },
} as const;

/** /api/exchanges: list, get, declare (PUT), delete, publish, and an exchange's bindings. */
export function registerExchanges(app: FastifyInstance, ctx: ApiContext): void {
  function exchangeOr404(req: FastifyRequest): { v: VirtualHost; x: Exchange } {
    const p = req.params as ExchangeParams;
    const v = vhostOr404(ctx, p.vhost);
    const x = v.exchanges.get(exchangeName(p.name));
    if (x === undefined) throw notFound();
    return { v, x };
  }

  function* exchanges(vhosts: VirtualHost[]): Generator<[Exchange, VirtualHost]> {
    for (const v of vhosts) for (const x of v.exchanges.values()) yield [x, v];
  }

  const list = async (req: FastifyRequest, reply: import('fastify').FastifyReply) =>
    sendList(
      req,
      reply,
      exchanges(vhostsFor(ctx, req)),
      byName(([x, v], stats) => exchangeJson(x, v, ctx, stats), ([x, v]) => ({ vhost: v.name, name: x.name })),
    );
  app.get('/api/exchanges', list);
  app.get('/api/exchanges/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, list);

  const one = { config: { access: 'vhost' as const }, schema: { params: paramsSchema('vhost', 'name') } };

  app.get('/api/exchanges/:vhost/:name', one, async (req, reply) => {
    const { v, x } = exchangeOr404(req);
    const q = req.query as { disable_stats?: string };
    const out = exchangeJson(x, v, ctx, q.disable_stats !== 'true');
    if (q.disable_stats !== 'true') {
      out['incoming'] = [];
      out['outgoing'] = [];
    }
    return sendOne(req, reply, out);
  });

  app.put('/api/exchanges/:vhost/:name', { ...one, schema: { ...one.schema, body: DECLARE_BODY } }, async (req, reply) => {
    const p = req.params as ExchangeParams;
    const v = vhostOr404ForPut(ctx, p.vhost);
    const body = req.body as { type?: string; durable?: boolean; auto_delete?: boolean; internal?: boolean; arguments?: unknown };
    const name = exchangeName(p.name);
    // The default exchange cannot be declared: RabbitMQ refuses it as access refused.
    if (name === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
    const existed = v.exchanges.has(name);
    v.declareExchange(
      {
        name,
        type: body.type ?? 'direct',
        durable: body.durable ?? false,
        autoDelete: body.auto_delete ?? false,
        internal: body.internal ?? false,
        args: jsonToTable(body.arguments),
        user: req.user.name,
      },
      false,
    );
    return created(reply, !existed);
  });

  app.delete('/api/exchanges/:vhost/:name', one, async (req, reply) => {
    const { v, x } = exchangeOr404(req);
    const ifUnused = (req.query as Record<string, string>)['if-unused'] === 'true';
    v.deleteExchange(x.name, ifUnused);
    return reply.code(204).send();
  });

  app.post('/api/exchanges/:vhost/:name/publish', { ...one, schema: { ...one.schema, body: PUBLISH_BODY } }, async (req, reply) => {
    const p = req.params as ExchangeParams;
    const v = vhostOr404(ctx, p.vhost);
    const b = req.body as { properties?: unknown; routing_key?: string; payload?: string; payload_encoding?: string };
    const missing = (['properties', 'routing_key', 'payload', 'payload_encoding'] as const).filter((k) => b[k] === undefined);
    if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
    const body = b.payload_encoding === 'base64' ? Buffer.from(b.payload!, 'base64') : Buffer.from(b.payload!, 'utf8');
    const routed = publish(v, exchangeName(p.name), b.routing_key!, jsonToProperties(b.properties), body, req.user.name);
    return sendOne(req, reply, { routed });
  });

  app.get('/api/exchanges/:vhost/:name/bindings/source', one, async (req, reply) => {
    const { v, x } = exchangeOr404(req);
    return sendList(req, reply, [...bindingsOf(v)].filter((b) => b.source === x.name), plain(bindingJson, BINDING_SORT));
  });

  app.get('/api/exchanges/:vhost/:name/bindings/destination', one, async (req, reply) => {
    const { v, x } = exchangeOr404(req);
    return sendList(
      req,
      reply,
      [...bindingsOf(v)].filter((b) => b.destinationType === 'exchange' && b.destination === x.name),
      plain(bindingJson, BINDING_SORT),
    );
  });
}

/** How the plugin sorts bindings by default ("type" names no field, so it sorts nothing). */
export const BINDING_SORT = ['vhost', 'source', 'type', 'destination', 'routing_key', 'properties_key'] as const;

/** A PUT into a vhost that does not exist: 404 vhost_not_found, as the plugin answers. */
export function vhostOr404ForPut(ctx: ApiContext, name: string): VirtualHost {
  const v = ctx.broker.vhosts.get(name);
  if (v === undefined) throw new HttpError(404, 'not_found', 'vhost_not_found');
  return v;
}
