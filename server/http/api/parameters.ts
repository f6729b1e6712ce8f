import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parametersOf } from '../../access/definitions-export.js';
import { AccessError } from '../../access/errors.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { paramsSchema, plain, sendList, sendOne, visibleVhosts, type ApiContext } from './context.js';
import type { ParameterDefinitionJson } from '../../../persistence/definitions.js';

/** Components kept without a component acting on them (exports from brokers with these plugins load). */
const KEPT_COMPONENTS = ['federation-upstream', 'federation-upstream-set'];

const PARAMETER_BODY = { type: 'object', properties: { value: {} } } as const;

function toHttp(err: unknown): unknown {
  if (!(err instanceof AccessError)) return err;
  return err.kind === 'not_found' ? new HttpError(404, 'not_found', err.reason) : badRequest(err.reason);
}

/**
 * /api/parameters: runtime parameters (rabbitmqctl set_parameter): list (all, per
 * component, per component and vhost), get, set (PUT {"value": …}: 201, or 204 when it
 * replaced one) and clear (DELETE 204). The `shovel` component runs shovels; vhost-limits
 * and operator_policy are the vhost's limits and operator policies.
 */
export function registerParameters(app: FastifyInstance, ctx: ApiContext): void {
  const access = ctx.broker.access;
  const all = (req: FastifyRequest): ParameterDefinitionJson[] => visibleVhosts(ctx, req.user).flatMap((v) => parametersOf(v));
  const filtered = (req: FastifyRequest): ParameterDefinitionJson[] => {
    const p = req.params as { component?: string; vhost?: string };
    if (p.vhost !== undefined && !ctx.broker.vhosts.has(p.vhost)) throw notFound();
    return all(req).filter((x) => (p.component === undefined || x.component === p.component) && (p.vhost === undefined || x.vhost === p.vhost));
  };
  const list = async (req: FastifyRequest, reply: FastifyReply) => sendList(req, reply, filtered(req), plain((x) => ({ ...x })));
  const policies = { config: { access: 'policies' as const } };
  app.get('/api/parameters', policies, list);
  app.get('/api/parameters/:component', { ...policies, schema: { params: paramsSchema('component') } }, list);
  app.get('/api/parameters/:component/:vhost', { ...policies, schema: { params: paramsSchema('component', 'vhost') } }, list);

  const one = { ...policies, schema: { params: paramsSchema('component', 'vhost', 'name') } };
  const find = (req: FastifyRequest): ParameterDefinitionJson | undefined => {
    const p = req.params as { component: string; vhost: string; name: string };
    const v = ctx.broker.vhosts.get(p.vhost);
    return v === undefined ? undefined : parametersOf(v).find((x) => x.component === p.component && x.name === p.name);
  };

  app.get('/api/parameters/:component/:vhost/:name', one, async (req, reply) => {
    const found = find(req);
    if (found === undefined) throw notFound();
    return sendOne(req, reply, found);
  });

  app.put('/api/parameters/:component/:vhost/:name', { ...one, schema: { ...one.schema, body: PARAMETER_BODY } }, async (req, reply) => {
    const p = req.params as { component: string; vhost: string; name: string };
    const body = req.body as { value?: unknown };
    if (!('value' in body)) throw badRequest('[{key_missing,value}]');
    if (!ctx.broker.vhosts.has(p.vhost)) throw new HttpError(404, 'not_found', 'vhost_not_found');
    const known = access.hasComponent(p.component) || p.component === 'vhost-limits' || p.component === 'operator_policy' || KEPT_COMPONENTS.includes(p.component);
    if (!known) throw badRequest(`Validation failed\n\ncomponent ${p.component} not found\n`);
    const existed = find(req) !== undefined;
    try {
      access.setParameter(p.vhost, p.component, p.name, body.value, access.users.get(req.user.name) ?? null);
    } catch (err) {
      throw toHttp(err);
    }
    ctx.broker.log.info({ vhost: p.vhost, component: p.component, parameter: p.name, user: req.user.name }, 'parameter set through the management API');
    return reply.code(existed ? 204 : 201).send();
  });

  app.delete('/api/parameters/:component/:vhost/:name', one, async (req, reply) => {
    const p = req.params as { component: string; vhost: string; name: string };
    if (find(req) === undefined) throw notFound();
    try {
      access.clearParameter(p.vhost, p.component, p.name);
    } catch (err) {
      throw toHttp(err);
    }
    ctx.broker.log.info({ vhost: p.vhost, component: p.component, parameter: p.name, user: req.user.name }, 'parameter cleared through the management API');
    return reply.code(204).send();
  });
}
