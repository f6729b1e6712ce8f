import type { Column } from './output.js';
import type { Kind } from './values.js';

/**
 * The columns of rabbitmqctl's list commands (its "info keys"), each read from the
 * management API's JSON for the same object. Where rabbitmqctl shows an Erlang process id
 * (a channel's, a connection's), which the API does not have, the column shows the
 * object's name in the API, which is also what `close_connection` takes.
 */

type Obj = Record<string, unknown>;

/** A JSON value with its objects' keys sorted, as rabbitmqctl prints maps (definitions, limits). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Obj)[k]);
  return out;
}

type Getter = ((o: Obj) => unknown) & { fields?: string[] };

function field(name: string): Getter {
  return Object.assign((o: Obj) => o[name], { fields: [name] });
}

function nested(outer: string, inner: string): Getter {
  return Object.assign((o: Obj) => (o[outer] as Obj | undefined)?.[inner], { fields: [outer] });
}

/** A value the API does not have: no field to ask for. */
function constant(v: unknown): Getter {
  return Object.assign(() => v, { fields: [] });
}

function col(name: string, kind: Kind = 'plain', get: Getter = field(name)): Column {
  return get.fields === undefined ? { name, kind, get } : { name, kind, get, fields: get.fields };
}

export interface ColumnSet {
  /** Every column, in the order rabbitmqctl's help lists them. */
  all: Column[];
  /** The columns printed when none are asked for. */
  defaults: string[];
}

function set(all: Column[], defaults: string[]): ColumnSet {
  return { all, defaults };
}

const QUEUE_COUNTS = [
  'consumer_capacity',
  'consumer_utilisation',
  'consumers',
  'disk_reads',
  'disk_writes',
  'memory',
  'message_bytes',
  'message_bytes_persistent',
  'message_bytes_ram',
  'message_bytes_ready',
  'message_bytes_unacknowledged',
  'messages',
  'messages_persistent',
  'messages_ram',
  'messages_ready',
  'messages_ready_ram',
  'messages_unacknowledged',
  'messages_unacknowledged_ram',
];

export const QUEUE_COLUMNS = set(
  [
    col('arguments', 'table'),
    col('auto_delete'),
    col('durable'),
    col('exclusive'),
    col('exclusive_consumer_pid', 'plain', constant(undefined)),
    col('exclusive_consumer_tag'),
    col('head_message_timestamp'),
    col('leader'),
    col('members', 'names'),
    col('name'),
    col('online', 'names'),
    col('owner_pid', 'plain', nested('owner_pid_details', 'name')),
    col('pid', 'plain', constant(undefined)),
    col('policy'),
    col('slave_pids', 'names', field('slave_nodes')),
    col('state'),
    col('synchronised_slave_pids', 'names', field('synchronised_slave_nodes')),
    col('type'),
    ...QUEUE_COUNTS.map((n) => col(n)),
  ].sort((a, b) => (a.name < b.name ? -1 : 1)),
  ['name', 'messages'],
);

export const EXCHANGE_COLUMNS = set(
  [col('arguments', 'table'), col('auto_delete'), col('durable'), col('internal'), col('name'), col('policy'), col('type')],
  ['name', 'type'],
);

const BINDING_ORDER = ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments'];
export const BINDING_COLUMNS = set(
  [
    col('source_name', 'plain', field('source')),
    col('source_kind', 'plain', constant('exchange')),
    col('destination_name', 'plain', field('destination')),
    col('destination_kind', 'plain', field('destination_type')),
    col('routing_key'),
    col('arguments', 'table'),
  ],
  BINDING_ORDER,
);

export const CONNECTION_COLUMNS = set(
  [
    col('auth_mechanism'),
    col('channel_max'),
    col('channels'),
    col('client_properties', 'table'),
    col('connected_at'),
    col('frame_max'),
    col('host'),
    col('name'),
    col('peer_cert_issuer'),
    col('peer_cert_subject'),
    col('peer_cert_validity'),
    col('peer_host'),
    col('peer_port'),
    col('pid', 'plain', field('name')),
    col('port'),
    col('protocol', 'protocol'),
    col('recv_cnt'),
    col('recv_oct'),
    col('send_cnt'),
    col('send_oct'),
    col('send_pend'),
    col('ssl'),
    col('ssl_cipher'),
    col('ssl_hash'),
    col('ssl_key_exchange'),
    col('ssl_protocol'),
    col('state'),
    col('timeout'),
    col('user'),
    col('vhost'),
  ],
  ['user', 'peer_host', 'peer_port', 'state'],
);

