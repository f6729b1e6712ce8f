import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { permissionFrom, TopicPermission } from '../../access/permissions.js';
import { badRequest, notFound } from '../errors.js';
import type { Json } from '../listing.js';
import { created, paramsSchema, requireKeys, sendOne, sendUnpaged, VHOST_PARAMS, vhostOr404, type ApiContext } from '../api-context.js';
import { PERMISSION_SORT } from './users.js';

/** A permission pattern from a request body: RabbitMQ takes strings only (anything else fails there with a 500). */
function pattern(v: unknown, key: string): string {
  if (typeof v !== 'string') throw badRequest(`${key} must be a string (a regular expression)`);
  return v;
}

/**
 * /api/permissions and /api/topic-permissions (all, one user in one vhost: GET, PUT,
 * DELETE) and a vhost's permissions and topic permissions: administrators only.
 */
export function registerPermissions(app: FastifyInstance, ctx: ApiContext): void {
  const access = ctx.broker.access;
  const admin = { config: { access: 'admin' as const } };
  const pair = { ...admin, schema: { params: paramsSchema('vhost', 'user') } };
  const list = (rows: object[]): Json[] => rows as Json[];
  /** A vhost's lists name the vhost first (field order as RabbitMQ's). */
  const vhostFirst = (rows: { vhost: string; user: string }[]): Json[] => rows.map(({ vhost, user, ...rest }) => ({ vhost, user, ...rest }));
  /** The user and vhost of the path when both exist, else null. */
  const both = (req: FastifyRequest): { user: string; vhost: string } | null => {
    const p = req.params as { vhost: string; user: string };
    return access.users.has(p.user) && ctx.broker.vhosts.has(p.vhost) ? p : null;
  };

  app.get('/api/permissions', admin, async (req, reply) => sendUnpaged(req, reply, list(access.listPermissions()), PERMISSION_SORT));

  app.get('/api/permissions/:vhost/:user', pair, async (req, reply) => {
    const p = both(req);
    const perm = p === null ? undefined : access.listPermissions(p)[0];
    if (perm === undefined) throw notFound();
    return sendOne(req, reply, perm);
  });

  app.put('/api/permissions/:vhost/:user', pair, async (req, reply) => {
    const p = both(req);
    if (p === null) throw badRequest('vhost_or_user_not_found');
    const b = requireKeys(req.body, ['configure', 'write', 'read']);
    const perm = permissionFrom({ configure: pattern(b.configure, 'configure'), write: pattern(b.write, 'write'), read: pattern(b.read, 'read') });
    const isNew = access.permissions(p.user, p.vhost) === undefined;
    access.setPermissions(p.user, p.vhost, perm);
    return created(reply, isNew);
  });

  app.delete('/api/permissions/:vhost/:user', pair, async (req, reply) => {
    const p = both(req);
    if (p === null || access.permissions(p.user, p.vhost) === undefined) throw notFound();
    access.clearPermissions(p.user, p.vhost);
    return reply.code(204).send();
  });

  const vhostList = { ...admin, schema: { params: VHOST_PARAMS } };
  app.get('/api/vhosts/:vhost/permissions', vhostList, async (req, reply) => {
    const v = vhostOr404(ctx, (req.params as { vhost: string }).vhost);
    return sendUnpaged(req, reply, vhostFirst(access.listPermissions({ vhost: v.name })), PERMISSION_SORT);
  });

  app.get('/api/vhosts/:vhost/topic-permissions', vhostList, async (req, reply) => {
    const v = vhostOr404(ctx, (req.params as { vhost: string }).vhost);
    return sendUnpaged(req, reply, vhostFirst(access.listTopicPermissions({ vhost: v.name })), PERMISSION_SORT);
  });

  // ---- topic permissions ---------------------------------------------------------------

  app.get('/api/topic-permissions', admin, async (req, reply) => sendUnpaged(req, reply, list(access.listTopicPermissions()), PERMISSION_SORT));

  /** The user's topic permissions in the vhost (every exchange: RabbitMQ ignores an exchange in the path here). */
  const topicOr404 = (req: FastifyRequest) => {
    const p = both(req);
    const tps = p === null ? [] : access.listTopicPermissions(p);
    if (p === null || tps.length === 0) throw notFound();
    return { p, tps };
  };
  const getTopic = async (req: FastifyRequest, reply: FastifyReply) => sendOne(req, reply, topicOr404(req).tps);
  const putTopic = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = both(req);
    if (p === null) throw badRequest('vhost_or_user_not_found');
    const b = requireKeys(req.body, ['exchange', 'write', 'read']);
    if (typeof b.exchange !== 'string') throw badRequest('exchange must be a string');
    const tp = new TopicPermission(b.exchange, pattern(b.write, 'write'), pattern(b.read, 'read'));
    // "Exists" means any topic permission of the user in the vhost, as the plugin's resource_exists.
    const isNew = !access.hasTopicPermissions(p.user, p.vhost);
    access.setTopicPermissions(p.user, p.vhost, tp);
    return created(reply, isNew);
  };
  const three = { ...admin, schema: { params: paramsSchema('vhost', 'user', 'exchange') } };
  app.get('/api/topic-permissions/:vhost/:user', pair, getTopic);
  app.get('/api/topic-permissions/:vhost/:user/:exchange', three, getTopic);
  app.put('/api/topic-permissions/:vhost/:user', pair, putTopic);
  app.put('/api/topic-permissions/:vhost/:user/:exchange', three, putTopic);

  app.delete('/api/topic-permissions/:vhost/:user', pair, async (req, reply) => {
    const { p } = topicOr404(req);
    access.clearTopicPermissions(p.user, p.vhost);
    return reply.code(204).send();
  });

  app.delete('/api/topic-permissions/:vhost/:user/:exchange', three, async (req, reply) => {
    const { p } = topicOr404(req);
    access.clearTopicPermissions(p.user, p.vhost, (req.params as { exchange: string }).exchange);
    return reply.code(204).send();
  });
}
