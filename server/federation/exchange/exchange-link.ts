import type { Channel, ConsumeMessage } from 'amqplib';
import type { FieldTable } from '../../../amqp/table.js';
import { bindingId } from '../../../routing/binding-set.js';
import { BOUND_FROM, DOWNSTREAM_NAME_ARG, DOWNSTREAM_VHOST_ARG, MAX_HOPS_ARG, RECEIVED_FROM, shouldForward } from '../../../routing/plugins/federation-upstream.js';
import type { Exchange } from '../../vhost/exchange.js';
import { sortedTable, toAmqplibTable } from '../link/amqplib-table.js';
import { openAmqp } from '../link/open-amqp.js';
import { errorText, FederationLink, publishOptions, type LinkHost } from '../upstream/link.js';
import type { Upstream } from '../upstream/upstreams.js';
import { forwardedBindingArgs } from './bound-from.js';

/** What an exchange link needs besides LinkHost. */
export interface ExchangeLinkHost extends LinkHost {
  /** The downstream exchange, if it still exists. */
  exchange(vhost: string, name: string): Exchange | undefined;
  /** Which of the A/B internal exchanges a link of this key used last (RabbitMQ keeps it in the exchange's scratch space). */
  suffix(key: string): 'A' | 'B' | undefined;
  setSuffix(key: string, suffix: 'A' | 'B'): void;
  /** ms between checks that the upstream's internal exchange is still there. */
  readonly internalExchangeCheckMs: number;
}

/** A downstream binding, with the destinations that share its key and arguments. */
interface MirroredBinding {
  routingKey: string;
  args: FieldTable;
  dests: Set<string>;
}

const PURPOSE = { 'x-internal-purpose': 'federation' };

/**
 * Exchange federation, one upstream (rabbit_federation_exchange_link): on the upstream
 * broker a queue `federation: X -> CLUSTER[:VHOST:X]` is fed by an internal exchange of type
 * `x-federation-upstream` (`QUEUE A` or `QUEUE B`, alternating at each start so that the
 * old one carries messages until the new one is bound), bound to the upstream exchange with
 * each binding key of the downstream exchange. The link consumes that queue and publishes
 * each message to the downstream exchange with its routing key, recording the hop in
 * `x-received-from`; bindings made and removed downstream follow upstream.
 */
