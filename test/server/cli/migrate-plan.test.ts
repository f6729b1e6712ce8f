// `warren migrate plan` on a definitions file that holds one of everything a migration
// meets: every verdict and reason, for Warren, RabbitMQ and Amazon MQ targets, and the
// definitions `run` would import.
import { describe, expect, it } from 'vitest';
import type { Definitions } from '../../../persistence/definitions.js';
import { makePlan, type MigrationPlan, type PlanInput } from '../../../server/cli/migrate-plan.js';
import { planJson } from '../../../server/cli/migrate-report.js';
import { compareDefinitions } from '../../../server/cli/migrate-verify.js';
import { withVhost } from '../../../server/cli/migrate-run.js';
import type { TargetProfile } from '../../../server/cli/migrate-profiles.js';

const HASH = 'BMfxN8drrYcIqXZMr+pWTpDT0nMcOagMduLX0bjr4jwud/pN';

const SOURCE: Definitions = {
  rabbit_version: '3.10.8',
  rabbitmq_version: '3.10.8',
  product_name: 'RabbitMQ',
  product_version: '3.10.8',
  users: [
    { name: 'guest', password_hash: HASH, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'], limits: {} },
    { name: 'app', password_hash: HASH, hashing_algorithm: 'rabbit_password_hashing_sha512', tags: ['policymaker', 'monitoring'], limits: { 'max-connections': 10 } },
    { name: 'old', password_hash: HASH, hashing_algorithm: 'rabbit_password_hashing_md5', tags: [] },
    { name: 'ldap', password_hash: HASH, hashing_algorithm: 'rabbit_password_hashing_bcrypt', tags: [] },
    { name: 'cert', password_hash: '', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] },
  ],
  vhosts: [{ name: '/' }, { name: 'orders', default_queue_type: 'quorum' } as never],
  permissions: [
    { user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' },
    { user: 'app', vhost: 'orders', configure: '^app\\.', write: '.*', read: '.*' },
    { user: 'ldap', vhost: '/', configure: '', write: '', read: '.*' },
  ],
  topic_permissions: [{ user: 'app', vhost: 'orders', exchange: 'amq.topic', write: '^orders\\.', read: '.*' }],
  parameters: [
    { vhost: 'orders', component: 'vhost-limits', name: 'limits', value: { 'max-queues': 100, 'max-connections': 50 } },
    { vhost: 'orders', component: 'operator_policy', name: 'cap', value: { pattern: '.*', definition: { 'max-length': 100000 }, priority: 0, 'apply-to': 'queues' } },
    { vhost: '/', component: 'shovel', name: 'to-archive', value: { 'src-uri': 'amqp://', 'src-queue': 'work', 'dest-uri': 'amqp://archive', 'dest-queue': 'work' } },
    { vhost: '/', component: 'shovel', name: 'amqp10', value: { 'src-uri': 'amqp://', 'src-address': 'x', 'src-protocol': 'amqp10', 'dest-uri': 'amqp://' } },
    { vhost: '/', component: 'federation-upstream', name: 'up', value: { uri: 'amqp://other' } },
  ] as never,
  global_parameters: [{ name: 'cluster_name', value: 'rabbit@old' }],
  policies: [
    { vhost: 'orders', name: 'dlx', pattern: '^orders\\.', 'apply-to': 'queues', priority: 1, definition: { 'dead-letter-exchange': 'dlx', 'message-ttl': 60000 } },
    { vhost: '/', name: 'lazy', pattern: '.*', 'apply-to': 'queues', priority: 0, definition: { 'queue-mode': 'lazy', 'ha-mode': 'all' } },
    { vhost: '/', name: 'bad', pattern: '.*', 'apply-to': 'queues', priority: 0, definition: { 'max-lenght': 1 } },
  ] as never,
  queues: [
    { name: 'work', vhost: '/', durable: true, auto_delete: false, arguments: {} },
    { name: 'lazy', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-queue-mode': 'lazy' } },
    { name: 'orders.in', vhost: 'orders', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } },
    { name: 'events', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream', 'x-max-age': '7D' } },
    { name: 'broken', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum', 'x-max-priority': 5 } },
  ] as never,
  exchanges: [
    { name: 'dlx', vhost: 'orders', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} },
    { name: 'later', vhost: '/', type: 'x-delayed-message', durable: true, auto_delete: false, internal: false, arguments: { 'x-delayed-type': 'direct' } },
  ] as never,
  bindings: [
    { source: 'dlx', vhost: 'orders', destination: 'orders.in', destination_type: 'queue', routing_key: '', arguments: {} },
    { source: 'later', vhost: '/', destination: 'work', destination_type: 'queue', routing_key: 'w', arguments: {} },
  ] as never,
};

function plan(profile: TargetProfile, over: Partial<PlanInput['target']> = {}, limits: PlanInput['limits'] = {}): MigrationPlan {
  return makePlan({
    source: { url: 'http://rabbit:15672', defs: SOURCE, overview: null, queues: [{ name: 'work', vhost: '/', messages: 120 }, { name: 'orders.in', vhost: 'orders', messages: 3 }, { name: 'lazy', vhost: '/', messages: 0 }] },
    target: { url: 'http://target:15672', profile, overview: null, defs: null, hasShovel: null, hasFederation: null, amqpUrl: null, ...over },
    limits,
  });
}

function find(p: MigrationPlan, kind: string, name: string, vhost: string | null = null): { verdict: string; reason: string; messages?: number } {
  const i = p.items.find((x) => x.kind === kind && x.name === name && (vhost === null || x.vhost === vhost));
  if (i === undefined) throw new Error(`no ${kind} ${name} in the plan`);
  return { verdict: i.verdict, reason: i.reason, ...(i.messages === undefined ? {} : { messages: i.messages }) };
}

describe('plan for a Warren target', () => {
  const p = plan('warren');

  it('judges users by hashing algorithm, and says what a user without a password can do', () => {
    expect(find(p, 'user', 'guest')).toEqual({ verdict: 'supported', reason: 'sha256 hash' });
    expect(find(p, 'user', 'app')).toEqual({ verdict: 'supported', reason: 'sha512 hash' });
    expect(find(p, 'user', 'old')).toEqual({ verdict: 'supported', reason: 'md5 hash' });
    expect(find(p, 'user', 'ldap')).toEqual({ verdict: 'unsupported', reason: "password hashing algorithm rabbit_password_hashing_bcrypt is not one of RabbitMQ's internal backend (sha256, sha512, md5)" });
    expect(find(p, 'user', 'cert').verdict).toBe('difference');
    expect(find(p, 'permission', 'ldap', '/')).toEqual({ verdict: 'unsupported', reason: "user 'ldap' is not migrated" });
    expect(find(p, 'limit', 'user app')).toEqual({ verdict: 'supported', reason: 'max-connections 10' });
  });

  it('judges queues by type and arguments, with the backlog to move', () => {
    expect(find(p, 'queue', 'work', '/')).toEqual({ verdict: 'supported', reason: 'classic; 120 messages to move', messages: 120 });
    expect(find(p, 'queue', 'lazy', '/')).toEqual({ verdict: 'difference', reason: 'classic; x-queue-mode has no effect: every queue keeps its backlog on disk already (no lazy mode to switch to)', messages: 0 });
    expect(find(p, 'queue', 'orders.in', 'orders')).toMatchObject({ verdict: 'difference', reason: "quorum queue with rabbit_fifo's semantics on one node: not replicated; 3 messages to move" });
    expect(find(p, 'queue', 'events', '/').verdict).toBe('difference');
    expect(find(p, 'queue', 'broken', '/')).toMatchObject({ verdict: 'unsupported', reason: "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'broken' in vhost '/' of queue type rabbit_quorum_queue" });
  });

  it('judges policies with Warren\'s validator, naming the keys without effect', () => {
    expect(find(p, 'policy', 'dlx', 'orders')).toEqual({ verdict: 'supported', reason: 'dead-letter-exchange, message-ttl' });
    expect(find(p, 'policy', 'lazy', '/')).toEqual({ verdict: 'difference', reason: 'queue-mode, ha-mode; accepted, stored and exported, but without effect in Warren: queue-mode, ha-mode' });
    expect(find(p, 'policy', 'bad', '/')).toEqual({ verdict: 'unsupported', reason: 'Validation failed [{<<"max-lenght">>,1}] are not recognised policy settings' });
    expect(find(p, 'operator-policy', 'cap', 'orders')).toEqual({ verdict: 'supported', reason: 'max-length' });
    expect(find(p, 'limit', 'vhost limits', 'orders')).toEqual({ verdict: 'supported', reason: 'max-queues 100, max-connections 50' });
  });

  it('plugins: exchange types from plugins, shovels, federation', () => {
    expect(find(p, 'exchange', 'later', '/')).toEqual({ verdict: 'unsupported', reason: "exchange type 'x-delayed-message' (rabbitmq_delayed_message_exchange) is not available on the target" });
    expect(find(p, 'binding', 'later -> queue work (w)', '/')).toEqual({ verdict: 'unsupported', reason: "exchange 'later' is not migrated" });
    expect(find(p, 'binding', 'dlx -> queue orders.in', 'orders').verdict).toBe('supported');
    expect(find(p, 'parameter', 'shovel/to-archive', '/')).toEqual({ verdict: 'supported', reason: 'a dynamic shovel: it starts on the target once imported' });
    expect(find(p, 'parameter', 'shovel/amqp10', '/').verdict).toBe('unsupported');
    expect(find(p, 'parameter', 'federation-upstream/up', '/')).toMatchObject({ verdict: 'supported' });
    expect(find(p, 'plugin', 'rabbitmq_delayed_message_exchange')).toEqual({ verdict: 'unsupported', reason: 'used by 1 object' });
    expect(find(p, 'plugin', 'rabbitmq_shovel')).toEqual({ verdict: 'unsupported', reason: 'used by 2 objects' });
    expect(find(p, 'plugin', 'rabbitmq_federation').verdict).toBe('supported');
    expect(find(plan('warren', { hasFederation: true }), 'parameter', 'federation-upstream/up', '/').verdict).toBe('supported');
  });

  it('sums up, and imports everything but what it refused', () => {
    expect(p.summary).toEqual({ supported: 17, difference: 7, unsupported: 7, queuesWithMessages: 2, messages: 123 });
    const d = p.definitions;
    expect(d.users!.map((u) => u.name)).toEqual(['guest', 'app', 'old', 'cert']);
    expect(d.queues!.map((q) => q.name)).toEqual(['work', 'lazy', 'orders.in', 'events']);
    expect(d.exchanges!.map((e) => e.name)).toEqual(['dlx']);
    expect(d.bindings!.length).toBe(1);
    expect(d.policies!.map((x) => x.name)).toEqual(['dlx', 'lazy']);
    expect(d.parameters!.map((x) => x.name)).toEqual(['limits', 'cap', 'to-archive', 'up']);
    expect(planJson(p)).toMatchObject({ blockers: 7, target: { profile: 'warren' } });
  });

  it('a queue that exists on the target with other arguments is a blocker', () => {
    const q = plan('warren', { defs: { queues: [{ name: 'work', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 5 } }] as never } });
    expect(find(q, 'queue', 'work', '/')).toMatchObject({ verdict: 'unsupported', reason: 'exists on the target with other properties or arguments; delete it there or rename it first' });
  });
});

describe('plan for RabbitMQ and Amazon MQ targets', () => {
  it('RabbitMQ takes every queue type and policy key; plugins depend on what it has enabled', () => {
    const p = plan('rabbitmq', { hasShovel: false, overview: { exchange_types: [{ name: 'direct' }, { name: 'x-delayed-message' }] } });
    expect(find(p, 'queue', 'orders.in', 'orders')).toMatchObject({ verdict: 'supported' });
    expect(find(p, 'policy', 'lazy', '/').verdict).toBe('supported');
    expect(find(p, 'exchange', 'later', '/').verdict).toBe('supported');
    expect(find(p, 'parameter', 'shovel/to-archive', '/')).toEqual({ verdict: 'unsupported', reason: 'the shovel plugin is not enabled on the target' });
    expect(p.items.some((i) => i.kind === 'broker')).toBe(false);
  });

  it('Amazon MQ: AMQPS only, no remote guest, three tags, default policies, its limits', () => {
    const p = plan('amazon-mq', { amqpUrl: 'amqp://admin:pw@b-1.mq.eu-west-1.amazonaws.com:5672' }, { maxQueues: 3, maxLength: 100 });
    expect(find(p, 'broker', 'AMQPS only').verdict).toBe('unsupported');
    expect(find(p, 'broker', 'default policies').reason).toContain('queue-mode: lazy');
    expect(find(p, 'user', 'guest')).toEqual({ verdict: 'unsupported', reason: 'Amazon MQ does not let guest log in from outside: create another administrator' });
    expect(find(p, 'permission', 'guest', '/').verdict).toBe('unsupported');
    expect(find(p, 'user', 'app')).toEqual({ verdict: 'difference', reason: 'sha512 hash; tags policymaker are not allowed on Amazon MQ and are dropped' });
    expect(p.definitions.users!.find((u) => u.name === 'app')!.tags).toEqual(['monitoring']);
    expect(find(p, 'queue', 'work', '/')).toMatchObject({ verdict: 'difference', reason: "classic; 120 messages, more than Amazon MQ's max-length of 100: the excess would be refused; 120 messages to move" });
    expect(find(p, 'limit', 'max-queues', '/')).toEqual({ verdict: 'unsupported', reason: "4 queues in vhost '/', more than Amazon MQ's max-queues of 3: raise the limit first" });
    const ok = plan('amazon-mq', { amqpUrl: 'amqps://admin:pw@b-1.mq.eu-west-1.amazonaws.com:5671' });
    expect(find(ok, 'broker', 'AMQPS only').verdict).toBe('difference');
  });
});

describe('verify and run helpers', () => {
  it('compareDefinitions names what is missing or different', () => {
    const p = plan('warren');
    const target = structuredClone(p.definitions);
    target.queues = target.queues!.filter((q) => q.name !== 'lazy');
    target.users!.find((u) => u.name === 'app')!.tags = ['administrator'];
    expect(compareDefinitions(p.definitions, target)).toEqual([
      { section: 'users', object: 'app', problem: 'tags: monitoring,policymaker on the source, administrator on the target' },
      { section: 'queues', object: 'lazy in /', problem: 'missing on the target' },
    ]);
    expect(compareDefinitions(p.definitions, p.definitions)).toEqual([]);
  });

  it('withVhost puts the vhost in an AMQP URI, encoded', () => {
    expect(withVhost('amqp://u:p@h:5672', '/')).toBe('amqp://u:p@h:5672/%2F');
    expect(withVhost('amqps://u:p@h:5671/?heartbeat=5', 'orders')).toBe('amqps://u:p@h:5671/orders?heartbeat=5');
  });
});
