import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChannelError } from '../../../amqp/errors.js';
import type { VirtualHost } from '../../vhost/vhost.js';
import { badRequest, notFound } from '../errors.js';
import { argsHash, jsonToTable, packBindingProps, quotePlus, unpackBindingProps } from '../format.js';
import { bindingJson, bindingsOf, type BindingView } from '../format-objects.js';
import { HTTP_OWNER } from '../messages.js';
import { paramsSchema, plain, sendList, sendOne, VHOST_PARAMS, vhostOr404, vhostsFor, type ApiContext } from '../api-context.js';
import { BINDING_SORT, exchangeName } from './exchanges.js';

const BINDINGS = plain(bindingJson, BINDING_SORT);

interface PairParams {
  vhost: string;
  source: string;
  destination: string;
  props?: string;
}

const BIND_BODY = {
  type: 'object',
  properties: { routing_key: { type: 'string' }, arguments: { type: 'object' } },
} as const;

/**
 * /api/bindings: every binding (the default exchange's implicit ones included), the
 * bindings between an exchange and a queue (/e/{x}/q/{q}) or two exchanges (/e/{x}/e/{y}),
 * creating one (POST, answered with its properties key in `Location`) and deleting one by
 * that key.
 */
export function registerBindings(app: FastifyInstance, ctx: ApiContext): void {
  function* all(vhosts: VirtualHost[]): Generator<BindingView> {
    for (const v of vhosts) yield* bindingsOf(v);
  }
  const list = async (req: FastifyRequest, reply: FastifyReply) => sendList(req, reply, all(vhostsFor(ctx, req)), BINDINGS);
  app.get('/api/bindings', list);
  app.get('/api/bindings/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, list);

  for (const dtype of ['q', 'e'] as const) {
    const kind = dtype === 'q' ? 'queue' : 'exchange';
    const base = `/api/bindings/:vhost/e/:source/${dtype}/:destination`;
    const pairOpts = { config: { access: 'vhost' as const }, schema: { params: paramsSchema('vhost', 'source', 'destination') } };

    const between = (req: FastifyRequest): { v: VirtualHost; list: BindingView[] } => {
      const p = req.params as PairParams;
      const v = vhostOr404(ctx, p.vhost);
      const source = exchangeName(p.source);
      if (!v.exchanges.has(source)) throw notFound();
      const exists = dtype === 'q' ? v.queues.has(p.destination) : v.exchanges.has(exchangeName(p.destination));
      if (!exists) throw notFound();
      const dest = dtype === 'q' ? p.destination : exchangeName(p.destination);
      const list = [...bindingsOf(v)].filter((b) => b.source === source && b.destinationType === kind && b.destination === dest);
      return { v, list };
    };

    app.get(base, pairOpts, async (req, reply) => sendList(req, reply, between(req).list, BINDINGS));

    app.post(base, { ...pairOpts, schema: { ...pairOpts.schema, body: BIND_BODY } }, async (req, reply) => {
      const p = req.params as PairParams;
      const v = vhostOr404(ctx, p.vhost);
      const body = req.body as { routing_key?: string; arguments?: unknown };
      const key = body.routing_key ?? '';
      const args = jsonToTable(body.arguments);
      const src = v.exchangeOrDie(exchangeName(p.source));
      if (dtype === 'q') {
        if (src.name === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
        v.bindQueue(v.queueOrDie(p.destination, HTTP_OWNER), src, key, args);
      } else {
        v.bindExchange(v.exchangeOrDie(exchangeName(p.destination)), src, key, args);
      }
      const location = `${quotePlus(p.destination, true)}/${quotePlus(packBindingProps(key, args), true)}`;
      return reply.code(201).header('location', location).send();
    });

    const oneOpts = {
      config: { access: 'vhost' as const },
      schema: { params: paramsSchema('vhost', 'source', 'destination', 'props') },
    };

    const findOne = (req: FastifyRequest): { v: VirtualHost; b: BindingView } => {
      const { v, list } = between(req);
      const props = (req.params as PairParams).props!;
      const wanted = unpackBindingProps(props);
      if (wanted === null) throw badRequest(['too_many_tokens', props]);
      const b = list.find(
        (b) =>
          packBindingProps(b.routingKey, b.args) === props ||
          (b.routingKey === wanted.key && (wanted.hash === null ? Object.keys(b.args).length === 0 : argsHash(b.args) === wanted.hash)),
      );
      if (b === undefined) throw notFound();
      return { v, b };
    };

    app.get(`${base}/:props`, oneOpts, async (req, reply) => sendOne(req, reply, bindingJson(findOne(req).b)));

    app.delete(`${base}/:props`, oneOpts, async (req, reply) => {
      const { v, b } = findOne(req);
      const src = v.exchangeOrDie(b.source);
      if (dtype === 'q') v.unbindQueue(v.queueOrDie(b.destination, HTTP_OWNER), src, b.routingKey, b.args, HTTP_OWNER);
      else v.unbindExchange(v.exchangeOrDie(b.destination), src, b.routingKey, b.args);
      return reply.code(204).send();
    });
  }
}
