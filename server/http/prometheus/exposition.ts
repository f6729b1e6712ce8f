import { Readable } from 'node:stream';
import type { Broker } from '../../broker.js';
import type { Channel } from '../../connection/channel.js';
import type { Connection } from '../../connection/connection.js';
import type { Queue } from '../../queue/queue.js';
import { QUEUE_TYPES, type QueueType } from '../../queue/arg-validation.js';
import { MessageCounters } from '../../ops/stats.js';
import { activeAlarms, diskFree, diskFreeLimit, memoryLimit } from '../alarms.js';
import { channelName, consumerCapacity } from '../format-objects.js';
import { maxOpenFiles, openFds, RABBITMQ_VERSION } from '../node-info.js';
import { totalsByVhost, type Totals } from '../totals.js';

/**
 * rabbitmq_prometheus's text exposition, rendered straight from the counters at scrape
 * time: the same family names, types and HELP texts, aggregated by default (one sample per
 * family, summed), one series per object on /metrics/per-object (queues labelled
 * vhost and queue, channels and connections by name).
 */

type Kind = 'counter' | 'gauge' | 'untyped';

/** A text exposition being written: each family's TYPE and HELP, then its samples. */
class Exposition {
  /** Text, or a family's samples still to be rendered (per object: one per turn when streamed). */
  private readonly out: (string | (() => string))[] = [];

  family(name: string, type: Kind, help: string): this {
    this.out.push(`# TYPE ${name} ${type}\n# HELP ${name} ${help}\n`);
    return this;
  }

  sample(name: string, labels: string, value: number): this {
    this.out.push(labels === '' ? `${name} ${num(value)}\n` : `${name}{${labels}} ${num(value)}\n`);
    return this;
  }

  one(name: string, type: Kind, help: string, value: number, labels = ''): this {
    return this.family(name, type, help).sample(name, labels, value);
  }

  /** Sample lines rendered when written. */
  later(render: () => string): this {
    this.out.push(render);
    return this;
  }

  text(): string {
    return this.out.map((p) => (typeof p === 'string' ? p : p())).join('');
  }

  /** The text as a stream that renders each deferred family in its own event-loop turn. */
  stream(): Readable {
    const parts = this.out;
    let i = 0;
    return new Readable({
      read() {
        if (i >= parts.length) {
          this.push(null);
          return;
        }
        setImmediate(() => {
          let chunk = '';
          // Plain text up to (and including) the next deferred family.
          while (i < parts.length) {
            const p = parts[i++]!;
            if (typeof p === 'string') chunk += p;
            else {
              chunk += p();
              break;
            }
          }
          this.push(chunk);
        });
      },
    });
  }
}

function num(v: number): string {
  return String(v);
}

