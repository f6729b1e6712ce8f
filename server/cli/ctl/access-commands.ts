import { ApiStatusError, seg } from './api.js';
import { attempt, isNotFound, jsonArg, noSuchUser, noSuchVhost, refused, type CommandSpec, type Ctx } from './spec.js';
import { CtlError, EXIT } from './transport.js';

/** Users, vhosts, permissions and limits: rabbitmqctl's user-management commands over the API. */

interface ApiUser {
  name: string;
  password_hash?: string;
  hashing_algorithm?: string;
  tags?: string[] | string;
}

const userPath = (u: string): string => `/api/users/${seg(u)}`;

async function getUser(ctx: Ctx, user: string): Promise<ApiUser> {
  const u = await attempt(ctx.api.find<ApiUser>(userPath(user)));
  if (u === undefined) throw noSuchUser(user);
  return u;
}

function tagText(tags: ApiUser['tags']): string {
  return Array.isArray(tags) ? tags.join(',') : (tags ?? '');
}

/**
 * After the API's "vhost_or_user_not_found" (or a bare 404) on permissions: which of the two
 * is missing, in the words rabbitmqctl's permission commands use.
 */
async function whichIsMissing(ctx: Ctx, user: string): Promise<CtlError | null> {
  if ((await ctx.api.find(`/api/vhosts/${seg(ctx.vhost)}`)) === undefined) return new CtlError(`Virtual host ${ctx.vhost} does not exist`, EXIT.unavailable);
  if ((await ctx.api.find(userPath(user))) === undefined) return new CtlError(`User ${user} does not exist`, EXIT.nouser);
  return null;
}

/** A PUT that names a user in a vhost (permissions, topic permissions). */
async function putForUser(ctx: Ctx, user: string, path: string, body: unknown): Promise<void> {
  try {
    await ctx.api.put(path, body);
  } catch (err) {
    if (err instanceof ApiStatusError && (err.status === 404 || err.reason === 'vhost_or_user_not_found')) {
      const e = await whichIsMissing(ctx, user);
      if (e !== null) throw e;
    }
    refused(err);
  }
}

/** The password argument, or (as rabbitmqctl does) standard input when it is left out. */
function passwordArg(ctx: Ctx, pw: string | undefined): string {
  if (pw !== undefined) return pw;
  const text = ctx.io.readStdin();
  if (text === null) throw new CtlError('not enough arguments: give the password, or pipe it on standard input', EXIT.usage);
  return text.replace(/\r?\n$/, '');
}

