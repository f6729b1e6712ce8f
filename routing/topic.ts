import type { FieldTable } from '../amqp/table.js';
import { BindingIndex } from './binding-set.js';
import type { Binding, Routable, RouteTarget } from './exchange.js';
import { splitTopic, TopicTrie } from './topic-trie.js';

export const TOPIC_CACHE_SIZE = 4096;
const NO_DESTS: readonly never[] = Object.freeze([]);

/**
 * Topic exchange: a trie of binding patterns plus a bounded cache of routing key →
 * matching destinations (as nats-server's sublist does). Any binding change clears the
 * cache, so an entry is never stale. A hit copies a stored array into out, allocating nothing.
 */
export class TopicExchange<D extends Routable> extends BindingIndex<D> {
  readonly type = 'topic' as const;
  private readonly trie = new TopicTrie<D>();
  private readonly cache = new Map<string, readonly D[]>();
  private readonly scratch = new Set<D>();

  constructor(private readonly cacheSize = TOPIC_CACHE_SIZE) {
    super();
  }

  get cachedKeys(): number {
    return this.cache.size;
  }

  get trieNodes(): number {
    return this.trie.nodeCount;
  }

  route(routingKey: string, _headers: FieldTable | undefined, out: RouteTarget<D>): void {
    let dests = this.cache.get(routingKey);
    if (dests === undefined) dests = this.fill(routingKey);
    for (let i = 0; i < dests.length; i++) out.add(dests[i]!);
  }

  private fill(routingKey: string): readonly D[] {
    const found = this.scratch;
    this.trie.match(splitTopic(routingKey), found);
    const dests: readonly D[] = found.size === 0 ? NO_DESTS : Array.from(found);
    found.clear();
    if (this.cacheSize > 0) {
      // FIFO eviction: Map keeps insertion order, so the first key is the oldest.
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(routingKey, dests);
    }
    return dests;
  }

  protected added(b: Binding<D>): void {
    this.trie.add(b.routingKey, b.destination);
    this.cache.clear();
  }

  protected removed(b: Binding<D>): void {
    this.trie.remove(b.routingKey, b.destination);
    this.cache.clear();
  }
}
