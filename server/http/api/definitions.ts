import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { exportDefinitions } from '../../access/definitions-export.js';
import { importDefinitions } from '../../access/definitions-import.js';
import { validatePolicy } from '../../vhost/policy.js';
import type { Definitions } from '../../../persistence/definitions.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { policyJson } from '../format-objects.js';
import { created, paramsSchema, plain, sendList, sendOne, VHOST_PARAMS, vhostOr404, vhostsFor, type ApiContext } from './context.js';

/**
 * /api/definitions (whole, or one vhost's), /api/vhost-limits and /api/operator-policies,
 * over the access-control room, with RabbitMQ's shapes and status codes.
 */
export function registerDefinitions(app: FastifyInstance, ctx: ApiContext): void {
  const broker = ctx.broker;
  const admin = { config: { access: 'admin' as const } };
  const vhostAdmin = { ...admin, schema: { params: VHOST_PARAMS } };

  // ---- definitions ----
  app.get('/api/definitions', admin, async (_req, reply) => reply.type('application/json').send(JSON.stringify(exportDefinitions(broker))));
  // RabbitMQ answers a missing vhost with 400 here and 404 on POST.
  app.get('/api/definitions/:vhost', vhostAdmin, async (req, reply) => {
    const vhost = (req.params as { vhost: string }).vhost;
    if (!broker.vhosts.has(vhost)) throw badRequest('vhost_not_found');
    return reply.type('application/json').send(JSON.stringify(exportDefinitions(broker, { vhost })));
  });
  const load = (req: FastifyRequest, reply: FastifyReply, vhost?: string): FastifyReply => {
    const defs = req.body as Definitions;
    const report = importDefinitions(broker, defs, { mode: 'runtime', ...(vhost === undefined ? {} : { vhost }) });
    broker.saveDefinitions();
    const errors = Object.entries(report).flatMap(([section, r]) => r.errors.map((e) => `${section}: ${e}`));
    broker.log.info({ vhost, user: req.user.name, sections: Object.keys(report), errors: errors.length }, 'definitions imported through the management API');
    // RabbitMQ stops at the first refusal and names it; Warren imports what it can and
    // names the first it could not.
    if (errors.length > 0) throw badRequest(errors[0]);
    return reply.code(204).send();
  };
  app.post('/api/definitions', admin, async (req, reply) => load(req, reply));
  app.post('/api/definitions/:vhost', vhostAdmin, async (req, reply) => {
    const vhost = (req.params as { vhost: string }).vhost;
    if (!broker.vhosts.has(vhost)) throw new HttpError(404, 'not_found', 'vhost_not_found');
    return load(req, reply, vhost);
  });

  // ---- vhost limits ----
  const limitsJson = (vhosts: { name: string; limits: object }[]) =>
    vhosts.filter((v) => Object.keys(v.limits).length > 0).map((v) => ({ vhost: v.name, value: { ...v.limits } }));
  app.get('/api/vhost-limits', admin, async (_req, reply) => reply.type('application/json').send(JSON.stringify(limitsJson([...broker.vhosts.values()]))));
  app.get('/api/vhost-limits/:vhost', vhostAdmin, async (req, reply) =>
    reply.type('application/json').send(JSON.stringify(limitsJson([vhostOr404(ctx, (req.params as { vhost: string }).vhost)]))),
  );
  const limitParams = { ...admin, schema: { params: paramsSchema('vhost', 'name') } };
  app.put('/api/vhost-limits/:vhost/:name', limitParams, async (req, reply) => {
    const { vhost, name } = req.params as { vhost: string; name: string };
    const v = vhostOr404(ctx, vhost);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.value === undefined) throw badRequest('[{key_missing,value}]');
    broker.access.setVhostLimits(v.name, { ...v.limits, [name]: b.value });
    return reply.code(204).send();
  });
  app.delete('/api/vhost-limits/:vhost/:name', limitParams, async (req, reply) => {
    const { vhost, name } = req.params as { vhost: string; name: string };
    const v = vhostOr404(ctx, vhost);
    const rest: Record<string, unknown> = { ...v.limits };
    delete rest[name];
    if (Object.keys(rest).length === 0) broker.access.clearVhostLimits(v.name);
    else broker.access.setVhostLimits(v.name, rest);
    return reply.code(204).send();
  });

  // ---- operator policies ----
  const list = async (req: FastifyRequest, reply: FastifyReply) => sendList(req, reply, vhostsFor(ctx, req).flatMap((v) => v.operatorPolicies.list()), plain(policyJson));
  app.get('/api/operator-policies', admin, list);
  app.get('/api/operator-policies/:vhost', vhostAdmin, list);
  const one = { ...admin, schema: { params: paramsSchema('vhost', 'name') } };
  const policyOr404 = (req: FastifyRequest) => {
    const p = req.params as { vhost: string; name: string };
    const v = vhostOr404(ctx, p.vhost);
    const policy = v.operatorPolicies.list().find((x) => x.name === p.name);
    if (policy === undefined) throw notFound();
    return { v, policy };
  };
  app.get('/api/operator-policies/:vhost/:name', one, async (req, reply) => sendOne(req, reply, policyJson(policyOr404(req).policy)));
  app.put('/api/operator-policies/:vhost/:name', one, async (req, reply) => {
    const p = req.params as { vhost: string; name: string };
    const v = vhostOr404(ctx, p.vhost);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const missing = ['pattern', 'definition'].filter((k) => b[k] === undefined);
    if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
    const existed = v.operatorPolicies.list().some((x) => x.name === p.name);
    v.setOperatorPolicy(validatePolicy({ vhost: v.name, name: p.name, pattern: b.pattern, applyTo: b['apply-to'], priority: b.priority, definition: b.definition }, true));
    return created(reply, !existed);
  });
  app.delete('/api/operator-policies/:vhost/:name', one, async (req, reply) => {
    const { v, policy } = policyOr404(req);
    v.clearOperatorPolicy(policy.name);
    return reply.code(204).send();
  });
}
