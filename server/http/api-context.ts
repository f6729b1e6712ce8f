import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../broker.js';
import type { VirtualHost } from '../vhost/vhost.js';
import { isAdmin, isMonitor, type HttpAuthenticator, type HttpUser } from './auth.js';
import { badRequest, isJsonBody, notFound, unsupportedMediaType } from './errors.js';
import type { FormatContext } from './format-objects.js';
import { listBody, listQuery, pickColumns, type Json, type ListQuery, type ListSpec, type Query } from './listing.js';
import type { Sampler } from './sampler.js';

/** What every resource group's routes (api/, one file per group) get. */
export interface ApiContext extends FormatContext {
  readonly broker: Broker;
  readonly auth: HttpAuthenticator;
  readonly sampler: Sampler;
}

export const DEFAULT_SORT = ['vhost', 'name'] as const;

/** JSON schemas shared by the routes. */
export const VHOST_PARAMS = {
  type: 'object',
  properties: { vhost: { type: 'string' } },
  required: ['vhost'],
} as const;

/** A params schema: every named path segment is a required string. */
export function paramsSchema(...names: string[]): object {
  const properties: Record<string, { type: 'string' }> = {};
  for (const n of names) properties[n] = { type: 'string' };
  return { type: 'object', properties, required: names };
}

export function vhostOr404(ctx: ApiContext, name: string): VirtualHost {
  const v = ctx.broker.vhosts.get(name);
  if (v === undefined) throw notFound();
  return v;
}

/** The vhosts a user sees in lists: all for an administrator, else those it may access. */
export function visibleVhosts(ctx: ApiContext, user: HttpUser, forMonitoring = false): VirtualHost[] {
  const all = [...ctx.broker.vhosts.values()];
  if (isAdmin(user) || (forMonitoring && isMonitor(user))) return all;
  return all.filter((v) => ctx.auth.canAccessVhost(user, v.name));
}

/** The vhosts a list covers: the one in the path (404 if missing), else the visible ones. */
export function vhostsFor(ctx: ApiContext, req: FastifyRequest, forMonitoring = false): VirtualHost[] {
  const name = (req.params as { vhost?: string }).vhost;
  return name === undefined ? visibleVhosts(ctx, req.user, forMonitoring) : [vhostOr404(ctx, name)];
}

export function queryOf(req: FastifyRequest): ListQuery {
  return listQuery(req.query as Query);
}

/** Sends a list: sorted, paged and trimmed as the query asks, formatted a slice at a time. */
export async function sendList<T>(req: FastifyRequest, reply: FastifyReply, objects: Iterable<T>, spec: ListSpec<T>): Promise<FastifyReply> {
  const body = await listBody(objects, spec, queryOf(req));
  return reply.type('application/json').send(body);
}

/**
 * Sends a list the plugin does not page (users, permissions, parameters, limits): sorted by
 * `sort` then the default keys, `sort_reverse`, trimmed to `columns`.
 */
export async function sendUnpaged(req: FastifyRequest, reply: FastifyReply, objects: Iterable<Json>, defaultSort: readonly string[]): Promise<FastifyReply> {
  const body = await listBody(objects, { format: (o) => o, defaultSort }, listQuery(req.query as Query, false));
  return reply.type('application/json').send(body);
}

/** A list of objects formatted whole (for short lists, or cheap objects), sorted by vhost and name. */
export function plain<T>(format: (o: T, stats: boolean) => Json | null, defaultSort: readonly string[] = DEFAULT_SORT): ListSpec<T> {
  return { format, defaultSort };
}

/** A list whose objects are sorted and filtered by vhost and name before any is formatted. */
export function byName<T>(format: (o: T, stats: boolean) => Json | null, key: (o: T) => { vhost: string | null; name: string }): ListSpec<T> {
  return { format, key, defaultSort: DEFAULT_SORT };
}

/** Sends one object, trimmed to `columns` if asked. */
export function sendOne(req: FastifyRequest, reply: FastifyReply, obj: unknown): FastifyReply {
  const q = queryOf(req);
  return reply.type('application/json').send(JSON.stringify(pickColumns(obj, q.columns)));
}

/** 201 when the request created the object, 204 when it was already there (cowboy's answers to PUT). */
export function created(reply: FastifyReply, isNew: boolean): FastifyReply {
  return reply.code(isNew ? 201 : 204).send();
}

/**
 * The body's values for `keys`, or 400 `[{key_missing,k},...]` naming every absent one, as
 * rabbit_mgmt_util:with_decode answers.
 */
export function requireKeys<K extends string>(body: unknown, keys: readonly K[]): Record<K, unknown> & Record<string, unknown> {
  const b = (body ?? {}) as Record<string, unknown>;
  const missing = keys.filter((k) => b[k] === undefined);
  if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
  return b as Record<K, unknown> & Record<string, unknown>;
}

/** 415 unless the body is JSON: the resources that accept application/json only. */
export function requireJson(req: FastifyRequest): void {
  if (!isJsonBody(req.headers['content-type'])) throw unsupportedMediaType();
}
