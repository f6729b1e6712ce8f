import { ChannelError } from '../../amqp/errors.js';
import type { FieldTable } from '../../amqp/table.js';
import { DefaultExchange } from '../../routing/default-exchange.js';
import { createExchange } from '../../routing/exchange.js';
import { federationUpstreamArgsError, MAX_HOPS_ARG } from '../../routing/plugins/federation-upstream.js';
import { validateHeadersBindingArgs } from '../../routing/headers.js';
import { STANDARD_EXCHANGES, unknownExchangeType } from '../../routing/publish.js';
import { Router } from '../../routing/router.js';
import { assertArgsEquivalence, assertFieldEquivalence, EXCHANGE_EQUIVALENCE_KEYS } from './equivalence.js';
import { deadLetter, deadLetterAttempt, type DeadLetterAttempt } from '../queue/dead-letter.js';
import { ReplyRegistry } from './direct-reply-to.js';
import { effectiveDefinition, inertKeys, PolicySet, type Policy, type PolicyDefinition } from './policy.js';
import { Exchange } from './exchange.js';
import type { Message } from '../queue/message.js';
import type { MessageStore } from '../store/message-store.js';
import { equivalenceKeys, policyApplies, queueTypeOf, validateDeclare, type QueueType } from '../queue/arg-validation.js';
import { queueSettings } from '../queue/queue-args.js';
import { Queue, type DeathReason, type QueueHost, type QueueOwner } from '../queue/queue.js';
import { QuorumQueue } from '../queue/quorum-queue.js';
import { StreamQueue } from '../queue/stream/stream-queue.js';
import { VhostCounters } from '../ops/stats.js';

const EMPTY: FieldTable = {};
/** rabbit_federation_upstream_exchange:assert_args_equivalence: x-max-hops, then the usual ones. */
const FEDERATION_UPSTREAM_EQUIVALENCE_KEYS = [MAX_HOPS_ARG, ...EXCHANGE_EQUIVALENCE_KEYS];

export interface ExchangeSpec {
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
  /** Who declares it, for the management plane. */
  user?: string;
}

export interface QueueSpec {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
}

/** Vhost limits (RabbitMQ's `vhost-limits` parameter; a negative value means no limit). */
export type VhostLimits = {
  'max-connections'?: number;
  'max-queues'?: number;
};

/** What RabbitMQ keeps about a vhost besides its contents. */
export interface VhostMetadata {
  description: string;
  tags: string[];
  /** Queue type given to queues declared without x-queue-type, when it fits them. */
  defaultQueueType?: string;
}

/** A runtime parameter (shovel, federation-upstream, ...), kept as given. */
export interface RuntimeParameter {
  component: string;
  name: string;
  value: unknown;
}

/**
 * Follows a vhost's topology, after each change (federation does: server/federation). The
 * vhost declares it and the higher room implements it, so that nothing here knows of links.
 */
export interface TopologyObserver {
  /** Policies or operator policies changed: which apply to what may have too. */
  policiesChanged(v: VirtualHost): void;
  exchangeAdded(v: VirtualHost, x: Exchange): void;
  exchangeRemoved(v: VirtualHost, x: Exchange): void;
  queueAdded(v: VirtualHost, q: Queue): void;
  queueRemoved(v: VirtualHost, q: Queue): void;
  /** Whether it wants bindingRemoved for the bindings of `src` that go with a deleted destination. */
  followsBindings(v: VirtualHost, src: Exchange): boolean;
  bindingAdded(v: VirtualHost, src: Exchange, dest: Queue | Exchange, routingKey: string, args: FieldTable): void;
  bindingRemoved(v: VirtualHost, src: Exchange, dest: Queue | Exchange, routingKey: string, args: FieldTable): void;
}

