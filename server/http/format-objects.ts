import type { FieldTable } from '../../amqp/table.js';
import type { Channel } from '../connection/channel.js';
import type { Connection } from '../connection/connection.js';
import { policyApplies } from '../queue/arg-validation.js';
import type { Consumer } from '../queue/consumer.js';
import type { Queue } from '../queue/queue.js';
import type { QuorumQueue } from '../queue/quorum-queue.js';
import type { Exchange } from '../vhost/exchange.js';
import type { Policy } from '../vhost/policy.js';
import type { VirtualHost } from '../vhost/vhost.js';
import { details, isoTime, messageStats, packBindingProps, tableToJson } from './format.js';
import type { Json } from './listing.js';
import {
  CHANNEL_STATS,
  EXCHANGE_STATS,
  QUEUE_GAUGES,
  QUEUE_STATS,
  VHOST_EXTRA,
  counterValue,
  type Sampler,
  type StatKey,
} from './sampler.js';
import type { Totals } from './totals.js';

/** What every formatter needs: the node's name and the sampler (null: no rates yet). */
export interface FormatContext {
  readonly node: string;
  readonly sampler: Sampler | null;
  readonly startedAt: number;
}

function stateOf(ctx: FormatContext, o: object) {
  return ctx.sampler?.stateOf(o) ?? null;
}

function idleSince(ctx: FormatContext, o: object): string {
  return isoTime(stateOf(ctx, o)?.changedAt ?? ctx.startedAt);
}

/** The queue's type: classic, quorum or stream, as its x-queue-type declared it. */
export function queueType(q: Queue): string {
  return q.type;
}

/** The policy and operator policy that apply to a queue (a policy with a key its type does not support does not). */
function queuePolicies(q: Queue, v: VirtualHost): { policy: Policy | null; operator: Policy | null } {
  const applies = (d: object): boolean => policyApplies(q.type, d);
  return { policy: v.policies.match('queues', q.name, applies), operator: v.operatorPolicies.match('queues', q.name, applies) };
}

/**
 * The share of a queue's consumers able to take a message now (0 without consumers):
 * Warren's stand-in for RabbitMQ's consumer capacity, the share of time they could.
 */
export function consumerCapacity(q: Queue): number {
  const n = q.consumers.length;
  if (n === 0) return 0;
  let able = 0;
  for (const c of q.consumers) if (!c.blocked) able++;
  return able / n;
}

export function queueJson(q: Queue, v: VirtualHost, ctx: FormatContext, stats: boolean): Json {
  if (!stats) {
    return {
      arguments: tableToJson(q.args),
      auto_delete: q.autoDelete,
      durable: q.durable,
      exclusive: q.owner !== null,
      name: q.name,
      node: ctx.node,
      state: 'live',
      type: queueType(q),
      vhost: v.name,
    };
  }
  const s = stateOf(ctx, q);
  const b = q.backing;
  const ready = q.messageCount; // a stream: its log's length
  const unacked = q.unacked;
  const paged = b.pagedOut;
  const pagedBytes = paged === 0 ? 0 : b.pagedOutBytes;
  const bytes = b.bytes + q.unackedBytes;
  const { policy, operator } = queuePolicies(q, v);
  let exclusiveTag: string | null = null;
  for (const c of q.consumers) if (c.exclusive) exclusiveTag = c.tag;
  const capacity = consumerCapacity(q);
  const out: Json = {
    arguments: tableToJson(q.args),
    auto_delete: q.autoDelete,
    consumer_capacity: capacity,
    consumer_utilisation: capacity,
    consumers: q.consumers.length,
    durable: q.durable,
    effective_policy_definition: q.policy === null ? {} : { ...q.policy },
    exclusive: q.owner !== null,
    exclusive_consumer_tag: exclusiveTag,
    head_message_timestamp: null,
    idle_since: idleSince(ctx, q),
    // An estimate: bodies held in RAM plus about 120 bytes of bookkeeping per message.
    memory: (ready + unacked - paged) * 120 + (bytes - pagedBytes),
    message_bytes: bytes,
    message_bytes_paged_out: pagedBytes,
    message_bytes_persistent: b.persistentBytes + q.unackedPersistentBytes,
    message_bytes_ram: bytes - pagedBytes,
    message_bytes_ready: b.bytes,
    message_bytes_unacknowledged: q.unackedBytes,
    message_stats: messageStats(QUEUE_STATS, (k) => counterValue(q.counters, k as StatKey), s),
    messages: ready + unacked,
    messages_details: details(s, QUEUE_GAUGES.messages),
    messages_paged_out: paged,
    messages_persistent: b.persistent + q.unackedPersistent,
    messages_ram: ready + unacked - paged,
    messages_ready: ready,
    messages_ready_details: details(s, QUEUE_GAUGES.ready),
    messages_ready_ram: ready - paged,
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: details(s, QUEUE_GAUGES.unacked),
    messages_unacknowledged_ram: unacked,
    name: q.name,
    node: ctx.node,
    operator_policy: operator === null ? null : operator.name,
    policy: policy === null ? null : policy.name,
    recoverable_slaves: null,
    single_active_consumer_tag: q.settings.singleActiveConsumer ? (q.activeConsumer?.tag ?? null) : null,
    state: 'running',
    type: queueType(q),
    vhost: v.name,
  };
  if (q.type === 'quorum') quorumFields(q as QuorumQueue, out, ctx.node);
  const owner = q.owner as Partial<Connection> | null;
  if (owner !== null && typeof owner.name === 'string') {
    const peer = endpoints(owner as Connection).peer;
    out['owner_pid_details'] = { name: owner.name, peer_host: peer.host, peer_port: peer.port };
  }
  return out;
}

