import { AmqpError } from '../../amqp/errors.js';
import type { Definitions, JsonTable } from '../../persistence/definitions.js';
import { fromJson } from '../vhost/durable-definitions.js';
import { PolicyError, validatePolicy } from '../vhost/policy.js';
import type { VirtualHost } from '../vhost/vhost.js';
import type { DefinitionsHost } from './definitions-export.js';
import { AccessError } from './errors.js';
import { permissionFrom, TopicPermission } from './permissions.js';
import { legacyHashingAlgorithm, parseTags, userFromInput, type UserInput } from './users.js';

/**
 * Imports RabbitMQ definitions (an export from RabbitMQ 3.x or from Warren) in RabbitMQ's
 * order: users, vhosts, permissions, topic permissions, exchanges, global parameters,
 * policies, parameters, queues, bindings. As in RabbitMQ, existing queues and exchanges
 * are left as they are, `amq.*` and the default exchange are skipped, and users are
 * created or updated. Unlike RabbitMQ, one entry Warren cannot honour (an exchange type it
 * does not have, a binding to nothing) does not stop the rest: it is reported, section by
 * section, and logged.
 */

export type ImportMode = 'recovery' | 'boot' | 'runtime';

export interface ImportOptions {
  /** Import one vhost's part (objects without a `vhost` field go there), as /api/definitions/{vhost}. */
  vhost?: string;
  /**
   * recovery: the data directory's own file at start; boot: load_definitions at start
   * (never fatal); runtime: `warren definitions import` (the vhost queue-limit check aborts, as RabbitMQ's).
   */
  mode: ImportMode;
}

export interface SectionReport {
  imported: number;
  /** Entries left out on purpose (amq.* names, existing objects), with why. */
  skipped: string[];
  /** Entries Warren could not honour, with why. */
  errors: string[];
}

export type ImportReport = Record<string, SectionReport>;

const SECTIONS = ['users', 'vhosts', 'permissions', 'topic_permissions', 'exchanges', 'global_parameters', 'policies', 'parameters', 'queues', 'bindings'] as const;
const VHOST_SECTIONS = ['exchanges', 'parameters', 'policies', 'queues', 'bindings'] as const;

/** Queues created by an import belong to no connection. */
const IMPORT_OWNER: { id: number } = { id: 0 };

function describe(err: unknown): string {
  if (err instanceof AmqpError) return err.replyText;
  if (err instanceof AccessError) return err.reason;
  return (err as Error).message ?? String(err);
}

