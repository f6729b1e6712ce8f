// The same API paths on Warren and on a live RabbitMQ (RABBITMQ_MGMT_URL; CI sets it), with
// the same objects on both: every field RabbitMQ shows for an object type must be in
// Warren's too, unless docs/compatibility.md lists it as absent. Nested statistics objects
// (message_stats, queue_totals, ...) are compared field by field as well.
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiClient, rabbitMgmt, startWithApi, type Api, type ApiBroker } from '../../helpers/http.js';

const rabbit = rabbitMgmt();
const amqpUrl = process.env['RABBITMQ_URL'];
const live = rabbit !== null && amqpUrl !== undefined && amqpUrl !== '';

/** Nested objects whose fields are compared too; other objects (arguments, tables) are data. */
const NESTED = new Set(['message_stats', 'queue_totals', 'object_totals', 'churn_rates', 'channel_details', 'connection_details', 'queue', 'metadata']);

function fieldPaths(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    out.push(prefix + k);
    if (NESTED.has(k) && v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...fieldPaths(v, `${prefix}${k}.`));
  }
  return out;
}

/** "- `queue`: `a`, `b.c`" lines of the compatibility page's list of absent fields. */
function documentedAbsent(): Map<string, Set<string>> {
  const doc = readFileSync(new URL('../../../docs/compatibility.md', import.meta.url), 'utf8');
  const section = doc.split('### Management API fields Warren does not have')[1]?.split('\n### ')[0]?.split('\n## ')[0] ?? '';
  const out = new Map<string, Set<string>>();
  for (const line of section.split('\n')) {
    const m = /^- `([a-z_]+)`: (.*)$/.exec(line.trim());
    if (m === null) continue;
    out.set(m[1]!, new Set([...m[2]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!)));
  }
  return out;
}

interface Side {
  api: Api;
  amqpUrl: string;
  conn?: amqp.ChannelModel;
}

const name = `http-diff-${randomBytes(4).toString('hex')}`;
const V = encodeURIComponent(name);
/** A user of this run (users are not per vhost: the name must not clash on a shared RabbitMQ). */
const U = `${name}-u`;
let warren: ApiBroker;
const sides: Record<'warren' | 'rabbit', Side> = {} as Record<'warren' | 'rabbit', Side>;

