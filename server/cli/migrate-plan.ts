import type { Definitions } from '../../persistence/definitions.js';
import { validateShovel } from '../federation/shovel/parameters.js';
import { validateDeclare } from '../queue/arg-validation.js';
import { fromJson } from '../vhost/durable-definitions.js';
import { inertKeys, PolicyError, validatePolicy, type PolicyDefinition } from '../vhost/policy.js';
import type { BrokerOverview, QueueInfo } from './migrate-api.js';
import {
  AMAZON_MQ_TAGS,
  BUILTIN_EXCHANGE_TYPES,
  COMPONENT_PLUGINS,
  EXCHANGE_TYPE_PLUGINS,
  HASHING_ALGORITHMS,
  queueTypeVerdict,
  WARREN_INERT_ARGUMENTS,
  type AmazonMqLimits,
  type TargetProfile,
} from './migrate-profiles.js';

/**
 * `warren migrate plan`: every object of the source's definitions, judged against the
 * target: supported as is, supported with a difference (and which), or not supported (and
 * why). The plan also yields the definitions `run` imports: the source's, minus what is
 * refused, adapted where the target needs it (Amazon MQ's tags).
 */

export type Verdict = 'supported' | 'difference' | 'unsupported';
export type ItemKind =
  | 'broker'
  | 'plugin'
  | 'user'
  | 'vhost'
  | 'permission'
  | 'topic-permission'
  | 'limit'
  | 'policy'
  | 'operator-policy'
  | 'parameter'
  | 'global-parameter'
  | 'exchange'
  | 'queue'
  | 'binding';

export interface PlanItem {
  kind: ItemKind;
  vhost: string | null;
  name: string;
  verdict: Verdict;
  reason: string;
  /** Messages waiting in the source queue (queues only, when the source is a live broker). */
  messages?: number;
}

export interface PlanInput {
  source: { url: string; defs: Definitions; overview: BrokerOverview | null; queues: QueueInfo[] | null };
  target: {
    url: string | null;
    profile: TargetProfile;
    overview: BrokerOverview | null;
    defs: Definitions | null;
    /** Whether the target answers /api/shovels and /api/federation-links (null: not asked). */
    hasShovel: boolean | null;
    hasFederation: boolean | null;
    /** The AMQP URI the shovels will use to reach the target, when known. */
    amqpUrl: string | null;
  };
  limits: AmazonMqLimits;
}

export interface MigrationPlan {
  source: { url: string; product: string; version: string };
  target: { url: string | null; product: string; version: string; profile: TargetProfile };
  summary: { supported: number; difference: number; unsupported: number; queuesWithMessages: number; messages: number };
  items: PlanItem[];
  /** What `run` imports into the target. */
  definitions: Definitions;
}

type Entry = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));
const key = (vhost: string, name: string): string => `${vhost}\0${name}`;

function list(defs: Definitions, section: keyof Definitions): Entry[] {
  const v = defs[section];
  return Array.isArray(v) ? (v.filter((e) => e !== null && typeof e === 'object') as Entry[]) : [];
}

function tagsOf(e: Entry): string[] {
  const t = e['tags'];
  return (Array.isArray(t) ? t.map(String) : typeof t === 'string' ? t.split(',') : []).map((s) => s.trim()).filter((s) => s !== '');
}

