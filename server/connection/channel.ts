import { AmqpError, ChannelError, ConnectionError } from '../../amqp/errors.js';
import { endFrame, beginMethod, writeBasicDeliver, writeContent } from '../../amqp/frame-writer.js';
import { CLASS, M, METHOD_NAME } from '../../amqp/generated/constants.js';
import {
  encodeBasicAck,
  encodeBasicCancel,
  encodeBasicGetOk,
  encodeBasicNack,
  encodeBasicReturn,
  type BasicPublish,
  type Method,
} from '../../amqp/generated/methods.js';
import type { FieldTable } from '../../amqp/table.js';
import { CrashError, validateConsumeArgs } from '../queue/arg-validation.js';
import { ContentAssembler } from './content-assembler.js';
import { Consumer, type ConsumerChannel } from '../queue/consumer.js';
import { withDeliveryCount, type Message, type QueueEntry } from '../queue/message.js';
import type { Queue } from '../queue/queue.js';
import { REPLY_TO, type ReplyConsumer } from '../vhost/direct-reply-to.js';
import { ACK, DISCARD, REQUEUE } from './ack-actions.js';
import { Publisher, settledAll } from './publisher.js';
import { generateName } from './naming.js';
import { MessageCounters } from '../ops/stats.js';
import type { Session } from './session.js';
import { handleTopologyMethod } from './topology-methods.js';
import { ChannelAuthz } from '../access/authz.js';
import { UnackedDeliveries } from './unacked-deliveries.js';
import type { BodyLease } from '../queue/body-pool.js';
import { turnNow } from '../ops/scheduler.js';

const enum State {
  Open,
  /** We sent channel.close and drop everything until close-ok. */
  Closing,
  Closed,
}

/** One AMQP channel: consumers, unacked deliveries, qos, and (through Publisher) publishes. */
export class Channel implements ConsumerChannel {
  state = State.Open;
  /** Queue name that '' stands for in queue methods: the last one declared on this channel. */
  lastQueue: string | null = null;
  readonly consumers = new Map<string, Consumer>();
  /** This channel's direct reply-to consumer, if it has one. */
  replyConsumer: ReplyConsumer | null = null;
  /** Unacked deliveries, in tag order. */
  readonly unacked = new UnackedDeliveries();
  private deliveryTag = 0;
  private readonly pendingCancels: string[] = [];
  /** Set once the channel has let go of its consumers and deliveries. */
  private tornDown = false;
  private pendingOutput = false;
  /** Unacked deliveries to consumers the global prefetch limits (basic.get ones do not count). */
  private consumerUnacked = 0;
  /** Prefetch for consumers created from now on (basic.qos global=false). */
  private consumerPrefetch = 0;
  /** Channel-wide prefetch (basic.qos global=true). */
  private globalPrefetch = 0;
  /** The queues this channel's consumers consume from (null: to be worked out again), and whose turn is next. */
  private consumedQueues: Queue[] | null = null;
  private queueTurn = 0;
  readonly assembler: ContentAssembler;
  readonly publisher: Publisher;
  /** This channel's permission checks, cached. */
  readonly authz: ChannelAuthz;
  /** message_stats for the management plane. */
  readonly counters = new MessageCounters();

  constructor(
    readonly id: number,
    readonly session: Session,
  ) {
    this.assembler = new ContentAssembler(this, session.maxMessageSize);
    this.publisher = new Publisher(this);
    this.authz = new ChannelAuthz(session.access, session.account, session.vhost.name);
  }

  get open(): boolean {
    return this.state === State.Open;
  }

  /** Frames for this channel, after the connection has checked the channel exists. */
  onFrame(type: number, buf: Buffer, start: number, end: number): void {
    if (this.state !== State.Open) {
      this.onFrameWhileClosing(type, buf, start, end);
      return;
    }
    try {
      // Frame-order errors from the assembler are the connection's (505) and keep their own ids.
      const m = this.assembler.onFrame(type, buf, start, end);
      if (m !== null) this.runMethod(m);
    } catch (err) {
      if (err instanceof ChannelError) this.fail(err);
      else throw err;
    }
  }

  private runMethod(m: Method): void {
    this.currentMethod = m.id;
    try {
      this.handleMethod(m);
    } catch (err) {
      // Errors name the method that failed, as RabbitMQ's close frames do.
      throw withMethod(err, m.id);
    }
  }