/** A virtual host: its exchanges, queues and bindings, and the rules for changing them. */
export class VirtualHost implements QueueHost {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  readonly router: Router<Queue>;
  readonly defaultExchange: Exchange;
  readonly replies = new ReplyRegistry();
  /** The broker's message store; null when it keeps everything in memory. */
  store: MessageStore | null = null;
  readonly policies = new PolicySet();
  readonly operatorPolicies = new PolicySet();
  limits: VhostLimits = {};
  /**
   * Whether its vhost-limits runtime parameter exists: RabbitMQ keeps it, empty, once its
   * last limit is cleared one by one (DELETE /api/vhost-limits/{vhost}/{name}).
   */
  limitsParameter = false;
  readonly metadata: VhostMetadata = { description: '', tags: [] };
  /** Runtime parameters other than limits and operator policies, by `component/name`. */
  readonly parameters = new Map<string, RuntimeParameter>();
  /** Called when the durable topology changed (it must be saved before replies go out). */
  onDurableChange: () => void = () => {};
  /** Called with the keys of a new policy that Warren accepts but does not act on. */
  onInertPolicyKeys: (policy: Policy, keys: string[]) => void = () => {};
  /** Told of every topology change (the broker sets it: federation follows them). */
  observer: TopologyObserver | null = null;
  /** Statistics: closed channels' and connections' counters, queue churn, dead-lettering. */
  readonly counters = new VhostCounters();

  constructor(readonly name: string) {
    this.router = new Router<Queue>((n) => this.exchanges.get(n));
    this.defaultExchange = new Exchange('', 'direct', true, false, false, EMPTY, new DefaultExchange<Queue>((n) => this.queues.get(n)));
    this.exchanges.set('', this.defaultExchange);
    for (const [n, type] of STANDARD_EXCHANGES) {
      this.exchanges.set(n, new Exchange(n, type, true, false, false, EMPTY, createExchange(type)!));
    }
  }

  xres(name: string): string {
    return `exchange '${name}' in vhost '${this.name}'`;
  }

  qres(name: string): string {
    return `queue '${name}' in vhost '${this.name}'`;
  }

  exchangeOrDie(name: string): Exchange {
    const x = this.exchanges.get(name);
    if (x === undefined) throw new ChannelError(404, `no ${this.xres(name)}`);
    return x;
  }

