import type { FieldTable } from '../amqp/table.js';
import { BindingIndex } from './binding-set.js';
import type { Binding, Routable, RouteTarget } from './exchange.js';
import { TopicTrie } from './topic-trie.js';

export const TOPIC_CACHE_SIZE = 4096;
const NO_DESTS: readonly never[] = Object.freeze([]);

/** Missed keys sampled into the cache while it is not paying off: one in this many. */
const SAMPLE_EVERY = 16;

/**
 * Topic exchange: a trie of binding patterns plus a bounded cache of routing key →
 * matching destinations (as nats-server's sublist does). Any binding change clears the
 * cache, so an entry is never stale. A hit copies a stored array into out, allocating nothing.
 *
 * The cache has two generations of half the size each: new keys go into the young map;
 * when it is full it becomes the old map (the previous old one is dropped whole), and a key
 * found in the old map moves back into the young one. Eviction is thus O(1) without
 * iterating a Map (deleting a Map's oldest entry one by one makes V8 skip ever more holes,
 * which made a stream of distinct keys five times slower than no cache at all), and keys
 * in use survive as in an LRU.
 *
 * When fewer than one lookup in eight hit during a generation (keys that do not repeat),
 * filling the cache costs more than it saves, so only one missed key in SAMPLE_EVERY is
 * stored, enough to notice when keys start repeating again; the others go straight from
 * the trie to out.
 */
export class TopicExchange<D extends Routable> extends BindingIndex<D> {
  readonly type = 'topic' as const;
  private readonly trie = new TopicTrie<D>();
  private young = new Map<string, readonly D[]>();
  private old: Map<string, readonly D[]> | null = null;
  private readonly generation: number;
  private readonly found = new Found<D>();
  /** Lookups and hits since the young generation started. */
  private lookups = 0;
  private hits = 0;
  private sampling = false;
  private sampleState = 0x2545f491;

  constructor(private readonly cacheSize = TOPIC_CACHE_SIZE) {
    super();
    this.generation = cacheSize >= 2 ? cacheSize >> 1 : cacheSize;
  }

  get cachedKeys(): number {
    return this.young.size + (this.old?.size ?? 0);
  }

  get trieNodes(): number {
    return this.trie.nodeCount;
  }

  route(routingKey: string, _headers: FieldTable | undefined, out: RouteTarget<D>): void {
    this.lookups++;
    let dests = this.young.get(routingKey);
    if (dests === undefined) {
      dests = this.fromOld(routingKey);
      if (dests === undefined) {
        if (this.generation === 0 || (this.sampling && this.skipSample())) {
          // Repeats are harmless here: the router dedupes queues and exchanges.
          this.trie.match(routingKey, out);
          return;
        }
        dests = this.fill(routingKey);
      }
    } else {
      this.hits++;
    }
    for (let i = 0; i < dests.length; i++) out.add(dests[i]!);
  }

  /** Pseudo-random (xorshift), so that a key stream with a period cannot dodge the sample. */
  private skipSample(): boolean {
    let x = this.sampleState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.sampleState = x;
    return (x >>> 0) % SAMPLE_EVERY !== 0;
  }

  private fromOld(routingKey: string): readonly D[] | undefined {
    const old = this.old;
    if (old === null) return undefined;
    const dests = old.get(routingKey);
    if (dests !== undefined) {
      this.hits++;
      this.remember(routingKey, dests);
    }
    return dests;
  }

  private fill(routingKey: string): readonly D[] {
    const found = this.found;
    const bags = this.trie.match(routingKey, found);
    const dests = found.length === 0 ? NO_DESTS : bags === 1 ? found.items.slice(0, found.length) : found.unique();
    found.reset();
    this.remember(routingKey, dests);
    return dests;
  }

  private remember(routingKey: string, dests: readonly D[]): void {
    if (this.young.size >= this.generation) {
      this.old = this.cacheSize >= 2 ? this.young : null;
      this.young = new Map();
      this.sampling = this.hits * 8 < this.lookups;
      this.hits = 0;
      this.lookups = 0;
    }
    this.young.set(routingKey, dests);
  }

  private clearCache(): void {
    if (this.young.size > 0) this.young = new Map();
    this.old = null;
    this.sampling = false;
    this.hits = 0;
    this.lookups = 0;
  }

  matches(b: Binding<D>, routingKey: string): boolean {
    // A one-pattern trie: the same matching code as route(), for one binding.
    const trie = new TopicTrie<true>();
    trie.add(b.routingKey, true);
    return trie.match(routingKey, { add: () => {} }) > 0;
  }

  protected added(b: Binding<D>): void {
    this.trie.add(b.routingKey, b.destination);
    this.clearCache();
  }

  protected removed(b: Binding<D>): void {
    this.trie.remove(b.routingKey, b.destination);
    this.clearCache();
  }
}

/** The trie's matches for one key, possibly with repeats; reused, cleared after each use. */
class Found<D> implements RouteTarget<D> {
  readonly items: D[] = [];
  length = 0;

  add(dest: D): void {
    this.items[this.length++] = dest;
  }

  /** The destinations without repeats, in first-seen order. */
  unique(): D[] {
    const items = this.items;
    const n = this.length;
    const out: D[] = [];
    if (n <= 32) {
      next: for (let i = 0; i < n; i++) {
        const d = items[i]!;
        for (let j = 0; j < out.length; j++) if (out[j] === d) continue next;
        out.push(d);
      }
      return out;
    }
    const seen = new Set<D>();
    for (let i = 0; i < n; i++) {
      const d = items[i]!;
      if (!seen.has(d)) {
        seen.add(d);
        out.push(d);
      }
    }
    return out;
  }

  /** Drops the references, so that deleted queues can be collected. */
  reset(): void {
    const items = this.items;
    for (let i = 0; i < this.length; i++) items[i] = undefined as unknown as D;
    this.length = 0;
  }
}
