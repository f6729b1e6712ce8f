import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { openLinkConnection, type LocalAcceptor } from '../link/connect.js';
import { SupervisedLink, errorText } from '../link/supervised-link.js';
import { parseAmqpUri, type AmqpEndpoint } from '../link/uri.js';
import { ConfirmWindow, type ConfirmSink } from './confirm-window.js';
import type { ShovelDefinition } from './parameters.js';

/** What a shovel needs of the broker that runs it. */
export interface ShovelHost extends LocalAcceptor {
  /** The shovel moved what src-delete-after asked for: its parameter is to be cleared. */
  shovelCompleted(vhost: string, name: string): void;
}

/** amqplib's channel, with the two methods the forwarding path uses below its public API. */
interface RawChannel extends Channel {
  sendMessage(fields: PublishFields, properties: ConsumeMessage['properties'], content: Buffer): boolean;
  pushConfirmCallback(cb: undefined): void;
}

interface PublishFields {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
  ticket: number;
}

/** How long a stopping on-confirm shovel waits for the destination's outstanding confirms. */
const DRAIN_CONFIRMS_MS = 5000;
const CLOSE_TIMEOUT_MS = 3000;

/**
 * One dynamic shovel, as rabbit_shovel_worker with rabbit_amqp091_shovel: consumes from
 * the source (a queue, declared if missing, or an exchange through an exclusive queue)
 * and republishes to the destination, keeping every property. With on-confirm a message
 * is acked at the source only once the destination has confirmed it; with on-publish once
 * it is written; with no-ack the source forgets it on delivery. On any failure both
 * connections are closed and the shovel starts again after reconnect-delay.
 *
 * Per message: no closure, no allocation of ours unless forward or timestamp headers are
 * asked for; the publish fields object is reused, the message's own properties are
 * published as they came, and acks go back in `multiple` runs.
 */
export class Shovel extends SupervisedLink implements ConfirmSink {
  /** Messages moved: confirmed by the destination (on-confirm) or published (otherwise). */
  forwarded = 0;
  /** The URIs (without credentials) of the current connections, for status. */
  srcUri: string | null = null;
  destUri: string | null = null;
  private src: ChannelModel | null = null;
  private dest: ChannelModel | null = null;
  private srcCh: Channel | null = null;
  private destCh: RawChannel | null = null;
  private consumerTag: string | null = null;
  private readonly confirms = new ConfirmWindow();
  private nacked = 0;
  /** Messages still to move before the shovel deletes itself (Infinity: never). */
  remaining = Infinity;
  /** Messages still to publish; deliveries past it are left unacked (requeued later). */
  remainingUnacked = Infinity;
  private readonly fields: PublishFields = { exchange: '', routingKey: '', mandatory: false, immediate: false, ticket: 0 };
  private readonly ackRef = { fields: { deliveryTag: 0 } };
  /** on-publish: the highest delivery tag published and not yet acked. */
  private pendingAck = -1;
  private ackScheduled = false;
  private destBlocked = false;
  private readonly flushAcksBound = (): void => this.flushAcks();
  private readonly propKeys: string[];
  private readonly propValues: unknown[];
  /** The x-shovelled entry (built per connection, as it names the URIs) and its one-element list. */
  private shovelledEntry: Record<string, unknown> | null = null;
  private shovelledList: unknown[] | null = null;
  private confirmsDrained: (() => void) | null = null;
  private completing = false;

  constructor(
    readonly def: ShovelDefinition,
    private readonly host: ShovelHost,
    log: Logger,
  ) {
    super(def.reconnectDelay * 1000, log.child({ shovel: def.name, vhost: def.vhost }));
    this.propKeys = Object.keys(def.publishProperties);
    this.propValues = this.propKeys.map((k) => def.publishProperties[k]);
  }

  private connectionName(): string {
    return `Shovel ${this.def.name}`;
  }

