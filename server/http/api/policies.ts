import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PolicyError, validatePolicy } from '../../vhost/policy.js';
import { badRequest, notFound } from '../errors.js';
import { policyJson } from '../format-objects.js';
import { created, paramsSchema, plain, sendList, sendOne, VHOST_PARAMS, vhostOr404, vhostsFor, type ApiContext } from './context.js';

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
      if (err instanceof PolicyError) throw badRequest(`${err.message.replace(/</g, '&lt;').replace(/>/g, '&gt;')}\n`);
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
}
