import { ChannelError, ConnectionError } from '../../amqp/errors.js';
import { CLASS, M } from '../../amqp/generated/constants.js';
import { readProperties, writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import type { BasicPublish, Method } from '../../amqp/generated/methods.js';
import { Reader } from '../../amqp/reader.js';
import { Writer } from '../../amqp/writer.js';
import { publishExchange, publishRoutingKeys } from '../../routing/publish.js';
import { hasBcc, stripBcc } from '../../routing/sender-selected.js';
import { ACK, DISCARD, REQUEUE, type AckAction } from './ack-actions.js';
import type { Channel } from './channel.js';
import { REPLY_TO, REPLY_TO_PREFIX } from '../vhost/direct-reply-to.js';
import { Message, type QueueEntry } from '../queue/message.js';
import type { DurableWaiter } from '../store/message-store.js';
import { parseExpiration } from '../queue/queue-args.js';
import type { Queue } from '../queue/queue.js';
import { RingBuffer } from '../queue/ring-buffer.js';
import { WRITE } from '../access/authz.js';
import type { BodyLease } from '../queue/body-pool.js';

const MODE_NONE = 0;
const MODE_CONFIRM = 1;
const MODE_TX = 2;
/** In the waiting list: a publish some queue refused, to nack in its turn. */
const REFUSED = -2;

interface TxPublish {
  msg: Message;
  queues: Queue[];
  mandatory: boolean;
}

interface TxAck {
  entry: QueueEntry;
  action: AckAction;
}

const reader = new Reader();
const propsWriter = new Writer(1024);

/** The publishing side of a channel: routing, mandatory returns, confirms and transactions. */
export class Publisher implements DurableWaiter {
  private mode = MODE_NONE;
  private publishSeq = 0;
  /** Highest sequence number confirmed to the client, and the highest ready to confirm. */
  private confirmedUpTo = 0;
  private confirmUpTo = 0;
  /** Sequence numbers to nack at the next flush, ascending. */
  private readonly nacks: number[] = [];
  private txPublishes: TxPublish[] = [];
  private txAcks: TxAck[] = [];
  private readonly routed = new Set<Queue>();
  /** Confirms waiting for the store, in publish order: (seq, store id or REFUSED or -1) pairs. */
  private readonly waiting = new RingBuffer<number>();
  /** Store id the last tx.commit waits for before commit-ok; -1 when none. */
  private commitWaitsFor = -1;

  constructor(private readonly ch: Channel) {}

  /** For the management plane: confirm mode, tx mode and what is pending in each. */
  get confirmMode(): boolean {
    return this.mode === MODE_CONFIRM;
  }

  get transactional(): boolean {
    return this.mode === MODE_TX;
  }

  get unconfirmed(): number {
    return this.mode === MODE_CONFIRM ? this.publishSeq - this.confirmedUpTo : 0;
  }

  get uncommittedPublishes(): number {
    return this.txPublishes.length;
  }

  get uncommittedAcks(): number {
    return this.txAcks.length;
  }

  handleMode(m: Method): void {
    const ch = this.ch;
    switch (m.id) {
      case M.ConfirmSelect:
        if (this.mode === MODE_TX) throw new ChannelError(406, 'cannot switch from tx to confirm mode');
        this.mode = MODE_CONFIRM;
        if (!m.nowait) ch.reply({ id: M.ConfirmSelectOk });
        return;
      case M.TxSelect:
        if (this.mode === MODE_CONFIRM) throw new ChannelError(406, 'cannot switch from confirm to tx mode');
        this.mode = MODE_TX;
        ch.reply({ id: M.TxSelectOk });
        return;
      case M.TxCommit:
        if (this.mode !== MODE_TX) throw new ChannelError(406, 'channel is not transactional');
        this.commit();
        // Persistent messages committed to durable queues are on disk before commit-ok.
        if (this.commitWaitsFor < 0) ch.reply({ id: M.TxCommitOk });
        return;
      case M.TxRollback:
        if (this.mode !== MODE_TX) throw new ChannelError(406, 'channel is not transactional');
        this.rollback();
        ch.reply({ id: M.TxRollbackOk });
        return;
    }
  }

  publish(p: BasicPublish, props: Buffer, body: Buffer, lease: BodyLease | null = null): void {
    if (p.immediate) throw new ConnectionError(540, 'immediate=true', CLASS.basic, 40);
    const session = this.ch.session;
    session.publishReceived();
    const vhost = session.vhost;
    const authz = this.ch.authz;
    // RabbitMQ's order: write permission, the exchange, internal, topic permission.
    authz.publish(p.exchange);
    const x = publishExchange(vhost.exchanges.get(p.exchange), p.exchange, vhost.name);
    if (x.type === 'topic') authz.topic(p.exchange, p.routingKey, WRITE);
    const counters = this.ch.counters;
    counters.publish++;
    if (this.mode === MODE_CONFIRM) counters.publishConfirm++;
    x.publishIn++;
    const properties = readProperties(reader.reset(props, 0, props.length));
    let rewritten = false;
    if (properties.replyTo === REPLY_TO) {
      // The requester asks for replies on its reply consumer: give them its address.
      const rc = this.ch.replyConsumer;
      if (rc === null) throw new ChannelError(406, 'fast reply consumer does not exist');
      properties.replyTo = rc.address;
      rewritten = true;
    }
    if (properties.userId !== undefined && properties.userId !== session.user && !authz.impersonator) {
      throw new ChannelError(406, `user_id property set to '${properties.userId}' but authenticated user was '${session.user}'`);
    }
    const ttl = properties.expiration === undefined ? -1 : parseExpiration(properties.expiration);
    const headers = properties.headers;
    const keys = publishRoutingKeys(p.routingKey, headers);
    let msg: Message;
    if (headers !== undefined && hasBcc(headers)) {
      // BCC routes but is never delivered.
      const clean: BasicProperties = { ...properties, headers: stripBcc(headers) };
      msg = new Message(p.exchange, p.routingKey, encodeProps(clean), clean, body, keys, ttl);
    } else {
      msg = new Message(p.exchange, p.routingKey, rewritten ? encodeProps(properties) : props, properties, body, keys, ttl);
    }
    const routed = this.routed;
    routed.clear();
    if (p.exchange === '' && p.routingKey.startsWith(REPLY_TO_PREFIX)) {
      this.publishReply(msg, p.mandatory);
      return;
    }
    vhost.router.route(x, keys, headers, routed);
    if (routed.size > 0) {
      counters.routed++;
      x.publishOut++;
    } else if (p.mandatory) {
      counters.returnUnroutable++;
    } else {
      counters.dropUnroutable++;
    }
    if (this.mode === MODE_TX) {
      this.txPublishes.push({ msg, queues: [...routed], mandatory: p.mandatory });
      return;
    }
    let refused = false;
    if (routed.size === 0) {
      if (p.mandatory) this.ch.sendReturn(msg, 312, 'NO_ROUTE');
    } else {
      if (lease !== null && routed.size === 1) lend(msg, lease, routed);
      refused = vhost.enqueue(msg, routed);
      // Stored (its record written from the body) or refused: holders the lease cannot count.
      if (msg.lease !== null && (refused || msg.storeId >= 0)) msg.lease.dead = true;
      // The disk is behind: stop reading this publisher until it catches up.
      if (msg.storeId >= 0 && vhost.store!.congested) vhost.store!.throttle(session);
    }
    // Only a message stored to survive a restart waits for the disk; one may be stored just to page it out.
    this.confirm(refused, msg.durable ? msg.storeId : -1);
  }

  /**
   * A reply to a direct reply-to requester: straight to its channel, or dropped if it has
   * gone. The address is not a queue, so a mandatory reply is also returned, as RabbitMQ does.
   */
  private publishReply(msg: Message, mandatory: boolean): void {
    const rc = this.ch.session.vhost.replies.lookup(msg.routingKey);
    if (rc !== undefined && rc.channel.open) rc.deliver(msg);
    if (mandatory) this.ch.sendReturn(msg, 312, 'NO_ROUTE');
    this.confirm(false, -1);
  }

  /**
   * Confirms go out in publish order. A stored message (storeId ≥ 0) waits until the store
   * reports it durable, and so does every later publish behind it.
   */
  private confirm(refused: boolean, storeId: number): void {
    if (this.mode !== MODE_CONFIRM) return;
    const seq = ++this.publishSeq;
    if (storeId < 0 && this.waiting.length === 0) {
      // A queue that refused it (overflow reject-publish) makes it a nack; the others keep it.
      if (refused) this.nacks.push(seq);
      this.confirmUpTo = seq;
      this.ch.requestOutput();
      return;
    }
    if (this.waiting.length === 0) this.ch.session.vhost.store!.waitFor(this);
    this.waiting.push(seq);
    this.waiting.push(refused ? REFUSED : storeId);
  }

  /** DurableWaiter: the store made every record up to `upTo` durable. */
  durable(upTo: number): boolean {
    return this.advance(upTo, -1, -1);
  }

  /** DurableWaiter: records from..to were not stored: their publishes are nacked. */
  failed(from: number, to: number): boolean {
    return this.advance(-1, from, to);
  }

  private advance(upTo: number, failFrom: number, failTo: number): boolean {
    if (!this.ch.open) {
      this.waiting.clear();
      this.commitWaitsFor = -1;
      return false;
    }
    if (this.commitWaitsFor >= 0) return this.commitDurable(upTo, failTo);
    const w = this.waiting;
    const before = this.confirmUpTo;
    while (w.length > 0) {
      const id = w.at(1)!;
      const failed = id >= 0 && id >= failFrom && id <= failTo;
      if (id > upTo && !failed) break;
      const seq = w.shift()!;
      w.shift();
      if (failed || id === REFUSED) this.nacks.push(seq);
      this.confirmUpTo = seq;
    }
    if (this.confirmUpTo !== before) this.ch.requestOutput();
    return w.length > 0;
  }

  private commitDurable(upTo: number, failTo: number): boolean {
    const id = this.commitWaitsFor;
    if (failTo >= id) {
      this.commitWaitsFor = -1;
      // What was committed is not on disk: say so rather than claim it is.
      this.ch.fail(new ChannelError(541, 'message store write failed; the transaction was not made durable', CLASS.tx, 20));
      this.ch.session.scheduleFlush();
      return false;
    }
    if (upTo < id) return true;
    this.commitWaitsFor = -1;
    this.ch.reply({ id: M.TxCommitOk });
    return false;
  }

  /**
   * Writes the confirms collected this turn: runs of acks as one multiple ack each,
   * nacks one by one, in sequence order.
   */
  flushConfirms(): void {
    if (this.confirmUpTo <= this.confirmedUpTo || !this.ch.open) return;
    let from = this.confirmedUpTo;
    this.ch.counters.confirm += this.confirmUpTo - from - this.nacks.length;
    for (const n of this.nacks) {
      if (n - 1 > from) this.ch.sendConfirm(n - 1, n - 1 - from > 1, true);
      this.ch.sendConfirm(n, false, false);
      from = n;
    }
    this.nacks.length = 0;
    if (this.confirmUpTo > from) this.ch.sendConfirm(this.confirmUpTo, this.confirmUpTo - from > 1, true);
    this.confirmedUpTo = this.confirmUpTo;
  }

  /** basic.ack / nack / reject from the client. */
  ackFromClient(tag: number, multiple: boolean, action: AckAction): void {
    const unacked = this.ch.unacked;
    let entries: QueueEntry[];
    if (multiple && tag === 0) {
      entries = unacked.toArray();
    } else {
      const one = unacked.get(tag);
      if (one === undefined) throw new ChannelError(406, `unknown delivery tag ${tag}`);
      if (!multiple) {
        if (action !== ACK) one.queue.checkReject();
        this.settle(one, action);
        if (this.mode !== MODE_TX) settled(one.queue, action, this.ch);
        return;
      }
      entries = [];
      unacked.collectUpTo(tag, entries);
    }
    if (action !== ACK) for (const e of entries) e.queue.checkReject();
    for (const e of entries) this.settle(e, action);
    if (this.mode !== MODE_TX) settledAll(entries, action, this.ch);
  }

  private settle(e: QueueEntry, action: AckAction): void {
    if (this.mode === MODE_TX) {
      // Held until commit; the entry stays counted against prefetch meanwhile, as in RabbitMQ.
      this.ch.unacked.delete(e.deliveryTag);
      this.txAcks.push({ entry: e, action });
      return;
    }
    apply(this.ch, e, action);
  }

  private commit(): void {
    const pubs = this.txPublishes;
    const acks = this.txAcks;
    this.txPublishes = [];
    this.txAcks = [];
    for (const { entry, action } of acks) apply(this.ch, entry, action);
    settledAll(
      acks.filter((a) => a.action === REQUEUE).map((a) => a.entry),
      REQUEUE,
    );
    settledAll(
      acks.filter((a) => a.action !== REQUEUE).map((a) => a.entry),
      ACK,
      this.ch,
    );
    const vhost = this.ch.session.vhost;
    let stored = -1;
    for (const { msg, queues, mandatory } of pubs) {
      const live = queues.filter((q) => !q.deleted);
      if (live.length > 0) vhost.enqueue(msg, live);
      else if (mandatory) this.ch.sendReturn(msg, 312, 'NO_ROUTE');
      if (msg.durable && msg.storeId > stored) stored = msg.storeId;
    }
    if (stored >= 0 && vhost.store!.durableId < stored) {
      this.commitWaitsFor = stored;
      vhost.store!.waitFor(this);
    }
  }

  private rollback(): void {
    this.txPublishes = [];
    this.restoreTxAcks();
  }

  /** Acks taken in an open transaction go back to unacked, in tag order. */
  private restoreTxAcks(): void {
    if (this.txAcks.length === 0) return;
    const unacked = this.ch.unacked;
    const all = [...unacked.toArray(), ...this.txAcks.map((a) => a.entry)].sort((a, b) => a.deliveryTag - b.deliveryTag);
    unacked.clear();
    for (const e of all) unacked.push(e.deliveryTag, e);
    this.txAcks = [];
  }

  teardown(): void {
    this.txPublishes = [];
    this.restoreTxAcks();
  }
}

function apply(ch: Channel, e: QueueEntry, action: AckAction): void {
  ch.release(e);
  if (action === REQUEUE) e.queue.requeue(e);
  else if (action === DISCARD) e.queue.reject(e);
  else {
    ch.counters.ack++;
    e.queue.counters.ack++;
    e.queue.settle(e);
    // The queue let go of the message.
    e.msg.lease?.release();
  }
}

/**
 * A batch of acks, rejects or requeues is done: each queue it touched applies its
 * limits (after requeues) and delivers at once, before the next method is read, so
 * that an ack or requeue followed by basic.cancel sees the delivery first.
 */
export function settledAll(entries: readonly QueueEntry[], action: AckAction, ch?: Channel): void {
  if (entries.length === 0) return;
  if (entries.length === 1 || (action !== REQUEUE && ch?.roomIsShared === true) || oneQueue(entries)) return settled(entries[0]!.queue, action, ch);
  const queues = new Set<Queue>();
  for (const e of entries) queues.add(e.queue);
  for (const q of queues) settled(q, action, ch);
}

/** Whether every entry is from the same queue (the usual batch): no set to build. */
function oneQueue(entries: readonly QueueEntry[]): boolean {
  const q = entries[0]!.queue;
  for (let i = 1; i < entries.length; i++) if (entries[i]!.queue !== q) return false;
  return true;
}

function settled(q: Queue, action: AckAction, ch?: Channel): void {
  if (action === REQUEUE) q.requeued();
  // Under a channel-wide limit the freed room is the channel's, not the acked queue's.
  else if (ch?.roomIsShared === true) ch.dispatchInTurn();
  else q.dispatchNow();
}

/**
 * Lets a pooled body's buffer come back once its message is done, when its only holders are
 * ones the lease counts: one classic queue (its hold is released by a no-ack delivery or the
 * ack) and the socket writes of its deliveries. Dead-lettering would copy the message, so a
 * queue that can dead-letter is left out (and so is everything routed to several queues).
 * Set before the enqueue, which may deliver at once.
 */
function lend(msg: Message, lease: BodyLease, routed: ReadonlySet<Queue>): void {
  const q = routed.values().next().value as Queue;
  if (q.type !== 'classic' || q.settings.deadLetterExchange !== null) return;
  lease.holds = 1;
  msg.lease = lease;
}

function encodeProps(p: BasicProperties): Buffer {
  writeProperties(propsWriter, p);
  return propsWriter.take();
}
