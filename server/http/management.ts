import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Broker } from '../broker.js';
import { registerBindings } from './api/bindings.js';
import { registerConnections } from './api/connections.js';
import { registerDefinitions } from './api/definitions.js';
import { registerExchanges } from './api/exchanges.js';
import { registerFederation } from './api/federation.js';
import { registerHealth } from './api/health.js';
import { registerOverview } from './api/overview.js';
import { registerParameters } from './api/parameters.js';
import { registerPermissions } from './api/permissions.js';
import { registerPolicies } from './api/policies.js';
import { registerQueues } from './api/queues.js';
import { registerShovels } from './api/shovels.js';
import { registerUsers } from './api/users.js';
import { registerVhosts } from './api/vhosts.js';
import type { ApiContext } from './api-context.js';
import { authenticate, authorize, AccessAuthenticator, type Access, type HttpAuthenticator, type HttpUser } from './auth.js';
import { badRequest, notFound, toHttpError } from './errors.js';
import { Sampler } from './sampler.js';
import { registerUi } from './ui-static.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: HttpUser;
  }
  interface FastifyContextConfig {
    /** Who may call the route, beyond holding a management tag. */
    access?: Access;
    /** Anyone may call the route, without credentials (/api/auth). */
    public?: boolean;
    /** Credentials may come as `?auth=` (base64 of user:password), as the web UI's download and upload links send them. */
    queryAuth?: boolean;
    /** The body reaches the handler as text (or a Buffer for a multipart form), undecoded. */
    rawBody?: boolean;
  }
}

/**
 * RabbitMQ's management HTTP API on the management port: the same paths, JSON field names,
 * status codes and error bodies, so that rabbitmqadmin, dashboards and other tools work
 * unchanged. Each resource group registers its routes from its own file in api/; this file
 * holds what they share: basic auth and tag checks, body parsing, errors.
 */
export class ManagementServer {
  readonly app: FastifyInstance;
  readonly sampler: Sampler;
  readonly ctx: ApiContext;
  /**
   * Marks the control socket's requests (`inject`): whoever can reach the socket in the data
   * directory administers the broker, as rabbitmqctl does a local node. The token never
   * leaves this process, so a request over HTTP cannot carry it.
   */
  private readonly controlToken = randomBytes(24).toString('base64url');

