import type { FieldTable } from '../amqp/table.js';
import { BindingIndex } from './binding-set.js';
import { DestBag } from './dest-bag.js';
import type { Binding, Routable, RouteTarget } from './exchange.js';

/** Exact routing-key match. A miss is one Map lookup and stores nothing. */
export class DirectExchange<D extends Routable> extends BindingIndex<D> {
  readonly type = 'direct' as const;
  private readonly byKey = new Map<string, DestBag<D>>();

  /** Number of distinct routing keys with bindings (lets tests check that misses do not grow it). */
  get keyCount(): number {
    return this.byKey.size;
  }

  route(routingKey: string, _headers: FieldTable | undefined, out: RouteTarget<D>): void {
    const bag = this.byKey.get(routingKey);
    if (bag !== undefined) bag.addTo(out);
  }

  matches(b: Binding<D>, routingKey: string): boolean {
    return b.routingKey === routingKey;
  }

  protected added(b: Binding<D>): void {
    let bag = this.byKey.get(b.routingKey);
    if (bag === undefined) {
      bag = new DestBag();
      this.byKey.set(b.routingKey, bag);
    }
    bag.add(b.destination);
  }

  protected removed(b: Binding<D>): void {
    const bag = this.byKey.get(b.routingKey);
    if (bag === undefined) return;
    bag.remove(b.destination);
    if (bag.size === 0) this.byKey.delete(b.routingKey);
  }
}
