import type { ConsumeMessage } from 'amqplib';
import { RECEIVED_FROM } from '../../../routing/plugins/federation-upstream.js';
import { wantsMessages } from '../../queue/consumer.js';
import type { Queue } from '../../queue/queue.js';
import { sortedTable, toAmqplibTable } from '../link/amqplib-table.js';
import { FederationLink, publishOptions, type LinkHost } from '../upstream/link.js';
import type { Upstream } from '../upstream/upstreams.js';

/** What a queue link needs besides LinkHost. */
export interface QueueLinkHost extends LinkHost {
  /** The downstream queue, if it still exists. */
  queue(vhost: string, name: string): Queue | undefined;
}

/**
 * Queue federation, one upstream (rabbit_federation_queue_link): the link consumes from
 * the upstream queue (declared like the downstream one if missing) at consumer priority
 * -1, so that the upstream's own consumers come first, and only while the downstream
 * queue is empty and one of its consumers could take a message; each message is published
 * to the downstream queue through the default exchange, with `x-received-from` counting
 * its visits.
 */
export class QueueLink extends FederationLink {
  /** Whether the consumer should run: the downstream queue wants messages. */
  private run = false;
  /** Whether the upstream consumer is on (consume sent, not cancelled). */
  private consuming = false;
  private ready = false;
  private checkScheduled = false;

  constructor(
    private readonly qhost: QueueLinkHost,
    vhost: string,
    queue: string,
    upstream: Upstream,
    policy: string,
  ) {
    super(qhost, vhost, 'queue', queue, upstream, policy);
  }

  protected async setUp(gen: number): Promise<void> {
    const caps = this.upstreamProperties()?.['capabilities'] as Record<string, unknown> | undefined;
    if (caps?.['consumer_priorities'] !== true) throw new Error('upstream_lacks_consumer_priorities');
    await this.openDownstreamChannel(gen);
    const ch = (this.ch = await this.up!.createChannel());
    this.watchChannel(ch, gen, 'upstream');
    const q = this.qhost.queue(this.vhost, this.resource);
    if (q === undefined) throw new Error(`no queue '${this.resource}' in vhost '${this.vhost}'`);
    // Declared like the downstream queue, unless it exists (checked where a 404 harms nothing).
    const probe = await this.up!.createChannel();
    probe.on('error', () => {});
    let missing = false;
    try {
      await probe.checkQueue(this.upstream.queue);
      await probe.close();
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      missing = true;
    }
    if (missing) await ch.assertQueue(this.upstream.queue, { durable: q.durable, autoDelete: q.autoDelete, arguments: toAmqplibTable(q.args) });
    if (this.upstream.ackMode !== 'no-ack') await ch.prefetch(this.upstream.prefetchCount);
    this.ready = true;
    this.run = wantsMessages(q);
    if (this.run) await this.consume(gen);
  }

  private upstreamProperties(): Record<string, unknown> | undefined {
    return (this.up as unknown as { connection: { serverProperties?: Record<string, unknown> } } | null)?.connection.serverProperties;
  }

  /** The downstream queue's consumers or contents changed: run or pause, once per turn. */
  queueStateChanged(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      const q = this.qhost.queue(this.vhost, this.resource);
      const want = q !== undefined && wantsMessages(q);
      if (want === this.run) return;
      this.run = want;
      if (!this.ready) return;
      const gen = this.generation;
      (want ? this.consume(gen) : this.cancel()).catch((err: unknown) => this.fail(gen, err));
    });
  }

  private async consume(gen: number): Promise<void> {
    if (this.consuming || this.ch === null) return;
    this.consuming = true;
    await this.ch.consume(this.upstream.queue, (m) => this.onDeliver(gen, m), {
      noAck: this.upstream.ackMode === 'no-ack',
      consumerTag: this.upstream.consumerTag,
      arguments: { 'x-priority': { '!': 'int', value: -1 } },
    });
  }

  private async cancel(): Promise<void> {
    if (!this.consuming || this.ch === null) return;
    this.consuming = false;
    await this.ch.cancel(this.upstream.consumerTag);
  }

  private onDeliver(gen: number, m: ConsumeMessage | null): void {
    if (!this.current(gen)) return;
    if (m === null) {
      this.fail(gen, new Error('basic.cancel'));
      return;
    }
    const headers = { ...((m.properties.headers ?? {}) as Record<string, unknown>) };
    const prior = headers[RECEIVED_FROM];
    let hops: unknown[] = [];
    let count = 0;
    if (Array.isArray(prior)) {
      // The entry of an earlier visit through this same link is replaced (rabbit_federation_queue_link:update_visit_count).
      for (const h of prior) {
        if (h !== null && typeof h === 'object' && (h as Record<string, unknown>)['uri'] === this.uri && (h as Record<string, unknown>)['queue'] === this.resource && !('virtual_host' in h)) {
          const c = (h as Record<string, unknown>)['visit-count'];
          count = typeof c === 'number' ? c : typeof c === 'object' && c !== null && typeof (c as { value?: unknown }).value === 'number' ? (c as { value: number }).value : 0;
        } else hops.push(h);
      }
    } else {
      // Only the first forward records where the message came from; after it, '' and the queue.
      headers['x-original-exchange'] = m.fields.exchange;
      headers['x-original-routing-key'] = m.fields.routingKey;
      hops = [];
    }
    const hop = { uri: this.uri, queue: this.resource, redelivered: m.fields.redelivered, 'visit-count': { '!': 'long', value: count + 1 } };
    headers[RECEIVED_FROM] = [hop, ...hops];
    this.forward(gen, m, '', this.resource, publishOptions(m.properties, this.upstream.trustUserId, swapCc(sortedTable(headers))));
  }

  protected reset(): void {
    this.ready = false;
    this.consuming = false;
    this.ch = this.dch = null;
  }
}

/** CC would route the copy again downstream: it becomes x-original-cc, in the same place. */
function swapCc(headers: Record<string, unknown>): Record<string, unknown> {
  if (!('CC' in headers)) return headers;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(headers)) out[k === 'CC' ? 'x-original-cc' : k] = headers[k];
  return out;
}
