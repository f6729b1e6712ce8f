import { join } from 'node:path';
import { Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import {
  readDefinitions,
  writeDefinitionsAtomic,
  type Definitions,
  type JsonTable,
} from '../../persistence/definitions.js';
import type { Broker } from '../broker.js';
import { validatePolicy } from './policy.js';
import type { Exchange } from './exchange.js';
import type { Queue } from '../queue/queue.js';
import { VirtualHost } from './vhost.js';

const RECOVERY: { id: number } = { id: 0 };

/**
 * Keeps the durable topology of a broker on disk: durable exchanges, durable
 * non-exclusive queues with their arguments, bindings between durable ends, and
 * policies. Written whole and atomically after every change that touches them, before
 * the client hears declare-ok, so a confirmed declaration survives a crash.
 */
export class DurableDefinitions {
  readonly path: string;
  preFlushScheduled = false;

  constructor(
    private readonly broker: Broker,
    dataDir: string,
  ) {
    this.path = join(dataDir, 'definitions.json');
  }

  /** Rebuilds the topology from the file, if there is one; returns what was recovered. */
  recover(): { exchanges: number; queues: number; bindings: number; policies: number } {
    const defs = readDefinitions(this.path);
    const n = { exchanges: 0, queues: 0, bindings: 0, policies: 0 };
    if (defs === null) return n;
    const b = this.broker;
    const vhost = (name: string): VirtualHost => {
      let v = b.vhosts.get(name);
      if (v === undefined) b.vhosts.set(name, (v = new VirtualHost(name)));
      return v;
    };
    for (const v of defs.vhosts ?? []) {
      const vh = vhost(v.name);
      if (typeof v.description === 'string') vh.description = v.description;
      if (Array.isArray(v.tags)) vh.tags = v.tags.filter((t) => typeof t === 'string');
    }
    for (const p of defs.policies ?? []) {
      vhost(p.vhost).setPolicy(
        validatePolicy({ vhost: p.vhost, name: p.name, pattern: p.pattern, applyTo: p['apply-to'], priority: p.priority, definition: p.definition }),
      );
      n.policies++;
    }
    for (const x of defs.exchanges ?? []) {
      if (x.name === '' || x.name.startsWith('amq.')) continue;
      vhost(x.vhost).declareExchange(
        { name: x.name, type: x.type, durable: true, autoDelete: x.auto_delete, internal: x.internal, args: fromJson(x.arguments) },
        false,
      );
      n.exchanges++;
    }
    for (const q of defs.queues ?? []) {
      vhost(q.vhost).declareQueue(
        { name: q.name, durable: true, exclusive: false, autoDelete: q.auto_delete, args: fromJson(q.arguments) },
        RECOVERY,
      );
      n.queues++;
    }
    for (const bd of defs.bindings ?? []) {
      const v = vhost(bd.vhost);
      const src = v.exchanges.get(bd.source);
      if (src === undefined) continue;
      const args = fromJson(bd.arguments);
      if (bd.destination_type === 'queue') {
        const q = v.queues.get(bd.destination);
        if (q !== undefined) v.bindQueue(q, src, bd.routing_key, args);
      } else {
        const dest = v.exchanges.get(bd.destination);
        if (dest !== undefined) v.bindExchange(dest, src, bd.routing_key, args);
      }
      n.bindings++;
    }
    return n;
  }

  save(): void {
    writeDefinitionsAtomic(this.path, this.collect());
  }

  /** Run by the scheduler before this turn's replies are written: declare-ok means on disk. */
  preFlush(): void {
    try {
      this.save();
    } catch (err) {
      this.broker.log.error({ err: (err as Error).message, path: this.path }, 'cannot save definitions');
    }
  }

  /** The durable part of the topology, in RabbitMQ's definitions format. */
  collect(): Definitions {
    const defs: Required<Pick<Definitions, 'vhosts' | 'policies' | 'queues' | 'exchanges' | 'bindings'>> & Definitions = {
      warren_version: this.broker.version,
      vhosts: [],
      policies: [],
      queues: [],
      exchanges: [],
      bindings: [],
    };
    for (const v of this.broker.vhosts.values()) {
      // RabbitMQ 3.10 exports a vhost as its name alone; metadata is added only when set.
      const entry: { name: string; description?: string; tags?: string[] } = { name: v.name };
      if (v.description !== '' && !(v.name === '/' && v.description === 'Default virtual host')) entry.description = v.description;
      if (v.tags.length > 0) entry.tags = [...v.tags];
      defs.vhosts.push(entry);
      for (const p of v.policies.list()) {
        defs.policies.push({ vhost: v.name, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: { ...p.definition }, priority: p.priority });
      }
      for (const q of v.queues.values()) {
        if (!q.durable || q.owner !== null) continue;
        defs.queues.push({ name: q.name, vhost: v.name, durable: true, auto_delete: q.autoDelete, arguments: toJson(q.args) });
      }
      for (const x of v.exchanges.values()) {
        if (x.name === '' || !x.durable) continue;
        if (!x.name.startsWith('amq.')) {
          defs.exchanges.push({
            name: x.name,
            vhost: v.name,
            type: x.type,
            durable: true,
            auto_delete: x.autoDelete,
            internal: x.internal,
            arguments: toJson(x.args),
          });
        }
        if (!('bindings' in x.router)) continue;
        for (const bd of x.router.bindings()) {
          const d = bd.destination;
          const durable = d.kind === 'queue' ? (d as Queue).durable && (d as Queue).owner === null : (d as unknown as Exchange).durable;
          if (!durable) continue;
          defs.bindings.push({
            source: x.name,
            vhost: v.name,
            destination: d.name,
            destination_type: d.kind,
            routing_key: bd.routingKey,
            arguments: toJson(bd.args),
          });
        }
      }
    }
    return defs;
  }
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

export function fromJson(t: JsonTable | undefined): FieldTable {
  const out: FieldTable = {};
  for (const k of Object.keys(t ?? {})) out[k] = fromJsonValue(t![k]);
  return out;
}
