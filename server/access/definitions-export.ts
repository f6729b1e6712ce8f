import type {
  BindingDefinitionJson,
  Definitions,
  ExchangeDefinitionJson,
  PolicyDefinitionJson,
  QueueDefinitionJson,
  VhostDefinitionJson,
} from '../../persistence/definitions.js';
import type { Queue } from '../queue/queue.js';
import { toJson } from '../vhost/durable-definitions.js';
import type { Exchange } from '../vhost/exchange.js';
import type { Policy } from '../vhost/policy.js';
import type { VirtualHost } from '../vhost/vhost.js';
import type { AccessControl, AccessHost } from './access-control.js';
import { parametersOf } from './parameters.js';
import { userToJson } from './users.js';

/** The RabbitMQ release whose definitions format Warren reads and writes. */
export const RABBIT_FORMAT_VERSION = '3.10.8';

/** What definitions import and export need of the broker (implemented by Broker). */
export interface DefinitionsHost extends AccessHost {
  readonly access: AccessControl;
  /** Global runtime parameters (cluster_name, internal_cluster_id, ...), kept as given. */
  readonly globalParameters: Map<string, unknown>;
  readonly version: string;
}

export interface ExportOptions {
  /** One vhost's objects, queues, exchanges and bindings without `vhost` fields (RabbitMQ's /api/definitions/{vhost}). */
  vhost?: string;
  /** Only what survives a restart (the data directory's file): durable objects between durable ends. */
  durableOnly?: boolean;
}

function policyJson(vhost: string, p: Policy): PolicyDefinitionJson {
  return { vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: { ...p.definition }, priority: p.priority };
}

/**
 * A vhost as RabbitMQ 3.10 exports it ({name}), with its description, tags and default
 * queue type in 3.11's shape when it has any (3.10's import reads those keys too).
 */
function vhostJson(v: VirtualHost): VhostDefinitionJson {
  const m = v.metadata;
  if (m.description === '' && m.tags.length === 0 && m.defaultQueueType === undefined) return { name: v.name };
  const meta: VhostDefinitionJson['metadata'] = { description: m.description, tags: [...m.tags] };
  if (m.defaultQueueType !== undefined) meta.default_queue_type = m.defaultQueueType;
  return { name: v.name, description: m.description, tags: [...m.tags], ...(m.defaultQueueType !== undefined ? { default_queue_type: m.defaultQueueType } : {}), metadata: meta };
}

function isDurableQueue(q: Queue): boolean {
  return q.durable && q.owner === null;
}

/** Queues, exchanges and bindings of one vhost (exclusive queues never: they belong to a connection). */
function topologyOf(v: VirtualHost, durableOnly: boolean): { queues: QueueDefinitionJson[]; exchanges: ExchangeDefinitionJson[]; bindings: BindingDefinitionJson[] } {
  const queues: QueueDefinitionJson[] = [];
  const exchanges: ExchangeDefinitionJson[] = [];
  const bindings: BindingDefinitionJson[] = [];
  for (const q of v.queues.values()) {
    if (q.owner !== null || (durableOnly && !q.durable)) continue;
    queues.push({ name: q.name, vhost: v.name, durable: q.durable, auto_delete: q.autoDelete, arguments: toJson(q.args) });
  }
  for (const x of v.exchanges.values()) {
    if (x.name === '' || (durableOnly && !x.durable)) continue;
    if (!x.name.startsWith('amq.')) {
      exchanges.push({ name: x.name, vhost: v.name, type: x.type, durable: x.durable, auto_delete: x.autoDelete, internal: x.internal, arguments: toJson(x.args) });
    }
    if (!('bindings' in x.router) || (durableOnly && !x.durable)) continue;
    for (const bd of x.router.bindings()) {
      const d = bd.destination;
      if (d.kind === 'queue' ? (d as Queue).owner !== null || (durableOnly && !isDurableQueue(d as Queue)) : durableOnly && !(d as unknown as Exchange).durable) continue;
      bindings.push({ source: x.name, vhost: v.name, destination: d.name, destination_type: d.kind, routing_key: bd.routingKey, arguments: toJson(bd.args) });
    }
  }
  return { queues, exchanges, bindings };
}

/**
 * The broker's definitions in RabbitMQ's format (GET /api/definitions): what `rabbitmqctl
 * import_definitions` and POST /api/definitions on a RabbitMQ accept, and what Warren's
 * own import reads back. With `vhost`, one vhost's part, as /api/definitions/{vhost}.
 */
export function exportDefinitions(host: DefinitionsHost, opts: ExportOptions = {}): Definitions {
  const durableOnly = opts.durableOnly === true;
  if (opts.vhost !== undefined) {
    const v = host.vhosts.get(opts.vhost);
    if (v === undefined) throw new Error(`no vhost '${opts.vhost}'`);
    const t = topologyOf(v, durableOnly);
    const strip = <T extends { vhost?: string }>(o: T): Omit<T, 'vhost'> => {
      const { vhost: _, ...rest } = o;
      return rest;
    };
    return {
      rabbit_version: RABBIT_FORMAT_VERSION,
      parameters: parametersOf(v),
      // As RabbitMQ 3.10's /api/definitions/{vhost}: policies and parameters keep their vhost field.
      policies: v.policies.list().map((p) => policyJson(v.name, p)),
      queues: t.queues.map(strip) as QueueDefinitionJson[],
      exchanges: t.exchanges.map(strip) as ExchangeDefinitionJson[],
      bindings: t.bindings.map(strip) as BindingDefinitionJson[],
    };
  }
  const access = host.access;
  const defs: Definitions & Required<Pick<Definitions, 'vhosts' | 'parameters' | 'policies' | 'queues' | 'exchanges' | 'bindings'>> = {
    rabbit_version: RABBIT_FORMAT_VERSION,
    rabbitmq_version: RABBIT_FORMAT_VERSION,
    product_name: 'Warren',
    product_version: host.version,
    warren_version: host.version,
    users: [...access.users.values()].map(userToJson),
    vhosts: [],
    permissions: access.listPermissions(),
    topic_permissions: access.listTopicPermissions(),
    parameters: [],
    global_parameters: [...host.globalParameters].map(([name, value]) => ({ name, value })),
    policies: [],
    queues: [],
    exchanges: [],
    bindings: [],
  };
  for (const v of host.vhosts.values()) {
    defs.vhosts.push(vhostJson(v));
    defs.parameters.push(...parametersOf(v));
    defs.policies.push(...v.policies.list().map((p) => policyJson(v.name, p)));
    const t = topologyOf(v, durableOnly);
    defs.queues.push(...t.queues);
    defs.exchanges.push(...t.exchanges);
    defs.bindings.push(...t.bindings);
  }
  return defs;
}
