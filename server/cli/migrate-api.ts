import type { Definitions } from '../../persistence/definitions.js';

/**
 * A broker's management HTTP API, as `warren migrate` uses it: RabbitMQ's (or Amazon MQ's,
 * or Warren's, which has the same paths and JSON). The URL carries the credentials:
 * `http://user:pass@host:15672` (a path prefix is kept: `https://host/rabbitmq`).
 */

/** What /api/overview tells about a broker. */
export interface BrokerOverview {
  product_name?: string;
  product_version?: string;
  rabbitmq_version?: string;
  cluster_name?: string;
  exchange_types?: { name: string }[];
  listeners?: { protocol: string; ip_address: string; port: number }[];
}

/** A queue as /api/queues lists it (the fields migrate reads). */
export interface QueueInfo {
  name: string;
  vhost: string;
  type?: string;
  durable?: boolean;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** An http(s) URL with its password hidden, for printing. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export class ManagementApi {
  readonly base: string;
  readonly display: string;
  readonly host: string;
  readonly tls: boolean;
  readonly username: string;
  readonly password: string;
  private readonly auth: string;

  constructor(url: string) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`not a URL: ${redactUrl(url)} (expected http://user:pass@host:15672)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`the management API URL must be http:// or https://, not ${u.protocol}//`);
    this.username = decodeURIComponent(u.username || 'guest');
    this.password = decodeURIComponent(u.password || 'guest');
    this.auth = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.tls = u.protocol === 'https:';
    const path = u.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
    this.base = `${u.protocol}//${u.host}${path}/api`;
    this.display = `${u.protocol}//${u.host}${path}`;
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: this.auth, 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(`cannot reach the management API at ${this.display}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 0);
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.status === 401) throw new ApiError(`the management API at ${this.display} refused user '${this.username}' (401): ${reasonOf(parsed)}`, 401);
    return { status: res.status, body: parsed };
  }

  /** GET, expecting 200; an ApiError otherwise. */
  async get<T>(path: string): Promise<T> {
    const r = await this.request('GET', path);
    if (r.status !== 200) throw new ApiError(`GET ${path} on ${this.display} answered ${r.status}: ${reasonOf(r.body)}`, r.status);
    return r.body as T;
  }

  overview(): Promise<BrokerOverview> {
    return this.get<BrokerOverview>('/overview');
  }

  definitions(): Promise<Definitions> {
    return this.get<Definitions>('/definitions');
  }

  queues(): Promise<QueueInfo[]> {
    return this.get<QueueInfo[]>('/queues?disable_stats=false');
  }

  async importDefinitions(defs: Definitions): Promise<void> {
    const r = await this.request('POST', '/definitions', defs);
    if (r.status !== 204 && r.status !== 200 && r.status !== 201) throw new ApiError(`importing definitions into ${this.display} failed (${r.status}): ${reasonOf(r.body)}`, r.status);
  }

  /** Creates a vhost (RabbitMQ's API gives the acting user full permissions in it). */
  async putVhost(name: string): Promise<void> {
    const r = await this.request('PUT', `/vhosts/${enc(name)}`, {});
    if (r.status !== 201 && r.status !== 204) throw new ApiError(`creating vhost '${name}' on ${this.display} failed (${r.status}): ${reasonOf(r.body)}`, r.status);
  }

  async vhostNames(): Promise<string[]> {
    return (await this.get<{ name: string }[]>('/vhosts')).map((v) => v.name);
  }

  async putParameter(component: string, vhost: string, name: string, value: unknown): Promise<void> {
    const r = await this.request('PUT', `/parameters/${enc(component)}/${enc(vhost)}/${enc(name)}`, { value });
    if (r.status !== 201 && r.status !== 204) throw new ApiError(`setting ${component} parameter '${name}' in vhost '${vhost}' on ${this.display} failed (${r.status}): ${reasonOf(r.body)}`, r.status);
  }

  /** Deletes a parameter; false when there was none. */
  async deleteParameter(component: string, vhost: string, name: string): Promise<boolean> {
    const r = await this.request('DELETE', `/parameters/${enc(component)}/${enc(vhost)}/${enc(name)}`);
    if (r.status === 404) return false;
    if (r.status !== 204 && r.status !== 200) throw new ApiError(`deleting ${component} parameter '${name}' on ${this.display} failed (${r.status}): ${reasonOf(r.body)}`, r.status);
    return true;
  }

  /** The names of the parameters of a component, as `vhost\0name`. */
  async parameterKeys(component: string): Promise<Set<string>> {
    const list = await this.get<{ vhost: string; name: string }[]>(`/parameters/${enc(component)}`);
    return new Set(list.map((p) => `${p.vhost}\0${p.name}`));
  }

  /** Whether a path answers 200 (used to probe plugins: /shovels, /federation-links). */
  async answers(path: string): Promise<boolean> {
    try {
      return (await this.request('GET', path)).status === 200;
    } catch {
      return false;
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function reasonOf(body: unknown): string {
  if (body !== null && typeof body === 'object' && 'reason' in body) return String((body as { reason: unknown }).reason);
  return typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body);
}