  /** Looks a queue up for use by `owner`, enforcing exclusivity. */
  queueOrDie(name: string, owner: QueueOwner): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw new ChannelError(404, `no ${this.qres(name)}`);
    this.checkExclusive(q, owner);
    return q;
  }

  checkExclusive(q: Queue, owner: QueueOwner): void {
    if (q.owner !== null && q.owner !== owner) throw lockedError(q);
  }

  /**
   * Declares (or checks) an exchange. `beforeCreate` runs for a new exchange once the name
   * is known to be allowed, before it exists (the channel checks permissions there).
   */
  declareExchange(spec: ExchangeSpec, passive: boolean, beforeCreate?: () => void): Exchange {
    if (spec.name === '') throw defaultExchangeError();
    if (passive) return this.exchangeOrDie(spec.name);
    const matcher = createExchange<Queue | Exchange>(spec.type, spec.args);
    if (matcher === undefined) throw unknownExchangeType(spec.type);
    let x = this.exchanges.get(spec.name);
    if (x === undefined) {
      if (spec.name.startsWith('amq.')) {
        throw new ChannelError(403, `exchange name '${spec.name}' contains reserved prefix 'amq.*'`);
      }
      beforeCreate?.();
      // The type's own check of its arguments (rabbit_exchange_type:validate).
      const invalid = spec.type === 'x-federation-upstream' ? federationUpstreamArgsError(spec.args) : null;
      if (invalid !== null) throw new ChannelError(406, invalid);
      x = new Exchange(spec.name, spec.type, spec.durable, spec.autoDelete, spec.internal, spec.args, matcher);
      if (spec.user !== undefined) x.declaredBy = spec.user;
      x.applyPolicy(this.definitionFor('exchanges', x.name)?.['alternate-exchange'] as string | undefined);
      this.exchanges.set(spec.name, x);
      if (x.durable) this.onDurableChange();
      this.observer?.exchangeAdded(this, x);
      return x;
    }
    const res = this.xres(spec.name);
    assertFieldEquivalence(x.type, spec.type, res, 'type');
    assertFieldEquivalence(x.durable, spec.durable, res, 'durable');
    assertFieldEquivalence(x.autoDelete, spec.autoDelete, res, 'auto_delete');
    assertFieldEquivalence(x.internal, spec.internal, res, 'internal');
    assertArgsEquivalence(x.args, spec.args, res, x.type === 'x-federation-upstream' ? FEDERATION_UPSTREAM_EQUIVALENCE_KEYS : EXCHANGE_EQUIVALENCE_KEYS);
    return x;
  }

  /** Deletes an exchange; `authorize` runs after the system-exchange checks, as RabbitMQ's permission check does. */
  deleteExchange(name: string, ifUnused: boolean, authorize?: () => void): void {
    if (name === '') throw defaultExchangeError();
    if (name.startsWith('amq.')) throw new ChannelError(403, `deletion of system ${this.xres(name)} not allowed`);
    authorize?.();
    const x = this.exchanges.get(name);
    if (x === undefined) return;
    // Only bindings where it is the source count, as in RabbitMQ.
    if (ifUnused && x.router.bindingCount > 0) {
      throw new ChannelError(406, `${this.xres(name)} in use`);
    }
    this.removeExchange(x);
  }

  /**
   * Declares (or checks) a queue. For a new queue `beforeCreate` runs before the arguments
   * are validated: a client's declare checks max-queues (checkQueueLimit) and its
   * dead-letter permissions there, in RabbitMQ's order. Definitions imports skip both, as
   * RabbitMQ's do. `validate` is off for queues recovered from disk.
   */
  declareQueue(spec: QueueSpec, owner: QueueOwner, beforeCreate?: () => void, validate = true): { queue: Queue; created: boolean } {
    this.counters.queueDeclared++;
    spec = this.withDefaultQueueType(spec);
    const existing = this.queues.get(spec.name);
    if (existing !== undefined) {
      // Strict: the exclusive flag must match as well as the owner.
      if (existing.owner !== (spec.exclusive ? owner : null)) throw lockedError(existing);
      const res = this.qres(spec.name);
      assertFieldEquivalence(existing.durable, spec.durable, res, 'durable');
      assertFieldEquivalence(existing.autoDelete, spec.autoDelete, res, 'auto_delete');
      assertArgsEquivalence(existing.args, spec.args, res, equivalenceKeys(existing.type));
      existing.touch();
      return { queue: existing, created: false };
    }
    beforeCreate?.();
    // Arguments are validated only for a new queue: a redeclare checks equivalence first.
    const type = validate ? validateDeclare(spec, this.qres(spec.name)) : queueTypeOf(spec.args);
    const policy = this.queuePolicy(type, spec.name);
    const Type = type === 'quorum' ? QuorumQueue : type === 'stream' ? StreamQueue : Queue;
    const q = new Type(spec.name, this, spec.durable, spec.exclusive ? owner : null, spec.autoDelete, spec.args, queueSettings(spec.args, policy));
    q.policy = policy;
    this.queues.set(spec.name, q);
    this.counters.queueCreated++;
    if (isDurable(q)) this.onDurableChange();
    this.observer?.queueAdded(this, q);
    return { queue: q, created: true };
  }

  /** Deletes a queue; returns the number of ready messages it held. */
  deleteQueue(q: Queue): number {
    if (q.deleted) return 0;
    this.queues.delete(q.name);
    this.counters.queueDeleted++;
    this.counters.queueGone(q.type, q.counters);
    for (const x of this.exchanges.values()) this.unbindAllFrom(x, q);
    if (isDurable(q)) this.onDurableChange();
    const n = q.delete();
    this.observer?.queueRemoved(this, q);
    return n;
  }

  /** 406 when the vhost's max-queues leaves no room for one more queue (client declares only). */
  checkQueueLimit(name: string): void {
    const max = this.limits['max-queues'];
    if (max !== undefined && max >= 0 && this.queues.size + 1 > max) {
      throw new ChannelError(406, `cannot declare queue '${name}': queue limit in vhost '${this.name}' (${max}) is reached`);
    }
  }

  /**
   * The vhost's default queue type goes into the arguments of a queue declared without
   * x-queue-type, when that type can hold such a queue (rabbit_amqqueue:augment_declare_args).
   */
  private withDefaultQueueType(spec: QueueSpec): QueueSpec {
    const t = this.metadata.defaultQueueType;
    if (t === undefined || t === 'undefined' || spec.args['x-queue-type'] !== undefined) return spec;
    if (t !== 'classic' && (!spec.durable || spec.exclusive || spec.autoDelete)) return spec;
    return { ...spec, args: { ...spec.args, 'x-queue-type': t } };
  }

  setPolicy(p: Policy): void {
    this.policies.set(p);
    const inert = inertKeys(p.definition);
    if (inert.length > 0) this.onInertPolicyKeys(p, inert);
    this.reapplyPolicies();
    this.onDurableChange();
  }

  clearPolicy(name: string): boolean {
    const had = this.policies.clear(name);
    if (had) {
      this.reapplyPolicies();
      this.onDurableChange();
    }
    return had;
  }

  /** An operator policy: its keys cap (lower wins) what the matching policy and arguments set. */
  setOperatorPolicy(p: Policy): void {
    this.operatorPolicies.set(p);
    const inert = inertKeys(p.definition);
    if (inert.length > 0) this.onInertPolicyKeys(p, inert);
    this.reapplyPolicies();
    this.onDurableChange();
  }

  clearOperatorPolicy(name: string): boolean {
    const had = this.operatorPolicies.clear(name);
    if (had) {
      this.reapplyPolicies();
      this.onDurableChange();
    }
    return had;
  }

  /** The policy definition in force for a queue or exchange name (policy merged with operator policy). */
  definitionFor(kind: 'queues' | 'exchanges', name: string): PolicyDefinition | null {
    if (this.operatorPolicies.size === 0) return this.policies.match(kind, name)?.definition ?? null;
    return effectiveDefinition(this.policies.match(kind, name), this.operatorPolicies.match(kind, name));
  }

  /**
   * The policy definition in force for a queue of this type and name, if any: the matching
   * policy merged with the matching operator policy. A policy with a key the queue's type
   * does not support does not apply to it (RabbitMQ's rule).
   */
  private queuePolicy(type: QueueType, name: string): Policy['definition'] | null {
    const applies = (d: PolicyDefinition): boolean => policyApplies(type, d);
    const policy = this.policies.match('queues', name, applies);
    if (this.operatorPolicies.size === 0) return policy?.definition ?? null;
    return effectiveDefinition(policy, this.operatorPolicies.match('queues', name, applies));
  }

  /** Re-resolves every queue's settings and exchange's alternate after a policy change. */
  private reapplyPolicies(): void {
    for (const q of this.queues.values()) {
      const policy = this.queuePolicy(q.type, q.name);
      const changed = policy !== q.policy;
      q.policy = policy;
      q.applySettings(queueSettings(q.args, policy), changed);
    }
    for (const x of this.exchanges.values()) {
      if (x.name !== '') x.applyPolicy(this.definitionFor('exchanges', x.name)?.['alternate-exchange'] as string | undefined);
    }
    this.observer?.policiesChanged(this);
  }

  /** Puts a routed message in its queues (stored first if persistent); true if some queue refused it. */
  enqueue(msg: Message, targets: Iterable<Queue>): boolean {
    if (this.store !== null) return this.store.enqueue(msg, targets, this.name);
    let refused = false;
    for (const q of targets) if (!q.enqueue(msg)) refused = true;
    return refused;
  }

  deadLetter(q: Queue, msg: Message, reason: DeathReason): void {
    this.counters.noteDeadLettered(q.type, reason, q.settings.deadLetterExchange !== null ? 'at_most_once' : 'disabled');
    deadLetter(this, q, msg, reason);
  }

  noteDeadLettered(q: Queue, reason: string, strategy: string): void {
    this.counters.noteDeadLettered(q.type, reason, strategy);
  }

  deadLetterAttempt(q: Queue, msg: Message, reason: DeathReason, done: ReadonlySet<Queue>): DeadLetterAttempt {
    return deadLetterAttempt(this, q, msg, reason, done);
  }

  bindQueue(q: Queue, x: Exchange, routingKey: string, args: FieldTable): void {
    if (x.name === '') throw defaultExchangeError();
    this.validateBinding(x, args);
    if (!(x.router as ExchangeMatcher).bind(q, routingKey, args)) return;
    if (x.durable && isDurable(q)) this.onDurableChange();
    this.observer?.bindingAdded(this, x, q, routingKey, args);
  }

  /** Unbinding what is not bound succeeds; the exclusive lock only matters for a real binding. */
  unbindQueue(q: Queue, x: Exchange, routingKey: string, args: FieldTable, owner: QueueOwner): void {
    if (x.name === '') throw defaultExchangeError();
    const m = x.router as ExchangeMatcher;
    if (!m.hasBinding(q, routingKey, args)) return;
    this.checkExclusive(q, owner);
    m.unbind(q, routingKey, args);
    if (x.durable && isDurable(q)) this.onDurableChange();
    this.observer?.bindingRemoved(this, x, q, routingKey, args);
    this.maybeAutoDelete(x);
  }

  bindExchange(dest: Exchange, src: Exchange, routingKey: string, args: FieldTable): void {
    if (dest.name === '' || src.name === '') throw defaultExchangeError();
    this.validateBinding(src, args);
    if (!(src.router as ExchangeMatcher).bind(dest, routingKey, args)) return;
    if (src.durable && dest.durable) this.onDurableChange();
    this.observer?.bindingAdded(this, src, dest, routingKey, args);
  }

  unbindExchange(dest: Exchange, src: Exchange, routingKey: string, args: FieldTable): void {
    if (dest.name === '' || src.name === '') throw defaultExchangeError();
    if (!(src.router as ExchangeMatcher).unbind(dest, routingKey, args)) return;
    if (src.durable && dest.durable) this.onDurableChange();
    this.observer?.bindingRemoved(this, src, dest, routingKey, args);
    this.maybeAutoDelete(src);
  }

  private validateBinding(x: Exchange, args: FieldTable): void {
    if (x.type !== 'headers') return;
    const err = validateHeadersBindingArgs(args);
    if (err !== null) throw new ChannelError(406, err);
  }

  private removeExchange(x: Exchange): void {
    this.exchanges.delete(x.name);
    for (const src of this.exchanges.values()) this.unbindAllFrom(src, x);
    if (x.durable) this.onDurableChange();
    this.observer?.exchangeRemoved(this, x);
  }

  private unbindAllFrom(src: Exchange, dest: Queue | Exchange): void {
    if (src.name === '') return;
    const m = src.router as ExchangeMatcher;
    const observer = this.observer;
    // The observer hears of each binding that goes; copied first, as unbindAll empties them.
    const gone = observer !== null && observer.followsBindings(this, src) ? [...m.bindingsTo(dest)] : null;
    if (m.unbindAll(dest) === 0) return;
    if (gone !== null) for (const b of gone) observer!.bindingRemoved(this, src, dest, b.routingKey, b.args);
    this.maybeAutoDelete(src);
  }

  /** An auto-delete exchange goes when its last binding as a source goes. */
  private maybeAutoDelete(x: Exchange): void {
    if (x.autoDelete && x.router.bindingCount === 0 && this.exchanges.get(x.name) === x) this.removeExchange(x);
  }
}

type ExchangeMatcher = import('../../routing/exchange.js').Exchange<Queue | Exchange>;


/** Durable queues outlive connections; exclusive ones never survive a restart. */
function isDurable(q: Queue): boolean {
  return q.durable && q.owner === null;
}

/** 503 for an exchange type no exchange can have (RabbitMQ checks it before anything else). */
export function checkExchangeType(type: string): void {
  if (createExchange(type) === undefined) throw unknownExchangeType(type);
}

function defaultExchangeError(): ChannelError {
  return new ChannelError(403, 'operation not permitted on the default exchange');
}

function lockedError(q: Queue): ChannelError {
  return new ChannelError(
    405,
    `cannot obtain exclusive access to locked ${q.resource}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
  );
}
