import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors.js';
import { vhostJson } from '../format-objects.js';
import { totalsByVhost } from '../totals.js';
import { created, plain, sendList, sendOne, VHOST_PARAMS, vhostOr404, visibleVhosts, type ApiContext } from '../api-context.js';

const VHOST_BODY = {
  type: 'object',
  properties: {
    description: { type: 'string' },
    tags: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    default_queue_type: { type: 'string' },
    tracing: { type: 'boolean' },
  },
} as const;

function tagList(t: string | string[] | undefined): string[] {
  if (t === undefined) return [];
  const list = Array.isArray(t) ? t : t.split(',');
  return list.map((s) => s.trim()).filter((s) => s !== '');
}

/** /api/vhosts: list (with message totals), get, create or update (PUT), delete. */
export function registerVhosts(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/vhosts', async (req, reply) => {
    const q = req.query as { disable_stats?: string };
    const totals = q.disable_stats === 'true' ? null : totalsByVhost(ctx.broker).byVhost;
    return sendList(req, reply, visibleVhosts(ctx, req.user), plain((v) => vhostJson(v, totals?.get(v) ?? null, ctx)));
  });

  const one = { config: { access: 'admin' as const }, schema: { params: VHOST_PARAMS } };

  app.get('/api/vhosts/:vhost', one, async (req, reply) => {
    const v = vhostOr404(ctx, (req.params as { vhost: string }).vhost);
    const q = req.query as { disable_stats?: string };
    const t = q.disable_stats === 'true' ? null : (totalsByVhost(ctx.broker).byVhost.get(v) ?? null);
    return sendOne(req, reply, vhostJson(v, t, ctx));
  });

  app.put('/api/vhosts/:vhost', { ...one, schema: { ...one.schema, body: VHOST_BODY } }, async (req, reply) => {
    const name = (req.params as { vhost: string }).vhost;
    const body = req.body as { description?: string; tags?: string | string[] };
    const existed = ctx.broker.vhosts.has(name);
    ctx.broker.access.addVhost(name, { description: body.description ?? '', tags: tagList(body.tags) });
    if (!existed) {
      // As RabbitMQ's management API does: whoever creates a vhost may use it.
      if (ctx.broker.access.users.has(req.user.name)) {
        ctx.broker.access.setPermissions(req.user.name, name, { configure: '.*', write: '.*', read: '.*' });
      }
      ctx.broker.log.info({ vhost: name, user: req.user.name }, 'vhost created through the management API');
    }
    return created(reply, !existed);
  });

  app.delete('/api/vhosts/:vhost', one, async (req, reply) => {
    const name = (req.params as { vhost: string }).vhost;
    if (!ctx.broker.vhosts.has(name)) throw notFound();
    ctx.broker.access.deleteVhost(name);
    ctx.broker.log.info({ vhost: name, user: req.user.name }, 'vhost deleted through the management API');
    return reply.code(204).send();
  });
}
