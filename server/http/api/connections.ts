import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Channel } from '../../connection/channel.js';
import type { Connection } from '../../connection/connection.js';
import type { Consumer } from '../../queue/consumer.js';
import type { VirtualHost } from '../../vhost/vhost.js';
import { isAdmin, isMonitor, type HttpUser } from '../auth.js';
import { notAuthorised, notFound } from '../errors.js';
import { channelJson, connectionJson } from '../format-connections.js';
import { channelName, consumerJson } from '../format-objects.js';
import { byName, plain, sendList, sendOne, VHOST_PARAMS, vhostsFor, type ApiContext } from '../api-context.js';

/** /api/connections, /api/channels and /api/consumers. */
export function registerConnections(app: FastifyInstance, ctx: ApiContext): void {
  /** Open connections (past connection.open) a user may see: all for monitors, else its own. */
  function connections(req: FastifyRequest, vhost?: VirtualHost): Connection[] {
    const out: Connection[] = [];
    for (const c of ctx.broker.connections) {
      if (c.vhost === undefined || (vhost !== undefined && c.vhost !== vhost)) continue;
      if (!isMonitor(req.user) && c.user !== req.user.name) continue;
      out.push(c);
    }
    return out;
  }

  function* channels(conns: Iterable<Connection>): Generator<Channel> {
    for (const c of conns) yield* c.channelList();
  }

  function connectionOr404(req: FastifyRequest): Connection {
    const name = (req.params as { name: string }).name;
    for (const c of ctx.broker.connections) if (c.vhost !== undefined && c.name === name) return c;
    throw notFound();
  }

  // A user sees and closes its own connections; monitors see all, administrators close all.
  function mayUse(user: HttpUser, c: Connection, del: boolean): void {
    if (c.user === user.name || (del ? isAdmin(user) : isMonitor(user))) return;
    throw notAuthorised('User not authorised to access object');
  }

  const nameParams = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
  const connectionList = byName<Connection>((c) => connectionJson(c, ctx), (c) => ({ vhost: c.vhost.name, name: c.name }));
  const channelList = byName<Channel>((ch) => channelJson(ch, ctx), (ch) => ({ vhost: (ch.session as Connection).vhost.name, name: channelName(ch) }));

  app.get('/api/connections', async (req, reply) => sendList(req, reply, connections(req), connectionList));
  app.get('/api/vhosts/:vhost/connections', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, async (req, reply) =>
    sendList(req, reply, connections(req, vhostsFor(ctx, req)[0]), connectionList),
  );

  app.get('/api/connections/:name', { schema: { params: nameParams } }, async (req, reply) => {
    const c = connectionOr404(req);
    mayUse(req.user, c, false);
    return sendOne(req, reply, connectionJson(c, ctx, true));
  });

  app.delete('/api/connections/:name', { schema: { params: nameParams } }, async (req, reply) => {
    const c = connectionOr404(req);
    mayUse(req.user, c, true);
    const header = req.headers['x-reason'];
    const reason = typeof header === 'string' ? header : 'Closed via management plugin';
    ctx.broker.log.info({ conn: c.name, user: req.user.name, reason }, 'connection closed through the management API');
    c.closeForced(reason);
    return reply.code(204).send();
  });

  app.get('/api/connections/:name/channels', { schema: { params: nameParams } }, async (req, reply) => {
    const c = connectionOr404(req);
    mayUse(req.user, c, false);
    return sendList(req, reply, c.channelList(), channelList);
  });

  app.get('/api/channels', async (req, reply) => sendList(req, reply, channels(connections(req)), channelList));
  app.get('/api/vhosts/:vhost/channels', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, async (req, reply) =>
    sendList(req, reply, channels(connections(req, vhostsFor(ctx, req)[0])), channelList),
  );

  app.get('/api/channels/:name', { schema: { params: nameParams } }, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    for (const ch of channels(connections(req))) {
      if (channelName(ch) === name) return sendOne(req, reply, channelJson(ch, ctx, true));
    }
    throw notFound();
  });

  function* consumers(vhosts: Iterable<VirtualHost>): Generator<[Consumer, VirtualHost]> {
    for (const v of vhosts) for (const q of v.queues.values()) for (const c of q.consumers) yield [c, v];
  }
  const consumerList = async (req: FastifyRequest, reply: import('fastify').FastifyReply) =>
    sendList(req, reply, consumers(vhostsFor(ctx, req, true)), plain(([c, v]) => consumerJson(c, v, ctx), ['queue.vhost', 'queue.name', 'consumer_tag']));
  app.get('/api/consumers', consumerList);
  app.get('/api/consumers/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, consumerList);
}
