import type { FastifyInstance } from 'fastify';
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isBase64, isHashingAlgorithm } from '../../access/password.js';
import { parseTags, type User } from '../../access/users.js';
import { badRequest, notFound } from '../errors.js';
import { created, paramsSchema, plain, sendList, sendOne, vhostOr404, type ApiContext } from './context.js';

/**
 * /api/users, /api/permissions, /api/topic-permissions and /api/user-limits, over the
 * access-control room, with RabbitMQ's shapes, status codes and refusals. Administrators only.
 */

export function userJson(u: User): Record<string, unknown> {
  return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: { ...u.limits } };
}

const admin = { config: { access: 'admin' as const } };

function keyMissing(body: Record<string, unknown>, keys: string[]): void {
  const missing = keys.filter((k) => body[k] === undefined);
  if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
}

export function registerUsers(app: FastifyInstance, ctx: ApiContext): void {
  const access = () => ctx.broker.access;
  const userOr404 = (name: string): User => {
    const u = access().users.get(name);
    if (u === undefined) throw notFound();
    return u;
  };
  const userAndVhost = (user: string, vhost: string): void => {
    if (!access().users.has(user) || !ctx.broker.vhosts.has(vhost)) throw badRequest('vhost_or_user_not_found');
  };
  const userParams = { ...admin, schema: { params: paramsSchema('user') } };
  const pairParams = { ...admin, schema: { params: paramsSchema('vhost', 'user') } };

  // ---- users ----
  app.get('/api/users', admin, async (req, reply) => sendList(req, reply, access().users.values(), plain(userJson, ['name'])));
  app.get('/api/users/:user', userParams, async (req, reply) => sendOne(req, reply, userJson(userOr404((req.params as { user: string }).user))));
  app.put('/api/users/:user', userParams, async (req, reply) => {
    const name = (req.params as { user: string }).user;
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.tags === undefined) throw badRequest('tags_not_present');
    const old = access().users.get(name);
    // As rabbit_auth_backend_internal:put_user: a password is hashed with the default
    // algorithm (a hashing_algorithm beside it is ignored), a hash is kept with its
    // algorithm, and neither leaves the user without a password.
    let hashingAlgorithm = DEFAULT_HASHING_ALGORITHM;
    let passwordHash = '';
    if (typeof b.password === 'string') {
      passwordHash = hashPassword(b.password, hashingAlgorithm);
    } else if (typeof b.password_hash === 'string') {
      if (!isBase64(b.password_hash)) throw badRequest(['not_base64', b.password_hash]);
      passwordHash = b.password_hash;
      if (b.hashing_algorithm !== undefined) {
        if (!isHashingAlgorithm(b.hashing_algorithm)) throw badRequest(`Unknown password hashing algorithm: ${String(b.hashing_algorithm)}`);
        hashingAlgorithm = b.hashing_algorithm;
      }
    }
    const user: User = { name, passwordHash, hashingAlgorithm, tags: parseTags(b.tags), limits: old?.limits ?? {} };
    access().putUser(user);
    return created(reply, old === undefined);
  });
  app.delete('/api/users/:user', userParams, async (req, reply) => {
    const name = (req.params as { user: string }).user;
    userOr404(name);
    access().deleteUser(name);
    return reply.code(204).send();
  });
  app.get('/api/users/:user/permissions', userParams, async (req, reply) => {
    const user = userOr404((req.params as { user: string }).user).name;
    return sendList(req, reply, access().listPermissions({ user }), plain((p) => ({ ...p }), ['vhost', 'user']));
  });
  app.get('/api/users/:user/topic-permissions', userParams, async (req, reply) => {
    const user = userOr404((req.params as { user: string }).user).name;
    return sendList(req, reply, access().listTopicPermissions({ user }), plain((p) => ({ ...p }), ['vhost', 'user']));
  });

  // ---- permissions ----
  app.get('/api/permissions', admin, async (req, reply) => sendList(req, reply, access().listPermissions(), plain((p) => ({ ...p }), ['vhost', 'user'])));
  app.get('/api/vhosts/:vhost/permissions', { ...admin, schema: { params: paramsSchema('vhost') } }, async (req, reply) => {
    const vhost = vhostOr404(ctx, (req.params as { vhost: string }).vhost).name;
    return sendList(req, reply, access().listPermissions({ vhost }), plain((p) => ({ ...p }), ['vhost', 'user']));
  });
  app.get('/api/permissions/:vhost/:user', pairParams, async (req, reply) => {
    const { vhost, user } = req.params as { vhost: string; user: string };
    const p = access().listPermissions({ user, vhost })[0];
    if (p === undefined) throw notFound();
    return sendOne(req, reply, p);
  });
  app.put('/api/permissions/:vhost/:user', pairParams, async (req, reply) => {
    const { vhost, user } = req.params as { vhost: string; user: string };
    const b = (req.body ?? {}) as Record<string, unknown>;
    keyMissing(b, ['configure', 'write', 'read']);
    userAndVhost(user, vhost);
    const existed = access().listPermissions({ user, vhost }).length > 0;
    access().setPermissions(user, vhost, { configure: b.configure, write: b.write, read: b.read });
    return created(reply, !existed);
  });
  app.delete('/api/permissions/:vhost/:user', pairParams, async (req, reply) => {
    const { vhost, user } = req.params as { vhost: string; user: string };
    if (access().listPermissions({ user, vhost }).length === 0) throw notFound();
    access().clearPermissions(user, vhost);
    return reply.code(204).send();
  });

  // ---- topic permissions ----
  const topicList = (filter: { user?: string; vhost?: string }) => access().listTopicPermissions(filter);
  app.get('/api/topic-permissions', admin, async (req, reply) => sendList(req, reply, topicList({}), plain((p) => ({ ...p }), ['vhost', 'user'])));
  app.get('/api/vhosts/:vhost/topic-permissions', { ...admin, schema: { params: paramsSchema('vhost') } }, async (req, reply) => {
    const vhost = vhostOr404(ctx, (req.params as { vhost: string }).vhost).name;
    return sendList(req, reply, topicList({ vhost }), plain((p) => ({ ...p }), ['vhost', 'user']));
  });
  app.get('/api/topic-permissions/:vhost/:user', pairParams, async (req, reply) => {
    const { vhost, user } = req.params as { vhost: string; user: string };
    const list = topicList({ user, vhost });
    if (list.length === 0) throw notFound();
    return sendList(req, reply, list, plain((p) => ({ ...p }), ['vhost', 'user']));
  });
  app.put('/api/topic-permissions/:vhost/:user', pairParams, async (req, reply) => {
    const { vhost, user } = req.params as { vhost: string; user: string };
    const b = (req.body ?? {}) as Record<string, unknown>;
    keyMissing(b, ['exchange', 'write', 'read']);
    userAndVhost(user, vhost);
    const existed = topicList({ user, vhost }).some((p) => p.exchange === b.exchange);
    access().setTopicPermissions(user, vhost, { exchange: String(b.exchange), write: String(b.write), read: String(b.read) });
    return created(reply, !existed);
  });
  app.delete('/api/topic-permissions/:vhost/:user', pairParams, async (req, reply) => {
    const { vhost, user } = req.params as { vhost: string; user: string };
    if (topicList({ user, vhost }).length === 0) throw notFound();
    access().clearTopicPermissions(user, vhost);
    return reply.code(204).send();
  });

  // ---- user limits ----
  const limitsOf = (users: Iterable<User>) => [...users].filter((u) => Object.keys(u.limits).length > 0).map((u) => ({ user: u.name, value: { ...u.limits } }));
  app.get('/api/user-limits', admin, async (_req, reply) => reply.type('application/json').send(JSON.stringify(limitsOf(access().users.values()))));
  app.get('/api/user-limits/:user', userParams, async (req, reply) => {
    const u = userOr404((req.params as { user: string }).user);
    return reply.type('application/json').send(JSON.stringify(limitsOf([u])));
  });
  const limitParams = { ...admin, schema: { params: paramsSchema('user', 'name') } };
  app.put('/api/user-limits/:user/:name', limitParams, async (req, reply) => {
    const { user, name } = req.params as { user: string; name: string };
    const b = (req.body ?? {}) as Record<string, unknown>;
    userOr404(user);
    keyMissing(b, ['value']);
    access().setUserLimits(user, { [name]: b.value });
    return reply.code(204).send();
  });
  app.delete('/api/user-limits/:user/:name', limitParams, async (req, reply) => {
    const { user, name } = req.params as { user: string; name: string };
    userOr404(user);
    if (name === 'max-connections' || name === 'max-channels') access().clearUserLimits(user, name);
    return reply.code(204).send();
  });
}