function list(defs: Definitions, section: string): Record<string, unknown>[] {
  const v = (defs as Record<string, unknown>)[section];
  return Array.isArray(v) ? v.filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object' && !Array.isArray(e)) : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function importDefinitions(host: DefinitionsHost, defs: Definitions, opts: ImportOptions): ImportReport {
  const report: ImportReport = {};
  const fixed = opts.vhost;
  if (fixed !== undefined && !host.vhosts.has(fixed)) {
    throw new AccessError('bad_request', `Please create virtual host "${fixed}" prior to importing definitions.`);
  }
  const sections = fixed === undefined ? SECTIONS : VHOST_SECTIONS;
  const vhostOf = (e: Record<string, unknown>): string => fixed ?? str(e['vhost']) ?? '';
  const vhostOrFail = (e: Record<string, unknown>): VirtualHost => {
    const name = vhostOf(e);
    const v = host.vhosts.get(name);
    if (v === undefined) throw new AccessError('not_found', `no_such_vhost: ${name}`);
    return v;
  };
  const access = host.access;

  const handlers: Record<string, (e: Record<string, unknown>, r: SectionReport) => void> = {
    users: (e, r) => {
      const u = userFromInput(e as UserInput, legacyHashingAlgorithm(defs.rabbitmq_version ?? defs.rabbit_version));
      // Before tags lists, RabbitMQ exports had "administrator": "true"/"false".
      if (e['tags'] === undefined && e['administrator'] !== undefined) u.tags = String(e['administrator']) === 'true' ? ['administrator'] : [];
      access.putUser(u);
      r.imported++;
    },
    vhosts: (e, r) => {
      const name = str(e['name']);
      if (name === undefined) throw new AccessError('bad_request', 'a vhost needs a name');
      const meta = (e['metadata'] ?? {}) as Record<string, unknown>;
      const dqt = str(e['default_queue_type']) ?? str(meta['default_queue_type']);
      access.addVhost(name, {
        description: str(e['description']) ?? str(meta['description']) ?? '',
        tags: parseTags(e['tags'] ?? meta['tags']),
        ...(dqt !== undefined && dqt !== 'undefined' ? { defaultQueueType: dqt } : {}),
      });
      if (e['limits'] !== undefined && e['limits'] !== null && !Array.isArray(e['limits'])) access.setVhostLimits(name, e['limits']);
      r.imported++;
    },
    permissions: (e, r) => {
      access.setPermissions(String(e['user']), vhostOf(e), permissionFrom(e));
      r.imported++;
    },
    topic_permissions: (e, r) => {
      const tp = new TopicPermission(String(e['exchange'] ?? ''), String(e['write'] ?? ''), String(e['read'] ?? ''));
      access.setTopicPermissions(String(e['user']), vhostOf(e), tp);
      r.imported++;
    },
    exchanges: (e, r) => {
      const v = vhostOrFail(e);
      const name = String(e['name'] ?? '');
      if (name === '' || name.startsWith('amq.')) {
        r.skipped.push(`exchange '${name}' in vhost '${v.name}': ${name === '' ? 'the default exchange' : "names beginning with 'amq.' are not imported"}`);
        return;
      }
      if (v.exchanges.has(name)) return;
      v.declareExchange(
        {
          name,
          type: String(e['type']),
          durable: e['durable'] !== false,
          autoDelete: e['auto_delete'] === true,
          internal: e['internal'] === true,
          args: fromJson(e['arguments'] as JsonTable | undefined),
        },
        false,
      );
      r.imported++;
    },
    global_parameters: (e, r) => {
      host.globalParameters.set(String(e['name']), e['value']);
      r.imported++;
    },
    policies: (e, r) => {
      const v = vhostOrFail(e);
      v.setPolicy(validatePolicy({ vhost: v.name, name: e['name'], pattern: e['pattern'], applyTo: e['apply-to'], priority: e['priority'], definition: e['definition'] }));
      r.imported++;
    },
    parameters: (e, r) => {
      const v = vhostOrFail(e);
      // Through the component registered for it (shovel, federation-upstream, ...), which
      // validates the value and starts what it describes; an unknown component is refused.
      access.setParameter(v.name, String(e['component']), String(e['name']), e['value']);
      r.imported++;
    },
    queues: (e, r) => {
      const v = vhostOrFail(e);
      const name = String(e['name'] ?? '');
      if (name.startsWith('amq.')) {
        r.skipped.push(`queue '${name}' in vhost '${v.name}': names beginning with 'amq.' are not imported`);
        return;
      }
      if (v.queues.has(name)) return;
      v.declareQueue(
        { name, durable: e['durable'] !== false, exclusive: false, autoDelete: e['auto_delete'] === true, args: fromJson(e['arguments'] as JsonTable | undefined) },
        IMPORT_OWNER,
        undefined,
        // Declared once already: a queue that an older version took must come back anyway.
        opts.mode !== 'recovery',
      );
      r.imported++;
    },
    bindings: (e, r) => {
      const v = vhostOrFail(e);
      const source = String(e['source'] ?? '');
      const destination = String(e['destination'] ?? '');
      const key = String(e['routing_key'] ?? '');
      const args = fromJson(e['arguments'] as JsonTable | undefined);
      const src = v.exchangeOrDie(source);
      if (e['destination_type'] === 'exchange') v.bindExchange(v.exchangeOrDie(destination), src, key, args);
      else {
        const q = v.queues.get(destination);
        if (q === undefined) throw new AccessError('not_found', `no queue '${destination}' in vhost '${v.name}'`);
        v.bindQueue(q, src, key, args);
      }
      r.imported++;
    },
  };

  for (const section of sections) {
    const r: SectionReport = { imported: 0, skipped: [], errors: [] };
    const entries = list(defs, section);
    // After users and vhosts (for a per-vhost import, first), as rabbit_definitions:validate_limits.
    if (section === (fixed === undefined ? 'permissions' : 'exchanges')) checkQueueLimits(host, defs, opts.mode, vhostOf);
    for (const e of entries) {
      try {
        handlers[section]!(e, r);
      } catch (err) {
        if (!(err instanceof AmqpError || err instanceof AccessError || err instanceof PolicyError)) throw err;
        const name = entryName(section, e, fixed);
        const why = describe(err);
        r.errors.push(why.startsWith(`${name}: `) ? why : `${name}: ${why}`);
      }
    }
    if (r.errors.length > 0) host.log.warn({ section, errors: r.errors }, `definitions: ${r.errors.length} ${section} entries could not be honoured`);
    if (r.skipped.length > 0) host.log.info({ section, skipped: r.skipped }, `definitions: ${r.skipped.length} ${section} entries skipped`);
    if (entries.length > 0 || section in defs) report[section] = r;
  }
  if (fixed !== undefined) {
    for (const s of SECTIONS) {
      if (!(VHOST_SECTIONS as readonly string[]).includes(s) && list(defs, s).length > 0) {
        host.log.warn({ section: s, vhost: fixed }, 'definitions: a per-vhost import ignores this section');
      }
    }
  }
  // Parameters and global parameters change no object that saves itself.
  host.accessChanged();
  return report;
}

