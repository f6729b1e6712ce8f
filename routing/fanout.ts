import type { FieldTable } from '../amqp/table.js';
import { BindingIndex } from './binding-set.js';
import { DestBag } from './dest-bag.js';
import type { Binding, Routable, RouteTarget } from './exchange.js';

/** Every bound destination, once, whatever the key or headers. */
export class FanoutExchange<D extends Routable> extends BindingIndex<D> {
  readonly type = 'fanout' as const;
  private readonly all = new DestBag<D>();

  route(_routingKey: string, _headers: FieldTable | undefined, out: RouteTarget<D>): void {
    this.all.addTo(out);
  }

  matches(): boolean {
    return true;
  }

  protected added(b: Binding<D>): void {
    this.all.add(b.destination);
  }

  protected removed(b: Binding<D>): void {
    this.all.remove(b.destination);
  }
}
