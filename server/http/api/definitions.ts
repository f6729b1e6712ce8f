import type { FastifyInstance } from 'fastify';
import { exportDefinitions } from '../../access/definitions-export.js';
import { importDefinitions } from '../../access/definitions-import.js';
import { AccessError } from '../../access/errors.js';
import type { Definitions } from '../../../persistence/definitions.js';
import { badRequest, HttpError } from '../errors.js';
import { sendOne, VHOST_PARAMS, type ApiContext } from './context.js';

/**
 * /api/definitions: the whole broker's definitions (GET), or one vhost's
 * (/api/definitions/{vhost}), in RabbitMQ's format; POST imports them (204). Administrators
 * only, as in RabbitMQ. Unlike RabbitMQ, an entry that cannot be imported does not stop the
 * rest: the answer is then 400 with every refusal in `reason`.
 */
export function registerDefinitions(app: FastifyInstance, ctx: ApiContext): void {
  const admin = { config: { access: 'admin' as const } };
  const vhostOf = (params: unknown): string | undefined => (params as { vhost?: string }).vhost;
  const checkVhost = (vhost: string | undefined): void => {
    if (vhost !== undefined && !ctx.broker.vhosts.has(vhost)) throw new HttpError(404, 'not_found', 'vhost_not_found');
  };

  const get = { ...admin };
  app.get('/api/definitions', get, async (req, reply) => sendOne(req, reply, exportDefinitions(ctx.broker, {})));
  app.get('/api/definitions/:vhost', { ...get, schema: { params: VHOST_PARAMS } }, async (req, reply) => {
    const vhost = vhostOf(req.params)!;
    checkVhost(vhost);
    return sendOne(req, reply, exportDefinitions(ctx.broker, { vhost }));
  });

  const post = async (params: unknown, body: unknown, user: string): Promise<void> => {
    const vhost = vhostOf(params);
    checkVhost(vhost);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the definitions must be a JSON object');
    let report;
    try {
      report = importDefinitions(ctx.broker, body as Definitions, { mode: 'runtime', ...(vhost === undefined ? {} : { vhost }) });
    } catch (err) {
      if (err instanceof AccessError) throw badRequest(err.reason);
      throw err;
    }
    ctx.broker.saveDefinitions();
    const errors = Object.entries(report).flatMap(([section, r]) => r.errors.map((e) => `${section}: ${e}`));
    ctx.broker.log.info({ vhost, user, errors: errors.length }, 'definitions imported through the management API');
    if (errors.length > 0) throw badRequest(`${errors.length} entries could not be imported (the others were):\n${errors.join('\n')}`);
  };
  app.post('/api/definitions', admin, async (req, reply) => {
    await post(req.params, req.body, req.user.name);
    return reply.code(204).send();
  });
  app.post('/api/definitions/:vhost', { ...admin, schema: { params: VHOST_PARAMS } }, async (req, reply) => {
    await post(req.params, req.body, req.user.name);
    return reply.code(204).send();
  });
}