/** The same objects on a broker: a vhost with a policy, an exchange bound to a queue holding messages, a consumer, a confirm channel. */
async function fixture(side: Side, withPermissions: boolean): Promise<void> {
  const api = side.api;
  expect((await api('PUT', `/api/vhosts/${V}`, { description: 'diff' })).status).toBe(201);
  if (withPermissions) await api('PUT', `/api/permissions/${V}/guest`, { configure: '.*', write: '.*', read: '.*' });
  await api('PUT', `/api/policies/${V}/diff-pol`, { pattern: '^diff-q$', definition: { 'max-length': 1000 }, 'apply-to': 'queues' });
  await api('PUT', `/api/exchanges/${V}/diff-x`, { type: 'topic', durable: true });
  await api('PUT', `/api/queues/${V}/diff-q`, { durable: true, arguments: { 'x-message-ttl': 60000 } });
  await api('POST', `/api/bindings/${V}/e/diff-x/q/diff-q`, { routing_key: 'a.*' });
  await api('PUT', `/api/queues/${V}/diff-qq`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  // Users, permissions, limits and parameters.
  await api('PUT', `/api/users/${U}`, { password: 'diff-pw', tags: 'management', limits: { 'max-connections': 10 } });
  await api('PUT', `/api/permissions/${V}/${U}`, { configure: '^diff', write: '.*', read: '.*' });
  await api('PUT', `/api/topic-permissions/${V}/${U}`, { exchange: 'amq.topic', write: '^a', read: '.*' });
  await api('PUT', `/api/vhost-limits/${V}/max-queues`, { value: 100 });
  await api('PUT', `/api/operator-policies/${V}/diff-op`, { pattern: '^diff-qq$', definition: { 'max-length': 1000 }, priority: 1, 'apply-to': 'queues' });
  const conn = await amqp.connect(`${side.amqpUrl}/${V}`, { clientProperties: { connection_name: 'diff-conn' } });
  side.conn = conn;
  const pub = await conn.createConfirmChannel();
  for (let i = 0; i < 6; i++) pub.publish('diff-x', 'a.b', Buffer.from(`m${i}`), { persistent: i % 2 === 0 });
  pub.sendToQueue('diff-qq', Buffer.from('q'));
  await pub.waitForConfirms();
  const sub = await conn.createChannel();
  await sub.prefetch(2);
  await sub.consume('diff-q', () => {}, { consumerTag: 'diff-ctag' });
}

beforeAll(async () => {
  if (!live) return;
  warren = await startWithApi({ vhosts: ['/'] });
  sides.warren = { api: warren.api, amqpUrl: warren.url };
  sides.rabbit = { api: apiClient(rabbit!.base, rabbit!.user, rabbit!.password), amqpUrl: amqpUrl!.replace(/\/$/, '') };
  await fixture(sides.warren, false);
  await fixture(sides.rabbit, true);
  // RabbitMQ emits statistics every 5 seconds; rates need two samples.
  await new Promise((r) => setTimeout(r, 11_000));
}, 40_000);

afterAll(async () => {
  if (!live) return;
  for (const s of Object.values(sides)) await s.conn?.close().catch(() => {});
  await sides.rabbit?.api('DELETE', `/api/vhosts/${V}`);
  await sides.rabbit?.api('DELETE', `/api/users/${U}`);
  await warren?.close();
});

/** One object of each type, from the same path on both brokers. */
const PATHS: [string, string, (body: any) => unknown][] = [
  ['overview', '/api/overview', (b) => b],
  ['node', '/api/nodes', (b) => b[0]],
  ['whoami', '/api/whoami', (b) => b],
  ['vhost', `/api/vhosts/${V}`, (b) => b],
  ['vhost_list_item', '/api/vhosts', (b) => b.find((v: { name: string }) => v.name === name)],
  ['connection', '/api/connections', (b) => b.find((c: { vhost: string }) => c.vhost === name)],
  ['channel', `/api/vhosts/${V}/channels`, (b) => b.find((c: { consumer_count: number }) => c.consumer_count === 1)],
  ['confirm_channel', `/api/vhosts/${V}/channels`, (b) => b.find((c: { confirm: boolean }) => c.confirm)],
  ['consumer', `/api/consumers/${V}`, (b) => b[0]],
  ['exchange', `/api/exchanges/${V}/diff-x`, (b) => b],
  ['exchange_list_item', `/api/exchanges/${V}`, (b) => b.find((x: { name: string }) => x.name === 'diff-x')],
  ['queue', `/api/queues/${V}/diff-q`, (b) => b],
  ['queue_list_item', `/api/queues/${V}`, (b) => b.find((q: { name: string }) => q.name === 'diff-q')],
  ['binding', `/api/bindings/${V}/e/diff-x/q/diff-q`, (b) => b[0]],
  ['policy', `/api/policies/${V}/diff-pol`, (b) => b],
  ['paged_queues', `/api/queues/${V}?page=1&page_size=10`, (b) => ({ ...b, items: undefined })],
  ['quorum_queue', `/api/queues/${V}/diff-qq`, (b) => b],
  ['quorum_queue_list_item', `/api/queues/${V}`, (b) => b.find((q: { name: string }) => q.name === 'diff-qq')],
  ['user', `/api/users/${U}`, (b) => b],
  ['user_list_item', '/api/users', (b) => b.find((u: { name: string }) => u.name === U)],
  ['permission', `/api/permissions/${V}/${U}`, (b) => b],
  ['permission_list_item', `/api/vhosts/${V}/permissions`, (b) => b.find((p: { user: string }) => p.user === U)],
  ['topic_permission', `/api/topic-permissions/${V}/${U}`, (b) => b[0]],
  ['user_limits', `/api/user-limits/${U}`, (b) => b[0]],
  ['vhost_limits', `/api/vhost-limits/${V}`, (b) => b[0]],
  ['parameter', `/api/parameters/vhost-limits/${V}/limits`, (b) => b],
  ['operator_policy', `/api/operator-policies/${V}/diff-op`, (b) => b],
  ['global_parameter', '/api/global-parameters/internal_cluster_id', (b) => b],
  ['definitions', '/api/definitions', (b) => b],
  ['vhost_definitions', `/api/definitions/${V}`, (b) => b],
  ['auth', '/api/auth', (b) => b],
  ['alarms_check', '/api/health/checks/alarms', (b) => b],
  ['aliveness', `/api/aliveness-test/${V}`, (b) => b],
];

describe.skipIf(!live)('the management API against a live RabbitMQ (RABBITMQ_MGMT_URL)', () => {
  test.each(PATHS)('%s (%s): every field RabbitMQ has, Warren has or documents', async (type, path, pick) => {
    const theirs = await sides.rabbit.api('GET', path);
    const ours = await sides.warren.api('GET', path);
    expect({ type, status: ours.status }).toEqual({ type, status: theirs.status });
    const t = pick(theirs.body);
    const o = pick(ours.body);
    expect(t, `RabbitMQ has a ${type}`).toBeDefined();
    expect(o, `Warren has a ${type}`).toBeDefined();
    const absent = documentedAbsent().get(type.replace(/_list_item$/, '').replace(/^confirm_/, '')) ?? new Set<string>();
    if (type === 'definitions') {
      // The sections: every key RabbitMQ exports, and the fields of each kind of entry.
      for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
        if (!Array.isArray(v) || v.length === 0) continue;
        const ourEntries = (o as Record<string, unknown>)[k] as Record<string, unknown>[];
        const theirFields = new Set(v.flatMap((e) => Object.keys(e as object)));
        const ourFields = new Set((ourEntries ?? []).flatMap((e) => Object.keys(e)));
        expect({ section: k, lacking: [...theirFields].filter((f) => ourEntries.length > 0 && !ourFields.has(f)) }).toEqual({ section: k, lacking: [] });
      }
    }
    const ourFields = new Set(fieldPaths(o));
    const lacking = fieldPaths(t).filter((f) => !ourFields.has(f) && !absent.has(f) && !absent.has(f.split('.')[0]!));
    expect(lacking).toEqual([]);
  });
});