  /** Called by the assembler when a publish is complete. */
  onContent(p: BasicPublish, props: Buffer, body: Buffer, lease: BodyLease | null): void {
    // While closing, the assembler still follows content so frame order is checked, but drops it.
    if (this.state !== State.Open) return;
    try {
      this.publisher.publish(p, props, body, lease);
    } catch (err) {
      throw withMethod(err, M.BasicPublish);
    }
  }

  /**
   * After a channel error, until close-ok: methods are dropped, content is still assembled
   * (and checked, as RabbitMQ's reader does), channel.close is answered and a second
   * channel.open is an error.
   */
  private onFrameWhileClosing(type: number, buf: Buffer, start: number, end: number): void {
    if (this.state === State.Closed) return;
    const m = this.assembler.onFrame(type, buf, start, end);
    if (m === null) return;
    switch (m.id) {
      case M.ChannelCloseOk:
        this.state = State.Closed;
        this.session.channelClosed(this);
        return;
      case M.ChannelClose:
        // Both sides closed at once: answer, and still wait for the close-ok to ours.
        this.session.sendMethod(this.id, { id: M.ChannelCloseOk });
        return;
      case M.ChannelOpen:
        throw new ConnectionError(504, "second 'channel.open' seen", CLASS.channel, 10);
      case M.BasicPublish:
        this.assembler.expectContent(m);
        return;
      default:
        return;
    }
  }

  /** A soft error: close the channel with its code and text, then wait for close-ok. */
  fail(err: ChannelError): void {
    const { classId, methodId } = err;
    // RabbitMQ logs every channel error, at error level.
    const method = (classId << 16) | methodId;
    this.session.log.error({ channel: this.id, code: err.replyCode, text: err.replyText, method: METHOD_NAME[method] ?? method }, 'channel error');
    this.teardown();
    this.state = State.Closing;
    this.assembler.reset();
    this.session.sendMethod(this.id, {
      id: M.ChannelClose,
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId,
      methodId,
    });
  }

  /** The method being handled, as (classId << 16) | methodId, for error replies. */
  currentMethod = 0;

  private handleMethod(m: Method): void {
    this.currentMethod = m.id;
    switch (m.id) {
      case M.BasicPublish:
        // Content follows; the assembler calls onContent when the body is complete.
        this.assembler.expectContent(m);
        return;
      case M.BasicAck:
        this.publisher.ackFromClient(m.deliveryTag, m.multiple, ACK);
        return;
      case M.BasicNack:
        this.publisher.ackFromClient(m.deliveryTag, m.multiple, m.requeue ? REQUEUE : DISCARD);
        return;
      case M.BasicReject:
        this.publisher.ackFromClient(m.deliveryTag, false, m.requeue ? REQUEUE : DISCARD);
        return;
      case M.BasicQos:
        return this.qos(m.prefetchSize, m.prefetchCount, m.global);
      case M.BasicConsume:
        return this.consume(m.queue, m.consumerTag, m.noAck, m.exclusive, m.nowait, m.arguments);
      case M.BasicCancel:
        return this.cancel(m.consumerTag, m.nowait);
      case M.BasicGet:
        return this.get(m.queue, m.noAck);
      case M.BasicRecover:
      case M.BasicRecoverAsync:
        if (!m.requeue) throw new ConnectionError(540, 'requeue=false');
        // RabbitMQ answers recover-ok before the redeliveries arrive.
        if (m.id === M.BasicRecover) this.reply({ id: M.BasicRecoverOk });
        this.requeueAll(false);
        return;
      case M.ChannelClose:
        this.teardown();
        this.state = State.Closed;
        this.reply({ id: M.ChannelCloseOk });
        this.session.channelClosed(this);
        return;
      case M.ChannelCloseOk:
        return; // stray close-ok for a close we did not send: ignore, as RabbitMQ does
      case M.ChannelFlow:
        // RabbitMQ 3.x does not let a client stop deliveries with channel.flow.
        if (!m.active) throw new ConnectionError(540, 'active=false', CLASS.channel, 20);
        this.reply({ id: M.ChannelFlowOk, active: true });
        return;
      case M.ChannelOpen:
        throw new ConnectionError(504, "second 'channel.open' seen", CLASS.channel, 10);
      case M.ConfirmSelect:
      case M.TxSelect:
      case M.TxCommit:
      case M.TxRollback:
        return this.publisher.handleMode(m);
      case M.AccessRequest:
        return this.reply({ id: M.AccessRequestOk });
      default:
        if (handleTopologyMethod(this, m)) return;
        throw new ConnectionError(540, `method ${methodName(m.id)} not implemented`, m.id >>> 16, m.id & 0xffff);
    }
  }

