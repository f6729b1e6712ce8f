import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PolicyError, validatePolicy } from '../../vhost/policy.js';
import { badRequest, escapeHtmlTags, HttpError, notFound } from '../errors.js';
import { policyJson } from '../format-objects.js';
import type { Json } from '../listing.js';
import { created, paramsSchema, plain, requireJson, requireKeys, sendList, sendOne, sendUnpaged, VHOST_PARAMS, vhostOr404, vhostsFor, visibleVhosts, type ApiContext } from '../api-context.js';

const POLICY_BODY = {
  type: 'object',
  properties: {
    pattern: { type: 'string' },
    definition: { type: 'object' },
    priority: { type: 'integer' },
    'apply-to': { type: 'string' },
  },
} as const;

/** /api/policies: list (all, per vhost), get, set (PUT) and clear (DELETE), as rabbitmqctl set_policy. */
export function registerPolicies(app: FastifyInstance, ctx: ApiContext): void {
  const list = async (req: FastifyRequest, reply: FastifyReply) =>
    sendList(
      req,
      reply,
      vhostsFor(ctx, req).flatMap((v) => v.policies.list()),
      plain(policyJson),
    );
  app.get('/api/policies', list);
  app.get('/api/policies/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, list);

  const one = { config: { access: 'policies' as const }, schema: { params: paramsSchema('vhost', 'name') } };

  function policyOr404(req: FastifyRequest) {
    const p = req.params as { vhost: string; name: string };
    const v = vhostOr404(ctx, p.vhost);
    const policy = v.policies.list().find((x) => x.name === p.name);
    if (policy === undefined) throw notFound();
    return { v, policy };
  }

  app.get('/api/policies/:vhost/:name', one, async (req, reply) => sendOne(req, reply, policyJson(policyOr404(req).policy)));

  app.put('/api/policies/:vhost/:name', { ...one, schema: { ...one.schema, body: POLICY_BODY } }, async (req, reply) => {
    const p = req.params as { vhost: string; name: string };
    const v = vhostOr404(ctx, p.vhost);
    const b = req.body as { pattern?: string; definition?: unknown; priority?: number; 'apply-to'?: string };
    const missing = (['pattern', 'definition'] as const).filter((k) => b[k] === undefined);
    if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
    const existed = v.policies.list().some((x) => x.name === p.name);
    let policy;
    try {
      policy = validatePolicy({ vhost: v.name, name: p.name, pattern: b.pattern, applyTo: b['apply-to'], priority: b.priority, definition: b.definition });
    } catch (err) {
      // /api/policies HTML-escapes its reason (RabbitMQ 3.10: `[{&lt;&lt;"k"&gt;&gt;,5}]`).
      if (err instanceof PolicyError) throw badRequest(`${escapeHtmlTags(err.message)}\n`);
      throw err;
    }
    v.setPolicy(policy);
    ctx.broker.log.info({ vhost: v.name, policy: policy.name, pattern: policy.pattern, user: req.user.name }, 'policy set through the management API');
    return created(reply, !existed);
  });

  app.delete('/api/policies/:vhost/:name', one, async (req, reply) => {
    const { v, policy } = policyOr404(req);
    v.clearPolicy(policy.name);
    ctx.broker.log.info({ vhost: v.name, policy: policy.name, user: req.user.name }, 'policy cleared through the management API');
    return reply.code(204).send();
  });

  registerOperatorPolicies(app, ctx);
}

/**
 * /api/operator-policies: lists (any management user, over the vhosts it may use), and one
 * operator policy's GET, PUT and DELETE (administrators), as rabbitmqctl set_operator_policy.
 */
function registerOperatorPolicies(app: FastifyInstance, ctx: ApiContext): void {
  const list = async (req: FastifyRequest, reply: FastifyReply) => {
    const name = (req.params as { vhost?: string }).vhost;
    const vhosts = name === undefined ? visibleVhosts(ctx, req.user) : [vhostOr404(ctx, name)];
    // rabbit_mgmt_util:filter_vhost: even a vhost in the path shows only if the user may use it.
    const allowed = new Set(visibleVhosts(ctx, req.user).map((v) => v.name));
    const rows = vhosts.filter((v) => allowed.has(v.name)).flatMap((v) => v.operatorPolicies.list().map(policyJson));
    return sendUnpaged(req, reply, rows as Json[], ['priority']);
  };
  app.get('/api/operator-policies', list);
  app.get('/api/operator-policies/:vhost', { config: { access: 'vhost' }, schema: { params: VHOST_PARAMS } }, list);

  const one = { config: { access: 'admin' as const }, schema: { params: paramsSchema('vhost', 'name') } };
  const policyOr404 = (req: FastifyRequest) => {
    const p = req.params as { vhost: string; name: string };
    const policy = vhostOr404(ctx, p.vhost).operatorPolicies.get(p.name);
    if (policy === undefined) throw notFound();
    return policy;
  };

  app.get('/api/operator-policies/:vhost/:name', one, async (req, reply) => sendOne(req, reply, policyJson(policyOr404(req))));

  app.put('/api/operator-policies/:vhost/:name', one, async (req, reply) => {
    requireJson(req);
    const p = req.params as { vhost: string; name: string };
    const v = ctx.broker.vhosts.get(p.vhost);
    if (v === undefined) throw new HttpError(404, 'not_found', 'vhost_not_found');
    const b = requireKeys(req.body, ['pattern', 'definition']);
    const isNew = v.operatorPolicies.get(p.name) === undefined;
    const policy = validatePolicy({ vhost: v.name, name: p.name, pattern: b.pattern, applyTo: b['apply-to'], priority: b['priority'], definition: b.definition }, true);
    v.setOperatorPolicy(policy);
    ctx.broker.log.info({ vhost: v.name, policy: policy.name, pattern: policy.pattern, user: req.user.name }, 'operator policy set through the management API');
    return created(reply, isNew);
  });

  app.delete('/api/operator-policies/:vhost/:name', one, async (req, reply) => {
    const policy = policyOr404(req);
    ctx.broker.vhosts.get(policy.vhost)!.clearOperatorPolicy(policy.name);
    ctx.broker.log.info({ vhost: policy.vhost, policy: policy.name, user: req.user.name }, 'operator policy cleared through the management API');
    return reply.code(204).send();
  });
}
