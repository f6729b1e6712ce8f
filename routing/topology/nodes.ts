import type { FieldTable } from '../../amqp/table.js';
import type { DefaultExchange } from '../default-exchange.js';
import type { Exchange, ExchangeType, Routable } from '../exchange.js';
import { alternateExchangeArg } from '../publish.js';
import type { ExchangeNode } from '../router.js';

/** A queue of a Topology: only its name takes part in routing; the rest is kept for export. */
export class TopologyQueue implements Routable {
  readonly kind = 'queue' as const;
  /** The number of the last route that reached this queue (see QueueCollector). */
  mark = 0;

  constructor(
    readonly name: string,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly args: FieldTable,
  ) {}
}

/** An exchange of a Topology, holding the same matcher the broker's exchanges hold. */
export class TopologyExchange implements ExchangeNode<TopologyQueue> {
  readonly kind = 'exchange' as const;
  /** The argument's alternate exchange, else the policy's (the argument wins, as in RabbitMQ). */
  alternateExchange: string | null;
  readonly argAlternate: string | null;

  constructor(
    readonly name: string,
    readonly type: ExchangeType,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: FieldTable,
    readonly router: Exchange<TopologyQueue | ExchangeNode<TopologyQueue>> | DefaultExchange<TopologyQueue>,
  ) {
    this.argAlternate = alternateExchangeArg(args);
    this.alternateExchange = this.argAlternate;
  }
}

/**
 * Collects the queues of one route, each once, without a Set: a queue already reached in
 * this route carries this route's number. Reused from route to route; not re-entrant.
 */
export class QueueCollector {
  readonly items: (TopologyQueue | undefined)[] = [];
  length = 0;
  private route = 0;

  begin(): void {
    this.length = 0;
    this.route = (this.route + 1) | 0 || 1;
  }

  add(q: TopologyQueue): void {
    if (q.mark === this.route) return;
    q.mark = this.route;
    this.items[this.length++] = q;
  }

  /** The names of the queues collected, sorted; forgets the queues. */
  sortedNames(): string[] {
    const n = this.length;
    const items = this.items;
    const names: string[] = new Array(n);
    const small = n <= 16;
    for (let i = 0; i < n; i++) {
      const name = items[i]!.name;
      items[i] = undefined;
      let j = i;
      // Insertion sort: routes mostly reach a few queues, where Array.prototype.sort costs more.
      if (small) {
        while (j > 0 && names[j - 1]! > name) {
          names[j] = names[j - 1]!;
          j--;
        }
      }
      names[j] = name;
    }
    this.length = 0;
    if (!small) names.sort();
    return names;
  }
}
