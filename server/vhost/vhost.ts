import { ChannelError, ConnectionError } from '../../amqp/errors.js';
import type { FieldTable } from '../../amqp/table.js';
import { DefaultExchange } from '../../routing/default-exchange.js';
import { createExchange } from '../../routing/exchange.js';
import { validateHeadersBindingArgs } from '../../routing/headers.js';
import { Router } from '../../routing/router.js';
import {
  assertArgsEquivalence,
  assertFieldEquivalence,
  EXCHANGE_EQUIVALENCE_KEYS,
  QUEUE_EQUIVALENCE_KEYS,
} from './equivalence.js';
import { deadLetter } from '../queue/dead-letter.js';
import { ReplyRegistry } from './direct-reply-to.js';
import { PolicySet, type Policy } from './policy.js';
import { Exchange } from './exchange.js';
import type { Message } from '../queue/message.js';
import type { MessageStore } from '../store/message-store.js';
import { queueSettings, validateQueueArgs } from '../queue/queue-args.js';
import { Queue, type DeathReason, type QueueHost, type QueueOwner } from '../queue/queue.js';
import { VhostCounters } from '../ops/stats.js';

const EMPTY: FieldTable = {};

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
  /** Called when the durable topology changed (it must be saved before replies go out). */
  onDurableChange: () => void = () => {};
  /** Statistics: closed channels' and connections' counters, queue churn, dead-lettering. */
  readonly counters = new VhostCounters();
  /** Metadata, as RabbitMQ keeps it (shown by the management API, kept in the definitions). */
  description = '';
  tags: string[] = [];

  constructor(readonly name: string) {
    this.router = new Router<Queue>((n) => this.exchanges.get(n));
    this.defaultExchange = new Exchange('', 'direct', true, false, false, EMPTY, new DefaultExchange<Queue>((n) => this.queues.get(n)));
    this.exchanges.set('', this.defaultExchange);
    for (const [n, type] of [
      ['amq.direct', 'direct'],
      ['amq.fanout', 'fanout'],
      ['amq.topic', 'topic'],
      ['amq.headers', 'headers'],
      ['amq.match', 'headers'],
    ] as const) {
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

  declareExchange(spec: ExchangeSpec, passive: boolean): Exchange {
    if (spec.name === '') throw defaultExchangeError();
    if (passive) return this.exchangeOrDie(spec.name);
    const matcher = createExchange<Queue | Exchange>(spec.type);
    if (matcher === undefined) throw new ConnectionError(503, `${KNOWN_ATOMS.has(spec.type) ? 'invalid' : 'unknown'} exchange type '${spec.type}'`);
    let x = this.exchanges.get(spec.name);
    if (x === undefined) {
      if (spec.name.startsWith('amq.')) {
        throw new ChannelError(403, `exchange name '${spec.name}' contains reserved prefix 'amq.*'`);
      }
      x = new Exchange(spec.name, spec.type, spec.durable, spec.autoDelete, spec.internal, spec.args, matcher);
      if (spec.user !== undefined) x.declaredBy = spec.user;
      x.applyPolicy(this.policies.match('exchanges', x.name)?.definition['alternate-exchange']);
      this.exchanges.set(spec.name, x);
      if (x.durable) this.onDurableChange();
      return x;
    }
    const res = this.xres(spec.name);
    assertFieldEquivalence(x.type, spec.type, res, 'type');
    assertFieldEquivalence(x.durable, spec.durable, res, 'durable');
    assertFieldEquivalence(x.autoDelete, spec.autoDelete, res, 'auto_delete');
    assertFieldEquivalence(x.internal, spec.internal, res, 'internal');
    assertArgsEquivalence(x.args, spec.args, res, EXCHANGE_EQUIVALENCE_KEYS);
    return x;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '') throw defaultExchangeError();
    if (name.startsWith('amq.')) throw new ChannelError(403, `deletion of system ${this.xres(name)} not allowed`);
    const x = this.exchanges.get(name);
    if (x === undefined) return;
    // Only bindings where it is the source count, as in RabbitMQ.
    if (ifUnused && x.router.bindingCount > 0) {
      throw new ChannelError(406, `${this.xres(name)} in use`);
    }
    this.removeExchange(x);
  }

  declareQueue(spec: QueueSpec, owner: QueueOwner): { queue: Queue; created: boolean } {
    this.counters.queueDeclared++;
    const existing = this.queues.get(spec.name);
    if (existing !== undefined) {
      // Strict: the exclusive flag must match as well as the owner.
      if (existing.owner !== (spec.exclusive ? owner : null)) throw lockedError(existing);
      const res = this.qres(spec.name);
      assertFieldEquivalence(existing.durable, spec.durable, res, 'durable');
      assertFieldEquivalence(existing.autoDelete, spec.autoDelete, res, 'auto_delete');
      assertArgsEquivalence(existing.args, spec.args, res, QUEUE_EQUIVALENCE_KEYS);
      existing.touch();
      return { queue: existing, created: false };
    }
    // Arguments are validated only for a new queue: a redeclare checks equivalence first.
    validateQueueArgs(spec.args, this.qres(spec.name));
    checkQueueType(spec, this.qres(spec.name));
    const settings = queueSettings(spec.args, this.policies.match('queues', spec.name)?.definition ?? null);
    const q = new Queue(spec.name, this, spec.durable, spec.exclusive ? owner : null, spec.autoDelete, spec.args, settings);
    this.queues.set(spec.name, q);
    this.counters.queueCreated++;
    if (isDurable(q)) this.onDurableChange();
    return { queue: q, created: true };
  }

  /** Deletes a queue; returns the number of ready messages it held. */
  deleteQueue(q: Queue): number {
    if (q.deleted) return 0;
    this.queues.delete(q.name);
    this.counters.queueDeleted++;
    for (const x of this.exchanges.values()) this.unbindAllFrom(x, q);
    if (isDurable(q)) this.onDurableChange();
    return q.delete();
  }

  setPolicy(p: Policy): void {
    this.policies.set(p);
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

  /** Re-resolves every queue's settings and exchange's alternate after a policy change. */
  private reapplyPolicies(): void {
    for (const q of this.queues.values()) {
      q.applySettings(queueSettings(q.args, this.policies.match('queues', q.name)?.definition ?? null));
    }
    for (const x of this.exchanges.values()) {
      if (x.name !== '') x.applyPolicy(this.policies.match('exchanges', x.name)?.definition['alternate-exchange']);
    }
  }

  /** Puts a routed message in its queues (stored first if persistent); true if some queue refused it. */
  enqueue(msg: Message, targets: Iterable<Queue>): boolean {
    if (this.store !== null) return this.store.enqueue(msg, targets, this.name);
    let refused = false;
    for (const q of targets) if (!q.enqueue(msg)) refused = true;
    return refused;
  }

  deadLetter(q: Queue, msg: Message, reason: DeathReason): void {
    this.counters.noteDeadLettered(reason, q.settings.deadLetterExchange !== null);
    deadLetter(this, q, msg, reason);
  }

  bindQueue(q: Queue, x: Exchange, routingKey: string, args: FieldTable): void {
    if (x.name === '') throw defaultExchangeError();
    this.validateBinding(x, args);
    if ((x.router as ExchangeMatcher).bind(q, routingKey, args) && x.durable && isDurable(q)) this.onDurableChange();
  }

  /** Unbinding what is not bound succeeds; the exclusive lock only matters for a real binding. */
  unbindQueue(q: Queue, x: Exchange, routingKey: string, args: FieldTable, owner: QueueOwner): void {
    if (x.name === '') throw defaultExchangeError();
    const m = x.router as ExchangeMatcher;
    if (!m.hasBinding(q, routingKey, args)) return;
    this.checkExclusive(q, owner);
    m.unbind(q, routingKey, args);
    if (x.durable && isDurable(q)) this.onDurableChange();
    this.maybeAutoDelete(x);
  }

  bindExchange(dest: Exchange, src: Exchange, routingKey: string, args: FieldTable): void {
    if (dest.name === '' || src.name === '') throw defaultExchangeError();
    this.validateBinding(src, args);
    if ((src.router as ExchangeMatcher).bind(dest, routingKey, args) && src.durable && dest.durable) this.onDurableChange();
  }

  unbindExchange(dest: Exchange, src: Exchange, routingKey: string, args: FieldTable): void {
    if (dest.name === '' || src.name === '') throw defaultExchangeError();
    if (!(src.router as ExchangeMatcher).unbind(dest, routingKey, args)) return;
    if (src.durable && dest.durable) this.onDurableChange();
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
  }

  private unbindAllFrom(src: Exchange, dest: Queue | Exchange): void {
    if (src.name === '') return;
    if ((src.router as ExchangeMatcher).unbindAll(dest) > 0) this.maybeAutoDelete(src);
  }

  /** An auto-delete exchange goes when its last binding as a source goes. */
  private maybeAutoDelete(x: Exchange): void {
    if (x.autoDelete && x.router.bindingCount === 0 && this.exchanges.get(x.name) === x) this.removeExchange(x);
  }
}

type ExchangeMatcher = import('../../routing/exchange.js').Exchange<Queue | Exchange>;

/**
 * Quorum and stream queues are served as classic queues here, but their declaration rules
 * are RabbitMQ's, so that code which works on Warren also declares on RabbitMQ.
 */
function checkQueueType(spec: QueueSpec, resource: string): void {
  const t = spec.args['x-queue-type'];
  if (t !== 'quorum' && t !== 'stream') return;
  const bad = spec.autoDelete ? 'auto-delete' : spec.exclusive ? 'exclusive-owner' : !spec.durable ? 'non-durable' : null;
  if (bad !== null) throw new ChannelError(406, `invalid property '${bad}' for ${resource}`);
}

/**
 * RabbitMQ says "invalid exchange type" for a name that happens to be an Erlang atom in
 * the node and "unknown" otherwise. We cannot see the atom table; these are common words
 * that are atoms in every RabbitMQ node (see docs/compatibility.md).
 */
const KNOWN_ATOMS: ReadonlySet<string> = new Set([
  'foo', 'bar', 'baz', 'test', 'true', 'false', 'undefined', 'ok', 'error', 'none', 'all', 'any',
  'local', 'global', 'default', 'classic', 'quorum', 'stream', 'x', 'exchange', 'queue', 'binding',
]);

/** Durable queues outlive connections; exclusive ones never survive a restart. */
function isDurable(q: Queue): boolean {
  return q.durable && q.owner === null;
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
