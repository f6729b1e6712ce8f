// The management API over a real socket: a broker started with its HTTP ports, and a small
// client that returns status, headers and the decoded body of each call.
import { startBroker, type RunningBroker } from '../../server/index.js';
import type { BrokerConfig } from '../../server/ops/config.js';

export interface ApiReply {
  status: number;
  headers: Record<string, string>;
  /** The JSON body, or the raw text when it is not JSON ('' for none). */
  body: any;
  text: string;
}

export interface CallOptions {
  user?: string;
  password?: string;
  /** false: send no Authorization header. */
  auth?: boolean;
  headers?: Record<string, string>;
  /** A raw body, sent as is. */
  raw?: string;
}

export type Api = (method: string, path: string, body?: unknown, opts?: CallOptions) => Promise<ApiReply>;

/** A client of one management API base URL (http://host:port). */
export function apiClient(base: string, defaultUser = 'guest', defaultPassword = 'guest'): Api {
  return async (method, path, body, opts = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(opts.headers ?? {}) };
    if (opts.auth !== false) {
      const creds = `${opts.user ?? defaultUser}:${opts.password ?? defaultPassword}`;
      headers['authorization'] = `Basic ${Buffer.from(creds).toString('base64')}`;
    }
    const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const r = await fetch(base + path, { method, headers, body: payload });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? '' : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: r.status, headers: Object.fromEntries(r.headers), body: parsed, text };
  };
}

export interface ApiBroker extends RunningBroker {
  api: Api;
  managementUrl: string;
  prometheusUrl: string;
}

/** A broker with its management API and Prometheus endpoint on free ports. */
export async function startWithApi(options: Partial<BrokerConfig> = {}): Promise<ApiBroker> {
  const b = await startBroker({ port: 0, managementPort: 0, prometheusPort: 0, ...options });
  return { ...b, api: apiClient(b.managementUrl!), managementUrl: b.managementUrl!, prometheusUrl: b.prometheusUrl! };
}

/** RabbitMQ's management URL from the environment (CI sets it), as base URL and credentials. */
export function rabbitMgmt(): { base: string; user: string; password: string } | null {
  const url = process.env['RABBITMQ_MGMT_URL'];
  if (url === undefined || url === '') return null;
  const u = new URL(url);
  return { base: `${u.protocol}//${u.host}`, user: decodeURIComponent(u.username || 'guest'), password: decodeURIComponent(u.password || 'guest') };
}

/** Waits until check() is true (polling), or fails with what was awaited. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * An AMQP handshake as the user up to connection.open, on a raw socket: 'ok', or the
 * connection.close the broker answered with (amqplib hides its text during the handshake).
 */
export async function amqpOpen(amqpUrl: string, user: string, password: string, vhost: string): Promise<'ok' | { code: number; text: string }> {
  const { RawClient, M, closeInfo } = await import('./raw-client.js');
  const u = new URL(amqpUrl);
  const c = await RawClient.connect(Number(u.port), u.hostname);
  try {
    await c.handshake({ user, password, vhost: null });
    c.sendMethod(0, { id: M.ConnectionOpen, virtualHost: vhost, capabilities: '', insist: false });
    const m = await c.nextMethod();
    if (m.id === M.ConnectionOpenOk) return 'ok';
    const i = closeInfo(m);
    return { code: i.replyCode, text: i.replyText };
  } finally {
    await c.close();
  }
}
