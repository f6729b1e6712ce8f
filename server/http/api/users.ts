import type { FastifyInstance, FastifyRequest } from 'fastify';
import { putUser, type UserPut } from '../../access/user-updates.js';
import { userToJson, validateUserLimits, type UserLimits } from '../../access/users.js';
import { badRequest, notFound } from '../errors.js';
import type { Json } from '../listing.js';
import { created, paramsSchema, requireJson, requireKeys, sendOne, sendUnpaged, type ApiContext } from '../api-context.js';

/** How the plugin sorts permission lists: by vhost, then user. */
export const PERMISSION_SORT = ['vhost', 'user'] as const;

/**
 * /api/users (list, without-permissions, get, PUT, DELETE, bulk-delete), a user's
 * permissions and topic permissions, and /api/user-limits: administrators only, except
 * the list of user limits, which any management user may read (as in RabbitMQ 3.10).
 */
export function registerUsers(app: FastifyInstance, ctx: ApiContext): void {
  const access = ctx.broker.access;
  const admin = { config: { access: 'admin' as const } };
  const userParams = { ...admin, schema: { params: paramsSchema('user') } };
  const userName = (req: FastifyRequest): string => (req.params as { user: string }).user;
  const userOr404 = (req: FastifyRequest) => {
    const u = access.users.get(userName(req));
    if (u === undefined) throw notFound();
    return u;
  };
  const allUsers = (): Json[] => [...access.users.values()].map(userToJson);

  app.get('/api/users', admin, async (req, reply) => sendUnpaged(req, reply, allUsers(), ['vhost', 'name']));

  app.get('/api/users/without-permissions', admin, async (req, reply) => {
    const withPermissions = new Set(access.listPermissions().map((p) => p.user));
    return sendUnpaged(
      req,
      reply,
      allUsers().filter((u) => !withPermissions.has(u['name'] as string)),
      ['vhost', 'name'],
    );
  });

  app.post('/api/users/bulk-delete', admin, async (req, reply) => {
    const { users } = requireKeys(req.body, ['users']);
    if (!Array.isArray(users)) throw badRequest('users must be a list of user names');
    // As RabbitMQ: one by one, stopping at the first user that does not exist.
    for (const name of users) {
      access.deleteUser(String(name));
      ctx.broker.log.info({ user: String(name), by: req.user.name }, 'user deleted through the management API');
    }
    return reply.code(204).send();
  });

  app.get('/api/users/:user', userParams, async (req, reply) => sendOne(req, reply, userToJson(userOr404(req))));

  app.put('/api/users/:user', userParams, async (req, reply) => {
    const name = userName(req);
    const isNew = putUser(access, name, (req.body ?? {}) as UserPut);
    return created(reply, isNew);
  });

  app.delete('/api/users/:user', userParams, async (req, reply) => {
    const u = userOr404(req);
    access.deleteUser(u.name);
    ctx.broker.log.info({ user: u.name, by: req.user.name }, 'user deleted through the management API');
    return reply.code(204).send();
  });

  app.get('/api/users/:user/permissions', userParams, async (req, reply) => {
    const u = userOr404(req);
    return sendUnpaged(req, reply, access.listPermissions({ user: u.name }) as unknown as Json[], PERMISSION_SORT);
  });

  app.get('/api/users/:user/topic-permissions', userParams, async (req, reply) => {
    const u = userOr404(req);
    return sendUnpaged(req, reply, access.listTopicPermissions({ user: u.name }) as unknown as Json[], PERMISSION_SORT);
  });

  // ---- user limits ---------------------------------------------------------------------

  const limitsOf = (name: string, limits: UserLimits): Json[] => (Object.keys(limits).length === 0 ? [] : [{ user: name, value: { ...limits } }]);

  app.get('/api/user-limits', async (req, reply) =>
    sendUnpaged(
      req,
      reply,
      [...access.users.values()].flatMap((u) => limitsOf(u.name, u.limits)),
      ['user'],
    ),
  );

  app.get('/api/user-limits/:user', { schema: { params: paramsSchema('user') } }, async (req, reply) => {
    const u = userOr404(req);
    return sendUnpaged(req, reply, limitsOf(u.name, u.limits), ['user']);
  });

  const oneLimit = { ...admin, schema: { params: paramsSchema('user', 'name') } };

  app.put('/api/user-limits/:user/:name', oneLimit, async (req, reply) => {
    requireJson(req);
    const p = req.params as { user: string; name: string };
    const { value } = requireKeys(req.body, ['value']);
    const limit = { [p.name]: value };
    // Checked before the user, as rabbit_auth_backend_internal:set_user_limits does.
    validateUserLimits(limit);
    access.setUserLimits(p.user, limit);
    return reply.code(204).send();
  });

  app.delete('/api/user-limits/:user/:name', oneLimit, async (req, reply) => {
    const p = req.params as { user: string; name: string };
    if (!access.users.has(p.user)) throw notFound();
    access.clearUserLimits(p.user, p.name as keyof UserLimits);
    return reply.code(204).send();
  });

}