  constructor(
    readonly broker: Broker,
    readonly auth: HttpAuthenticator = new AccessAuthenticator(broker),
  ) {
    this.sampler = new Sampler(broker, broker.config.collectStatisticsInterval);
    this.ctx = { broker, auth, sampler: this.sampler, node: broker.nodeName, startedAt: broker.startedAt };
    const app = Fastify({
      logger: false,
      // A published message's payload travels in the body (base64 makes it a third larger).
      bodyLimit: Math.max(broker.config.maxMessageSize * 2, 1 << 20),
      return503OnClosing: false,
      // Names go up to 255 bytes, and a percent-encoded byte takes three characters.
      routerOptions: { maxParamLength: 4096 },
      ajv: { customOptions: { allowUnionTypes: true } },
    });
    this.app = app;
    app.decorateRequest('user', null as unknown as HttpUser);
    // Bodies are decoded as the plugin does: whatever the content type; "", "null" and
    // "undefined" are {}, anything else must be a JSON object.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
      if (req.routeOptions.config.rawBody === true) {
        done(null, body);
        return;
      }
      try {
        done(null, decodeBody(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    // A definitions file uploaded from a form (the web UI's import): the parts are read by the route.
    app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.addHook('onRequest', async (req) => {
      if (!req.url.startsWith('/api/')) return;
      if (req.headers[CONTROL_HEADER] === this.controlToken) {
        req.user = CONTROL_USER;
        return;
      }
      const config = req.routeOptions.config;
      if (config.public === true) return;
      const counters = broker.counters;
      let header = req.headers.authorization;
      const viaQuery = (req.query as { auth?: unknown }).auth;
      if (header === undefined && config.queryAuth === true && typeof viaQuery === 'string') header = `Basic ${viaQuery}`;
      try {
        req.user = authenticate(auth, header, req.socket.remoteAddress);
        counters.authHttpSucceeded++;
      } catch (err) {
        // A request without credentials is only a prompt for them, not an attempt.
        if (header !== undefined) counters.authHttpFailed++;
        throw err;
      }
      const access = config.access ?? 'user';
      // A vhost that does not exist is not refused but not found, later (as in RabbitMQ).
      const vhost = (req.params as { vhost?: string } | undefined)?.vhost;
      authorize(auth, req.user, access, vhost !== undefined && broker.vhosts.has(vhost) ? vhost : undefined);
    });
    // A PUT or POST without a body (and so without a parser run) is an empty object too.
    app.addHook('preValidation', async (req) => {
      if (req.body === undefined && (req.method === 'PUT' || req.method === 'POST')) req.body = {};
    });
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.header('cache-control', 'no-cache');
      // A change to the durable topology is saved at the end of this turn (as for AMQP
      // declare-ok): the answer waits for it, so that 201 means on disk.
      if (broker.definitions?.preFlushScheduled === true) await setImmediate();
      return payload;
    });
    app.setErrorHandler((err: FastifyError, req, reply) => this.onError(err, req, reply));
    app.setNotFoundHandler((_req, reply) => {
      void reply.code(404).send(notFound().body);
    });
    for (const register of [
      registerOverview,
      registerConnections,
      registerExchanges,
      registerQueues,
      registerBindings,
      registerVhosts,
      registerPolicies,
      registerHealth,
      registerUsers,
      registerPermissions,
      registerParameters,
      registerDefinitions,
      registerFederation,
      registerShovels,
    ]) {
      register(app, this.ctx);
    }
    registerUi(app);
  }

  private onError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
    let h = toHttpError(err);
    if (h === null && err.validation !== undefined) h = badRequest(`${err.validationContext ?? 'request'} ${err.message}`.trim());
    if (h === null && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) h = badRequest(err.message);
    if (h === null) {
      this.broker.log.error({ err, method: req.method, url: req.url }, 'management API: internal error');
      void reply.code(500).send({ error: 'internal_server_error', reason: String(err.message) });
      return;
    }
    void reply.code(h.status).headers(h.headers);
    // A request without credentials gets a bare 401 with the realm, as from RabbitMQ (and a 415 is bare too).
    if (h.error === '') void reply.send();
    else void reply.send(h.body);
  }

  /**
   * One API request from the control socket (`warren ctl` on this machine), served in-process
   * by the same routes as over HTTP, as an administrator.
   */
  async inject(req: ControlApiRequest): Promise<ControlApiResponse> {
    const headers: Record<string, string> = { ...req.headers, [CONTROL_HEADER]: this.controlToken };
    const res = await this.app.inject({
      method: req.method,
      url: req.path,
      headers: req.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(req.body === undefined ? {} : { payload: JSON.stringify(req.body) }),
    });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = String(v);
    return { status: res.statusCode, headers: out, payload: res.payload };
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await this.app.listen({ port, host });
    this.sampler.start();
    const addr = this.app.server.address() as AddressInfo;
    this.broker.log.info({ host: addr.address, port: addr.port }, 'management API listening');
    return addr;
  }

  async close(): Promise<void> {
    this.sampler.stop();
    await this.app.close();
  }
}

const CONTROL_HEADER = 'x-warren-control';

/** Who the control socket's requests act as: an administrator that is not one of the broker's users. */
const CONTROL_USER: HttpUser = { name: 'warren-ctl', tags: ['administrator'], internal: true };

export interface ControlApiRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ControlApiResponse {
  status: number;
  headers: Record<string, string>;
  payload: string;
}

function decodeBody(body: string): unknown {
  const t = body.trim();
  if (t === '' || t === 'null' || t === 'undefined') return {};
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    throw badRequest('not_json');
  }
  if (typeof v === 'string') {
    throw badRequest('invalid payload: the request body JSON-decoded to a string. Is the input doubly-JSON-encoded?');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    if (typeof v === 'boolean') return {};
    throw badRequest('not_json');
  }
  return v;
}

