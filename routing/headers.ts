import type { FieldTable, FieldValue } from '../amqp/table.js';
import { BindingIndex } from './binding-set.js';
import { erlTypeAtom, erlValue } from '../amqp/erl-term.js';
import type { Binding, Routable, RouteTarget } from './exchange.js';
import { fieldEquals, plainValue } from './field-value.js';

// Headers exchange, after rabbit_exchange_type_headers:
// - x-match all (the default, also for unknown values bound before validation existed),
//   any, all-with-x, any-with-x;
// - the x-match key itself never takes part; other "x-" keys only in the -with-x modes;
// - a void (null) binding value only asks for the header to be present;
// - values compare with Erlang `==` (see fieldEquals);
// - `all` with nothing to compare matches everything, `any` with nothing matches nothing.

export type XMatch = 'all' | 'any' | 'all-with-x' | 'any-with-x';
const X_MATCH_VALUES: readonly string[] = ['all', 'any', 'all-with-x', 'any-with-x'];

const EMPTY: FieldTable = Object.freeze({}) as FieldTable;

/** RabbitMQ's complaint about a binding's x-match argument, or null if it is acceptable. */
export function validateHeadersBindingArgs(args: FieldTable): string | null {
  if (!Object.hasOwn(args, 'x-match')) return null;
  const raw = args['x-match']!;
  const v = plainValue(raw);
  if (typeof v === 'string') {
    if (X_MATCH_VALUES.includes(v)) return null;
    return `Invalid x-match field value ${erlValue(v)}; expected all, any, all-with-x, or any-with-x`;
  }
  return `Invalid x-match field type ${erlTypeAtom(raw)} (value ${erlValue(raw)}); expected longstr`;
}

/** The mode a binding matches with; anything unrecognised means all, as RabbitMQ's parse_x_match. */
export function xMatchOf(args: FieldTable): XMatch {
  const v = Object.hasOwn(args, 'x-match') ? plainValue(args['x-match']!) : undefined;
  return typeof v === 'string' && X_MATCH_VALUES.includes(v) ? (v as XMatch) : 'all';
}

/** A binding's arguments compiled once at bind time into parallel arrays. */
class HeadersMatcher<D> {
  readonly any: boolean;
  readonly keys: string[] = [];
  /** undefined marks a void pattern value: presence of the header is enough. */
  readonly values: (FieldValue | undefined)[] = [];

  constructor(readonly binding: Binding<D>) {
    const mode = xMatchOf(binding.args);
    this.any = mode === 'any' || mode === 'any-with-x';
    const withX = mode === 'all-with-x' || mode === 'any-with-x';
    for (const key of Object.keys(binding.args)) {
      if (key === 'x-match' || (!withX && key.startsWith('x-'))) continue;
      const v = plainValue(binding.args[key]!);
      this.keys.push(key);
      this.values.push(v === null ? undefined : v);
    }
  }

  matches(headers: FieldTable): boolean {
    const keys = this.keys;
    const values = this.values;
    if (this.any) {
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (!Object.hasOwn(headers, k)) continue;
        const want = values[i];
        if (want === undefined || fieldEquals(want, headers[k]!)) return true;
      }
      return false;
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (!Object.hasOwn(headers, k)) return false;
      const want = values[i];
      if (want !== undefined && !fieldEquals(want, headers[k]!)) return false;
    }
    return true;
  }
}

export class HeadersExchange<D extends Routable> extends BindingIndex<D> {
  readonly type = 'headers' as const;
  private readonly matchers: HeadersMatcher<D>[] = [];

  route(_routingKey: string, headers: FieldTable | undefined, out: RouteTarget<D>): void {
    const h = headers ?? EMPTY;
    const matchers = this.matchers;
    for (let i = 0; i < matchers.length; i++) {
      const m = matchers[i]!;
      if (m.matches(h)) out.add(m.binding.destination);
    }
  }

  matches(b: Binding<D>, _routingKey: string, headers: FieldTable | undefined): boolean {
    return new HeadersMatcher(b).matches(headers ?? EMPTY);
  }

  protected added(b: Binding<D>): void {
    this.matchers.push(new HeadersMatcher(b));
  }

  protected removed(b: Binding<D>): void {
    const i = this.matchers.findIndex((m) => m.binding === b);
    if (i < 0) return;
    // Order does not matter for routing, so swap-remove.
    const last = this.matchers.pop()!;
    if (i < this.matchers.length) this.matchers[i] = last;
  }
}