export const CHANNEL_COLUMNS = set(
  [
    col('acks_uncommitted'),
    col('confirm'),
    col('connection', 'plain', nested('connection_details', 'name')),
    col('consumer_count'),
    col('global_prefetch_count'),
    col('messages_unacknowledged'),
    col('messages_uncommitted'),
    col('messages_unconfirmed'),
    col('name'),
    col('number'),
    col('pid', 'plain', field('name')),
    col('prefetch_count'),
    col('transactional'),
    col('user'),
    col('vhost'),
  ],
  ['pid', 'user', 'consumer_count', 'messages_unacknowledged'],
);

export const CONSUMER_COLUMNS = set(
  [
    col('ack_required'),
    col('active'),
    col('activity_status'),
    col('arguments', 'table'),
    col('channel_pid', 'plain', nested('channel_details', 'name')),
    col('consumer_tag'),
    col('prefetch_count'),
    col('queue_name', 'plain', nested('queue', 'name')),
  ],
  ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'arguments'],
);

export const VHOST_COLUMNS = set(
  [
    col('cluster_state', 'nodeStates'),
    col('default_queue_type'),
    col('description'),
    col('name'),
    col('tags', 'names'),
    col('tracing'),
  ],
  ['name'],
);

/** Fixed layouts (commands that take no column arguments). */
export const USER_COLUMNS = [col('user', 'plain', field('name')), col('tags', 'names')];
export const PERMISSION_COLUMNS = [col('user'), col('configure'), col('write'), col('read')];
export const USER_PERMISSION_COLUMNS = [col('vhost'), col('configure'), col('write'), col('read')];
export const TOPIC_PERMISSION_COLUMNS = [col('user'), col('exchange'), col('write'), col('read')];
export const USER_TOPIC_PERMISSION_COLUMNS = [col('vhost'), col('exchange'), col('write'), col('read')];
export const POLICY_COLUMNS = [
  col('vhost'),
  col('name'),
  col('pattern'),
  col('apply-to'),
  col('definition', 'json', (o) => sortKeys(o['definition'])),
  col('priority'),
];
// Values print with their keys sorted, as RabbitMQ stores them: the same text from either broker.
export const PARAMETER_COLUMNS = [col('component'), col('name'), col('value', 'json', (o) => sortKeys(o['value']))];
export const GLOBAL_PARAMETER_COLUMNS = [col('name'), col('value', 'json', (o) => sortKeys(o['value']))];
/** RabbitMQ's API gives "no limits" as `[]`; rabbitmqctl prints `{}`. */
export function limitsValue(v: unknown): unknown {
  const empty = v === undefined || v === null || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);
  return empty ? {} : sortKeys(v);
}
export const VHOST_LIMIT_COLUMNS = [col('vhost'), col('limits', 'json', (o) => limitsValue(o['value']))];
export const USER_LIMIT_COLUMNS = [col('user'), col('limits', 'json', (o) => limitsValue(o['value']))];

/**
 * The columns asked for, or the defaults. Unknown names are a usage error, reported as
 * rabbitmqctl reports them.
 */
export function pickColumns(cs: ColumnSet, asked: string[]): Column[] {
  const names = asked.length === 0 ? cs.defaults : asked.flatMap((a) => a.split(',')).filter((a) => a !== '');
  const bad = names.filter((n) => !cs.all.some((c) => c.name === n));
  if (bad.length > 0) throw new UnknownColumns(bad, cs);
  return names.map((n) => cs.all.find((c) => c.name === n)!);
}

export class UnknownColumns extends Error {
  constructor(
    readonly bad: string[],
    readonly cs: ColumnSet,
  ) {
    super(`Info key(s) ${bad.join(',')} are not supported`);
  }
}
