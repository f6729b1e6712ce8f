import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Connection } from '../../connection/connection.js';
import type { LinkStatusJson } from '../../federation/upstream/link-status.js';
import { notFound } from '../errors.js';
import { channelJson } from '../format-connections.js';
import type { Json } from '../listing.js';
import { paramsSchema, plain, sendList, VHOST_PARAMS, vhostOr404, vhostsFor, type ApiContext } from '../api-context.js';

const MONITOR = { access: 'monitor' as const };

/**
 * The federation plugin's status API (rabbitmq_federation_management): every link with
 * RabbitMQ's fields, each running one with its local channel as /api/channels shows it;
 * `state/down` lists the links that are neither running nor starting. Monitoring users
 * and administrators only, as in RabbitMQ.
 */
export function registerFederation(app: FastifyInstance, ctx: ApiContext): void {
  const spec = plain<LinkStatusJson>((o) => o as Json);
  const list = (downOnly: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const vhosts = new Set(vhostsFor(ctx, req, true).map((v) => v.name));
    const links = ctx.broker.federation.status(ctx.node).filter((l) => vhosts.has(l['vhost'] as string) && (!downOnly || (l['status'] !== 'running' && l['status'] !== 'starting')));
    return sendList(req, reply, links.map(withLocalChannel), spec);
  };
  const withLocalChannel = (l: LinkStatusJson): LinkStatusJson => {
    const name = l['local_connection'];
    if (typeof name !== 'string') return l;
    const conn = [...ctx.broker.connections].find((c: Connection) => c.name === name);
    const ch = conn === undefined ? undefined : [...conn.channelList()][0];
    return ch === undefined ? l : { ...l, local_channel: channelJson(ch, ctx) };
  };
  app.get('/api/federation-links', { config: MONITOR }, list(false));
  app.get('/api/federation-links/state/down', { config: MONITOR }, list(true));
  app.get('/api/federation-links/:vhost', { config: MONITOR, schema: { params: VHOST_PARAMS } }, list(false));
  app.get('/api/federation-links/:vhost/state/down', { config: MONITOR, schema: { params: VHOST_PARAMS } }, list(true));
  app.delete('/api/federation-links/vhost/:vhost/:id/:node/restart', { config: MONITOR, schema: { params: paramsSchema('vhost', 'id', 'node') } }, async (req, reply) => {
    const p = req.params as { vhost: string; id: string; node: string };
    vhostOr404(ctx, p.vhost);
    if (p.node !== ctx.node || !ctx.broker.federation.restart(p.vhost, p.id)) throw notFound();
    ctx.broker.log.info({ vhost: p.vhost, link: p.id, user: req.user.name }, 'federation link restarted through the management API');
    return reply.code(204).send();
  });
}