export class ExchangeLink extends FederationLink {
  private cmd: Channel | null = null;
  private queueName = '';
  private internalExchange = '';
  private suffixNow: 'A' | 'B' = 'A';
  /** Downstream bindings by key and arguments; null until the internal exchange is up. */
  private bindings: Map<string, MirroredBinding> | null = null;
  private checkTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly xhost: ExchangeLinkHost,
    vhost: string,
    exchange: string,
    upstream: Upstream,
    policy: string,
  ) {
    super(xhost, vhost, 'exchange', exchange, upstream, policy);
  }

  private get suffixKey(): string {
    return JSON.stringify([this.vhost, this.resource, this.upstream.name, this.upstream.exchange]);
  }

  protected async setUp(gen: number): Promise<void> {
    const up = this.up!;
    const u = this.upstream;
    await this.openDownstreamChannel(gen);
    this.ch = await up.createChannel();
    this.watchChannel(this.ch, gen, 'upstream');
    this.cmd = u.channelUseMode === 'single' ? this.ch : await up.createChannel();
    if (this.cmd !== this.ch) this.watchChannel(this.cmd, gen, 'upstream command');
    if (this.xhost.exchange(this.vhost, this.resource) === undefined) throw new Error(`no exchange '${this.resource}' in vhost '${this.vhost}'`);
    await this.consumeFromUpstreamQueue(gen);
    await this.ensureUpstreamBindings(gen);
    this.checkTimer = setInterval(() => void this.checkInternalExchange(gen), this.xhost.internalExchangeCheckMs);
    this.checkTimer.unref();
  }

  /** rabbit_federation_exchange_link:upstream_queue_name. */
  private upstreamQueueName(): string {
    const upstreamVhost = this.endpoint!.vhost;
    const x = this.upstream.exchange;
    const down = upstreamVhost === this.vhost ? (x === this.resource ? '' : `:${this.resource}`) : `:${this.vhost}:${this.resource}`;
    return `federation: ${x} -> ${this.host.clusterName}${down}`;
  }

  private async consumeFromUpstreamQueue(gen: number): Promise<void> {
    const ch = this.ch!;
    const u = this.upstream;
    this.queueName = this.upstreamQueueName();
    const args: Record<string, unknown> = {};
    if (u.expires !== null) args['x-expires'] = { '!': 'long', value: u.expires };
    if (u.messageTtl !== null) args['x-message-ttl'] = { '!': 'long', value: u.messageTtl };
    if (u.haPolicy !== null) args['x-ha-policy'] = u.haPolicy;
    args['x-internal-purpose'] = 'federation';
    await ch.assertQueue(this.queueName, { durable: true, arguments: args });
    const noAck = u.ackMode === 'no-ack';
    if (!noAck) await ch.prefetch(u.prefetchCount);
    await ch.consume(this.queueName, (m) => this.onDeliver(gen, m), { noAck });
  }

  private async ensureUpstreamBindings(gen: number): Promise<void> {
    // Not known after a restart (RabbitMQ keeps it with the exchange): B, if it is there upstream.
    let old = this.xhost.suffix(this.suffixKey);
    if (old === undefined) {
      let bThere = true;
      await this.disposable(
        (c) => c.checkExchange(`${this.queueName} B`),
        () => {
          bThere = false;
        },
      );
      old = bThere ? 'B' : 'A';
    }
    const suffix = old === 'A' ? 'B' : 'A';
    const internal = `${this.queueName} ${suffix}`;
    await this.ensureUpstreamExchange();
    await this.ensureInternalExchange(internal);
    if (!this.current(gen)) throw new Error('stopped');
    await this.ch!.bindQueue(this.queueName, internal, '');
    this.internalExchange = internal;
    this.suffixNow = suffix;
    this.xhost.setSuffix(this.suffixKey, suffix);
    // The downstream's bindings now, and from here on each change as it happens.
    const x = this.xhost.exchange(this.vhost, this.resource);
    if (x === undefined) throw new Error(`no exchange '${this.resource}' in vhost '${this.vhost}'`);
    this.bindings = new Map();
    for (const b of x.router.bindings()) this.bindingAdded(b.destination, b.routingKey, b.args);
    await this.disposable((c) => c.deleteExchange(`${this.queueName} ${old}`));
  }

  /** Declares the upstream exchange like the downstream one, unless it exists. */
  private async ensureUpstreamExchange(): Promise<void> {
    const name = this.upstream.exchange;
    let missing = false;
    await this.disposable(
      (c) => c.checkExchange(name),
      (code) => {
        missing = code === 404;
      },
    );
    if (!missing) return;
    const x = this.xhost.exchange(this.vhost, this.resource);
    if (x === undefined) throw new Error(`no exchange '${this.resource}' in vhost '${this.vhost}'`);
    await this.ch!.assertExchange(name, x.type, { durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, arguments: toAmqplibTable(x.args) });
  }

  /**
   * The internal exchange, declared afresh on a connection of its own: an upstream without
   * the federation plugin closes the connection (503 for an unknown exchange type), and
   * then it is a plain fanout, as RabbitMQ falls back.
   */
  private async ensureInternalExchange(name: string): Promise<void> {
    await this.disposable((c) => c.deleteExchange(name));
    const base = { durable: true, internal: true, autoDelete: true };
    const args = {
      [MAX_HOPS_ARG]: { '!': 'long', value: this.upstream.maxHops },
      [DOWNSTREAM_NAME_ARG]: this.host.clusterName,
      [DOWNSTREAM_VHOST_ARG]: this.vhost,
      ...PURPOSE,
    };
    const conn = await openAmqp(this.endpoint!, 'Disposable exchange federation link connection', this.host);
    let unknownType = false;
    conn.on('error', () => {});
    try {
      const c = await conn.createChannel();
      c.on('error', () => {});
      await c.assertExchange(name, 'x-federation-upstream', { ...base, arguments: args });
    } catch (err) {
      if ((err as { code?: number }).code !== 503) throw err;
      unknownType = true;
    } finally {
      try {
        await conn.close();
      } catch {
        // Closed by the server already.
      }
    }
    if (unknownType) await this.ch!.assertExchange(name, 'fanout', { ...base, arguments: { ...PURPOSE } });
  }

  /** A call on a channel of its own, which a channel error may close; `onError` hears its code. */
  private async disposable(call: (c: Channel) => Promise<unknown>, onError?: (code: number) => void): Promise<void> {
    const up = this.up;
    if (up === null) return;
    let c: Channel;
    try {
      c = await up.createChannel();
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'federation link could not open a disposable channel');
      return;
    }
    c.on('error', () => {});
    try {
      await call(c);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code !== undefined) onError?.(code);
      return;
    }
    try {
      await c.close();
    } catch {
      // Closed already.
    }
  }

  /** Every interval: if the internal exchange went (deleted upstream), the link starts over. */
  private async checkInternalExchange(gen: number): Promise<void> {
    if (!this.current(gen) || this.state !== 'running') return;
    await this.disposable(
      (c) => c.checkExchange(this.internalExchange),
      (code) => {
        if (code === 404) this.fail(gen, new Error(`internal upstream exchange '${this.internalExchange}' is gone`));
      },
    );
  }

  // ---- messages -------------------------------------------------------------------------

  private onDeliver(gen: number, m: ConsumeMessage | null): void {
    if (!this.current(gen)) return;
    const ch = this.ch!;
    if (m === null) {
      this.fail(gen, new Error('basic.cancel'));
      return;
    }
    const u = this.upstream;
    const noAck = u.ackMode === 'no-ack';
    const props = m.properties;
    const headers = (props.headers ?? {}) as Record<string, unknown>;
    // An upstream without the plugin routes through a plain fanout: the hop rules apply here too.
    if (!shouldForward(headers as FieldTable, u.maxHops, this.host.clusterName, this.vhost)) {
      if (!noAck) ch.ack(m);
      return;
    }
    const hop: Record<string, unknown> = { uri: this.uri, exchange: this.resource, redelivered: m.fields.redelivered };
    if (this.upstreamCluster !== null) hop['cluster-name'] = this.upstreamCluster;
    hop['vhost'] = this.endpoint!.vhost;
    const prior = headers[RECEIVED_FROM];
    const options = publishOptions(props, u.trustUserId, sortedTable({ ...headers, [RECEIVED_FROM]: [hop, ...(Array.isArray(prior) ? prior : [])] }));
    this.forward(gen, m, this.resource, m.fields.routingKey, options);
  }

  // ---- bindings -------------------------------------------------------------------------

  private hopArgs(args: FieldTable): FieldTable | null {
    return forwardedBindingArgs(args, {
      clusterName: this.host.clusterName,
      vhost: this.vhost,
      exchange: `${this.vhost}:${this.resource} ${this.suffixNow}`,
      maxHops: this.upstream.maxHops,
      upstreamCluster: this.upstreamCluster,
      upstreamVhost: this.endpoint!.vhost,
    });
  }

  /** A binding from the downstream exchange appeared (or was there at start). */
  bindingAdded(dest: { kind: string; name: string }, routingKey: string, args: FieldTable): void {
    const bindings = this.bindings;
    if (bindings === null) return;
    // One that another link made (it carries its hops) is passed on each time, unrecorded.
    if (!Array.isArray(args[BOUND_FROM])) {
      const key = bindingId(routingKey, args);
      const known = bindings.get(key);
      const d = `${dest.kind}\0${dest.name}`;
      if (known !== undefined) {
        known.dests.add(d);
        return;
      }
      bindings.set(key, { routingKey, args, dests: new Set([d]) });
    }
    const forwarded = this.hopArgs(args);
    if (forwarded === null) return;
    this.command((c) => c.bindExchange(this.internalExchange, this.upstream.exchange, routingKey, toAmqplibTable(forwarded)));
  }

  bindingRemoved(dest: { kind: string; name: string }, routingKey: string, args: FieldTable): void {
    const bindings = this.bindings;
    if (bindings === null) return;
    if (!Array.isArray(args[BOUND_FROM])) {
      const key = bindingId(routingKey, args);
      const known = bindings.get(key);
      if (known === undefined) return;
      known.dests.delete(`${dest.kind}\0${dest.name}`);
      if (known.dests.size > 0) return;
      bindings.delete(key);
    }
    const forwarded = this.hopArgs(args);
    if (forwarded === null) return;
    this.command((c) => c.unbindExchange(this.internalExchange, this.upstream.exchange, routingKey, toAmqplibTable(forwarded)));
  }

  /** Binding keys mirrored upstream (RabbitMQ's list_routing_keys), sorted. */
  routingKeys(): string[] {
    return [...(this.bindings?.values() ?? [])].map((b) => b.routingKey).sort();
  }

  /** Runs a command on the command channel; the channel keeps them in order. A failure fails the link. */
  private command(call: (c: Channel) => Promise<unknown>): void {
    const c = this.cmd;
    if (c === null) return;
    const gen = this.generation;
    try {
      call(c).catch((err: unknown) => this.fail(gen, err));
    } catch (err) {
      // A channel that closed meanwhile refuses at once.
      this.fail(gen, err);
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------

  protected override async cleanUp(): Promise<void> {
    await this.disposable((c) => c.deleteQueue(this.queueName));
    await this.disposable((c) => c.deleteExchange(this.internalExchange));
  }

  protected reset(): void {
    if (this.checkTimer !== null) clearInterval(this.checkTimer);
    this.checkTimer = null;
    this.bindings = null;
    this.ch = this.cmd = this.dch = null;
  }
}
