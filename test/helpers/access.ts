// Plumbing for the access-control tests (users, permissions, topic permissions, limits).
//
// Each file describes its users, vhosts and permissions once, in RabbitMQ's definitions
// format, and gets them on Warren (imported through the broker's own definitions import)
// or, with WARREN_REFERENCE_URL=amqp://guest:guest@host:port and RABBITMQ_MGMT_URL set,
// on a real RabbitMQ through its HTTP API, so that every expectation can be checked
// against RabbitMQ itself. Names are unique per run, so a shared RabbitMQ is no problem.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { importDefinitions } from '../../server/access/definitions-import.js';
import { permissionFrom, TopicPermission } from '../../server/access/permissions.js';
import { closeInfo, M, RawClient } from './raw-client.js';
import type { BrokerConfig } from '../../server/ops/config.js';
import { validatePolicy } from '../../server/vhost/policy.js';

const reference = process.env['WARREN_REFERENCE_URL'] ?? '';
const mgmt = process.env['RABBITMQ_MGMT_URL'] ?? '';
/** True against Warren (the default); false against a reference RabbitMQ. */
export const onWarren = reference === '' || mgmt === '';

export interface UserSpec {
  name: string;
  password: string;
  tags?: string[];
  limits?: Record<string, number | undefined>;
}
export interface PermissionSpec {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
export interface TopicPermissionSpec {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}
export interface AccessFixture {
  users: UserSpec[];
  vhosts?: { name: string; limits?: Record<string, number | undefined> }[];
  permissions?: PermissionSpec[];
  topic_permissions?: TopicPermissionSpec[];
}

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const u = new URL(mgmt);
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  const res = await fetch(`${u.origin}/api${path}`, {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 400 && !(method === 'DELETE' && res.status === 404)) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text === '' ? null : JSON.parse(text);
}

const enc = encodeURIComponent;

export interface AccessBroker {
  /** A name unique to this run: `p('alice')` is `access-<random>-alice`. */
  p(name: string): string;
  /** The broker (Warren only). */
  readonly broker: RunningBroker | undefined;
  url(user: string, password: string, vhost?: string): string;
  /** A connection as the user (closed after the file's tests). */
  connect(user: string, password: string, vhost?: string): Promise<ChannelModel>;
  /**
   * A raw handshake as the user up to connection.open: 'ok', or the connection.close the
   * server answered with (amqplib hides its text during the handshake).
   */
  open(user: string, password: string, vhost?: string): Promise<ServerClose | 'ok'>;
  /** Changes, on whichever broker the tests run against. */
  setPermissions(p: PermissionSpec): Promise<void>;
  clearPermissions(user: string, vhost: string): Promise<void>;
  setUserLimit(user: string, limit: string, value: number): Promise<void>;
  setVhostLimit(vhost: string, limit: string, value: number): Promise<void>;
  deleteUser(user: string): Promise<void>;
  /** A policy, or with `operator` an operator policy, in vhost '/'; `null` definition clears it. */
  policy(name: string, body: { pattern: string; definition: Record<string, unknown> | null; 'apply-to'?: string; priority?: number }, operator?: boolean): Promise<void>;
}

/**
 * One broker for the calling file, with `fixture(p)` applied (p makes names unique).
 * `config` is extra Warren config (ignored against RabbitMQ).
 */
export function useAccessBroker(fixture: (p: (n: string) => string) => AccessFixture, config: Partial<BrokerConfig> = {}): AccessBroker {
  const token = randomBytes(3).toString('hex');
  const p = (n: string): string => `access-${token}-${n}`;
  const fx = fixture(p);
  let b: RunningBroker | undefined;
  let base = '';
  const open: ChannelModel[] = [];
  beforeAll(async () => {
    const defs = {
      users: fx.users.map((u) => ({ name: u.name, password: u.password, tags: u.tags ?? [], limits: u.limits ?? {} })),
      vhosts: (fx.vhosts ?? []).map((v) => ({ name: v.name })),
      permissions: fx.permissions ?? [],
      topic_permissions: fx.topic_permissions ?? [],
      parameters: (fx.vhosts ?? [])
        .filter((v) => v.limits !== undefined)
        .map((v) => ({ vhost: v.name, component: 'vhost-limits', name: 'limits', value: v.limits })),
    };
    if (onWarren) {
      b = await startBroker({ port: 0, ...config });
      base = b.url;
      const report = importDefinitions(b.broker, defs, { mode: 'runtime' });
      for (const [section, r] of Object.entries(report)) if (r.errors.length > 0) throw new Error(`${section}: ${r.errors.join('; ')}`);
    } else {
      base = reference;
      // POST /api/definitions creates users with plaintext `password` too (hashing them).
      await api('POST', '/definitions', defs);
    }
  });
  afterAll(async () => {
    for (const c of open) await c.close().catch(() => {});
    if (onWarren) await b?.close();
    else {
      for (const u of fx.users) await api('DELETE', `/users/${enc(u.name)}`);
      for (const v of fx.vhosts ?? []) await api('DELETE', `/vhosts/${enc(v.name)}`);
    }
  });
  const url = (user: string, password: string, vhost = '/'): string => {
    const u = new URL(base);
    return `amqp://${enc(user)}:${enc(password)}@${u.host}/${enc(vhost)}`;
  };
  return {
    p,
    get broker() {
      return b;
    },
    url,
    async connect(user, password, vhost) {
      const c = await amqp.connect(url(user, password, vhost));
      c.on('error', () => {});
      open.push(c);
      return c;
    },
    async open(user, password, vhost = '/') {
      const u = new URL(base);
      const c = await RawClient.connect(Number(u.port), u.hostname);
      try {
        await c.handshake({ user, password, vhost: null });
        c.sendMethod(0, { id: M.ConnectionOpen, virtualHost: vhost, capabilities: '', insist: false });
        const m = await c.nextMethod();
        if (m.id === M.ConnectionOpenOk) return 'ok';
        const i = closeInfo(m);
        return { code: i.replyCode, text: i.replyText, classId: i.classId, methodId: i.methodId };
      } finally {
        await c.close();
      }
    },
    async setPermissions(perm) {
      if (onWarren) b!.broker.access.setPermissions(perm.user, perm.vhost, permissionFrom(perm));
      else await api('PUT', `/permissions/${enc(perm.vhost)}/${enc(perm.user)}`, perm);
    },
    async clearPermissions(user, vhost) {
      if (onWarren) b!.broker.access.clearPermissions(user, vhost);
      else await api('DELETE', `/permissions/${enc(vhost)}/${enc(user)}`);
    },
    async setUserLimit(user, limit, value) {
      if (onWarren) b!.broker.access.setUserLimits(user, { [limit]: value });
      else await api('PUT', `/user-limits/${enc(user)}/${limit}`, { value });
    },
    async setVhostLimit(vhost, limit, value) {
      if (onWarren) {
        const v = b!.broker.vhosts.get(vhost)!;
        b!.broker.access.setVhostLimits(vhost, { ...v.limits, [limit]: value });
      } else await api('PUT', `/vhost-limits/${enc(vhost)}/${limit}`, { value });
    },
    async policy(name, body, operator = false) {
      const path = `/${operator ? 'operator-policies' : 'policies'}/%2F/${enc(name)}`;
      if (onWarren) {
        const v = b!.broker.vhosts.get('/')!;
        if (body.definition === null) {
          if (operator) v.clearOperatorPolicy(name);
          else v.clearPolicy(name);
          return;
        }
        const p = validatePolicy({ name, pattern: body.pattern, applyTo: body['apply-to'], priority: body.priority, definition: body.definition }, operator);
        if (operator) v.setOperatorPolicy(p);
        else v.setPolicy(p);
      } else if (body.definition === null) await api('DELETE', path);
      else await api('PUT', path, body);
    },
    async deleteUser(user) {
      if (onWarren) b!.broker.access.deleteUser(user);
      else await api('DELETE', `/users/${enc(user)}`);
    },
  };
}

export { TopicPermission };

/** A server close as amqplib reports it: code, text, class and method. */
export interface ServerClose {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

export function serverClose(err: unknown): ServerClose {
  const e = err as Error & { code?: number; classId?: number; methodId?: number };
  const m = /(\d+) \([A-Z_-]+\) with message "(.*)"$/s.exec(e.message);
  if (m === null || e.code === undefined) throw new Error(`not a server close: ${e.message}`);
  return { code: e.code, text: m[2]!, classId: e.classId ?? -1, methodId: e.methodId ?? -1 };
}

/**
 * Runs `op` on a fresh channel of `conn` and reports what happened: 'ok' with the
 * operation's answer, or the channel.close the server sent. A publish has no answer, so
 * the channel is given a moment (and a round trip) to be closed.
 */
export async function attempt(conn: ChannelModel, op: (ch: amqp.Channel) => Promise<unknown>): Promise<ServerClose | 'ok'> {
  const ch = await conn.createChannel();
  let closed: ServerClose | null = null;
  ch.on('error', (err: unknown) => {
    closed = serverClose(err);
  });
  try {
    await op(ch);
    // A round trip: a publish refused by the server closes the channel before this answers.
    await ch.checkExchange('amq.direct');
  } catch (err) {
    return closed ?? serverClose(err);
  }
  if (closed !== null) return closed;
  await ch.close();
  return 'ok';
}