/** JSON equality with object keys in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(norm) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm((v as Entry)[k])])) : v;
  return JSON.stringify(norm(a ?? {})) === JSON.stringify(norm(b ?? {}));
}

export function makePlan(input: PlanInput): MigrationPlan {
  const { source, target, limits } = input;
  const profile = target.profile;
  const defs = source.defs;
  const items: PlanItem[] = [];
  const out: Definitions = {};
  for (const k of ['rabbit_version', 'rabbitmq_version', 'product_name', 'product_version'] as const) if (defs[k] !== undefined) out[k] = defs[k];
  const sections = out as Record<string, Entry[]>;
  const push = (section: keyof Definitions, e: Entry): void => {
    (sections[section] ??= []).push(e);
  };
  const add = (kind: ItemKind, vhost: string | null, name: string, verdict: Verdict, reason = '', extra: Partial<PlanItem> = {}): PlanItem => {
    const item: PlanItem = { kind, vhost, name, verdict, reason, ...extra };
    items.push(item);
    return item;
  };
  const refusedUsers = new Set<string>();
  const refusedVhosts = new Set<string>();
  const refusedExchanges = new Set<string>();
  const refusedQueues = new Set<string>();
  const targetTypes = target.overview?.exchange_types?.map((t) => t.name) ?? null;
  const backlog = new Map<string, number>();
  for (const q of source.queues ?? []) backlog.set(key(q.vhost, q.name), q.messages ?? 0);

  // ---- the broker as a whole
  const srcProduct = defs.product_name ?? source.overview?.product_name ?? 'RabbitMQ';
  const srcVersion = defs.product_version ?? defs.rabbitmq_version ?? defs.rabbit_version ?? source.overview?.product_version ?? '';
  if (profile === 'warren') {
    add('broker', null, 'one node', 'difference', 'Warren runs as a single node: no clustering; quorum queues have one replica (a confirm means fdatasync on that node)');
  }
  if (profile === 'amazon-mq') {
    const amqpOk = target.amqpUrl === null || target.amqpUrl.startsWith('amqps://');
    add('broker', null, 'AMQPS only', amqpOk ? 'difference' : 'unsupported',
      amqpOk
        ? 'Amazon MQ accepts AMQP over TLS only (amqps://, port 5671) and its management API over HTTPS (443): applications must switch to amqps'
        : `the shovels would reach Amazon MQ at ${target.amqpUrl?.replace(/\/\/[^@/]*@/, '//')}, but Amazon MQ accepts amqps:// (port 5671) only: give --to-amqp amqps://user:pass@host:5671`);
    add('broker', null, 'default policies', 'difference',
      "Amazon MQ's default policy makes classic queues lazy (queue-mode: lazy) and, on cluster deployments, caps queue length (max-length with overflow: reject-publish): publishers past the cap get nacks");
    add('broker', null, 'vhost limits', 'difference',
      `Amazon MQ sets max-queues and max-connections on vhost '/' by instance type${limits.maxQueues !== undefined ? ` (here max-queues ${limits.maxQueues})` : ''}${limits.maxConnections !== undefined ? ` (max-connections ${limits.maxConnections})` : ''}`);
    add('broker', null, 'moving messages', 'supported', 'with dynamic shovels (static shovels are not available on Amazon MQ)');
  }

  // ---- vhosts
  for (const e of list(defs, 'vhosts')) {
    const name = str(e['name']);
    const dqt = str(e['default_queue_type'] ?? (e['metadata'] as Entry | undefined)?.['default_queue_type'] ?? '');
    const qt = dqt === '' || dqt === 'undefined' ? { verdict: 'supported' as const, reason: '' } : queueTypeVerdict(profile, dqt);
    add('vhost', null, name, qt.verdict, qt.reason === '' ? '' : `default queue type ${dqt}: ${qt.reason}`);
    push('vhosts', e);
  }

  // ---- users
  const targetUsers = new Map(list(target.defs ?? {}, 'users').map((u) => [str(u['name']), u]));
  for (const e of list(defs, 'users')) {
    const name = str(e['name']);
    const algo = str(e['hashing_algorithm'] ?? 'rabbit_password_hashing_sha256');
    if (!HASHING_ALGORITHMS.includes(algo)) {
      refusedUsers.add(name);
      add('user', null, name, 'unsupported', `password hashing algorithm ${algo} is not one of RabbitMQ's internal backend (sha256, sha512, md5)`);
      continue;
    }
    if (profile === 'amazon-mq' && name === 'guest') {
      refusedUsers.add(name);
      add('user', null, name, 'unsupported', 'Amazon MQ does not let guest log in from outside: create another administrator');
      continue;
    }
    const notes: string[] = [`${algo.replace('rabbit_password_hashing_', '')} hash`];
    let verdict: Verdict = 'supported';
    let entry = e;
    if (str(e['password_hash']) === '' && e['password'] === undefined) {
      verdict = 'difference';
      notes.push('no password: it can only log in with EXTERNAL (a client certificate)');
    }
    if (profile === 'amazon-mq') {
      const tags = tagsOf(e);
      const dropped = tags.filter((t) => !AMAZON_MQ_TAGS.includes(t));
      if (dropped.length > 0) {
        verdict = 'difference';
        notes.push(`tags ${dropped.join(', ')} are not allowed on Amazon MQ and are dropped`);
        entry = { ...e, tags: tags.filter((t) => AMAZON_MQ_TAGS.includes(t)) };
      }
    }
    const existing = targetUsers.get(name);
    if (existing !== undefined && (existing['password_hash'] !== e['password_hash'] || !sameJson(tagsOf(existing), tagsOf(e)))) {
      verdict = 'difference';
      notes.push('exists on the target: its password and tags are replaced');
    }
    const userLimits = e['limits'];
    if (userLimits !== null && typeof userLimits === 'object' && Object.keys(userLimits).length > 0) {
      add('limit', null, `user ${name}`, 'supported', Object.entries(userLimits).map(([k, v]) => `${k} ${String(v)}`).join(', '));
    }
    add('user', null, name, verdict, notes.join('; '));
    push('users', entry);
  }

  // ---- permissions
  const dependent = (user: string | null, vhost: string | null): string | null => {
    if (user !== null && refusedUsers.has(user)) return `user '${user}' is not migrated`;
    if (vhost !== null && refusedVhosts.has(vhost)) return `vhost '${vhost}' is not migrated`;
    return null;
  };
  for (const [section, kind] of [['permissions', 'permission'], ['topic_permissions', 'topic-permission']] as const) {
    for (const e of list(defs, section)) {
      const user = str(e['user']);
      const vhost = str(e['vhost']);
      const name = kind === 'permission' ? user : `${user} on ${str(e['exchange'])}`;
      const why = dependent(user, vhost);
      if (why !== null) {
        add(kind, vhost, name, 'unsupported', why);
        continue;
      }
      add(kind, vhost, name, 'supported', kind === 'permission' ? `configure '${str(e['configure'])}' write '${str(e['write'])}' read '${str(e['read'])}'` : '');
      push(section, e);
    }
  }

  // ---- parameters (limits, operator policies, shovels, federation, others)
  for (const e of list(defs, 'parameters')) {
    const vhost = str(e['vhost']);
    const component = str(e['component']);
    const name = str(e['name']);
    const why = dependent(null, vhost);
    if (why !== null) {
      add('parameter', vhost, `${component}/${name}`, 'unsupported', why);
      continue;
    }
    if (component === 'vhost-limits') {
      const value = (e['value'] ?? {}) as Entry;
      const text = Object.entries(value).map(([k, v]) => `${k} ${String(v)}`).join(', ');
      const queues = list(defs, 'queues').filter((q) => str(q['vhost']) === vhost).length;
      const max = value['max-queues'];
      if (typeof max === 'number' && max >= 0 && queues > max) add('limit', vhost, 'vhost limits', 'difference', `${text}: the source already has ${queues} queues there`);
      else add('limit', vhost, 'vhost limits', 'supported', text);
      push('parameters', e);
      continue;
    }
    if (component === 'operator_policy') {
      const v = (e['value'] ?? {}) as Entry;
      const item = judgePolicy(profile, { vhost, name, pattern: v['pattern'], applyTo: v['apply-to'], priority: v['priority'], definition: v['definition'] }, true);
      add('operator-policy', vhost, name, item.verdict, item.reason);
      if (item.verdict !== 'unsupported') push('parameters', e);
      continue;
    }
    if (component === 'shovel') {
      const errors = validateShovel(name, e['value'], null);
      const item =
        errors.length > 0
          ? add('parameter', vhost, `shovel/${name}`, profile === 'warren' ? 'unsupported' : 'difference', errors.join('; '))
          : profile !== 'warren' && target.hasShovel === false
            ? add('parameter', vhost, `shovel/${name}`, 'unsupported', 'the shovel plugin is not enabled on the target')
            : add('parameter', vhost, `shovel/${name}`, 'supported', 'a dynamic shovel: it starts on the target once imported');
      if (item.verdict !== 'unsupported') push('parameters', e);
      continue;
    }
    if (component.startsWith('federation-upstream')) {
      // Warren runs federation links itself (server/federation/).
      if (target.hasFederation === true || profile === 'warren') add('parameter', vhost, `${component}/${name}`, 'supported');
      else {
        add('parameter', vhost, `${component}/${name}`, target.hasFederation === false ? 'unsupported' : 'difference', 'needs the federation plugin on the target');
        if (target.hasFederation === false) continue;
      }
      push('parameters', e);
      continue;
    }
    const plugin = COMPONENT_PLUGINS[component];
    if (profile === 'warren') {
      // As a RabbitMQ without the plugin, Warren refuses a parameter no component of its own takes.
      add('parameter', vhost, `${component}/${name}`, 'unsupported', `Warren has no '${component}' component${plugin === undefined ? '' : ` (${plugin})`}: the import refuses it`);
      continue;
    }
    add('parameter', vhost, `${component}/${name}`, 'difference', `needs ${plugin ?? `the plugin that owns '${component}'`} on the target`);
    push('parameters', e);
  }

  // ---- global parameters
  for (const e of list(defs, 'global_parameters')) {
    add('global-parameter', null, str(e['name']), 'supported');
    push('global_parameters', e);
  }

  // ---- policies
  for (const e of list(defs, 'policies')) {
    const vhost = str(e['vhost']);
    const name = str(e['name']);
    const why = dependent(null, vhost);
    if (why !== null) {
      add('policy', vhost, name, 'unsupported', why);
      continue;
    }
    const item = judgePolicy(profile, { vhost, name, pattern: e['pattern'], applyTo: e['apply-to'], priority: e['priority'], definition: e['definition'] }, false);
    add('policy', vhost, name, item.verdict, item.reason);
    if (item.verdict !== 'unsupported') push('policies', e);
  }

  // ---- exchanges
  const byType = new Map<string, PlanItem[]>();
  for (const e of list(defs, 'exchanges')) {
    const vhost = str(e['vhost']);
    const name = str(e['name']);
    const type = str(e['type']);
    const why = dependent(null, vhost);
    const known = BUILTIN_EXCHANGE_TYPES.includes(type) || (targetTypes !== null && targetTypes.includes(type));
    if (why !== null || !known) {
      refusedExchanges.add(key(vhost, name));
      const plugin = EXCHANGE_TYPE_PLUGINS[type];
      const item = add('exchange', vhost, name, 'unsupported', why ?? `exchange type '${type}'${plugin !== undefined ? ` (${plugin})` : ''} is not available on the target`);
      byType.set(type, [...(byType.get(type) ?? []), item]);
      continue;
    }
    byType.set(type, [...(byType.get(type) ?? []), add('exchange', vhost, name, 'supported', type)]);
    push('exchanges', e);
  }

  // ---- queues
  const targetQueues = new Map(list(target.defs ?? {}, 'queues').map((q) => [key(str(q['vhost']), str(q['name'])), q]));
  for (const e of list(defs, 'queues')) {
    const vhost = str(e['vhost']);
    const name = str(e['name']);
    const k = key(vhost, name);
    const messages = source.queues === null ? undefined : (backlog.get(k) ?? 0);
    const extra = messages === undefined ? {} : { messages };
    const args = (e['arguments'] ?? {}) as Entry;
    const type = str(args['x-queue-type'] ?? e['type'] ?? 'classic') || 'classic';
    const refuse = (reason: string): void => {
      refusedQueues.add(k);
      add('queue', vhost, name, 'unsupported', reason, extra);
    };
    const why = dependent(null, vhost);
    if (why !== null) {
      refuse(why);
      continue;
    }
    if (name.startsWith('amq.')) {
      refuse("names beginning with 'amq.' are reserved: not imported");
      continue;
    }
    if (profile === 'warren') {
      try {
        validateDeclare({ name, durable: e['durable'] !== false, exclusive: false, autoDelete: e['auto_delete'] === true, args: fromJson(args as never) }, `queue '${name}' in vhost '${vhost}'`);
      } catch (err) {
        refuse((err as Error).message);
        continue;
      }
    }
    const existing = targetQueues.get(k);
    if (existing !== undefined && (existing['durable'] !== e['durable'] || existing['auto_delete'] !== e['auto_delete'] || !sameJson(existing['arguments'], e['arguments']))) {
      refuse('exists on the target with other properties or arguments; delete it there or rename it first');
      continue;
    }
    const notes: string[] = [];
    let verdict: Verdict = 'supported';
    const qt = queueTypeVerdict(profile, type);
    if (qt.verdict === 'difference') {
      verdict = 'difference';
      notes.push(qt.reason);
    } else notes.push(type);
    if (profile === 'warren') {
      const inert = Object.keys(args).filter((a) => WARREN_INERT_ARGUMENTS[a] !== undefined);
      for (const a of inert) notes.push(`${a} has no effect: ${WARREN_INERT_ARGUMENTS[a]}`);
      if (inert.length > 0) verdict = 'difference';
    }
    if (profile === 'amazon-mq' && limits.maxLength !== undefined && messages !== undefined && messages > limits.maxLength) {
      verdict = 'difference';
      notes.push(`${messages} messages, more than Amazon MQ's max-length of ${limits.maxLength}: the excess would be refused`);
    }
    if (existing !== undefined) notes.push('already on the target');
    if (messages !== undefined && messages > 0) notes.push(`${messages} message${messages === 1 ? "" : "s"} to move`);
    add('queue', vhost, name, verdict, notes.join('; '), extra);
    push('queues', e);
  }
  if (profile === 'amazon-mq' && limits.maxQueues !== undefined) {
    const n = (out.queues ?? []).filter((q) => q.vhost === '/').length;
    if (n > limits.maxQueues) add('limit', '/', 'max-queues', 'unsupported', `${n} queues in vhost '/', more than Amazon MQ's max-queues of ${limits.maxQueues}: raise the limit first`);
  }

  // ---- bindings
  for (const e of list(defs, 'bindings')) {
    const vhost = str(e['vhost']);
    const src = str(e['source']);
    const dst = str(e['destination']);
    const dtype = str(e['destination_type'] ?? 'queue');
    const name = `${src || '(default)'} -> ${dtype} ${dst}${str(e['routing_key']) !== '' ? ` (${str(e['routing_key'])})` : ''}`;
    const why =
      dependent(null, vhost) ??
      (refusedExchanges.has(key(vhost, src)) ? `exchange '${src}' is not migrated` : null) ??
      (dtype === 'queue' && refusedQueues.has(key(vhost, dst)) ? `queue '${dst}' is not migrated` : null) ??
      (dtype === 'exchange' && refusedExchanges.has(key(vhost, dst)) ? `exchange '${dst}' is not migrated` : null);
    if (why !== null) {
      add('binding', vhost, name, 'unsupported', why);
      continue;
    }
    add('binding', vhost, name, 'supported');
    push('bindings', e);
  }

  // ---- plugins in use, from what the objects need
  const used = new Map<string, PlanItem[]>();
  const note = (plugin: string, match: (i: PlanItem) => boolean): void => {
    const of = items.filter(match);
    if (of.length > 0) used.set(plugin, of);
  };
  note('rabbitmq_shovel', (i) => i.kind === 'parameter' && i.name.startsWith('shovel/'));
  note('rabbitmq_federation', (i) => (i.kind === 'parameter' && i.name.startsWith('federation-upstream')) || (i.kind === 'policy' && /federation-upstream/.test(i.reason)));
  for (const [type, of] of byType) {
    const plugin = EXCHANGE_TYPE_PLUGINS[type];
    if (plugin !== undefined) used.set(plugin, [...(used.get(plugin) ?? []), ...of]);
  }
  const pluginRows: PlanItem[] = [];
  for (const [plugin, of] of used) {
    const worst: Verdict = of.some((i) => i.verdict === 'unsupported') ? 'unsupported' : of.some((i) => i.verdict === 'difference') ? 'difference' : 'supported';
    pluginRows.push({ kind: 'plugin', vhost: null, name: plugin, verdict: worst, reason: `used by ${of.length} object${of.length === 1 ? '' : 's'}` });
  }
  const firstObject = items.findIndex((i) => i.kind !== 'broker');
  items.splice(firstObject === -1 ? items.length : firstObject, 0, ...pluginRows);

  // Plugin rows sum up the objects that need them: not counted twice.
  const count = (v: Verdict): number => items.filter((i) => i.verdict === v && i.kind !== 'plugin').length;
  const queuesWithMessages = items.filter((i) => i.kind === 'queue' && i.verdict !== 'unsupported' && (i.messages ?? 0) > 0);
  return {
    source: { url: source.url, product: srcProduct, version: srcVersion },
    target: {
      url: target.url,
      product: target.overview?.product_name ?? (profile === 'warren' ? 'Warren' : 'RabbitMQ'),
      version: target.overview?.product_version ?? target.overview?.rabbitmq_version ?? '',
      profile,
    },
    summary: {
      supported: count('supported'),
      difference: count('difference'),
      unsupported: count('unsupported'),
      queuesWithMessages: queuesWithMessages.length,
      messages: queuesWithMessages.reduce((n, i) => n + (i.messages ?? 0), 0),
    },
    items,
    definitions: out,
  };
}

/** A policy or operator policy on the target: Warren checks it with its own validator and says which keys do nothing. */
function judgePolicy(profile: TargetProfile, p: Parameters<typeof validatePolicy>[0], operator: boolean): { verdict: Verdict; reason: string } {
  let def: PolicyDefinition;
  try {
    def = validatePolicy(p, operator).definition;
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    // RabbitMQ accepted it at the source; a target of the same kind takes it too.
    return profile === 'warren' ? { verdict: 'unsupported', reason: err.message.replace(/\n+/g, ' ').trim() } : { verdict: 'supported', reason: '' };
  }
  const keys = Object.keys(def).join(', ');
  if (profile !== 'warren') return { verdict: 'supported', reason: keys };
  const inert = inertKeys(def);
  if (inert.length === 0) return { verdict: 'supported', reason: keys };
  return { verdict: 'difference', reason: `${keys}; accepted, stored and exported, but without effect in Warren: ${inert.join(', ')}` };
}

/**
 * Only the given vhosts' part of a broker's definitions: those vhosts, their permissions,
 * parameters, policies, queues, exchanges and bindings, and the users with permissions
 * there (global parameters stay behind).
 */
export function onlyVhosts(defs: Definitions, vhosts: readonly string[]): Definitions {
  const keep = new Set(vhosts);
  const inV = (e: { vhost?: unknown }): boolean => keep.has(str(e.vhost));
  const permissions = (defs.permissions ?? []).filter(inV);
  const topic = (defs.topic_permissions ?? []).filter(inV);
  const users = new Set([...permissions, ...topic].map((p) => p.user));
  const out: Definitions = { ...defs };
  out.vhosts = (defs.vhosts ?? []).filter((v) => keep.has(v.name));
  out.users = (defs.users ?? []).filter((u) => users.has(u.name));
  out.permissions = permissions;
  out.topic_permissions = topic;
  out.global_parameters = [];
  for (const section of ['parameters', 'policies', 'queues', 'exchanges', 'bindings'] as const) (out as Record<string, unknown>)[section] = ((defs[section] ?? []) as { vhost?: unknown }[]).filter(inV);
  return out;
}