/** How an entry is named in reports. */
function entryName(section: string, e: Record<string, unknown>, fixed: string | undefined): string {
  const vhost = fixed ?? str(e['vhost']);
  const inVhost = vhost !== undefined ? ` in vhost '${vhost}'` : '';
  switch (section) {
    case 'users':
      return `user '${String(e['name'])}'`;
    case 'vhosts':
      return `vhost '${String(e['name'])}'`;
    case 'permissions':
      return `permissions of user '${String(e['user'])}'${inVhost}`;
    case 'topic_permissions':
      return `topic permissions of user '${String(e['user'])}' on exchange '${String(e['exchange'])}'${inVhost}`;
    case 'bindings':
      return `binding from '${String(e['source'])}' to ${String(e['destination_type'] ?? 'queue')} '${String(e['destination'])}'${inVhost}`;
    case 'parameters':
      return `parameter ${String(e['component'])}/${String(e['name'])}${inVhost}`;
    case 'global_parameters':
      return `global parameter '${String(e['name'])}'`;
    default:
      return `${section.replace(/s$/, '').replace(/ie$/, 'y')} '${String(e['name'])}'${inVhost}`;
  }
}

/**
 * rabbit_definitions:validate_limits: new queues must fit each vhost's max-queues. A
 * runtime import is refused with RabbitMQ's text; at start the excess is only logged.
 */
function checkQueueLimits(host: DefinitionsHost, defs: Definitions, mode: ImportMode, vhostOf: (e: Record<string, unknown>) => string): void {
  const adding = new Map<string, number>();
  for (const q of list(defs, 'queues')) {
    const vname = vhostOf(q);
    const v = host.vhosts.get(vname);
    if (v !== undefined && !v.queues.has(String(q['name']))) adding.set(vname, (adding.get(vname) ?? 0) + 1);
  }
  for (const [vname, count] of adding) {
    const v = host.vhosts.get(vname)!;
    const limit = v.limits['max-queues'];
    if (limit === undefined || limit < 0 || v.queues.size + count <= limit) continue;
    const msg = `Adding ${count} queue(s) to virtual host "${vname}" would exceed the limit of ${limit} queue(s).\n\nThis virtual host currently has ${v.queues.size} queue(s) defined.\n\nImport aborted!`;
    if (mode === 'runtime') throw new AccessError('bad_request', msg);
    host.log.warn({ vhost: vname, adding: count, limit }, 'definitions: the queues to import exceed the vhost queue limit; importing them anyway');
  }
}
