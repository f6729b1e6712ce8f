import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { activeAlarms, diskFree, diskFreeLimit, memoryLimit } from './alarms.js';
import type { ApiContext } from './api-context.js';
import { details, messageStats } from './format.js';
import type { Json } from './listing.js';
import { CHANNEL_STATS, CHURN_KEYS, NODE_CHURN_AT, VHOST_EXTRA, counterValue, type StatKey } from './sampler.js';
import type { Totals } from './totals.js';

/** What /api/overview and /api/nodes report about this broker, under RabbitMQ's names. */

/** The RabbitMQ version whose behaviour (and management API) Warren follows. */
export const RABBITMQ_VERSION = '3.10.8';

export const EXCHANGE_TYPES = [
  { name: 'direct', description: 'AMQP direct exchange, as per the AMQP specification', enabled: true },
  { name: 'fanout', description: 'AMQP fanout exchange, as per the AMQP specification', enabled: true },
  { name: 'headers', description: 'AMQP headers exchange, as per the AMQP specification', enabled: true },
  { name: 'topic', description: 'AMQP topic exchange, as per the AMQP specification', enabled: true },
  // As RabbitMQ lists it with the federation plugin on.
  { name: 'x-federation-upstream', description: 'Federation upstream helper exchange', internal_purpose: 'federation', enabled: true },
];

const AUTH_MECHANISMS = [
  { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
  { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
];

export function listeners(ctx: ApiContext): Json[] {
  return ctx.broker.listeners().map((l) => ({ node: ctx.node, protocol: l.protocol, ip_address: l.address, port: l.port, socket_opts: {} }));
}

function contexts(ctx: ApiContext): Json[] {
  const out: Json[] = [];
  for (const l of ctx.broker.listeners()) {
    if (l.protocol === 'http') out.push({ node: ctx.node, description: 'RabbitMQ Management', path: '/', ip: l.address, port: String(l.port) });
    if (l.protocol === 'http/prometheus') {
      out.push({ node: ctx.node, description: 'RabbitMQ Prometheus', path: '/', ip: l.address, port: String(l.port), protocol: "'http/prometheus'" });
    }
  }
  return out;
}

function churn(ctx: ApiContext, t: Totals): Json {
  const k = ctx.broker.counters;
  const values: Record<(typeof CHURN_KEYS)[number], number> = {
    channel_closed: k.channelClosed,
    channel_created: k.channelCreated,
    connection_closed: k.connectionClosed,
    connection_created: k.connectionCreated,
    queue_created: t.churn.queueCreated,
    queue_declared: t.churn.queueDeclared,
    queue_deleted: t.churn.queueDeleted,
  };
  const s = ctx.sampler.stateOf(ctx.sampler.node);
  const out: Json = {};
  CHURN_KEYS.forEach((key, i) => {
    out[key] = values[key];
    out[`${key}_details`] = details(s, NODE_CHURN_AT + i);
  });
  return out;
}

export function overviewJson(ctx: ApiContext, t: Totals, node: Totals): Json {
  const s = ctx.sampler.stateOf(ctx.sampler.node);
  return {
    management_version: RABBITMQ_VERSION,
    rates_mode: 'basic',
    sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
    exchange_types: EXCHANGE_TYPES,
    product_version: ctx.broker.version,
    product_name: 'Warren',
    rabbitmq_version: RABBITMQ_VERSION,
    cluster_name: String(ctx.broker.serverProperties['cluster_name']),
    erlang_version: process.versions.node,
    erlang_full_version: `Node.js ${process.version}`,
    release_series_support_status: 'supported',
    disable_stats: false,
    enable_queue_totals: false,
    message_stats: messageStats(CHANNEL_STATS, (k) => counterValue(t.messages, k as StatKey), t === node ? s : null),
    churn_rates: churn(ctx, node),
    queue_totals: {
      messages: t.ready + t.unacked,
      messages_details: details(t === node ? s : null, VHOST_EXTRA.messages),
      messages_ready: t.ready,
      messages_ready_details: details(t === node ? s : null, VHOST_EXTRA.ready),
      messages_unacknowledged: t.unacked,
      messages_unacknowledged_details: details(t === node ? s : null, VHOST_EXTRA.unacked),
    },
    object_totals: { channels: t.channels, connections: t.connections, consumers: t.consumers, exchanges: t.exchanges, queues: t.queues },
    statistics_db_event_queue: 0,
    node: ctx.node,
    listeners: listeners(ctx),
    contexts: contexts(ctx),
  };
}

/** Open file descriptors of the process (Linux /proc; 0 elsewhere). */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** The process's open-files limit (Linux /proc; 0 when unknown). */
export function maxOpenFiles(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

function contextSwitches(): number {
  const u = process.resourceUsage();
  return u.voluntaryContextSwitches + u.involuntaryContextSwitches;
}

export function nodeJson(ctx: ApiContext, node: Totals): Json {
  const b = ctx.broker;
  const alarms = activeAlarms(b);
  const uptime = Date.now() - ctx.startedAt;
  const out: Json = {
    partitions: [],
    os_pid: String(process.pid),
    fd_total: maxOpenFiles(),
    mem_limit: memoryLimit(b),
    mem_alarm: alarms.includes('memory'),
    disk_free_limit: diskFreeLimit(b),
    disk_free_alarm: alarms.includes('disk'),
    rates_mode: 'basic',
    uptime,
    processors: cpus().length,
    exchange_types: EXCHANGE_TYPES,
    auth_mechanisms: AUTH_MECHANISMS,
    applications: [{ name: 'warren', description: 'Warren, an AMQP 0-9-1 broker', version: b.version }],
    contexts: contexts(ctx).map(({ node: _node, ...rest }) => rest),
    log_files: ['<stdout>'],
    db_dir: b.config.dataDir,
    config_files: [],
    net_ticktime: 60,
    enabled_plugins: ['rabbitmq_management', 'rabbitmq_prometheus'],
    mem_calculation_strategy: 'rss',
    name: ctx.node,
    type: 'disc',
    running: true,
    mem_used: process.memoryUsage.rss(),
    mem_used_details: { rate: 0.0 },
    fd_used: openFds(),
    fd_used_details: { rate: 0.0 },
    sockets_used: b.connections.size,
    sockets_used_details: { rate: 0.0 },
    disk_free: diskFree(b),
    disk_free_details: { rate: 0.0 },
    context_switches: contextSwitches(),
    context_switches_details: { rate: 0.0 },
    cluster_links: [],
  };
  Object.assign(out, churn(ctx, node));
  return out;
}
