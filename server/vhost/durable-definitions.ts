import { join } from 'node:path';
import {
  readDefinitions,
  writeDefinitionsAtomic,
  type Definitions,
} from '../../persistence/definitions.js';
import type { Broker } from '../broker.js';
import { fromJson, toJson } from '../../routing/topology/definitions.js';
import { importTopology, type ImportCounts } from './import-definitions.js';
import type { Exchange } from './exchange.js';
import type { Queue } from '../queue/queue.js';
import { VirtualHost } from './vhost.js';

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
  recover(): ImportCounts {
    const defs = readDefinitions(this.path);
    if (defs === null) return { exchanges: 0, queues: 0, bindings: 0, policies: 0, ignored: [] };
    const b = this.broker;
    const vhost = (name: string): VirtualHost => {
      let v = b.vhosts.get(name);
      if (v === undefined) b.vhosts.set(name, (v = new VirtualHost(name)));
      return v;
    };
    // Everything in our own file is durable; a binding whose end is gone is skipped.
    return importTopology(defs, vhost, { strict: false });
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
      defs.vhosts.push({ name: v.name });
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

export { fromJson, toJson };