/**
 * What a quorum queue shows instead of a classic queue's backing-queue fields, as RabbitMQ
 * 3.10's rabbit_quorum_queue: its Raft members (one node here, always the leader and
 * online), the at-least-once dead letters it keeps, and single_active_consumer_ctag.
 */
function quorumFields(q: QuorumQueue, out: Json, node: string): void {
  for (const k of CLASSIC_ONLY) delete out[k];
  out['leader'] = node;
  out['members'] = [node];
  out['online'] = [node];
  out['open_files'] = { [node]: 0 };
  out['messages_dlx'] = q.dlxMessages;
  out['message_bytes_dlx'] = q.dlxBytes;
  out['single_active_consumer_ctag'] = q.settings.singleActiveConsumer ? (q.activeConsumer?.tag ?? null) : null;
}

const CLASSIC_ONLY = [
  'backing_queue_status',
  'exclusive_consumer_tag',
  'head_message_timestamp',
  'idle_since',
  'message_bytes_paged_out',
  'messages_paged_out',
  'messages_ready_ram',
  'messages_unacknowledged_ram',
  'recoverable_slaves',
  'single_active_consumer_tag',
] as const;

export function exchangeJson(x: Exchange, v: VirtualHost, ctx: FormatContext, stats: boolean): Json {
  const out: Json = {
    arguments: tableToJson(x.args),
    auto_delete: x.autoDelete,
    durable: x.durable,
    internal: x.internal,
    name: x.name,
    type: x.type,
    user_who_performed_action: x.declaredBy,
    vhost: v.name,
  };
  if (stats) {
    out['message_stats'] = messageStats(EXCHANGE_STATS, (k) => (k === 'publish_in' ? x.publishIn : x.publishOut), stateOf(ctx, x));
  }
  return out;
}

export interface BindingView {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  args: FieldTable;
}

export function bindingJson(b: BindingView): Json {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationType,
    routing_key: b.routingKey,
    arguments: tableToJson(b.args),
    properties_key: packBindingProps(b.routingKey, b.args),
  };
}

/** Every binding of a vhost, the default exchange's implicit ones to each queue first. */
export function* bindingsOf(v: VirtualHost): Generator<BindingView> {
  for (const q of v.queues.values()) {
    yield { vhost: v.name, source: '', destination: q.name, destinationType: 'queue', routingKey: q.name, args: {} };
  }
  for (const x of v.exchanges.values()) {
    if (x.name === '') continue;
    for (const b of x.router.bindings()) {
      const d = b.destination;
      yield { vhost: v.name, source: x.name, destination: d.name, destinationType: d.kind, routingKey: b.routingKey, args: b.args };
    }
  }
}

export function vhostJson(v: VirtualHost, t: Totals | null, ctx: FormatContext): Json {
  const out: Json = {
    cluster_state: { [ctx.node]: 'running' },
    default_queue_type: v.metadata.defaultQueueType ?? 'undefined',
    description: v.metadata.description,
    metadata: { description: v.metadata.description, tags: [...v.metadata.tags] },
    name: v.name,
    tags: [...v.metadata.tags],
    tracing: false,
  };
  if (t === null) return out;
  const s = stateOf(ctx, v);
  out['message_stats'] = messageStats(CHANNEL_STATS, (k) => counterValue(t.messages, k as StatKey), s);
  out['messages'] = t.ready + t.unacked;
  out['messages_details'] = details(s, VHOST_EXTRA.messages);
  out['messages_ready'] = t.ready;
  out['messages_ready_details'] = details(s, VHOST_EXTRA.ready);
  out['messages_unacknowledged'] = t.unacked;
  out['messages_unacknowledged_details'] = details(s, VHOST_EXTRA.unacked);
  out['recv_oct'] = t.bytes.recvOct;
  out['recv_oct_details'] = details(s, VHOST_EXTRA.recvOct);
  out['send_oct'] = t.bytes.sendOct;
  out['send_oct_details'] = details(s, VHOST_EXTRA.sendOct);
  return out;
}

export function policyJson(p: Policy): Json {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: { ...p.definition }, priority: p.priority };
}

/** "peer:port -> local:port", split (addresses may hold colons). */
export function endpoints(c: Connection): { peer: { host: string; port: number }; local: { host: string; port: number } } {
  const [peer, local] = c.name.split(' -> ') as [string, string];
  return { peer: hostPort(peer), local: hostPort(local) };
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** The channel a consumer lives on (the only ConsumerChannel there is), and its connection. */
export function consumerChannel(c: Consumer): Channel {
  return c.channel as Channel;
}

export function channelName(ch: Channel): string {
  return `${(ch.session as Connection).name} (${ch.id})`;
}

export function consumerJson(c: Consumer, v: VirtualHost, ctx: FormatContext): Json {
  const ch = consumerChannel(c);
  const conn = ch.session as Connection;
  const peer = endpoints(conn).peer;
  const q = c.queue;
  const sac = q.settings.singleActiveConsumer;
  const active = !sac || q.activeConsumer === c;
  return {
    arguments: tableToJson(c.args),
    ack_required: !c.noAck,
    active,
    activity_status: sac ? (active ? 'single_active' : 'waiting') : 'up',
    channel_details: {
      connection_name: conn.name,
      name: channelName(ch),
      node: ctx.node,
      number: ch.id,
      peer_host: peer.host,
      peer_port: peer.port,
      user: conn.user,
    },
    consumer_tag: c.tag,
    exclusive: c.exclusive,
    prefetch_count: c.prefetch,
    queue: { name: q.name, vhost: v.name },
  };
}
