import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../../broker.js';
import type { VirtualHost } from '../../vhost/vhost.js';
import { isAdmin, isMonitor, type HttpAuthenticator, type HttpUser } from '../auth.js';
import { notFound } from '../errors.js';
import type { FormatContext } from '../format-objects.js';
import { formatSliced, listBody, listQuery, pickColumns, type Json, type ListQuery, type Query } from '../listing.js';
import type { Sampler } from '../sampler.js';

/** What every resource group's routes get. */
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

/** Sends a list: formatted in slices, then sorted, paged and trimmed as the query asks. */
export async function sendList<T>(
  req: FastifyRequest,
  reply: FastifyReply,
  objects: Iterable<T>,
  format: (o: T, stats: boolean) => Json | null,
  defaultSort: readonly string[] = DEFAULT_SORT,
): Promise<FastifyReply> {
  const q = queryOf(req);
  const items = await formatSliced(objects, (o) => format(o, !q.disableStats));
  return reply.type('application/json').send(listBody(items, q, defaultSort));
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