  reply(m: Method): void {
    this.session.sendMethod(this.id, m);
  }

  /** Expands '' to the channel's last declared queue, as RabbitMQ does. */
  queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === null) throw new ChannelError(404, 'no previously declared queue');
    return this.lastQueue;
  }

  private qos(size: number, count: number, global: boolean): void {
    if (size !== 0) throw new ConnectionError(540, `prefetch_size!=0 (${size})`);
    if (global) {
      this.globalPrefetch = count;
      this.scheduleConsumerQueues();
    } else {
      this.consumerPrefetch = count;
    }
    this.reply({ id: M.BasicQosOk });
  }

  private consume(queueName: string, tag: string, noAck: boolean, exclusive: boolean, nowait: boolean, args: FieldTable): void {
    if (tag === '') tag = generateName('amq.ctag');
    else if (this.consumers.has(tag) || this.replyConsumer?.tag === tag) {
      throw new ConnectionError(530, `attempt to reuse consumer tag '${tag}'`);
    }
    if (queueName === REPLY_TO) {
      this.replyConsumer = this.session.vhost.replies.register(this, tag, noAck);
      if (!nowait) this.reply({ id: M.BasicConsumeOk, consumerTag: tag });
      return;
    }
    const name = this.queueName(queueName);
    this.authz.read('queue', name);
    const q = this.session.vhost.queueOrDie(name, this.session);
    const priority = validateConsumeArgs(q.type, args, q.resource);
    q.checkConsume(exclusive, this.globalPrefetch, this.consumerPrefetch, noAck, args);
    const c = new Consumer(tag, this, q, noAck, exclusive, priority, q.consumerPrefetch(this.consumerPrefetch), args);
    this.consumers.set(tag, c);
    this.consumedQueues = null;
    if (!nowait) this.reply({ id: M.BasicConsumeOk, consumerTag: tag });
    q.addConsumer(c);
  }

  private cancel(tag: string, nowait: boolean): void {
    const c = this.consumers.get(tag);
    if (c !== undefined) {
      this.consumers.delete(tag);
      this.consumedQueues = null;
      c.queue.removeConsumer(c);
    } else if (this.replyConsumer !== null && this.replyConsumer.tag === tag) {
      this.dropReplyConsumer();
    }
    if (!nowait) this.reply({ id: M.BasicCancelOk, consumerTag: tag });
  }

  private get(queueName: string, noAck: boolean): void {
    const name = this.queueName(queueName);
    this.authz.read('queue', name);
    const q = this.session.vhost.queueOrDie(name, this.session);
    q.checkGet();
    const entry = q.fetch();
    if (entry === undefined) {
      this.counters.getEmpty++;
      q.counters.getEmpty++;
      this.reply({ id: M.BasicGetEmpty, clusterId: '' });
      return;
    }
    countDelivery(this.counters, q.counters, entry.redelivered, noAck, true);
    const msg = entry.msg;
    // Content first: tracking a no-ack delivery releases the stored copy.
    const { props, body } = msg.content();
    const w = this.session.writer;
    const at = beginMethod(w, this.id);
    encodeBasicGetOk(w, this.peekDeliveryTag(), entry.redelivered, msg.exchange, msg.routingKey, q.messageCount);
    endFrame(w, at);
    writeContent(w, this.id, CLASS.basic, q.getProps(entry, props), body, this.session.frameMax);
    if (msg.lease !== null) this.session.bodyWritten(msg.lease);
    this.track(entry, null, noAck);
    this.session.scheduleFlush();
  }

  canDeliver(c: Consumer): boolean {
    if (this.state !== State.Open || this.tornDown || !this.session.writable) return false;
    // A used-up channel-wide limit stops every consumer of the channel, no-ack ones too, as
    // RabbitMQ's limiter does (their deliveries just do not count against it). Quorum queues'
    // consumers have credit only and never meet it.
    if (this.globalPrefetch !== 0 && c.queue.globalQos && this.consumerUnacked >= this.globalPrefetch) return false;
    return c.noAck || c.prefetch === 0 || c.unacked < c.prefetch;
  }

  deliver(c: Consumer, entry: QueueEntry): void {
    const msg = entry.msg;
    countDelivery(this.counters, entry.queue.counters, entry.redelivered, c.noAck, false);
    // Content first: tracking a no-ack delivery releases the stored copy.
    const { props, body } = msg.content();
    const w = this.session.writer;
    writeBasicDeliver(w, this.id, c.tagBytes, this.peekDeliveryTag(), entry.redelivered, msg.exchangeAndKey);
    // Only a quorum queue counts deliveries; it adds the count once the message came back.
    const p = entry.deliveryCount > 0 ? withDeliveryCount(props, entry.deliveryCount) : props;
    writeContent(w, this.id, CLASS.basic, p, body, this.session.frameMax);
    // The socket write holds a pooled body until it completes (before the queue lets go below).
    if (msg.lease !== null) this.session.bodyWritten(msg.lease);
    this.track(entry, c, c.noAck);
    this.session.scheduleFlush();
  }

  /** basic.qos prefetch for new consumers, and the channel-wide one. */
  get prefetchCount(): number {
    return this.consumerPrefetch;
  }

  get globalPrefetchCount(): number {
    return this.globalPrefetch;
  }

  /** The tag the next tracked delivery will get. */
  peekDeliveryTag(): number {
    return this.deliveryTag + 1;
  }

  private dropReplyConsumer(): void {
    if (this.replyConsumer === null) return;
    this.session.vhost.replies.unregister(this.replyConsumer);
    this.replyConsumer = null;
  }

  /** Assigns the next delivery tag and, unless no-ack, holds the entry until it is settled. */
  private track(entry: QueueEntry, c: Consumer | null, noAck: boolean): number {
    const tag = ++this.deliveryTag;
    if (!noAck) {
      entry.deliveryTag = tag;
      entry.consumer = c;
    }
    entry.queue.delivered(entry, noAck);
    // A no-ack delivery is the queue letting go of the message.
    if (noAck && entry.msg.lease !== null) entry.msg.lease.release();
    if (!noAck) {
      entry.deliveredAt = turnNow();
      if (c !== null) {
        c.unacked++;
        if (c.queue.globalQos) this.consumerUnacked++;
      }
      this.unacked.push(tag, entry);
    }
    return tag;
  }

  /** Removes an entry from the unacked set (it was acked, rejected or requeued). */
  release(entry: QueueEntry): void {
    this.unacked.delete(entry.deliveryTag);
    const c = entry.consumer;
    if (c === null) return;
    c.unacked--;
    if (c.queue.globalQos) this.consumerUnacked--;
    if (this.globalPrefetch !== 0) this.scheduleConsumerQueues();
    else c.queue.creditReturned(c);
  }

  cancelledByQueue(c: Consumer): void {
    if (this.consumers.get(c.tag) !== c) return;
    this.consumers.delete(c.tag);
    this.consumedQueues = null;
    if (this.state !== State.Open || !this.session.capabilities.consumerCancelNotify) return;
    // Sent at the end of the turn, so that a queue.delete-ok on this channel comes first.
    this.pendingCancels.push(c.tag);
    this.requestOutput();
  }

  /** Asks for writePending() at the end of this turn; once per turn, however often it is asked. */
  requestOutput(): void {
    if (this.pendingOutput) return;
    this.pendingOutput = true;
    this.session.outputPending(this);
  }

  /** End-of-turn output: publisher confirms, then consumer cancel notifications. */
  writePending(): void {
    this.pendingOutput = false;
    this.publisher.flushConfirms();
    const tags = this.pendingCancels;
    if (tags.length === 0 || this.state !== State.Open) {
      tags.length = 0;
      return;
    }
    const w = this.session.writer;
    for (const tag of tags) {
      const at = beginMethod(w, this.id);
      encodeBasicCancel(w, tag, true);
      endFrame(w, at);
    }
    tags.length = 0;
  }

  sendReturn(msg: Message, replyCode: number, replyText: string): void {
    const w = this.session.writer;
    const at = beginMethod(w, this.id);
    encodeBasicReturn(w, replyCode, replyText, msg.exchange, msg.routingKey);
    endFrame(w, at);
    const { props, body } = msg.content();
    writeContent(w, this.id, CLASS.basic, props, body, this.session.frameMax);
    this.session.scheduleFlush();
  }

  sendConfirm(tag: number, multiple: boolean, ack: boolean): void {
    const w = this.session.writer;
    const at = beginMethod(w, this.id);
    if (ack) encodeBasicAck(w, tag, multiple);
    else encodeBasicNack(w, tag, multiple, false);
    endFrame(w, at);
    this.session.scheduleFlush();
  }

  /**
   * Puts every unacked delivery back in its queue, oldest first: basic.recover, or (`down`)
   * the channel going away.
   */
  requeueAll(down: boolean): void {
    const entries = this.unacked.toArray();
    for (const e of entries) {
      this.release(e);
      e.queue.requeue(e, down);
    }
    settledAll(entries, REQUEUE);
  }

  /**
   * The channel can take deliveries again (a slot under the channel-wide limit, a qos change,
   * a drained socket): its consumers rejoin every queue they consume from, without one of
   * them (the first created) jumping ahead each time, and each queue is asked to dispatch.
   */
  private scheduleConsumerQueues(): void {
    const queues = (this.consumedQueues ??= this.queuesConsumed());
    const n = queues.length;
    const first = n === 0 ? 0 : this.queueTurn % n;
    for (let i = 0; i < n; i++) queues[(first + i) % n]!.channelUnblocked(this);
  }

  /** Whether a freed slot belongs to the whole channel (basic.qos global=true) rather than to one consumer. */
  get roomIsShared(): boolean {
    return this.globalPrefetch !== 0;
  }

  /**
   * An ack freed room under the channel-wide limit: the queues this channel consumes from
   * deliver now, starting with a different one each time, so that the queue just acked does
   * not take every freed slot. (RabbitMQ's limiter starts at a random queue; Warren goes round.)
   */
  dispatchInTurn(): void {
    const queues = (this.consumedQueues ??= this.queuesConsumed());
    const n = queues.length;
    if (n === 0) return;
    const first = this.queueTurn++ % n;
    for (let i = 0; i < n; i++) queues[(first + i) % n]!.dispatchNow();
  }

  private queuesConsumed(): Queue[] {
    const out: Queue[] = [];
    for (const c of this.consumers.values()) if (!out.includes(c.queue)) out.push(c.queue);
    return out;
  }

  /**
   * Closes the channel when its oldest unacked delivery is older than the consumer
   * timeout (the queue's x-consumer-timeout, else the broker's), as RabbitMQ checks it.
   */
  checkConsumerTimeout(now: number): void {
    if (this.state !== State.Open) return;
    const e = this.unacked.oldest();
    if (e === undefined) return;
    const timeout = e.queue.settings.consumerTimeout ?? this.session.consumerTimeout;
    if (now - e.deliveredAt <= timeout) return;
    this.currentMethod = 0;
    this.fail(
      new ChannelError(
        406,
        `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
      ),
    );
    this.session.scheduleFlush();
  }

  /** The connection can take more bytes again. */
  resume(): void {
    this.scheduleConsumerQueues();
  }

  /** Releases everything the channel holds: consumers, unacked messages, a pending transaction. */
  teardown(): void {
    if (this.state === State.Closed || this.tornDown) return;
    this.tornDown = true;
    this.assembler.reset();
    this.publisher.teardown();
    this.dropReplyConsumer();
    // Consumers go first, so the requeued messages are dispatched to others, never back here.
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    this.consumedQueues = null;
    for (const c of consumers) c.queue.removeConsumer(c);
    this.requeueAll(true);
  }
}

/** Counts one delivery (consume or get) on the channel and its queue. */
function countDelivery(ch: MessageCounters, q: MessageCounters, redelivered: boolean, noAck: boolean, get: boolean): void {
  if (get) {
    if (noAck) {
      ch.getNoAck++;
      q.getNoAck++;
    } else {
      ch.get++;
      q.get++;
    }
  } else if (noAck) {
    ch.deliverNoAck++;
    q.deliverNoAck++;
  } else {
    ch.deliver++;
    q.deliver++;
  }
  if (redelivered) {
    ch.redeliver++;
    q.redeliver++;
  }
}

/** Fills in the failing method's ids on an AMQP error that has none (a crash keeps none). */
function withMethod(err: unknown, methodId: number): unknown {
  if (err instanceof AmqpError && err.classId === 0 && err.methodId === 0 && !(err instanceof CrashError)) {
    err.classId = methodId >>> 16;
    err.methodId = methodId & 0xffff;
  }
  return err;
}

function methodName(id: number): string {
  return `${id >>> 16}/${id & 0xffff}`;
}
