import type { FastifyInstance } from 'fastify';
import { isMonitor } from '../auth.js';
import { notFound } from '../errors.js';
import { nodeJson, overviewJson } from '../node-info.js';
import { Totals, totalsByVhost } from '../totals.js';
import { plain, sendList, sendOne, visibleVhosts, type ApiContext } from '../api-context.js';

/** /api/overview, /api/cluster-name, /api/nodes, /api/whoami, /api/extensions. */
export function registerOverview(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/overview', async (req, reply) => {
    const { byVhost, node } = totalsByVhost(ctx.broker);
    let t = node;
    // Users who are not monitors see the totals of their own vhosts only, as in RabbitMQ.
    if (!isMonitor(req.user)) {
      t = new Totals();
      for (const v of visibleVhosts(ctx, req.user)) {
        const vt = byVhost.get(v);
        if (vt === undefined) continue;
        t.messages.add(vt.messages);
        t.ready += vt.ready;
        t.unacked += vt.unacked;
        t.queues += vt.queues;
        t.exchanges += vt.exchanges;
        t.connections += vt.connections;
        t.channels += vt.channels;
        t.consumers += vt.consumers;
      }
    }
    return sendOne(req, reply, overviewJson(ctx, t, node));
  });

  app.get('/api/cluster-name', async (req, reply) => sendOne(req, reply, { name: String(ctx.broker.serverProperties['cluster_name']) }));

  app.get('/api/nodes', { config: { access: 'monitor' } }, async (req, reply) => {
    const { node } = totalsByVhost(ctx.broker);
    return sendList(req, reply, [nodeJson(ctx, node)], plain((n) => n));
  });

  app.get(
    '/api/nodes/:node',
    { config: { access: 'monitor' }, schema: { params: { type: 'object', properties: { node: { type: 'string' } }, required: ['node'] } } },
    async (req, reply) => {
      if ((req.params as { node: string }).node !== ctx.node) throw notFound();
      const { node } = totalsByVhost(ctx.broker);
      return sendOne(req, reply, nodeJson(ctx, node));
    },
  );

  app.get('/api/whoami', async (req, reply) => sendOne(req, reply, { name: req.user.name, tags: [...req.user.tags] }));

  // How the web UI logs in: basic auth, no OAuth 2 (asked before logging in, so open to all).
  app.get('/api/auth', { config: { public: true } }, async (req, reply) => sendOne(req, reply, { enable_uaa: false, uaa_client_id: '', uaa_location: '' }));

  // Warren's management API has no UI plugins to list.
  app.get('/api/extensions', async (req, reply) => sendOne(req, reply, []));
}
