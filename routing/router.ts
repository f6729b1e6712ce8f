import type { FieldTable } from '../amqp/table.js';
import { DefaultExchange } from './default-exchange.js';
import type { Exchange, Routable, RouteTarget } from './exchange.js';

export interface ExchangeNode<Q extends Routable> extends Routable {
  readonly kind: 'exchange';
  readonly router: Exchange<Q | ExchangeNode<Q>> | DefaultExchange<Q>;
  /** Name of the alternate exchange, or null. */
  readonly alternateExchange: string | null;
}

type Dest<Q extends Routable> = Q | ExchangeNode<Q>;

/**
 * Watches a walk, for explanations (warren/routing's "why"). The broker passes none, so
 * the publish path pays one null check per exchange visited and allocates nothing more.
 */
export interface RouteTracer<Q extends Routable> {
  /** Exchange x was visited; its bindings gave dests[0..count) (queues and exchanges, visited or not). */
  exchange(x: ExchangeNode<Q>, dests: readonly (Dest<Q> | undefined)[], count: number): void;
  /** x gave nothing, so the walk turns to its alternate exchange (undefined: no such exchange). */
  alternate(x: ExchangeNode<Q>, name: string, ae: ExchangeNode<Q> | undefined): void;
}

/** Beyond this many exchanges in one walk, membership checks switch from a scan to a Set. */
const SCAN_LIMIT = 16;

/** A reusable append-only list standing in for a Set: clearing it is resetting a counter. */
class Collector<D> implements RouteTarget<D> {
  readonly items: (D | undefined)[] = [];
  length = 0;

  add(dest: D): this {
    this.items[this.length++] = dest;
    return this;
  }

  /** Forgets the contents, dropping references so deleted objects can be collected. */
  reset(): void {
    for (let i = 0; i < this.length; i++) this.items[i] = undefined;
    this.length = 0;
  }
}

/**
 * The walk across exchanges, as rabbit_exchange:route/route1 does it: a work list of
 * exchanges, each visited at most once (so cycles end), exchange-to-exchange bindings
 * followed, and an exchange whose own result is empty (no queues and no exchanges, not
 * even already-visited ones) handing the message to its alternate exchange, if that exists.
 * The set of queues reached does not depend on the visiting order, so this walks breadth
 * first where RabbitMQ uses a stack.
 *
 * Scratch state lives on the instance and is reused, so a typical call allocates nothing
 * (Set.prototype.clear is avoided: it is a slow builtin call). Not re-entrant.
 */
export class Router<Q extends Routable & { kind: 'queue' }> {
  /** Exchanges visited in this walk, in order; also the work queue (visited[head..] are pending). */
  private readonly visited = new Collector<ExchangeNode<Q>>();
  /** Membership index for long walks only. */
  private visitedSet: Set<ExchangeNode<Q>> | null = null;
  private readonly dests = new Collector<Dest<Q>>();

  constructor(private readonly resolveExchange: (name: string) => ExchangeNode<Q> | undefined) {}

  route(
    start: ExchangeNode<Q>,
    routingKeys: readonly string[] | string,
    headers: FieldTable | undefined,
    out: RouteTarget<Q>,
    tracer: RouteTracer<Q> | null = null,
  ): void {
    if (start.router instanceof DefaultExchange) {
      // RabbitMQ answers the default exchange directly: queues named by the keys, no alternate.
      if (tracer === null) {
        routeKeys(start.router, routingKeys, headers, out);
        return;
      }
      const found = new Collector<Q>();
      routeKeys(start.router, routingKeys, headers, found);
      tracer.exchange(start, found.items, found.length);
      for (let i = 0; i < found.length; i++) out.add(found.items[i]!);
      return;
    }
    const visited = this.visited;
    const dests = this.dests;
    try {
      visited.add(start);
      for (let head = 0; head < visited.length; head++) {
        const x = visited.items[head]!;
        routeKeys(x.router, routingKeys, headers, dests);
        if (tracer !== null) tracer.exchange(x, dests.items, dests.length);
        if (dests.length === 0) {
          if (x.alternateExchange !== null) {
            const ae = this.resolveExchange(x.alternateExchange);
            if (tracer !== null) tracer.alternate(x, x.alternateExchange, ae);
            if (ae !== undefined) this.visit(ae);
          }
          continue;
        }
        for (let i = 0; i < dests.length; i++) {
          const d = dests.items[i]!;
          if (d.kind === 'queue') out.add(d as Q);
          else this.visit(d as ExchangeNode<Q>);
        }
        dests.reset();
      }
    } finally {
      visited.reset();
      dests.reset();
      this.visitedSet = null;
    }
  }

  /** Queues x for a visit unless this walk has seen it already. */
  private visit(x: ExchangeNode<Q>): void {
    const visited = this.visited;
    if (this.visitedSet !== null) {
      if (this.visitedSet.has(x)) return;
      this.visitedSet.add(x);
    } else {
      for (let i = 0; i < visited.length; i++) if (visited.items[i] === x) return;
      if (visited.length >= SCAN_LIMIT) {
        this.visitedSet = new Set(visited.items.slice(0, visited.length) as ExchangeNode<Q>[]);
        this.visitedSet.add(x);
      }
    }
    visited.add(x);
  }
}

function routeKeys<D extends Routable>(
  router: Exchange<D> | DefaultExchange<D>,
  routingKeys: readonly string[] | string,
  headers: FieldTable | undefined,
  out: RouteTarget<D>,
): void {
  if (typeof routingKeys === 'string') {
    router.route(routingKeys, headers, out);
    return;
  }
  for (let i = 0; i < routingKeys.length; i++) router.route(routingKeys[i]!, headers, out);
}
