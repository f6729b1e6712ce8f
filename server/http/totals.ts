import type { Broker } from '../broker.js';
import { ConnectionCounters, MessageCounters, VhostCounters } from '../ops/stats.js';
import type { VirtualHost } from '../vhost/vhost.js';

/** A vhost's (or the node's) statistics: what its live objects count plus what closed ones left. */
export class Totals {
  readonly messages = new MessageCounters();
  readonly bytes = new ConnectionCounters();
  ready = 0;
  unacked = 0;
  readyBytes = 0;
  unackedBytes = 0;
  queues = 0;
  exchanges = 0;
  connections = 0;
  channels = 0;
  consumers = 0;
  /** The vhost's own counters (queue churn, dead-lettering) summed in. */
  readonly churn = new VhostCounters();
}

/** One pass over the broker: totals per vhost, and for the whole node. */
export function totalsByVhost(broker: Broker): { byVhost: Map<VirtualHost, Totals>; node: Totals } {
  const byVhost = new Map<VirtualHost, Totals>();
  const node = new Totals();
  node.churn.add(broker.counters.deletedVhosts);
  node.messages.add(broker.counters.deletedVhosts.closedChannels);
  node.messages.add(broker.counters.deletedVhosts.http);
  node.bytes.add(broker.counters.deletedVhosts.closedConnections);
  for (const v of broker.vhosts.values()) {
    const t = new Totals();
    t.churn.add(v.counters);
    t.messages.add(v.counters.closedChannels);
    t.messages.add(v.counters.http);
    t.bytes.add(v.counters.closedConnections);
    t.exchanges = v.exchanges.size;
    for (const q of v.queues.values()) {
      t.queues++;
      t.ready += q.messageCount;
      t.readyBytes += q.backing.bytes;
      t.unacked += q.unacked;
      t.unackedBytes += q.unackedBytes;
      t.consumers += q.consumers.length;
    }
    byVhost.set(v, t);
  }
  for (const c of broker.connections) {
    const t = c.vhost === undefined ? undefined : byVhost.get(c.vhost);
    if (t === undefined) continue;
    t.connections++;
    t.bytes.add(c.counters);
    for (const ch of c.channelList()) {
      t.channels++;
      t.messages.add(ch.counters);
    }
  }
  for (const t of byVhost.values()) addTotals(node, t);
  return { byVhost, node };
}

function addTotals(into: Totals, t: Totals): void {
  into.messages.add(t.messages);
  into.bytes.add(t.bytes);
  into.churn.add(t.churn);
  into.ready += t.ready;
  into.unacked += t.unacked;
  into.readyBytes += t.readyBytes;
  into.unackedBytes += t.unackedBytes;
  into.queues += t.queues;
  into.exchanges += t.exchanges;
  into.connections += t.connections;
  into.channels += t.channels;
  into.consumers += t.consumers;
}
