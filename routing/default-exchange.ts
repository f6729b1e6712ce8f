import type { FieldTable } from '../amqp/table.js';
import type { Binding, Exchange, Routable, RouteTarget } from './exchange.js';

/**
 * The default exchange (""): every queue is implicitly bound under its own name, so
 * routing is a lookup by name through the broker's queue table. It stores no bindings;
 * the server refuses explicit bind/unbind on it (403) before reaching this class.
 */
export class DefaultExchange<Q extends Routable> implements Exchange<Q> {
  readonly type = 'direct' as const;
  readonly bindingCount = 0;

  constructor(private readonly resolve: (name: string) => Q | undefined) {}

  route(routingKey: string, _headers: FieldTable | undefined, out: RouteTarget<Q>): void {
    const q = this.resolve(routingKey);
    if (q !== undefined) out.add(q);
  }

  bind(): boolean {
    return false;
  }

  unbind(): boolean {
    return false;
  }

  unbindAll(): number {
    return 0;
  }

  hasBinding(): boolean {
    return false;
  }

  matches(): boolean {
    return false;
  }

  *bindings(): IterableIterator<Binding<Q>> {}

  bindingsTo(): Iterable<Binding<Q>> {
    return [];
  }
}