  /** Tries the URIs in random order, as RabbitMQ does, until one connects. */
  private async connectAny(uris: string[], which: string): Promise<[ChannelModel, AmqpEndpoint]> {
    const left = [...uris];
    let last: unknown = null;
    while (left.length > 0) {
      const uri = left.splice(Math.floor(Math.random() * left.length), 1)[0]!;
      const ep = parseAmqpUri(uri);
      try {
        return [await openLinkConnection(ep, this.connectionName(), this.host, this.log), ep];
      } catch (err) {
        last = err;
        this.log.error({ uri: ep.display, err: errorText(err) }, `shovel failed to connect to its ${which}`);
      }
    }
    throw new Error(`could not connect to the ${which}: ${errorText(last)}`);
  }

  protected async setUp(gen: number): Promise<void> {
    const d = this.def;
    this.confirms.reset();
    this.nacked = 0;
    this.pendingAck = -1;
    this.destBlocked = false;
    this.consumerTag = null;
    const [src, srcEp] = await this.connectAny(d.srcUris, 'source');
    this.src = src;
    this.watch(src, gen, 'source connection');
    if (!this.current(gen)) return;
    const [dest, destEp] = await this.connectAny(d.destUris, 'destination');
    this.dest = dest;
    this.watch(dest, gen, 'destination connection');
    this.srcUri = srcEp.display;
    this.destUri = destEp.display;
    this.buildForwardHeaders();

    // init_dest: declare the destination queue, select confirms.
    if (d.destQueue !== null) await ensureQueue(dest, d.destQueue, d.destQueueArgs);
    const destCh = (d.ackMode === 'on-confirm' ? await dest.createConfirmChannel() : await dest.createChannel()) as RawChannel;
    this.destCh = destCh;
    this.watch(destCh, gen, 'destination channel');
    destCh.on('ack', (f: { deliveryTag: number; multiple: boolean }) => this.onConfirm(destCh, f.deliveryTag, f.multiple, false));
    destCh.on('nack', (f: { deliveryTag: number; multiple: boolean }) => this.onConfirm(destCh, f.deliveryTag, f.multiple, true));
    destCh.on('drain', () => this.onDestDrain());

    // init_source: declare, qos, how much to move, consume.
    let queue: string;
    if (d.srcQueue !== null) {
      await ensureQueue(src, d.srcQueue, d.srcQueueArgs);
      queue = d.srcQueue;
    }
    const srcCh = await src.createChannel();
    this.srcCh = srcCh;
    this.watch(srcCh, gen, 'source channel');
    if (d.srcQueue === null) {
      const ok = await srcCh.assertQueue('', { exclusive: true, durable: false, autoDelete: false });
      queue = ok.queue;
      await srcCh.bindQueue(queue, d.srcExchange!, d.srcExchangeKey);
    }
    if (d.ackMode !== 'no-ack') await srcCh.prefetch(d.prefetchCount);
    const remaining = d.deleteAfter === 'never' ? Infinity : d.deleteAfter === 'queue-length' ? (await srcCh.checkQueue(queue!)).messageCount : d.deleteAfter;
    this.remaining = remaining;
    this.remainingUnacked = remaining;
    if (remaining === 0) {
      // Nothing to move: done at once (RabbitMQ's {shutdown, autodelete} before consuming).
      this.completeSoon();
      return;
    }
    const ok = await srcCh.consume(
      queue!,
      (msg) => {
        if (msg === null) this.fail(gen, new Error('the source cancelled the shovel\'s consumer (was its queue deleted?)'));
        else this.forward(msg);
      },
      { noAck: d.ackMode === 'no-ack', arguments: d.srcConsumerArgs },
    );
    this.consumerTag = ok.consumerTag;
  }

  protected override onRunning(): void {
    this.log.info({ src: this.srcUri, dest: this.destUri, ackMode: this.def.ackMode }, 'shovel running');
  }

