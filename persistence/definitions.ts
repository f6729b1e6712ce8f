import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Durable definitions in RabbitMQ's definitions format (what `rabbitmqctl
 * export_definitions` writes and the management plugin imports), so a file can move
 * between the two brokers. Field tables become plain JSON, as in RabbitMQ's export.
 */
export interface Definitions {
  warren_version?: string;
  rabbit_version?: string;
  vhosts?: { name: string; description?: string; tags?: string[] }[];
  policies?: PolicyDefinitionJson[];
  queues?: QueueDefinitionJson[];
  exchanges?: ExchangeDefinitionJson[];
  bindings?: BindingDefinitionJson[];
}

export type JsonTable = Record<string, unknown>;

export interface QueueDefinitionJson {
  name: string;
  vhost: string;
  durable: boolean;
  auto_delete: boolean;
  arguments: JsonTable;
}

export interface ExchangeDefinitionJson {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: JsonTable;
}

export interface BindingDefinitionJson {
  source: string;
  vhost: string;
  destination: string;
  destination_type: 'queue' | 'exchange';
  routing_key: string;
  arguments: JsonTable;
}

export interface PolicyDefinitionJson {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': string;
  definition: Record<string, unknown>;
  priority: number;
}

/** Reads a definitions file; null when there is none. Throws with the path on a bad file. */
export function readDefinitions(path: string): Definitions | null {
  if (!existsSync(path)) return null;
  try {
    const d = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new Error('not a JSON object');
    return d as Definitions;
  } catch (err) {
    throw new Error(`cannot read definitions from ${path}: ${(err as Error).message}`);
  }
}

/**
 * Replaces the file atomically: write a temporary file, fsync it, rename it over the old
 * one, fsync the directory. A crash at any point leaves the old file or the new one.
 */
export function writeDefinitionsAtomic(path: string, defs: Definitions): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(defs, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
