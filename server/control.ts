import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Broker } from './broker.js';
import { AccessError } from './access/errors.js';
import { exportDefinitions } from './access/definitions-export.js';
import { importDefinitions } from './access/definitions-import.js';
import { parametersOf } from './access/parameters.js';
import type { Definitions } from '../persistence/definitions.js';
import type { ControlApiRequest, ManagementServer } from './http/management.js';
import { PolicyError, validatePolicy } from './vhost/policy.js';

/**
 * The local control socket the CLI talks to (as rabbitmqctl talks to a node): a Unix
 * socket in the data directory, one JSON request and one JSON reply per line. Only
 * local users with access to the data directory can reach it.
 */

export interface ControlRequest {
  cmd: string;
  [key: string]: unknown;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };

export function handleControl(broker: Broker, req: ControlRequest): ControlReply {
  try {
    const only = typeof req['vhost'] === 'string' ? req['vhost'] : undefined;
    switch (req.cmd) {
      case 'definitions.export':
        if (only !== undefined && !broker.vhosts.has(only)) return { ok: false, error: `no vhost '${only}'` };
        return { ok: true, result: exportDefinitions(broker, only === undefined ? {} : { vhost: only }) };
      case 'definitions.import': {
        const defs = req['definitions'];
        if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) return { ok: false, error: 'the definitions must be a JSON object' };
        const report = importDefinitions(broker, defs as Definitions, { mode: 'runtime', ...(only === undefined ? {} : { vhost: only }) });
        broker.saveDefinitions();
        broker.log.info({ vhost: only, sections: Object.keys(report) }, 'definitions imported');
        return { ok: true, result: report };
      }
      case 'shovel.status':
        return { ok: true, result: broker.shovels.status(only) };
    }
    const vhostName = only ?? '/';
    const vhost = broker.vhosts.get(vhostName);
    if (vhost === undefined) return { ok: false, error: `no vhost '${vhostName}'` };
    switch (req.cmd) {
      case 'policy.set': {
        const p = validatePolicy({ ...req, vhost: vhostName });
        vhost.setPolicy(p);
        broker.log.info({ vhost: vhostName, policy: p.name, pattern: p.pattern, applyTo: p.applyTo }, 'policy set');
        return { ok: true, result: p };
      }
      case 'policy.clear': {
        const name = String(req['name']);
        if (!vhost.clearPolicy(name)) return { ok: false, error: `no policy '${name}' in vhost '${vhostName}'` };
        broker.log.info({ vhost: vhostName, policy: name }, 'policy cleared');
        return { ok: true, result: null };
      }
      case 'policy.list':
        return { ok: true, result: vhost.policies.list() };
      case 'operator_policy.set': {
        const p = validatePolicy({ ...req, vhost: vhostName }, true);
        vhost.setOperatorPolicy(p);
        broker.log.info({ vhost: vhostName, policy: p.name, pattern: p.pattern, applyTo: p.applyTo }, 'operator policy set');
        return { ok: true, result: p };
      }
      case 'operator_policy.clear': {
        const name = String(req['name']);
        if (!vhost.clearOperatorPolicy(name)) return { ok: false, error: `no operator policy '${name}' in vhost '${vhostName}'` };
        broker.log.info({ vhost: vhostName, policy: name }, 'operator policy cleared');
        return { ok: true, result: null };
      }
      case 'operator_policy.list':
        return { ok: true, result: vhost.operatorPolicies.list() };
      // Runtime parameters (rabbitmqctl set_parameter / clear_parameter / list_parameters).
      case 'parameter.set': {
        const component = String(req['component']);
        const name = String(req['name']);
        broker.access.setParameter(vhostName, component, name, req['value']);
        broker.saveDefinitions();
        return { ok: true, result: null };
      }
      case 'parameter.clear': {
        const component = String(req['component']);
        const name = String(req['name']);
        if (!broker.access.clearParameter(vhostName, component, name)) return { ok: false, error: `Parameter does not exist` };
        broker.saveDefinitions();
        return { ok: true, result: null };
      }
      case 'parameter.list': {
        const component = typeof req['component'] === 'string' ? req['component'] : undefined;
        // As rabbitmqctl list_parameters: vhost limits and operator policies are parameters too.
        return { ok: true, result: parametersOf(vhost, component).map((p) => ({ component: p.component, name: p.name, value: p.value })) };
      }
      default:
        return { ok: false, error: `unknown command '${req.cmd}'` };
    }
  } catch (err) {
    if (err instanceof PolicyError) return { ok: false, error: err.message };
    if (err instanceof AccessError) return { ok: false, error: err.reason };
    throw err;
  }
}

const API_METHODS = ['GET', 'PUT', 'POST', 'DELETE'];

export class ControlServer {
  private server: Server | null = null;
  /** The management API's routes for `warren ctl`, when the broker runs without its HTTP listener. */
  private localApi: Promise<ManagementServer> | null = null;

  constructor(
    private readonly broker: Broker,
    readonly path: string,
  ) {}

  async listen(): Promise<void> {
    // A socket file left by a broker that died is in the way; a live one is not ours to take.
    if (existsSync(this.path)) {
      if (await isLive(this.path)) throw new Error(`another broker is already using ${this.path}`);
      unlinkSync(this.path);
    }
    const server = createServer((s) => this.serve(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private serve(socket: Socket): void {
    let buf = '';
    // Replies go out in the order the requests came, though an API request answers later.
    let turn: Promise<void> = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        turn = turn.then(async () => {
          const reply = await this.handle(line);
          if (!socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
        });
      }
    });
  }

  private async handle(line: string): Promise<ControlReply> {
    try {
      const req = JSON.parse(line) as ControlRequest;
      if (req.cmd === 'api') return await this.api(req);
      return handleControl(this.broker, req);
    } catch (err) {
      return { ok: false, error: `bad request: ${(err as Error).message}` };
    }
  }

  /**
   * `{cmd: "api", method, path, body, headers}`: one request to the management API's routes,
   * served in-process (warren ctl's transport to a local broker). Without an HTTP listener the
   * routes are built on first use, with no port opened.
   */
  private async api(req: ControlRequest): Promise<ControlReply> {
    const method = String(req['method']);
    const path = req['path'];
    if (!API_METHODS.includes(method) || typeof path !== 'string' || !path.startsWith('/api/')) {
      return { ok: false, error: 'an api request needs a method (GET, PUT, POST, DELETE) and a path under /api/' };
    }
    const headers = req['headers'];
    const api: ControlApiRequest = {
      method: method as ControlApiRequest['method'],
      path,
      ...(req['body'] === undefined ? {} : { body: req['body'] }),
      ...(headers !== null && typeof headers === 'object' ? { headers: headers as Record<string, string> } : {}),
    };
    return { ok: true, result: await (await this.management()).inject(api) };
  }

  private management(): Promise<ManagementServer> {
    if (this.broker.management !== null) return Promise.resolve(this.broker.management);
    this.localApi ??= import('./http/management.js').then(({ ManagementServer }) => new ManagementServer(this.broker));
    return this.localApi;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((r) => server.close(() => r()));
    const local = this.localApi;
    this.localApi = null;
    if (local !== null) await (await local).close();
  }
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One request to a running broker's control socket. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 5000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from the broker at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'is the broker running with this --data-dir?' : err.message;
      reject(new Error(`cannot reach the broker at ${path}: ${why}`));
    });
    s.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      s.end();
      resolve(JSON.parse(buf.slice(0, nl)) as ControlReply);
    });
    s.write(JSON.stringify(req) + '\n');
  });
}
