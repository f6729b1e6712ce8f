import { DestBag } from './dest-bag.js';
import type { RouteTarget } from './exchange.js';

// A trie over '.'-separated words, with a '*' (exactly one word) and a '#' (zero or
// more words) child beside the literal words at every level. Semantics follow
// RabbitMQ's rabbit_exchange_type_topic: "" is zero words, "a..b" is three words
// ("a", "", "b"), and a literal '*' or '#' in a routing key is just a word.

class TrieNode<D> {
  words: Map<string, TrieNode<D>> | null = null;
  star: TrieNode<D> | null = null;
  hash: TrieNode<D> | null = null;
  dests: DestBag<D> | null = null;
  /** For a '#' node: the match (epoch) that last expanded it, and the lowest word index expanded from. */
  epoch = 0;
  from = 0;

  constructor(
    readonly parent: TrieNode<D> | null,
    readonly word: string,
  ) {}

  isEmpty(): boolean {
    return this.dests === null && this.star === null && this.hash === null && (this.words === null || this.words.size === 0);
  }
}

/** Splits a routing key or binding pattern into words as RabbitMQ does ("" → no words). */
export function splitTopic(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

function isLiteral(words: readonly string[]): boolean {
  for (const w of words) if (w === '*' || w === '#') return false;
  return true;
}

/**
 * The patterns of a topic exchange. Patterns without '*' or '#' match only the key equal
 * to them, so they sit in a map by key (one lookup, the common binding); the others are in
 * the trie.
 */
export class TopicTrie<D> {
  private readonly exact = new Map<string, DestBag<D>>();
  private readonly root = new TrieNode<D>(null, '');
  private epoch = 0;
  private nodes = 1;
  /** Scratch for match: the key's words (valid up to the count split returns), and bags added. */
  private readonly words: string[] = [];
  private bags = 0;

  /** Number of trie nodes including the root; unbinding everything brings it back to 1. */
  get nodeCount(): number {
    return this.nodes;
  }

  add(pattern: string, dest: D): void {
    const words = splitTopic(pattern);
    if (isLiteral(words)) {
      let bag = this.exact.get(pattern);
      if (bag === undefined) this.exact.set(pattern, (bag = new DestBag()));
      bag.add(dest);
      return;
    }
    let node = this.root;
    for (const w of words) node = this.child(node, w);
    (node.dests ??= new DestBag()).add(dest);
  }

  /** Drops one reference of dest under pattern, pruning nodes left empty. */
  remove(pattern: string, dest: D): void {
    if (isLiteral(splitTopic(pattern))) {
      const bag = this.exact.get(pattern);
      if (bag !== undefined && bag.remove(dest) && bag.size === 0) this.exact.delete(pattern);
      return;
    }
    let node: TrieNode<D> | undefined = this.root;
    for (const w of splitTopic(pattern)) {
      node = w === '*' ? node.star ?? undefined : w === '#' ? node.hash ?? undefined : node.words?.get(w);
      if (node === undefined) return;
    }
    if (node.dests === null) return;
    node.dests.remove(dest);
    if (node.dests.size === 0) node.dests = null;
    this.prune(node);
  }

  /**
   * Adds the destinations of every pattern that matches the routing key to out, and
   * returns how many patterns' destination sets it added: with more than one, a
   * destination may have been added more than once.
   */
  match(routingKey: string, out: RouteTarget<D>): number {
    this.bags = 0;
    const bag = this.exact.get(routingKey);
    if (bag !== undefined) {
      bag.addTo(out);
      this.bags++;
    }
    if (this.nodes === 1) return this.bags;
    const n = this.split(routingKey);
    // A fresh epoch invalidates every '#' node's expansion record without touching them.
    this.epoch++;
    this.walk(this.root, this.words, 0, n, out);
    return this.bags;
  }

  /** Splits into the reused words array (String.prototype.split allocates an array and is 2-3x slower). */
  private split(key: string): number {
    const words = this.words;
    if (key === '') return 0;
    let n = 0;
    let from = 0;
    for (let i = 0; i < key.length; i++) {
      if (key.charCodeAt(i) === 46 /* . */) {
        words[n++] = key.slice(from, i);
        from = i + 1;
      }
    }
    words[n++] = key.slice(from);
    return n;
  }

  /** Literal children are followed in a loop rather than by recursion: the common path. */
  private walk(node: TrieNode<D>, words: readonly string[], i: number, n: number, out: RouteTarget<D>): void {
    for (;;) {
      if (node.hash !== null) this.enterHash(node.hash, words, i, n, out);
      if (i === n) {
        if (node.dests !== null) {
          node.dests.addTo(out);
          this.bags++;
        }
        return;
      }
      if (node.star !== null) this.walk(node.star, words, i + 1, n, out);
      const next = node.words?.get(words[i]!);
      if (next === undefined) return;
      node = next;
      i++;
    }
  }

  /**
   * Entering '#' at word i means it may stop after any of words i..n. Each '#' node is
   * expanded at most once per index per match, which keeps patterns like "#.#.#" or
   * "#.a.#.a.#" linear in the key length instead of exponential.
   */
  private enterHash(h: TrieNode<D>, words: readonly string[], i: number, n: number, out: RouteTarget<D>): void {
    let stop = n + 1;
    if (h.epoch === this.epoch) {
      if (h.from <= i) return;
      stop = h.from;
    }
    h.epoch = this.epoch;
    h.from = i;
    for (let j = i; j < stop; j++) this.walk(h, words, j, n, out);
  }

  private child(node: TrieNode<D>, w: string): TrieNode<D> {
    if (w === '*') {
      if (node.star === null) node.star = this.newNode(node, w);
      return node.star;
    }
    if (w === '#') {
      if (node.hash === null) node.hash = this.newNode(node, w);
      return node.hash;
    }
    const words = (node.words ??= new Map());
    let next = words.get(w);
    if (next === undefined) {
      next = this.newNode(node, w);
      words.set(w, next);
    }
    return next;
  }

  private newNode(parent: TrieNode<D>, w: string): TrieNode<D> {
    this.nodes++;
    return new TrieNode(parent, w);
  }

  private prune(node: TrieNode<D>): void {
    while (node.parent !== null && node.isEmpty()) {
      const parent: TrieNode<D> = node.parent;
      if (node.word === '*' && parent.star === node) parent.star = null;
      else if (node.word === '#' && parent.hash === node) parent.hash = null;
      else {
        parent.words?.delete(node.word);
        if (parent.words?.size === 0) parent.words = null;
      }
      this.nodes--;
      node = parent;
    }
  }
}