/** A label value, escaped as the exposition format wants. */
export function esc(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
const NEEDS_ESCAPE = /[\\\n"]/;

interface PerObject<T> {
  name: string;
  type: Kind;
  help: string;
  value: (o: T) => number;
}

const QUEUE_FAMILIES: PerObject<Queue>[] = [
  { name: 'rabbitmq_queue_messages_ready', type: 'gauge', help: 'Messages ready to be delivered to consumers', value: (q) => q.messageCount },
  { name: 'rabbitmq_queue_messages_unacked', type: 'gauge', help: 'Messages delivered to consumers but not yet acknowledged', value: (q) => q.unacked },
  { name: 'rabbitmq_queue_messages', type: 'gauge', help: 'Sum of ready and unacknowledged messages - total queue depth', value: (q) => q.messageCount + q.unacked },
  { name: 'rabbitmq_queue_consumers', type: 'gauge', help: 'Consumers on a queue', value: (q) => q.consumers.length },
  { name: 'rabbitmq_queue_consumer_capacity', type: 'gauge', help: 'Consumer capacity', value: consumerCapacity },
  { name: 'rabbitmq_queue_consumer_utilisation', type: 'gauge', help: 'Same as consumer capacity', value: consumerCapacity },
  { name: 'rabbitmq_queue_messages_ram', type: 'gauge', help: 'Ready and unacknowledged messages stored in memory', value: (q) => q.messageCount + q.unacked - q.backing.pagedOut },
  {
    name: 'rabbitmq_queue_messages_ram_bytes',
    type: 'gauge',
    help: 'Size of ready and unacknowledged messages stored in memory',
    value: (q) => q.backing.bytes + q.unackedBytes - q.backing.pagedOutBytes,
  },
  { name: 'rabbitmq_queue_messages_ready_ram', type: 'gauge', help: 'Ready messages stored in memory', value: (q) => q.messageCount - q.backing.pagedOut },
  { name: 'rabbitmq_queue_messages_unacked_ram', type: 'gauge', help: 'Unacknowledged messages stored in memory', value: (q) => q.unacked },
  { name: 'rabbitmq_queue_messages_persistent', type: 'gauge', help: 'Persistent messages', value: (q) => q.backing.persistent + q.unackedPersistent },
  {
    name: 'rabbitmq_queue_messages_persistent_bytes',
    type: 'gauge',
    help: 'Size in bytes of persistent messages',
    value: (q) => q.backing.persistentBytes + q.unackedPersistentBytes,
  },
  { name: 'rabbitmq_queue_messages_bytes', type: 'gauge', help: 'Size in bytes of ready and unacknowledged messages', value: (q) => q.backing.bytes + q.unackedBytes },
  { name: 'rabbitmq_queue_messages_ready_bytes', type: 'gauge', help: 'Size in bytes of ready messages', value: (q) => q.backing.bytes },
  { name: 'rabbitmq_queue_messages_unacked_bytes', type: 'gauge', help: 'Size in bytes of all unacknowledged messages', value: (q) => q.unackedBytes },
  { name: 'rabbitmq_queue_messages_paged_out', type: 'gauge', help: 'Messages paged out to disk', value: (q) => q.backing.pagedOut },
  { name: 'rabbitmq_queue_messages_paged_out_bytes', type: 'gauge', help: 'Size in bytes of messages paged out to disk', value: (q) => q.backing.pagedOutBytes },
  { name: 'rabbitmq_queue_messages_published_total', type: 'counter', help: 'Total number of messages published to queues', value: (q) => q.counters.publish },
];

const CHANNEL_FAMILIES: PerObject<Channel>[] = [
  { name: 'rabbitmq_channel_consumers', type: 'gauge', help: 'Consumers on a channel', value: (c) => c.consumers.size },
  { name: 'rabbitmq_channel_messages_unacked', type: 'gauge', help: 'Delivered but not yet acknowledged messages', value: (c) => c.unacked.size },
  { name: 'rabbitmq_channel_messages_unconfirmed', type: 'gauge', help: 'Published but not yet confirmed messages', value: (c) => c.publisher.unconfirmed },
  {
    name: 'rabbitmq_channel_messages_uncommitted',
    type: 'gauge',
    help: 'Messages received in a transaction but not yet committed',
    value: (c) => c.publisher.uncommittedPublishes,
  },
  { name: 'rabbitmq_channel_acks_uncommitted', type: 'gauge', help: 'Message acknowledgements in a transaction not yet committed', value: (c) => c.publisher.uncommittedAcks },
  { name: 'rabbitmq_consumer_prefetch', type: 'gauge', help: 'Limit of unacknowledged messages for each consumer', value: (c) => c.prefetchCount },
  { name: 'rabbitmq_channel_prefetch', type: 'gauge', help: 'Total limit of unacknowledged messages for all consumers on a channel', value: (c) => c.globalPrefetchCount },
  { name: 'rabbitmq_channel_messages_published_total', type: 'counter', help: 'Total number of messages published into an exchange on a channel', value: (c) => c.counters.publish },
  {
    name: 'rabbitmq_channel_messages_confirmed_total',
    type: 'counter',
    help: 'Total number of messages published into an exchange and confirmed on the channel',
    value: (c) => c.counters.confirm,
  },
  {
    name: 'rabbitmq_channel_messages_unroutable_returned_total',
    type: 'counter',
    help: 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable',
    value: (c) => c.counters.returnUnroutable,
  },
  {
    name: 'rabbitmq_channel_messages_unroutable_dropped_total',
    type: 'counter',
    help: 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable',
    value: (c) => c.counters.dropUnroutable,
  },
  { name: 'rabbitmq_channel_get_ack_total', type: 'counter', help: 'Total number of messages fetched with basic.get in manual acknowledgement mode', value: (c) => c.counters.get },
  { name: 'rabbitmq_channel_get_total', type: 'counter', help: 'Total number of messages fetched with basic.get in automatic acknowledgement mode', value: (c) => c.counters.getNoAck },
  {
    name: 'rabbitmq_channel_messages_delivered_ack_total',
    type: 'counter',
    help: 'Total number of messages delivered to consumers in manual acknowledgement mode',
    value: (c) => c.counters.deliver,
  },
  {
    name: 'rabbitmq_channel_messages_delivered_total',
    type: 'counter',
    help: 'Total number of messages delivered to consumers in automatic acknowledgement mode',
    value: (c) => c.counters.deliverNoAck,
  },
  { name: 'rabbitmq_channel_messages_redelivered_total', type: 'counter', help: 'Total number of messages redelivered to consumers', value: (c) => c.counters.redeliver },
  { name: 'rabbitmq_channel_messages_acked_total', type: 'counter', help: 'Total number of messages acknowledged by consumers', value: (c) => c.counters.ack },
  { name: 'rabbitmq_channel_get_empty_total', type: 'counter', help: 'Total number of times basic.get operations fetched no message', value: (c) => c.counters.getEmpty },
];

const CONNECTION_FAMILIES: PerObject<Connection>[] = [
  { name: 'rabbitmq_connection_incoming_bytes_total', type: 'counter', help: 'Total number of bytes received on a connection', value: (c) => c.counters.recvOct },
  { name: 'rabbitmq_connection_outgoing_bytes_total', type: 'counter', help: 'Total number of bytes sent on a connection', value: (c) => c.counters.sendOct },
  { name: 'rabbitmq_connection_incoming_packets_total', type: 'counter', help: 'Total number of packets received on a connection', value: (c) => c.counters.recvCnt },
  { name: 'rabbitmq_connection_outgoing_packets_total', type: 'counter', help: 'Total number of packets sent on a connection', value: (c) => c.counters.sendCnt },
  { name: 'rabbitmq_connection_pending_packets', type: 'gauge', help: 'Number of packets waiting to be sent on a connection', value: (c) => (c.socket.writableLength > 0 ? 1 : 0) },
  { name: 'rabbitmq_connection_channels', type: 'gauge', help: 'Channels on a connection', value: (c) => count(c.channelList()) },
];

function count(it: Iterable<unknown>): number {
  let n = 0;
  for (const _ of it) n++;
  return n;
}

/** One family per entry: a series per object (labels given), or one summed sample (labels null). */
function families<T>(e: Exposition, fams: PerObject<T>[], objects: readonly T[], labels: readonly string[] | null): void {
  for (const f of fams) {
    e.family(f.name, f.type, f.help);
    if (labels !== null) {
      e.later(() => {
        let text = '';
        for (let i = 0; i < objects.length; i++) text += `${f.name}{${labels[i]!}} ${f.value(objects[i]!)}\n`;
        return text;
      });
    } else {
      let sum = 0;
      for (let i = 0; i < objects.length; i++) sum += f.value(objects[i]!);
      e.sample(f.name, '', sum);
    }
  }
}

function* allQueues(b: Broker): Generator<Queue> {
  for (const v of b.vhosts.values()) yield* v.queues.values();
}

function openConnections(b: Broker): Connection[] {
  return [...b.connections].filter((c) => c.vhost !== undefined);
}

const PROTOCOL = 'protocol="amqp091"';
const TYPES = Object.keys(QUEUE_TYPES) as QueueType[];
/** rabbit_classic_queue, rabbit_quorum_queue, rabbit_stream_queue: the queue_type label's values. */
const typeLabel = (t: string): string => QUEUE_TYPES[t as QueueType]?.module ?? `rabbit_${t}_queue`;

/**
 * The node's deliveries, gets and acks by queue type: every live queue's counters, and
 * what deleted queues left (as rabbit_global_counters, which RabbitMQ keeps per type).
 */
function countersByType(queues: readonly Queue[], t: Totals): Map<string, MessageCounters> {
  const out = new Map<string, MessageCounters>(TYPES.map((type) => [type, new MessageCounters()]));
  const of = (type: string): MessageCounters => {
    let m = out.get(type);
    if (m === undefined) out.set(type, (m = new MessageCounters()));
    return m;
  };
  for (const [type, m] of t.churn.deletedQueues) of(type).add(m);
  for (const q of queues) of(q.type).add(q.counters);
  return out;
}

/** The whole scrape: /metrics (aggregated) or /metrics/per-object. */
export function renderMetrics(broker: Broker, perObject: boolean): string {
  return exposition(broker, perObject).text();
}

/** The scrape as a stream: per object, each family's series are rendered in a turn of their own. */
export function streamMetrics(broker: Broker, perObject: boolean): Readable {
  return exposition(broker, perObject).stream();
}

function exposition(broker: Broker, perObject: boolean): Exposition {
  const e = new Exposition();
  const { node } = totalsByVhost(broker);
  const alarms = activeAlarms(broker);
  e.one('rabbitmq_alarms_file_descriptor_limit', 'untyped', 'is 1 if file descriptor limit alarm is in effect', 0);
  e.one('rabbitmq_alarms_free_disk_space_watermark', 'untyped', 'is 1 if free disk space watermark alarm is in effect', alarms.includes('disk') ? 1 : 0);
  e.one('rabbitmq_alarms_memory_used_watermark', 'untyped', 'is 1 if VM memory watermark alarm is in effect', alarms.includes('memory') ? 1 : 0);
  const k = broker.counters;
  e.one('rabbitmq_connections_opened_total', 'counter', 'Total number of connections opened', k.connectionCreated);
  e.one('rabbitmq_connections_closed_total', 'counter', 'Total number of connections closed or terminated', k.connectionClosed);
  e.one('rabbitmq_channels_opened_total', 'counter', 'Total number of channels opened', k.channelCreated);
  e.one('rabbitmq_channels_closed_total', 'counter', 'Total number of channels closed', k.channelClosed);
  e.one('rabbitmq_queues_declared_total', 'counter', 'Total number of queues declared', node.churn.queueDeclared);
  e.one('rabbitmq_queues_created_total', 'counter', 'Total number of queues created', node.churn.queueCreated);
  e.one('rabbitmq_queues_deleted_total', 'counter', 'Total number of queues deleted', node.churn.queueDeleted);
  e.one('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', openFds());
  e.one('rabbitmq_process_open_tcp_sockets', 'gauge', 'Open TCP sockets', broker.connections.size);
  e.one('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', process.memoryUsage.rss());
  e.one('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', diskFree(broker));
  const maxFds = maxOpenFiles();
  if (maxFds > 0) e.one('rabbitmq_process_max_fds', 'gauge', 'Open file descriptors limit', maxFds);
  e.one('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', memoryLimit(broker));
  e.one('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', diskFreeLimit(broker));
  e.one('rabbitmq_erlang_uptime_seconds', 'gauge', 'Node uptime', (Date.now() - broker.startedAt) / 1000);
  const auth: [string, string, (p: 'amqp091' | 'http') => number][] = [
    ['rabbitmq_auth_attempts_total', 'Total number of authorization attempts', (p) => (p === 'http' ? k.authHttpSucceeded + k.authHttpFailed : k.authAmqpSucceeded + k.authAmqpFailed)],
    ['rabbitmq_auth_attempts_succeeded_total', 'Total number of successful authentication attempts', (p) => (p === 'http' ? k.authHttpSucceeded : k.authAmqpSucceeded)],
    ['rabbitmq_auth_attempts_failed_total', 'Total number of failed authentication attempts', (p) => (p === 'http' ? k.authHttpFailed : k.authAmqpFailed)],
  ];
  for (const [name, help, value] of auth) {
    e.family(name, 'counter', help);
    for (const p of ['http', 'amqp091'] as const) e.sample(name, `protocol="${p}"`, value(p));
  }
  const cpu = process.cpuUsage();
  e.one('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6);
  e.one('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', Math.round(Date.now() / 1000 - process.uptime()));

  const queues = [...allQueues(broker)];
  const conns = openConnections(broker);
  const channels = conns.flatMap((c) => [...c.channelList()]);
  const labels = <T>(objects: T[], label: (o: T) => string): string[] | null => (perObject ? objects.map(label) : null);
  families(e, QUEUE_FAMILIES, queues, labels(queues, (q) => `vhost="${esc(q.vhost)}",queue="${esc(q.name)}"`));
  families(e, CHANNEL_FAMILIES, channels, labels(channels, (ch) => `channel="${esc(channelName(ch))}"`));
  families(e, CONNECTION_FAMILIES, conns, labels(conns, (c) => `channel="${esc(c.name)}"`));

  e.one('rabbitmq_connections', 'gauge', 'Connections currently open', conns.length);
  e.one('rabbitmq_channels', 'gauge', 'Channels currently open', channels.length);
  e.one('rabbitmq_consumers', 'gauge', 'Consumers currently connected', node.consumers);
  e.one('rabbitmq_queues', 'gauge', 'Queues available', queues.length);
  e.one(
    'rabbitmq_build_info',
    'untyped',
    'RabbitMQ & Erlang/OTP version info',
    1,
    `product_name="Warren",product_version="${broker.version}",rabbitmq_version="${RABBITMQ_VERSION}",prometheus_plugin_version="${broker.version}",erlang_version="${esc(process.version)}"`,
  );
  e.one(
    'rabbitmq_identity_info',
    'untyped',
    'RabbitMQ node & cluster identity info',
    1,
    `rabbitmq_node="${esc(broker.nodeName)}",rabbitmq_cluster="${esc(broker.nodeName)}",rabbitmq_cluster_permanent_id="${esc(broker.clusterId)}"`,
  );
  globalFamilies(e, node, countersByType(queues, node), channels.filter((ch) => ch.counters.publish > 0).length);
  return e;
}

/**
 * rabbitmq_global_*: node-wide monotonic counters (closed channels' counts included), the
 * delivery side split by queue type and dead-lettering by queue type and strategy, with
 * the same series as rabbit_global_counters sets up at boot (zeros included).
 */
function globalFamilies(e: Exposition, t: Totals, byType: Map<string, MessageCounters>, publishers: number): void {
  const m = t.messages;
  const perType = (name: string, help: string, value: (c: MessageCounters) => number): void => {
    e.family(name, 'counter', help);
    for (const [type, c] of byType) e.sample(name, `${PROTOCOL},queue_type="${typeLabel(type)}"`, value(c));
  };
  e.one('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', t.consumers, PROTOCOL);
  perType('rabbitmq_global_messages_acknowledged_total', 'Total number of messages acknowledged by consumers', (c) => c.ack);
  e.one('rabbitmq_global_messages_confirmed_total', 'counter', 'Total number of messages confirmed to publishers', m.confirm, PROTOCOL);
  const dl = t.churn.deadLettered;
  // [family, help, the (queue type, strategy) series it has]: rabbit_global_counters:boot_step.
  const amo: [string, string][] = [['classic', 'disabled'], ['classic', 'at_most_once'], ['quorum', 'disabled'], ['quorum', 'at_most_once']];
  const dead: [string, string, [string, string][]][] = [
    ['confirmed', 'Total number of messages dead-lettered and confirmed by target queues', [['quorum', 'at_least_once']]],
    ['delivery_limit', 'Total number of messages dead-lettered due to delivery-limit exceeded', [['quorum', 'disabled'], ['quorum', 'at_most_once'], ['quorum', 'at_least_once']]],
    ['expired', 'Total number of messages dead-lettered due to message TTL exceeded', [...amo, ['quorum', 'at_least_once']]],
    ['maxlen', 'Total number of messages dead-lettered due to overflow drop-head or reject-publish-dlx', amo],
    ['rejected', 'Total number of messages dead-lettered due to basic.reject or basic.nack', [...amo, ['quorum', 'at_least_once']]],
  ];
  for (const [reason, help, series] of dead) {
    const name = `rabbitmq_global_messages_dead_lettered_${reason}_total`;
    e.family(name, 'counter', help);
    for (const [type, strategy] of series) {
      e.sample(name, `queue_type="${typeLabel(type)}",dead_letter_strategy="${strategy}"`, dl.get(`${type}:${reason}:${strategy}`) ?? 0);
    }
  }
  const delivered: [string, string, (c: MessageCounters) => number][] = [
    ['consume_auto_ack', 'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', (c) => c.deliverNoAck],
    ['consume_manual_ack', 'Total number of messages delivered to consumers using basic.consume with manual acknowledgment', (c) => c.deliver],
    ['get_auto_ack', 'Total number of messages delivered to consumers using basic.get with automatic acknowledgment', (c) => c.getNoAck],
    ['get_manual_ack', 'Total number of messages delivered to consumers using basic.get with manual acknowledgment', (c) => c.get],
  ];
  for (const [what, help, value] of delivered) perType(`rabbitmq_global_messages_delivered_${what}_total`, help, value);
  perType('rabbitmq_global_messages_delivered_total', 'Total number of messages delivered to consumers', (c) => c.deliver + c.deliverNoAck + c.get + c.getNoAck);
  perType('rabbitmq_global_messages_get_empty_total', 'Total number of times basic.get operations fetched no message', (c) => c.getEmpty);
  e.one('rabbitmq_global_messages_received_confirm_total', 'counter', 'Total number of messages received from publishers expecting confirmations', m.publishConfirm, PROTOCOL);
  e.one('rabbitmq_global_messages_received_total', 'counter', 'Total number of messages received from publishers', m.publish, PROTOCOL);
  perType('rabbitmq_global_messages_redelivered_total', 'Total number of messages redelivered to consumers', (c) => c.redeliver);
  e.one('rabbitmq_global_messages_routed_total', 'counter', 'Total number of messages routed to queues or streams', m.routed, PROTOCOL);
  e.one('rabbitmq_global_messages_unroutable_dropped_total', 'counter', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', m.dropUnroutable, PROTOCOL);
  e.one('rabbitmq_global_messages_unroutable_returned_total', 'counter', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', m.returnUnroutable, PROTOCOL);
  e.one('rabbitmq_global_publishers', 'gauge', 'Current number of publishers', publishers, PROTOCOL);
}