/** The limits JSON of set_vhost_limits and set_user_limits: an object. */
function limitsArg(text: string): Record<string, unknown> {
  const v = jsonArg(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CtlError('Validation failed\n\nlimits must be a JSON object', EXIT.unavailable);
  return v as Record<string, unknown>;
}

/** Current limits from /api/vhost-limits/{v} or /api/user-limits/{u} (RabbitMQ gives `[]` for none). */
function limitsOf(list: { value?: unknown }[] | undefined): Record<string, unknown> {
  const v = list?.[0]?.value;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Makes a vhost's or user's limits exactly `wanted`, one limit at a time through the API's
 * per-limit resources (rabbitmqctl sets the whole map at once; the outcome is the same).
 */
async function replaceLimits(ctx: Ctx, base: string, wanted: Record<string, unknown>): Promise<void> {
  const current = limitsOf(await ctx.api.get<{ value?: unknown }[]>(base));
  for (const [k, value] of Object.entries(wanted)) await attempt(ctx.api.put(`${base}/${seg(k)}`, { value }));
  for (const k of Object.keys(current)) if (!(k in wanted)) await attempt(ctx.api.delete(`${base}/${seg(k)}`));
}

export const ACCESS_COMMANDS: CommandSpec[] = [
  {
    name: 'add_user',
    args: '<username> [password]',
    description: 'Creates a new user in the internal database (the password is read from standard input when left out)',
    run: async (ctx, [user, pw]) => {
      const password = passwordArg(ctx, pw);
      ctx.out.banner(`Adding user "${user}" ...`);
      // The API's PUT also updates; rabbitmqctl refuses an existing user.
      if ((await attempt(ctx.api.find(userPath(user!)))) !== undefined) throw new CtlError(`User "${user}" already exists`, EXIT.software);
      await attempt(ctx.api.put(userPath(user!), { password, tags: '' }));
      const done = "Done. Don't forget to grant the user permissions to some virtual hosts! See 'warren ctl help set_permissions' to learn more.";
      if (ctx.out.opts.formatter === 'json') ctx.out.data(JSON.stringify({ message: done, status: 'ok' }));
      else ctx.out.info(done);
    },
  },
  {
    name: 'delete_user',
    args: '<username>',
    description: 'Removes a user from the internal database',
    run: async (ctx, [user]) => {
      ctx.out.banner(`Deleting user "${user}" ...`);
      try {
        await ctx.api.delete(userPath(user!));
      } catch (err) {
        if (isNotFound(err)) throw noSuchUser(user!);
        refused(err);
      }
    },
  },
  {
    name: 'change_password',
    args: '<username> [password]',
    description: "Changes the user's password (read from standard input when left out)",
    run: async (ctx, [user, pw]) => {
      const password = passwordArg(ctx, pw);
      ctx.out.banner(`Changing password for user "${user}" ...`);
      const u = await getUser(ctx, user!);
      await attempt(ctx.api.put(userPath(user!), { password, tags: tagText(u.tags) }));
    },
  },
  {
    name: 'clear_password',
    args: '<username>',
    description: "Clears (resets) password and disables password login for a user",
    run: async (ctx, [user]) => {
      ctx.out.banner(`Clearing password for user "${user}" ...`);
      const u = await getUser(ctx, user!);
      await attempt(ctx.api.put(userPath(user!), { password_hash: '', tags: tagText(u.tags) }));
    },
  },
  {
    name: 'set_user_tags',
    args: '<username> [tags...]',
    description: 'Sets user tags (none clears them)',
    run: async (ctx, [user], list) => {
      ctx.out.banner(`Setting tags for user "${user}" to [${list.join(', ')}] ...`);
      const u = await getUser(ctx, user!);
      // The password stays: the API sets it from the hash it is given back.
      const keep = u.password_hash === undefined ? {} : { password_hash: u.password_hash, hashing_algorithm: u.hashing_algorithm };
      await attempt(ctx.api.put(userPath(user!), { ...keep, tags: list.join(',') }));
    },
  },
  {
    name: 'add_vhost',
    args: '<vhost>',
    description: 'Creates a virtual host',
    options: [
      { flags: '--description <description>', description: 'a description' },
      { flags: '--tags <tags>', description: 'comma-separated tags' },
      { flags: '--default-queue-type <type>', description: 'quorum, classic or stream' },
    ],
    run: async (ctx, [vhost]) => {
      ctx.out.banner(`Adding vhost "${vhost}" ...`);
      const body: Record<string, unknown> = {};
      if (ctx.opts['description'] !== undefined) body['description'] = ctx.opts['description'];
      if (ctx.opts['tags'] !== undefined) body['tags'] = ctx.opts['tags'];
      if (ctx.opts['defaultQueueType'] !== undefined) body['default_queue_type'] = ctx.opts['defaultQueueType'];
      const path = `/api/vhosts/${seg(vhost!)}`;
      const existed = (await attempt(ctx.api.find(path))) !== undefined;
      await attempt(ctx.api.put(path, body));
      // RabbitMQ's API gives the user who creates a vhost full permissions in it; rabbitmqctl
      // gives nobody any, and neither does this command.
      const who = ctx.api.transport.user;
      if (!existed && who !== undefined) {
        try {
          await ctx.api.delete(`/api/permissions/${seg(vhost!)}/${seg(who)}`);
        } catch (err) {
          if (!isNotFound(err)) refused(err);
        }
      }
    },
  },
  {
    name: 'delete_vhost',
    args: '<vhost>',
    description: 'Deletes a virtual host',
    run: async (ctx, [vhost]) => {
      ctx.out.banner(`Deleting vhost "${vhost}" ...`);
      try {
        await ctx.api.delete(`/api/vhosts/${seg(vhost!)}`);
      } catch (err) {
        if (isNotFound(err)) throw noSuchVhost(vhost!);
        refused(err);
      }
    },
  },
  {
    name: 'set_permissions',
    args: '<username> <conf> <write> <read>',
    description: 'Sets user permissions for a vhost',
    run: async (ctx, [user, configure, write, read]) => {
      ctx.out.banner(`Setting permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
      await putForUser(ctx, user!, `/api/permissions/${seg(ctx.vhost)}/${seg(user!)}`, { configure, write, read });
    },
  },
  {
    name: 'clear_permissions',
    args: '<username>',
    description: 'Revokes user permissions for a vhost',
    run: async (ctx, [user]) => {
      ctx.out.banner(`Clearing permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
      try {
        await ctx.api.delete(`/api/permissions/${seg(ctx.vhost)}/${seg(user!)}`);
      } catch (err) {
        if (!isNotFound(err)) refused(err);
        // No permissions to clear is not an error for rabbitmqctl; a missing user or vhost is.
        const e = await whichIsMissing(ctx, user!);
        if (e !== null) throw e;
      }
    },
  },
  {
    name: 'set_topic_permissions',
    args: '<username> <exchange> <write> <read>',
    description: 'Sets user topic permissions for an exchange',
    run: async (ctx, [user, exchange, write, read]) => {
      ctx.out.banner(`Setting topic permissions on "${exchange}" for user "${user}" in vhost "${ctx.vhost}" ...`);
      await putForUser(ctx, user!, `/api/topic-permissions/${seg(ctx.vhost)}/${seg(user!)}`, { exchange, write, read });
    },
  },
  {
    name: 'clear_topic_permissions',
    args: '<username> [exchange]',
    description: 'Clears user topic permissions for a vhost or exchange',
    run: async (ctx, [user, exchange]) => {
      ctx.out.banner(
        exchange === undefined
          ? `Clearing topic permissions for user "${user}" in vhost "${ctx.vhost}" ...`
          : `Clearing topic permissions on "${exchange}" for user "${user}" in vhost "${ctx.vhost}" ...`,
      );
      const path = `/api/topic-permissions/${seg(ctx.vhost)}/${seg(user!)}`;
      // The API clears a user's topic permissions in a vhost all at once: to clear one
      // exchange's, the others are put back.
      const others =
        exchange === undefined
          ? []
          : ((await attempt(ctx.api.find<{ exchange: string; write: string; read: string }[]>(path))) ?? []).filter((p) => p.exchange !== exchange);
      try {
        await ctx.api.delete(path);
      } catch (err) {
        if (!isNotFound(err)) refused(err);
        const e = await whichIsMissing(ctx, user!);
        if (e !== null) throw e;
      }
      for (const p of others) await putForUser(ctx, user!, path, { exchange: p.exchange, write: p.write, read: p.read });
    },
  },
  {
    name: 'set_vhost_limits',
    args: '<definition>',
    description: 'Sets virtual host limits: a JSON object, e.g. \'{"max-connections": 64, "max-queues": 256}\' (-1: no limit)',
    run: async (ctx, [definition]) => {
      ctx.out.banner(`Setting vhost limits to "${definition}" for vhost "${ctx.vhost}" ...`);
      const wanted = limitsArg(definition!);
      if ((await ctx.api.find(`/api/vhosts/${seg(ctx.vhost)}`)) === undefined) throw noSuchVhost(ctx.vhost);
      await replaceLimits(ctx, `/api/vhost-limits/${seg(ctx.vhost)}`, wanted);
    },
  },
  {
    name: 'clear_vhost_limits',
    description: 'Clears virtual host limits',
    run: async (ctx) => {
      ctx.out.banner(`Clearing vhost "${ctx.vhost}" limits ...`);
      if ((await ctx.api.find(`/api/vhosts/${seg(ctx.vhost)}`)) === undefined) throw noSuchVhost(ctx.vhost);
      await replaceLimits(ctx, `/api/vhost-limits/${seg(ctx.vhost)}`, {});
    },
  },
  {
    name: 'set_user_limits',
    args: '<username> <definition>',
    description: 'Sets user limits: a JSON object, e.g. \'{"max-connections": 10, "max-channels": 100}\' (-1: no limit)',
    run: async (ctx, [user, definition]) => {
      ctx.out.banner(`Setting user limits to "${definition}" for user "${user}" ...`);
      const wanted = limitsArg(definition!);
      await getUser(ctx, user!);
      // rabbitmqctl merges the given limits into the user's (set_user_limits keeps the others).
      for (const [k, value] of Object.entries(wanted)) await attempt(ctx.api.put(`/api/user-limits/${seg(user!)}/${seg(k)}`, { value }));
    },
  },
  {
    name: 'clear_user_limits',
    args: '<username> <limit_type>',
    description: 'Clears user connection/channel limits: max-connections, max-channels, or all',
    run: async (ctx, [user, limit]) => {
      ctx.out.banner(limit === 'all' ? `Clearing all limits for user "${user}" ...` : `Clearing "${limit}" limit for user "${user}" ...`);
      await getUser(ctx, user!);
      const base = `/api/user-limits/${seg(user!)}`;
      const current = limitsOf(await ctx.api.get<{ value?: unknown }[]>(base));
      for (const k of Object.keys(current)) if (limit === 'all' || k === limit) await attempt(ctx.api.delete(`${base}/${seg(k)}`));
    },
  },
];
