import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.js';
import { paramsSchema, plain, sendList, VHOST_PARAMS, visibleVhosts, type ApiContext } from '../api-context.js';

/**
 * The shovel management plugin's routes: GET /api/shovels[/{vhost}] (status, with
 * RabbitMQ's fields), DELETE /api/shovels/vhost/{vhost}/{name} (deletes the shovel: clears
 * its parameter) and DELETE …/restart (stops it and starts it again). As in RabbitMQ they
 * need the monitoring tag, and list only the shovels of vhosts the user can see.
 */
export function registerShovels(app: FastifyInstance, ctx: ApiContext): void {
  const shovels = ctx.broker.shovels;
  const monitor = { config: { access: 'monitor' as const } };
  const list = async (req: FastifyRequest, reply: FastifyReply) => {
    const vhost = (req.params as { vhost?: string }).vhost;
    const seen = new Set(visibleVhosts(ctx, req.user, true).map((v) => v.name));
    const rows = shovels.status(vhost).filter((s) => seen.has(s.vhost));
    return sendList(req, reply, rows, plain((s) => ({ ...s }), ['vhost', 'name']));
  };
  app.get('/api/shovels', monitor, list);
  app.get('/api/shovels/:vhost', { ...monitor, schema: { params: VHOST_PARAMS } }, list);

  const one = { ...monitor, schema: { params: paramsSchema('vhost', 'name') } };
  app.delete('/api/shovels/vhost/:vhost/:name', one, async (req, reply) => {
    const p = req.params as { vhost: string; name: string };
    if (shovels.get(p.vhost, p.name) === undefined) throw notFound();
    ctx.broker.access.clearParameter(p.vhost, 'shovel', p.name);
    ctx.broker.log.info({ vhost: p.vhost, shovel: p.name, user: req.user.name }, 'shovel deleted through the management API');
    return reply.code(204).send();
  });
  app.delete('/api/shovels/vhost/:vhost/:name/restart', one, async (req, reply) => {
    const p = req.params as { vhost: string; name: string };
    if (!shovels.restart(p.vhost, p.name)) throw notFound();
    return reply.code(204).send();
  });
}
