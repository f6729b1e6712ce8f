import type { FieldTable } from '../amqp/table.js';
import type { Binding, Exchange, ExchangeType, Routable, RouteTarget } from './exchange.js';
import { canonicalTable } from './field-value.js';

/**
 * Binding identity as RabbitMQ defines it: {destination, routing key, arguments}, the
 * arguments compared exactly (sorted keys, typed values). The key is length-prefixed so
 * no routing key can be confused with the start of the arguments.
 */
export function bindingId(routingKey: string, args: FieldTable): string {
  return `${routingKey.length}:${routingKey}${canonicalTable(args)}`;
}

/**
 * The bookkeeping every exchange type shares: which bindings exist, grouped per
 * destination so that deleting a queue or exchange (unbindAll) is proportional to its
 * own bindings. Each type keeps its own match index up to date through added/removed.
 */
export abstract class BindingIndex<D extends Routable> implements Exchange<D> {
  abstract readonly type: ExchangeType;
  private readonly byDest = new Map<D, Map<string, Binding<D>>>();
  private count = 0;

  get bindingCount(): number {
    return this.count;
  }

  bind(dest: D, routingKey: string, args: FieldTable): boolean {
    const id = bindingId(routingKey, args);
    let forDest = this.byDest.get(dest);
    if (forDest?.has(id)) return false;
    if (forDest === undefined) {
      forDest = new Map();
      this.byDest.set(dest, forDest);
    }
    const binding: Binding<D> = { destination: dest, routingKey, args };
    forDest.set(id, binding);
    this.count++;
    this.added(binding);
    return true;
  }

  unbind(dest: D, routingKey: string, args: FieldTable): boolean {
    const forDest = this.byDest.get(dest);
    if (forDest === undefined) return false;
    const id = bindingId(routingKey, args);
    const binding = forDest.get(id);
    if (binding === undefined) return false;
    forDest.delete(id);
    if (forDest.size === 0) this.byDest.delete(dest);
    this.count--;
    this.removed(binding);
    return true;
  }

  unbindAll(dest: D): number {
    const forDest = this.byDest.get(dest);
    if (forDest === undefined) return 0;
    this.byDest.delete(dest);
    this.count -= forDest.size;
    for (const binding of forDest.values()) this.removed(binding);
    return forDest.size;
  }

  hasBinding(dest: D, routingKey: string, args: FieldTable): boolean {
    return this.byDest.get(dest)?.has(bindingId(routingKey, args)) ?? false;
  }

  bindingsTo(dest: D): Iterable<Binding<D>> {
    return this.byDest.get(dest)?.values() ?? [];
  }

  *bindings(): IterableIterator<Binding<D>> {
    for (const forDest of this.byDest.values()) yield* forDest.values();
  }

  abstract route(routingKey: string, headers: FieldTable | undefined, out: RouteTarget<D>): void;

  abstract matches(binding: Binding<D>, routingKey: string, headers: FieldTable | undefined): boolean;

  /** Called after a new binding is recorded; update the match index. */
  protected abstract added(binding: Binding<D>): void;
  /** Called after a binding is forgotten (the object passed to added earlier). */
  protected abstract removed(binding: Binding<D>): void;
}
