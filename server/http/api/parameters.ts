import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessError } from '../../access/errors.js';
import { parameterOf, parametersOf, validationFailed } from '../../access/parameters.js';
import { validateVhostLimits } from '../../access/users.js';
import type { VhostLimits, VirtualHost } from '../../vhost/vhost.js';
import { badRequest, escapeHtmlTags, HttpError, notFound } from '../errors.js';
import type { Json } from '../listing.js';
import { created, paramsSchema, requireJson, requireKeys, sendOne, sendUnpaged, VHOST_PARAMS, vhostOr404, visibleVhosts, type ApiContext } from '../api-context.js';

/** A PUT into a vhost that does not exist: 404 not_found vhost_not_found, as the plugin answers. */
function vhostNotFound(): HttpError {
  return new HttpError(404, 'not_found', 'vhost_not_found');
}

/**
 * /api/parameters (all, per component, per component and vhost; one: GET, PUT, DELETE),
 * /api/global-parameters and /api/vhost-limits. Parameters go through AccessControl, so
 * the HTTP API runs the same validators and component hooks as a definitions import.
 */
export function registerParameters(app: FastifyInstance, ctx: ApiContext): void {
  const access = ctx.broker.access;
  const policies = { config: { access: 'policies' as const } };

  /** filter_vhost: administrators see every vhost's, others those they may log in to. */
  const listFor = (req: FastifyRequest, component?: string): Json[] =>
    visibleVhosts(ctx, req.user).flatMap((v) => parametersOf(v, component)) as unknown as Json[];

  app.get('/api/parameters', policies, async (req, reply) => sendUnpaged(req, reply, listFor(req), ['vhost', 'name']));

  app.get('/api/parameters/:component', { ...policies, schema: { params: paramsSchema('component') } }, async (req, reply) =>
    sendUnpaged(req, reply, listFor(req, (req.params as { component: string }).component), ['vhost', 'name']),
  );

  app.get('/api/parameters/:component/:vhost', { ...policies, schema: { params: paramsSchema('component', 'vhost') } }, async (req, reply) => {
    const p = req.params as { component: string; vhost: string };
    const v = vhostOr404(ctx, p.vhost);
    return sendUnpaged(req, reply, parametersOf(v, p.component) as unknown as Json[], ['vhost', 'name']);
  });

  const one = { ...policies, schema: { params: paramsSchema('component', 'vhost', 'name') } };
  const params = (req: FastifyRequest) => req.params as { component: string; vhost: string; name: string };

  app.get('/api/parameters/:component/:vhost/:name', one, async (req, reply) => {
    const p = params(req);
    const found = parameterOf(vhostOr404(ctx, p.vhost), p.component, p.name);
    if (found === undefined) throw notFound();
    return sendOne(req, reply, found);
  });

  app.put('/api/parameters/:component/:vhost/:name', one, async (req, reply) => {
    const p = params(req);
    if (!ctx.broker.vhosts.has(p.vhost)) throw vhostNotFound();
    const { value } = requireKeys(req.body, ['value']);
    let isNew: boolean;
    try {
      isNew = access.setParameter(p.vhost, p.component, p.name, value, req.user.internal === true ? null : req.user.name);
    } catch (err) {
      // This resource HTML-escapes its reasons (RabbitMQ 3.10: `[{&lt;&lt;"k"&gt;&gt;,5}]`).
      if (err instanceof AccessError && err.term === undefined) throw badRequest(escapeHtmlTags(err.reason));
      throw err;
    }
    ctx.broker.log.info({ vhost: p.vhost, component: p.component, name: p.name, user: req.user.name }, 'runtime parameter set through the management API');
    return created(reply, isNew);
  });

  app.delete('/api/parameters/:component/:vhost/:name', one, async (req, reply) => {
    const p = params(req);
    if (parameterOf(vhostOr404(ctx, p.vhost), p.component, p.name) === undefined) throw notFound();
    access.clearParameter(p.vhost, p.component, p.name);
    ctx.broker.log.info({ vhost: p.vhost, component: p.component, name: p.name, user: req.user.name }, 'runtime parameter cleared through the management API');
    return reply.code(204).send();
  });

  // ---- global parameters ---------------------------------------------------------------

  const globals = ctx.broker.globalParameters;
  const policymaker = { config: { access: 'policymaker' as const } };
  const globalOne = { ...policymaker, schema: { params: paramsSchema('name') } };
  const globalName = (req: FastifyRequest): string => (req.params as { name: string }).name;

  app.get('/api/global-parameters', policymaker, async (req, reply) =>
    sendUnpaged(
      req,
      reply,
      [...globals].map(([name, value]) => ({ name, value })),
      ['vhost', 'name'],
    ),
  );

  app.get('/api/global-parameters/:name', globalOne, async (req, reply) => {
    const name = globalName(req);
    if (!globals.has(name)) throw notFound();
    return sendOne(req, reply, { value: globals.get(name), name });
  });

  app.put('/api/global-parameters/:name', globalOne, async (req, reply) => {
    const name = globalName(req);
    const { value } = requireKeys(req.body, ['value']);
    const isNew = !globals.has(name);
    globals.set(name, value);
    ctx.broker.accessChanged();
    ctx.broker.log.info({ name, user: req.user.name }, 'global parameter set through the management API');
    return created(reply, isNew);
  });

  app.delete('/api/global-parameters/:name', globalOne, async (req, reply) => {
    const name = globalName(req);
    if (!globals.delete(name)) throw notFound();
    ctx.broker.accessChanged();
    ctx.broker.log.info({ name, user: req.user.name }, 'global parameter cleared through the management API');
    return reply.code(204).send();
  });

  // ---- vhost limits (the vhost-limits parameter named limits) ------------------------------

  const limitsOf = (v: VirtualHost): Json[] => (Object.keys(v.limits).length === 0 ? [] : [{ vhost: v.name, value: { ...v.limits } }]);

  app.get('/api/vhost-limits', async (req, reply) => {
    // Visible vhosts (administrators and monitors see every vhost), each with its parameter,
    // even an empty one (value []), as rabbit_vhost_limit:list/0 gives them.
    const rows = visibleVhosts(ctx, req.user, true).flatMap((v) => parametersOf(v, 'vhost-limits').map((p) => ({ vhost: v.name, value: p.value })));
    return sendUnpaged(req, reply, rows, ['vhost']);
  });

  app.get('/api/vhost-limits/:vhost', { config: { access: 'vhost-visible' }, schema: { params: VHOST_PARAMS } }, async (req, reply) => {
    const v = vhostOr404(ctx, (req.params as { vhost: string }).vhost);
    return sendUnpaged(req, reply, limitsOf(v), ['vhost']);
  });

  const oneLimit = { config: { access: 'admin' as const }, schema: { params: paramsSchema('vhost', 'name') } };
  const limitParams = (req: FastifyRequest) => req.params as { vhost: string; name: string };

  app.put('/api/vhost-limits/:vhost/:name', oneLimit, async (req: FastifyRequest, reply: FastifyReply) => {
    requireJson(req);
    const p = limitParams(req);
    const v = ctx.broker.vhosts.get(p.vhost);
    if (v === undefined) throw vhostNotFound();
    const { value } = requireKeys(req.body, ['value']);
    const limits = { ...v.limits, [p.name]: value };
    try {
      validateVhostLimits(limits);
    } catch (err) {
      if (err instanceof AccessError) throw badRequest(validationFailed([err.reason]));
      throw err;
    }
    access.setVhostLimits(v.name, limits);
    return reply.code(204).send();
  });

  app.delete('/api/vhost-limits/:vhost/:name', oneLimit, async (req, reply) => {
    const p = limitParams(req);
    const v = vhostOr404(ctx, p.vhost);
    // As rabbit_vhost_limit:clear_limit: the parameter stays, even with no limit left.
    const { [p.name as keyof VhostLimits]: _, ...rest } = v.limits;
    access.setVhostLimits(v.name, rest);
    return reply.code(204).send();
  });
}