  private watch(emitter: ChannelModel | Channel, gen: number, what: string): void {
    emitter.on('error', (err: Error) => this.log.debug({ err: err.message, what }, 'shovel link error'));
    emitter.on('close', (err?: Error) => {
      const e = new Error(`${what} closed${err instanceof Error ? `: ${err.message}` : ''}`);
      // A connection's close (with its reason) comes right after its channels' (without one): let it tell.
      if (what.endsWith('channel')) setImmediate(() => this.fail(gen, e));
      else this.fail(gen, e);
    });
  }

  /** x-shovelled as RabbitMQ builds it: who shovelled, from where to where. */
  private buildForwardHeaders(): void {
    const d = this.def;
    if (!d.addForwardHeaders) return;
    const entry: Record<string, unknown> = {
      'shovelled-by': this.host.clusterName,
      'shovel-type': 'dynamic',
      'shovel-name': d.name,
      'shovel-vhost': d.vhost,
      'src-uri': this.srcUri,
      'dest-uri': this.destUri,
    };
    if (d.srcQueue !== null) entry['src-queue'] = d.srcQueue;
    else {
      entry['src-exchange'] = d.srcExchange;
      entry['src-exchange-key'] = d.srcExchangeKey;
    }
    if (d.destExchange !== null) entry['dest-exchange'] = d.destExchange;
    if (d.destExchangeKey !== null) entry['dest-exchange-key'] = d.destExchangeKey;
    if (d.destQueue !== null) entry['dest-queue'] = d.destQueue;
    this.shovelledEntry = entry;
    this.shovelledList = [entry];
  }

  /** One delivery from the source: republish it (the hot path). */
  private forward(msg: ConsumeMessage): void {
    const ch = this.destCh;
    if (ch === null || this.remainingUnacked === 0) return; // left unacked: requeued when the channel goes
    const d = this.def;
    const f = this.fields;
    const tag = msg.fields.deliveryTag;
    if (d.destQueue !== null) {
      f.exchange = '';
      f.routingKey = d.destQueue;
    } else {
      f.exchange = d.destExchange ?? msg.fields.exchange;
      f.routingKey = d.destExchangeKey ?? msg.fields.routingKey;
    }
    const props = msg.properties;
    const keys = this.propKeys;
    for (let i = 0; i < keys.length; i++) (props as unknown as Record<string, unknown>)[keys[i]!] = this.propValues[i];
    if (d.addForwardHeaders || d.addTimestampHeader) this.addHeaders(props);
    const written = ch.sendMessage(f, props, msg.content);
    if (d.ackMode === 'on-confirm') {
      ch.pushConfirmCallback(undefined);
      this.confirms.push(tag);
      if (this.remainingUnacked !== Infinity) this.remainingUnacked--;
      return;
    }
    if (this.remainingUnacked !== Infinity) this.remainingUnacked--;
    this.forwarded++;
    if (d.ackMode === 'on-publish') {
      this.pendingAck = tag;
      if (!written) this.destBlocked = true;
      if (!this.ackScheduled) {
        this.ackScheduled = true;
        setImmediate(this.flushAcksBound);
      }
    }
    this.decrRemaining(1);
  }

  private addHeaders(props: ConsumeMessage['properties']): void {
    const headers = (props.headers ??= {}) as Record<string, unknown>;
    if (this.shovelledList !== null) {
      const existing = headers['x-shovelled'];
      headers['x-shovelled'] = Array.isArray(existing) ? [this.shovelledEntry, ...existing] : this.shovelledList;
    }
    if (this.def.addTimestampHeader) headers['x-shovelled-timestamp'] = { '!': 'long', value: Math.floor(Date.now() / 1000) };
  }

  /** on-publish: one multiple ack per event-loop turn, held while the destination's buffer is full. */
  private flushAcks(): void {
    this.ackScheduled = false;
    if (this.pendingAck < 0 || this.destBlocked) return;
    this.ackSource(this.pendingAck);
    this.pendingAck = -1;
  }

  private onDestDrain(): void {
    if (!this.destBlocked) return;
    this.destBlocked = false;
    this.flushAcks();
  }

