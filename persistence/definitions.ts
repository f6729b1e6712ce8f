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
  rabbitmq_version?: string;
  product_name?: string;
  product_version?: string;
  users?: UserDefinitionJson[];
  vhosts?: VhostDefinitionJson[];
  permissions?: PermissionDefinitionJson[];
  topic_permissions?: TopicPermissionDefinitionJson[];
  parameters?: ParameterDefinitionJson[];
  global_parameters?: { name: string; value: unknown }[];
  policies?: PolicyDefinitionJson[];
  queues?: QueueDefinitionJson[];
  exchanges?: ExchangeDefinitionJson[];
  bindings?: BindingDefinitionJson[];
}

/** A user: a hash (RabbitMQ's export) or, in a hand-written file, a plaintext `password`. */
export interface UserDefinitionJson {
  name: string;
  password_hash?: string;
  password?: string;
  hashing_algorithm?: string;
  tags: string[] | string;
  limits?: { [key: string]: number | undefined };
}

export interface VhostDefinitionJson {
  name: string;
  description?: string;
  tags?: string[];
  default_queue_type?: string;
  metadata?: { description?: string; tags?: string[]; default_queue_type?: string };
  /** Accepted on import (some tools write them here); exported as a vhost-limits parameter. */
  limits?: Record<string, number>;
}

export interface PermissionDefinitionJson {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermissionDefinitionJson {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

/** A runtime parameter: vhost-limits, operator_policy, shovel, federation-upstream, ... */
export interface ParameterDefinitionJson {
  vhost: string;
  component: string;
  name: string;
  value: unknown;
}

export type JsonTable = Record<string, unknown>;

export interface QueueDefinitionJson {
  name: string;
  /** Absent in a per-vhost export. */
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
