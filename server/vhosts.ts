import { readFileSync } from 'node:fs';
import type { Definitions } from '../persistence/definitions.js';
import { importDefinitions, type ImportReport } from './access/definitions-import.js';
import type { Broker } from './broker.js';

// What startBroker's test-suite helpers do with vhosts and definitions, on top of the
// access room (which creates and deletes vhosts as RabbitMQ does) and its importer.

/** A definitions object, its JSON text, or the path of a JSON file. */
export type DefinitionsSource = object | string;

export function readDefinitionsSource(src: DefinitionsSource): Definitions {
  let text: string;
  if (typeof src !== 'string') return src as Definitions;
  if (src.trimStart().startsWith('{')) text = src;
  else {
    try {
      text = readFileSync(src, 'utf8');
    } catch (err) {
      throw new Error(`cannot read definitions from ${src}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as Definitions;
  } catch (err) {
    throw new Error(`definitions are not valid JSON: ${(err as Error).message}`);
  }
}

const VHOST_SECTIONS = ['exchanges', 'queues', 'bindings', 'policies', 'parameters'] as const;

/** A per-vhost export (GET /api/definitions/{vhost}) names no vhost on its exchanges, queues and bindings. */
function isPerVhost(defs: Definitions): boolean {
  const d = defs as Record<string, unknown>;
  return ['exchanges', 'queues', 'bindings'].every((k) => !Array.isArray(d[k]) || (d[k] as Record<string, unknown>[]).every((e) => e?.['vhost'] === undefined));
}

/** The part of whole-broker definitions that belongs to one vhost. */
function vhostPart(defs: Definitions, vhost: string): Definitions {
  const d = defs as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of VHOST_SECTIONS) {
    if (Array.isArray(d[k])) out[k] = (d[k] as Record<string, unknown>[]).filter((e) => e?.['vhost'] === vhost);
  }
  return out as Definitions;
}

/**
 * A test suite's topology must load whole: an entry the importer could not honour (a
 * binding to nothing, an exchange type Warren lacks) is an error here, not a log line.
 */
function strict(report: ImportReport): ImportReport {
  const errors = Object.values(report).flatMap((r) => r.errors);
  if (errors.length > 0) throw new Error(`definitions: ${errors.join('; ')}`);
  return report;
}

/**
 * Declares definitions in the running broker: whole-broker definitions everywhere they
 * say (vhosts, users and permissions included), a per-vhost export in '/' or `into`.
 */
export function loadDefinitions(broker: Broker, src: DefinitionsSource, into?: string): ImportReport {
  const defs = readDefinitionsSource(src);
  if (into !== undefined) return strict(importDefinitions(broker, defs, { vhost: into, mode: 'runtime' }));
  if (isPerVhost(defs)) return strict(importDefinitions(broker, defs, { vhost: '/', mode: 'runtime' }));
  return strict(importDefinitions(broker, defs, { mode: 'runtime' }));
}

/** Declares the part of definitions (as loadDefinitions took them) that belongs to one vhost. */
export function reloadVhost(broker: Broker, src: DefinitionsSource, vhost: string): void {
  const defs = readDefinitionsSource(src);
  if (isPerVhost(defs)) {
    if (vhost === '/') strict(importDefinitions(broker, defs, { vhost, mode: 'runtime' }));
    return;
  }
  strict(importDefinitions(broker, vhostPart(defs, vhost), { vhost, mode: 'runtime' }));
}

/**
 * A new vhost for a test. The configured users that were not given permissions of their
 * own may do everything in it, as in the vhosts they were seeded with.
 */
export function addVhost(broker: Broker, name: string): void {
  broker.access.addVhost(name);
  for (const u of broker.config.users) {
    if (u.permissions === undefined) broker.access.setPermissions(u.name, name, { configure: '.*', write: '.*', read: '.*' });
  }
}

/**
 * Deletes and re-creates a vhost, as `rabbitmqctl delete_vhost` then `add_vhost` would:
 * its connections are closed with `320 CONNECTION_FORCED - vhost 'v' is deleted`, its
 * queues (with their messages), exchanges, bindings, policies and parameters go; its
 * metadata, limits and everyone's permissions on it are kept.
 */
export function recreateVhost(broker: Broker, name: string): void {
  const v = broker.vhosts.get(name);
  if (v === undefined) throw new Error(`no vhost '${name}'`);
  const meta = { ...v.metadata, tags: [...v.metadata.tags] };
  const limits = { ...v.limits };
  const perms = broker.access.listPermissions({ vhost: name });
  const topicPerms = broker.access.listTopicPermissions({ vhost: name });
  broker.access.deleteVhost(name);
  broker.access.addVhost(name, meta);
  if (Object.keys(limits).length > 0) broker.access.setVhostLimits(name, limits);
  for (const p of perms) broker.access.setPermissions(p.user, name, p);
  for (const p of topicPerms) broker.access.setTopicPermissions(p.user, name, p);
}
