import { readFileSync } from 'node:fs';
import { ConnectionError } from '../amqp/errors.js';
import type { Broker } from './broker.js';
import { schedulePreFlush } from './ops/scheduler.js';
import { importTopology, type ImportCounts, type ImportOptions } from './vhost/import-definitions.js';
import { VirtualHost } from './vhost/vhost.js';

// Creating, deleting and resetting virtual hosts on a running broker (what RabbitMQ's
// `rabbitmqctl add_vhost` / `delete_vhost` and PUT/DELETE /api/vhosts do), and loading a
// topology from definitions into it.

/** The vhost, created (empty, with the standard exchanges) if it does not exist. */
export function addVhost(broker: Broker, name: string): VirtualHost {
  let v = broker.vhosts.get(name);
  if (v !== undefined) return v;
  v = new VirtualHost(name);
  v.store = broker.store;
  const defs = broker.definitions;
  if (defs !== null) {
    v.onDurableChange = () => schedulePreFlush(defs);
    v.onDurableChange();
  }
  broker.vhosts.set(name, v);
  broker.log.info({ vhost: name }, 'vhost created');
  return v;
}

/**
 * Deletes a vhost as RabbitMQ does: its connections are closed with
 * `320 CONNECTION_FORCED - vhost 'v' is deleted`, then its queues (with their messages),
 * exchanges, bindings and policies go. False if there was no such vhost.
 */
export function deleteVhost(broker: Broker, name: string): boolean {
  const v = broker.vhosts.get(name);
  if (v === undefined) return false;
  for (const c of broker.connections) {
    if (c.vhost !== v) continue;
    c.closeWith(new ConnectionError(320, `vhost '${name}' is deleted`));
    c.flush();
  }
  for (const q of [...v.queues.values()]) v.deleteQueue(q);
  broker.vhosts.delete(name);
  if (broker.definitions !== null) schedulePreFlush(broker.definitions);
  broker.log.info({ vhost: name }, 'vhost deleted');
  return true;
}

/** A definitions object, its JSON text, or the path of a JSON file. */
export type DefinitionsSource = object | string;

export function readDefinitionsSource(src: DefinitionsSource): unknown {
  if (typeof src !== 'string') return src;
  if (src.trimStart().startsWith('{')) return src;
  try {
    return readFileSync(src, 'utf8');
  } catch (err) {
    throw new Error(`cannot read definitions from ${src}: ${(err as Error).message}`);
  }
}

/** Declares the topology sections of definitions in the broker, creating vhosts as needed. */
export function loadDefinitions(broker: Broker, src: DefinitionsSource, opts: Omit<ImportOptions, 'strict'> = {}): ImportCounts {
  return importTopology(readDefinitionsSource(src), (n) => addVhost(broker, n), { ...opts, strict: true });
}
