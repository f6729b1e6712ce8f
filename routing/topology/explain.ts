import type { FieldTable } from '../../amqp/table.js';
import type { Binding, ExchangeType } from '../exchange.js';
import type { ExchangeNode, RouteTracer } from '../router.js';
import { toJson } from './definitions.js';
import type { TopologyExchange, TopologyQueue } from './nodes.js';

type Dest = TopologyQueue | ExchangeNode<TopologyQueue>;

/** One binding that took the message somewhere. */
export interface RouteMatch {
  destination: string;
  destinationType: 'queue' | 'exchange';
  /** The binding's key or pattern; on the default exchange, the queue's name. */
  bindingKey: string;
  /** The binding's arguments (what a headers exchange matches on), as JSON. */
  arguments: Record<string, unknown>;
  /** The message's key that matched: its routing key, or an entry of its CC or BCC header. */
  routingKey: string;
  /**
   * For an exchange destination: true if the message went on through it; false if this walk
   * had been there already (each exchange routes a message once, so cycles end).
   */
  followed?: boolean;
}

/** One exchange the message passed through, in the order the walk visited them. */
export interface RouteVisit {
  exchange: string;
  type: ExchangeType;
  /** How the message got here: published to it, through a binding, or as the alternate exchange. */
  reached: 'published' | 'binding' | 'alternate-exchange';
  /** Index in the path of the visit that sent it here; -1 for the exchange published to. */
  from: number;
  /** The bindings that matched (empty: none did). */
  matched: RouteMatch[];
  /** When nothing matched and the exchange has an alternate exchange: where the message went instead. */
  alternate?: { exchange: string; exists: boolean; followed: boolean };
}

/**
 * Records a walk of the broker's Router and says which bindings did what. The Router
 * decides where the message goes; this only names the bindings behind each step (with
 * each exchange type's own per-binding matcher), so an explanation cannot disagree with
 * the route.
 */
export class PathRecorder implements RouteTracer<TopologyQueue> {
  readonly path: RouteVisit[] = [];
  private readonly seen = new Map<ExchangeNode<TopologyQueue>, { from: number; reached: RouteVisit['reached'] }>();
  private readonly keys: readonly string[];

  constructor(
    start: TopologyExchange,
    routingKeys: string | readonly string[],
    private readonly headers: FieldTable | undefined,
  ) {
    this.keys = typeof routingKeys === 'string' ? [routingKeys] : routingKeys;
    this.seen.set(start, { from: -1, reached: 'published' });
  }

  exchange(node: ExchangeNode<TopologyQueue>, dests: readonly (Dest | undefined)[], count: number): void {
    const x = node as TopologyExchange;
    const index = this.path.length;
    const how = this.seen.get(x)!;
    const visit: RouteVisit = { exchange: x.name, type: x.type, reached: how.reached, from: how.from, matched: [] };
    this.path.push(visit);
    const reached = new Set<Dest>();
    for (let i = 0; i < count; i++) reached.add(dests[i]!);
    if (x.name === '') {
      for (const q of reached) visit.matched.push({ destination: q.name, destinationType: 'queue', bindingKey: q.name, arguments: {}, routingKey: q.name });
      return;
    }
    const router = x.router;
    const explained = new Set<Dest>();
    for (const b of router.bindings() as IterableIterator<Binding<Dest>>) {
      if (!reached.has(b.destination)) continue;
      const key = this.keys.find((k) => router.matches(b as never, k, this.headers));
      if (key === undefined) continue;
      explained.add(b.destination);
      const d = b.destination;
      const m: RouteMatch = { destination: d.name, destinationType: d.kind, bindingKey: b.routingKey, arguments: toJson(b.args), routingKey: key };
      if (d.kind === 'exchange') m.followed = this.enter(d as ExchangeNode<TopologyQueue>, index, 'binding');
      visit.matched.push(m);
    }
    if (explained.size !== reached.size) {
      throw new Error(`internal error: the explanation of exchange '${x.name}' does not account for every destination its route gave`);
    }
  }

  alternate(node: ExchangeNode<TopologyQueue>, name: string, ae: ExchangeNode<TopologyQueue> | undefined): void {
    const visit = this.path[this.path.length - 1]!;
    if (visit.exchange !== node.name) throw new Error('internal error: alternate exchange reported out of order');
    visit.alternate = { exchange: name, exists: ae !== undefined, followed: ae !== undefined && this.enter(ae, this.path.length - 1, 'alternate-exchange') };
  }

  /** Mirrors the Router's visit-once rule: true if the walk will go through x from here. */
  private enter(x: ExchangeNode<TopologyQueue>, from: number, reached: RouteVisit['reached']): boolean {
    if (this.seen.has(x)) return false;
    this.seen.set(x, { from, reached });
    return true;
  }
}

function quote(s: string): string {
  return `'${s}'`;
}

/** The path as lines of text, one per exchange visited and one per binding that matched. */
export function formatPath(path: readonly RouteVisit[]): string[] {
  const lines: string[] = [];
  for (const v of path) {
    const name = v.exchange === '' ? 'the default exchange' : `exchange ${quote(v.exchange)} (${v.type})`;
    const how = v.reached === 'published' ? 'published to' : v.reached === 'binding' ? `via ${quote(path[v.from]!.exchange)}:` : `alternate of ${quote(path[v.from]!.exchange)}:`;
    lines.push(`${how} ${name}`);
    for (const m of v.matched) {
      const args = Object.keys(m.arguments).length > 0 ? ` ${JSON.stringify(m.arguments)}` : '';
      const key = v.exchange === '' ? `key ${quote(m.routingKey)}` : v.type === 'fanout' ? 'fanout' : v.type === 'headers' ? `headers${args}` : `binding ${quote(m.bindingKey)}${m.bindingKey === m.routingKey ? '' : ` matches ${quote(m.routingKey)}`}${args}`;
      const to = `${m.destinationType} ${quote(m.destination)}`;
      lines.push(`  ${key} -> ${to}${m.followed === false ? ' (already visited: not routed through again)' : ''}`);
    }
    if (v.matched.length === 0) {
      const a = v.alternate;
      if (a === undefined) lines.push('  no binding matched');
      else if (!a.exists) lines.push(`  no binding matched; alternate exchange ${quote(a.exchange)} does not exist`);
      else lines.push(`  no binding matched -> alternate exchange ${quote(a.exchange)}${a.followed ? '' : ' (already visited)'}`);
    }
  }
  return lines;
}
