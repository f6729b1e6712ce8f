import type { FieldTable, FieldValue } from '../../amqp/table.js';
import { Typed } from '../../amqp/table.js';
import type { Definitions, JsonTable } from '../../persistence/definitions.js';

// The topology sections of RabbitMQ's definitions format (`rabbitmqctl export_definitions`,
// `GET /api/definitions`, Warren's own data/definitions.json), checked and turned into
// field tables. Shared by warren/routing's Topology.fromDefinitions and the broker's import,
// so a file means the same to both. Only the topology is read here: users, permissions and
// parameters are someone else's business.

/** A definitions file that cannot be read; the message names the offending entry. */
export class DefinitionsError extends Error {}

export interface ExchangeDef {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

export interface QueueDef {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  args: FieldTable;
}

export interface BindingDef {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  args: FieldTable;
}

export interface PolicyDef {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: 'queues' | 'exchanges' | 'all';
  priority: number;
  definition: Record<string, unknown>;
}

export interface TopologySections {
  /** Every vhost named, in the vhosts section or by an entry. */
  vhosts: string[];
  policies: PolicyDef[];
  exchanges: ExchangeDef[];
  queues: QueueDef[];
  bindings: BindingDef[];
}

type Entry = Record<string, unknown>;

/**
 * Reads the topology sections of a definitions object (or its JSON text). Entries without a
 * `vhost` (a per-vhost export, `GET /api/definitions/{vhost}`) belong to `defaultVhost`, and
 * so do the policies of such an export.
 */
export function topologySections(input: Definitions | string | unknown, defaultVhost = '/'): TopologySections {
  let defs: unknown = input;
  if (typeof input === 'string') {
    try {
      defs = JSON.parse(input);
    } catch (err) {
      throw new DefinitionsError(`definitions are not valid JSON: ${(err as Error).message}`);
    }
  }
  if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) throw new DefinitionsError('definitions must be a JSON object');
  const d = defs as Entry;
  const vhosts = new Set<string>();
  const vhostOf = (e: Entry, where: string): string => {
    const v = e['vhost'] ?? defaultVhost;
    if (typeof v !== 'string') throw new DefinitionsError(`${where}: vhost must be a string`);
    vhosts.add(v);
    return v;
  };
  for (const [i, v] of section(d, 'vhosts').entries()) vhosts.add(str(v, 'name', `vhosts[${i}]`));
  // A per-vhost export (GET /api/definitions/{vhost}) names no vhost on its exchanges, queues
  // and bindings, but RabbitMQ still writes the exported vhost on its policies: the whole
  // file is one vhost's, so its policies go where its other entries go.
  const perVhost = ['exchanges', 'queues', 'bindings'].every((k) => section(d, k).every((e) => e['vhost'] === undefined));
  const policies = section(d, 'policies').map((e, i): PolicyDef => {
    const where = `policies[${i}]`;
    const def = e['definition'];
    if (def === null || typeof def !== 'object' || Array.isArray(def)) throw new DefinitionsError(`${where}: definition must be an object`);
    const applyTo = e['apply-to'] ?? 'all';
    if (applyTo !== 'queues' && applyTo !== 'exchanges' && applyTo !== 'all') {
      throw new DefinitionsError(`${where}: apply-to must be queues, exchanges or all`);
    }
    const priority = e['priority'] ?? 0;
    if (!Number.isInteger(priority)) throw new DefinitionsError(`${where}: priority must be an integer`);
    const pattern = str(e, 'pattern', where);
    try {
      new RegExp(pattern);
    } catch (err) {
      throw new DefinitionsError(`${where}: invalid pattern: ${(err as Error).message}`);
    }
    const vhost = perVhost ? vhostOf({}, where) : vhostOf(e, where);
    return { vhost, name: str(e, 'name', where), pattern, applyTo, priority: priority as number, definition: def as Record<string, unknown> };
  });
  const exchanges = section(d, 'exchanges').map((e, i): ExchangeDef => {
    const where = `exchanges[${i}]`;
    return {
      vhost: vhostOf(e, where),
      name: str(e, 'name', where),
      type: str(e, 'type', where),
      durable: bool(e, 'durable', true, where),
      autoDelete: bool(e, 'auto_delete', false, where),
      internal: bool(e, 'internal', false, where),
      args: table(e, where),
    };
  });
  const queues = section(d, 'queues').map((e, i): QueueDef => {
    const where = `queues[${i}]`;
    return {
      vhost: vhostOf(e, where),
      name: str(e, 'name', where),
      durable: bool(e, 'durable', true, where),
      autoDelete: bool(e, 'auto_delete', false, where),
      args: table(e, where),
    };
  });
  const bindings = section(d, 'bindings').map((e, i): BindingDef => {
    const where = `bindings[${i}]`;
    const destinationType = e['destination_type'];
    if (destinationType !== 'queue' && destinationType !== 'exchange') {
      throw new DefinitionsError(`${where}: destination_type must be "queue" or "exchange"`);
    }
    const rk = e['routing_key'] ?? '';
    if (typeof rk !== 'string') throw new DefinitionsError(`${where}: routing_key must be a string`);
    return {
      vhost: vhostOf(e, where),
      source: str(e, 'source', where),
      destination: str(e, 'destination', where),
      destinationType,
      routingKey: rk,
      args: table(e, where),
    };
  });
  return { vhosts: [...vhosts], policies, exchanges, queues, bindings };
}

function section(d: Entry, key: string): Entry[] {
  const v = d[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DefinitionsError(`definitions: ${key} must be an array`);
  for (const [i, e] of v.entries()) {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new DefinitionsError(`${key}[${i}] must be an object`);
  }
  return v as Entry[];
}

function str(e: Entry, key: string, where: string): string {
  const v = e[key];
  if (typeof v !== 'string') throw new DefinitionsError(`${where}: ${key} must be a string`);
  return v;
}

function bool(e: Entry, key: string, dflt: boolean, where: string): boolean {
  const v = e[key] ?? dflt;
  if (typeof v !== 'boolean') throw new DefinitionsError(`${where}: ${key} must be true or false`);
  return v;
}

function table(e: Entry, where: string): FieldTable {
  const v = e['arguments'] ?? {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DefinitionsError(`${where}: arguments must be an object`);
  return fromJson(v as JsonTable);
}

function toJsonValue(v: FieldValue): unknown {
  if (v instanceof Typed) {
    const x = v.value;
    if (typeof x === 'bigint') return Number(x);
    if (v.type === 'D') {
      const d = x as { scale: number; value: number };
      return d.value / 10 ** d.scale;
    }
    return toJsonValue(x as FieldValue);
  }
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString();
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') return toJson(v);
  return v;
}

/** A field table as RabbitMQ's definitions write it: plain JSON, types dropped. */
export function toJson(t: FieldTable): JsonTable {
  const out: JsonTable = {};
  for (const k of Object.keys(t)) out[k] = toJsonValue(t[k]!);
  return out;
}

function fromJsonValue(v: unknown): FieldValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (typeof v === 'object') return fromJson(v as JsonTable);
  return null;
}

/** A definitions JSON table as a field table (numbers, strings, booleans, arrays, tables). */
export function fromJson(t: JsonTable | undefined): FieldTable {
  const out: FieldTable = {};
  for (const k of Object.keys(t ?? {})) {
    const v = fromJsonValue(t![k]);
    // '__proto__' is an ordinary key in JSON; assigning it would replace the prototype instead.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}
