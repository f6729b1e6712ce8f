import type { AccessControl } from './access-control.js';
import { accessRefused, topicRefused } from './access-control.js';
import { CONFIGURE, READ, WRITE, type Permission, type ResourceKind, type TopicVariables } from './permissions.js';
import type { User } from './users.js';

export { CONFIGURE, READ, WRITE };

/** Entries kept per kind before a cache starts over (RabbitMQ keeps 12 per channel). */
const MAX_ENTRIES = 256;
/** Topic answers kept (one per exchange, routing key and perm). */
const MAX_TOPIC_ENTRIES = 64;

/**
 * One channel's permission checks, remembered: each (resource, perm) pair runs its
 * regular expression once, and a publisher to the same exchange pays one string compare
 * per message. Everything is dropped when the access control's generation moves (any
 * change to users or permissions), so a change applies to the very next operation.
 */
export class ChannelAuthz {
  private generation = -1;
  private perm: Permission | undefined;
  /** name → bits: (1 << perm) when known, (8 << perm) when allowed. */
  private readonly queues = new Map<string, number>();
  private readonly exchanges = new Map<string, number>();
  private readonly topics = new Map<string, boolean>();
  /** Expanded topic patterns by perm and exchange. */
  private readonly topicPatterns = new Map<string, RegExp>();
  private topicChecks = false;
  /** The exchange a publisher last wrote to, once allowed: the per-message fast path. */
  private lastWrite: string | null = null;
  readonly impersonator: boolean;
  private readonly vars: TopicVariables;

  constructor(
    private readonly access: AccessControl,
    readonly user: User,
    readonly vhost: string,
  ) {
    this.impersonator = user.tags.includes('impersonator');
    this.vars = { username: user.name, vhost };
  }

  private refresh(): void {
    this.generation = this.access.generation;
    this.perm = this.access.permissions(this.user, this.vhost);
    this.topicChecks = this.access.hasTopicPermissions(this.user.name, this.vhost);
    this.queues.clear();
    this.exchanges.clear();
    this.topics.clear();
    this.topicPatterns.clear();
    this.lastWrite = null;
  }

  /** Throws 403 unless `perm` (CONFIGURE, WRITE, READ) is allowed on the resource. */
  check(kind: ResourceKind, name: string, perm: number): void {
    if (this.generation !== this.access.generation) this.refresh();
    const p = this.perm;
    if (p !== undefined && p.all[perm]) return;
    const shown = kind === 'exchange' && name === '' ? 'amq.default' : name;
    const cache = kind === 'queue' ? this.queues : this.exchanges;
    let bits = cache.get(shown) ?? 0;
    if ((bits & (1 << perm)) === 0) {
      if (cache.size >= MAX_ENTRIES) cache.clear();
      bits |= 1 << perm;
      if (p !== undefined && p.allows(perm, shown)) bits |= 8 << perm;
      cache.set(shown, bits);
    }
    if ((bits & (8 << perm)) === 0) throw accessRefused(kind, shown, this.vhost, this.user.name);
  }

  configure(kind: ResourceKind, name: string): void {
    this.check(kind, name, CONFIGURE);
  }

  read(kind: ResourceKind, name: string): void {
    this.check(kind, name, READ);
  }

  write(kind: ResourceKind, name: string): void {
    this.check(kind, name, WRITE);
  }

  /** basic.publish's check: write on the exchange, one compare when it is the same as last time. */
  publish(exchange: string): void {
    if (exchange === this.lastWrite && this.generation === this.access.generation) return;
    this.check('exchange', exchange, WRITE);
    this.lastWrite = exchange;
  }

  /**
   * Topic permissions, for topic exchanges only: write for publish, read for bindings.
   * Nothing to do (no allocation) unless the user has topic permissions in this vhost.
   */
  topic(exchange: string, routingKey: string, perm: typeof WRITE | typeof READ): void {
    if (this.generation !== this.access.generation) this.refresh();
    if (!this.topicChecks) return;
    const tp = this.access.topicPermission(this.user.name, this.vhost, exchange);
    if (tp === undefined) return;
    const key = `${perm}\0${exchange}\0${routingKey}`;
    let ok = this.topics.get(key);
    if (ok === undefined) {
      const pk = `${perm}\0${exchange}`;
      let re = this.topicPatterns.get(pk);
      if (re === undefined) this.topicPatterns.set(pk, (re = tp.compile(perm, this.vars)));
      ok = re.test(routingKey);
      if (this.topics.size >= MAX_TOPIC_ENTRIES) this.topics.clear();
      this.topics.set(key, ok);
    }
    if (!ok) throw topicRefused(routingKey, exchange, this.vhost, this.user.name);
  }
}
