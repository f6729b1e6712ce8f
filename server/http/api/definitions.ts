import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { exportDefinitions } from '../../access/definitions-export.js';
import { importDefinitions } from '../../access/definitions-import.js';
import type { Definitions } from '../../../persistence/definitions.js';
import { badRequest, HttpError, isJsonBody, unsupportedMediaType } from '../errors.js';
import { paramsSchema, sendOne, type ApiContext } from '../api-context.js';

/** The upload form's parts: the definitions file, and where to send the browser afterwards. */
async function formParts(body: Buffer, contentType: string): Promise<{ file: string | null; redirect: string | null }> {
  let form: FormData;
  try {
    form = await new Response(new Blob([new Uint8Array(body)]), { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw badRequest('failed_to_parse_json');
  }
  const text = async (v: FormDataEntryValue | null): Promise<string | null> => (v === null ? null : typeof v === 'string' ? v : await v.text());
  return { file: await text(form.get('file')), redirect: await text(form.get('redirect')) };
}

function parseDefinitions(text: string | null): Definitions {
  if (text === null) throw badRequest('failed_to_parse_json');
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badRequest('failed_to_parse_json');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest('failed_to_parse_json');
  return v as Definitions;
}

/**
 * /api/definitions and /api/definitions/{vhost}: GET exports RabbitMQ's definitions format
 * (with Content-Disposition for ?download=), POST imports a JSON body or a form upload
 * (the file part `file`, as the management UI sends it) and answers 204 (or 303 to the
 * form's `redirect`). Administrators only; credentials may come as ?auth= as from the UI.
 */
export function registerDefinitions(app: FastifyInstance, ctx: ApiContext): void {
  const broker = ctx.broker;
  const route = { config: { access: 'admin' as const, queryAuth: true, rawBody: true } };
  const withVhost = { ...route, schema: { params: paramsSchema('vhost') } };

  const get = async (req: FastifyRequest, reply: FastifyReply) => {
    const vhost = (req.params as { vhost?: string }).vhost;
    if (vhost !== undefined && !broker.vhosts.has(vhost)) throw badRequest('vhost_not_found');
    const defs = exportDefinitions(broker, vhost === undefined ? {} : { vhost });
    const download = (req.query as { download?: unknown }).download;
    if (typeof download === 'string') reply.header('content-disposition', `attachment; filename=${download}`);
    return sendOne(req, reply, defs);
  };

  const post = async (req: FastifyRequest, reply: FastifyReply) => {
    const vhost = (req.params as { vhost?: string }).vhost;
    const type = req.headers['content-type'];
    let text: string | null;
    let redirect: string | null = null;
    if (type !== undefined && /^\s*multipart\/form-data\s*(;|$)/i.test(type)) {
      const parts = await formParts(Buffer.isBuffer(req.body) ? req.body : Buffer.from(String(req.body ?? '')), type);
      text = parts.file;
      redirect = parts.redirect;
    } else if (isJsonBody(type)) {
      text = typeof req.body === 'string' ? req.body : '';
    } else {
      throw unsupportedMediaType();
    }
    const defs = parseDefinitions(text);
    if (vhost !== undefined && !broker.vhosts.has(vhost)) throw new HttpError(404, 'not_found', 'vhost_not_found');
    const report = importDefinitions(broker, defs, { mode: 'runtime', ...(vhost === undefined ? {} : { vhost }) });
    const errors = Object.values(report).flatMap((r) => r.errors);
    const imported = Object.fromEntries(Object.entries(report).map(([s, r]) => [s, r.imported]));
    broker.log.info({ vhost, user: req.user.name, imported, errors: errors.length }, 'definitions imported through the management API');
    // Unlike RabbitMQ, which stops at the first, every entry that can be imported is; the
    // answer still says that not all of them could be, as RabbitMQ's 400 does.
    if (errors.length > 0) throw badRequest(errors.join('\n'));
    if (redirect !== null) return reply.code(303).header('location', redirect).send();
    return reply.code(204).send();
  };

  app.get('/api/definitions', route, get);
  app.get('/api/definitions/:vhost', withVhost, get);
  app.post('/api/definitions', route, post);
  app.post('/api/definitions/:vhost', withVhost, post);
  // The plugin's older name for the same resource.
  app.get('/api/all-configuration', route, get);
  app.post('/api/all-configuration', route, post);
}