  /** A confirm from `ch` (a stopping shovel still takes those of its channel, to ack them at the source). */
  private onConfirm(ch: RawChannel, seq: number, multiple: boolean, nacked: boolean): void {
    if (ch !== this.destCh) return;
    this.confirms.mark(seq, multiple, nacked);
    const before = this.nacked;
    const resolved = this.confirms.drain(this);
    if (resolved === 0) return;
    this.forwarded += resolved - (this.nacked - before);
    if (this.confirmsDrained !== null && this.confirms.size === 0) this.confirmsDrained();
    this.decrRemaining(resolved);
  }

  ackSource(tag: number): void {
    const ch = this.srcCh;
    if (ch === null) return;
    this.ackRef.fields.deliveryTag = tag;
    try {
      ch.ack(this.ackRef as ConsumeMessage, true);
    } catch {
      // The channel is closing: what it held goes back to the source queue.
    }
  }

  nackSource(tag: number): void {
    this.nacked++;
    const ch = this.srcCh;
    if (ch === null) return;
    this.ackRef.fields.deliveryTag = tag;
    try {
      ch.nack(this.ackRef as ConsumeMessage, false, true);
    } catch {
      // As above.
    }
  }

  private decrRemaining(n: number): void {
    if (this.remaining === Infinity) return;
    this.remaining -= n;
    if (this.remaining <= 0) this.completeSoon();
  }

  /** src-delete-after reached: stop, and have the parameter cleared (RabbitMQ's autodelete). */
  private completeSoon(): void {
    if (this.completing) return;
    this.completing = true;
    this.log.info(`shutting down Shovel '${this.def.name}', no messages left to transfer`);
    setImmediate(() => {
      this.flushAcks();
      this.stop(true).then(
        () => this.host.shovelCompleted(this.def.vhost, this.def.name),
        () => this.host.shovelCompleted(this.def.vhost, this.def.name),
      );
    });
  }

  get completed(): boolean {
    return this.completing;
  }

  protected async tearDown(graceful: boolean): Promise<void> {
    const src = this.src;
    const dest = this.dest;
    const srcCh = this.srcCh;
    if (graceful && srcCh !== null) {
      // Stop new deliveries, let the destination confirm what it has, ack that at the source.
      if (this.consumerTag !== null) await settle(srcCh.cancel(this.consumerTag));
      if (this.confirms.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, DRAIN_CONFIRMS_MS);
          this.confirmsDrained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.confirmsDrained = null;
      }
      this.flushAcks();
      // amqplib sends a channel's frames through a buffer of its own and connection.close
      // straight to the socket, which could overtake the last publishes and acks: closing
      // the channels first (destination, then source) puts them on the wire in order.
      if (this.destCh !== null) await bounded(this.destCh.close());
      await bounded(srcCh.close());
    }
    this.src = this.dest = null;
    this.srcCh = null;
    this.destCh = null;
    this.consumerTag = null;
    await Promise.all([closeQuietly(src), closeQuietly(dest)]);
  }
}

/** rabbit_shovel_parameters:ensure_queue: a passive declare, and a durable declare with the args if it is missing. */
async function ensureQueue(conn: ChannelModel, queue: string, args: Record<string, unknown>): Promise<void> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    await ch.checkQueue(queue);
    await settle(ch.close());
    return;
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
  const ch2 = await conn.createChannel();
  ch2.on('error', () => {});
  await ch2.assertQueue(queue, { durable: true, arguments: args });
  await settle(ch2.close());
}

async function settle(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // Already closed.
  }
}

/** Waits for `p` (settled either way) for at most CLOSE_TIMEOUT_MS. */
async function bounded(p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  await Promise.race([settle(p), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_TIMEOUT_MS)))]);
  if (timer !== null) clearTimeout(timer);
}

async function closeQuietly(c: ChannelModel | null): Promise<void> {
  if (c === null) return;
  await bounded(c.close());
  // A connection that did not answer its close in time is dropped.
  (c.connection as unknown as { stream?: { destroy(): void } }).stream?.destroy();
}
