/**
 * A recording wrapper around an amqplib channel: every operation logs its reply or its
 * failure into the scenario's event list, in the order the scenario performs them.
 * Asynchronous things (returns, confirms, deliveries) are buffered and logged at the
 * scenario's sync points, so that the log never depends on network timing.
 */
import type { Channel, ConfirmChannel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib';
import type { Ctx } from './context.js';
import { METHOD, rawPublish, rpc } from './raw.js';
import type { Event, Json } from './types.js';

const OP_TIMEOUT_MS = 4000;

/** What a delivered (or returned, or fetched) message looks like in the log. */
export function summarise(m: Message | GetMessage | ConsumeMessage): Event {
  const f = m.fields as Message['fields'] & { messageCount?: number; deliveryTag?: number; redelivered?: boolean };
  const e: Event = { body: m.content.toString('utf8'), ex: f.exchange, rk: f.routingKey };
  if (f.deliveryTag !== undefined) e['tag'] = f.deliveryTag;
  if (f.redelivered !== undefined) e['redelivered'] = f.redelivered;
  if (f.messageCount !== undefined) e['left'] = f.messageCount;
  const props: Event = {};
  for (const [k, v] of Object.entries(m.properties as unknown as Record<string, unknown>)) {
    if (v !== undefined) props[k] = toJson(v);
  }
  if (Object.keys(props).length > 0) e['props'] = props;
  return e;
}

/** Field-table values as JSON: buffers as hex, the rest as amqplib decodes them. */
export function toJson(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { bytes: v.toString('hex') };
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const k of Object.keys(v as object).sort()) o[k] = toJson((v as Record<string, unknown>)[k]);
    return o;
  }
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/** The reply code of a server close, or the client's error message. */
export function failure(err: unknown): Json {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'number') return e.code;
  return String(e.message ?? err);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface ConsumeOpts {
  noAck?: boolean;
  exclusive?: boolean;
  priority?: number;
  tag?: string;
  args?: Record<string, unknown>;
}

export class Consumer {
  tag: string | undefined;
  readonly msgs: Event[] = [];
  cancelled = false;
  constructor(readonly label: string) {}
}

export type PublishOpts = Options.Publish;

export class Ch {
  private returns: Event[] = [];
  private confirmResults: ('ack' | 'nack' | 'unconfirmed' | 'pending')[] = [];
  closed = false;

  constructor(
    private readonly ctx: Ctx,
    readonly label: string,
    readonly raw: Channel,
    readonly confirm: boolean,
  ) {
    raw.on('error', (err: Error & { code?: number; classId?: number; methodId?: number }) => {
      const m = /with message "(.*)"$/s.exec(err.message);
      ctx.log({ ch: label, closed: { code: err.code ?? 0, text: m?.[1] ?? err.message, classId: err.classId ?? 0, methodId: err.methodId ?? 0 } });
    });
    raw.on('close', () => (this.closed = true));
    raw.on('return', (m: Message) => {
      const f = m.fields as Message['fields'] & { replyCode?: number; replyText?: string };
      this.returns.push({ code: f.replyCode ?? 0, text: f.replyText ?? '', ...summarise(m) });
    });
  }

  /** Runs one broker operation and logs `{ch, op, ...detail, ok}` or `{..., fail}`. */
  async call<T>(op: string, detail: Event, fn: () => Promise<T>, ok: (r: T) => Json | undefined = () => undefined): Promise<T | undefined> {
    try {
      const r = await withTimeout(Promise.resolve().then(fn), OP_TIMEOUT_MS);
      const summary = ok(r);
      this.ctx.log(summary === undefined ? { ch: this.label, op, ...detail } : { ch: this.label, op, ...detail, ok: summary });
      return r;
    } catch (err) {
      this.ctx.log({ ch: this.label, op, ...detail, fail: failure(err) });
      return undefined;
    }
  }

  queue(name: string, opts: Options.AssertQueue = {}) {
    return this.call('queue.declare', { q: name }, () => this.raw.assertQueue(name, { durable: false, ...opts }), (r) => {
      if (name === '') this.ctx.track(r.queue);
      return { queue: r.queue, messages: r.messageCount, consumers: r.consumerCount };
    });
  }
  checkQueue(name: string) {
    return this.call('queue.declare passive', { q: name }, () => this.raw.checkQueue(name), (r) => ({ messages: r.messageCount, consumers: r.consumerCount }));
  }
  exchange(name: string, type: string, opts: Options.AssertExchange = {}) {
    return this.call('exchange.declare', { x: name, type }, () => this.raw.assertExchange(name, type, { durable: false, ...opts }));
  }
  checkExchange(name: string) {
    return this.call('exchange.declare passive', { x: name }, () => this.raw.checkExchange(name));
  }
  bind(q: string, x: string, key = '', args?: Record<string, unknown>) {
    return this.call('queue.bind', { q, x, key }, () => this.raw.bindQueue(q, x, key, args));
  }
  unbind(q: string, x: string, key = '', args?: Record<string, unknown>) {
    return this.call('queue.unbind', { q, x, key }, () => this.raw.unbindQueue(q, x, key, args));
  }
  bindEx(dest: string, src: string, key = '', args?: Record<string, unknown>) {
    return this.call('exchange.bind', { dest, src, key }, () => this.raw.bindExchange(dest, src, key, args));
  }
  unbindEx(dest: string, src: string, key = '', args?: Record<string, unknown>) {
    return this.call('exchange.unbind', { dest, src, key }, () => this.raw.unbindExchange(dest, src, key, args));
  }
  deleteQueue(q: string, opts: Options.DeleteQueue = {}) {
    return this.call('queue.delete', { q, ...(opts as Event) }, () => this.raw.deleteQueue(q, opts), (r) => ({ messages: r.messageCount }));
  }
  deleteExchange(x: string, opts: Options.DeleteExchange = {}) {
    return this.call('exchange.delete', { x, ...(opts as Event) }, () => this.raw.deleteExchange(x, opts));
  }
  purge(q: string) {
    return this.call('queue.purge', { q }, () => this.raw.purgeQueue(q), (r) => ({ messages: r.messageCount }));
  }
  qos(count: number, global = false) {
    return this.call('basic.qos', { count, global }, () => this.raw.prefetch(count, global));
  }
  qosRaw(size: number, count: number, global = false) {
    return this.call('basic.qos', { size, count, global }, () => rpc(this.raw, METHOD.BasicQos, { prefetchSize: size, prefetchCount: count, global }, METHOD.BasicQosOk));
  }
  recover(requeue = true) {
    if (requeue) return this.call('basic.recover', {}, () => this.raw.recover());
    return this.call('basic.recover', { requeue }, () => rpc(this.raw, METHOD.BasicRecover, { requeue }, METHOD.BasicRecoverOk));
  }
  flow(active: boolean) {
    return this.call('channel.flow', { active }, () => rpc(this.raw, METHOD.ChannelFlow, { active }, METHOD.ChannelFlowOk), (r) => toJson(r));
  }
  txSelect() {
    return this.call('tx.select', {}, () => rpc(this.raw, METHOD.TxSelect, {}, METHOD.TxSelectOk));
  }
  txCommit() {
    return this.call('tx.commit', {}, () => rpc(this.raw, METHOD.TxCommit, {}, METHOD.TxCommitOk));
  }
  txRollback() {
    return this.call('tx.rollback', {}, () => rpc(this.raw, METHOD.TxRollback, {}, METHOD.TxRollbackOk));
  }
  confirmSelect() {
    return this.call('confirm.select', {}, () => rpc(this.raw, METHOD.ConfirmSelect, { nowait: false }, METHOD.ConfirmSelectOk));
  }
  close() {
    return this.call('channel.close', {}, () => this.raw.close());
  }

  /** Fire-and-forget publish; on a confirm channel the broker's answer is logged by confirms(). */
  publish(x: string, key: string, body: string, opts: PublishOpts = {}): void {
    try {
      if (this.confirm) {
        const i = this.confirmResults.length;
        this.confirmResults.push('pending');
        (this.raw as ConfirmChannel).publish(x, key, Buffer.from(body), opts, (err) => {
          // amqplib fails outstanding callbacks with 'channel closed' when the channel closes.
          this.confirmResults[i] = err === null || err === undefined ? 'ack' : /nack/.test(String(err.message)) ? 'nack' : 'unconfirmed';
        });
      } else {
        this.raw.publish(x, key, Buffer.from(body), opts);
      }
    } catch (err) {
      this.ctx.log({ ch: this.label, op: 'basic.publish', x, key, fail: failure(err) });
    }
  }
  publishRaw(x: string, key: string, body: string, flags: { mandatory?: boolean; immediate?: boolean }): void {
    rawPublish(this.raw, { exchange: x, routingKey: key, mandatory: flags.mandatory ?? false, immediate: flags.immediate ?? false }, Buffer.from(body));
  }

  private flushReturns(): void {
    for (const r of this.returns.splice(0)) this.ctx.log({ ch: this.label, returned: r });
  }

  /** A round trip (a harmless passive declare), then the returns that arrived before it. */
  async sync(): Promise<void> {
    try {
      await withTimeout(this.raw.checkExchange('amq.direct'), OP_TIMEOUT_MS);
    } catch (err) {
      this.ctx.log({ ch: this.label, op: 'sync', fail: failure(err) });
    }
    this.flushReturns();
  }

  /** Waits for every outstanding confirm; logs returns, then one ack/nack per publish. */
  async confirms(): Promise<void> {
    if (!this.confirm) throw new Error('confirms() on a channel without confirms');
    // Not amqplib's waitForConfirms: it rejects at the first nack, before later confirms arrive.
    const end = Date.now() + OP_TIMEOUT_MS;
    while (this.confirmResults.includes('pending') && !this.closed && Date.now() < end) await sleep(2);
    this.flushReturns();
    this.ctx.log({ ch: this.label, confirms: this.confirmResults.splice(0) });
  }

  async get(q: string, noAck = false): Promise<number | undefined> {
    const r = await this.call('basic.get', { q, noAck }, () => this.raw.get(q, { noAck }), (m) => (m === false ? 'empty' : summarise(m)));
    return r === undefined || r === false ? undefined : r.fields.deliveryTag;
  }

  /**
   * basic.get with no-ack until the queue is empty; one event with everything fetched.
   * `settle` first waits (silently, bounded) for the queue to hold that many messages:
   * RabbitMQ answers channel.close-ok before its queues have requeued the channel's
   * unacked messages, so a drain right after a close would race the requeue.
   */
  async drain(q: string, settle = 0): Promise<void> {
    const got: Event[] = [];
    try {
      const end = Date.now() + OP_TIMEOUT_MS;
      while (settle > 0 && Date.now() < end && (await withTimeout(this.raw.checkQueue(q), OP_TIMEOUT_MS)).messageCount < settle) await sleep(2);
      for (let i = 0; i < 500; i++) {
        const m = await withTimeout(this.raw.get(q, { noAck: true }), OP_TIMEOUT_MS);
        if (m === false) break;
        const s = summarise(m);
        delete s['tag'];
        delete s['left'];
        got.push(s);
      }
      this.ctx.log({ ch: this.label, drain: q, got });
    } catch (err) {
      this.ctx.log({ ch: this.label, drain: q, got, fail: failure(err) });
    }
  }

  async consume(q: string, opts: ConsumeOpts = {}, label = 'k'): Promise<Consumer> {
    const c = new Consumer(label);
    const options: Options.Consume = { noAck: opts.noAck ?? false, exclusive: opts.exclusive ?? false };
    if (opts.priority !== undefined) options.priority = opts.priority;
    if (opts.tag !== undefined) options.consumerTag = opts.tag;
    if (opts.args !== undefined) options.arguments = opts.args;
    const r = await this.call('basic.consume', { q, consumer: label }, () =>
      this.raw.consume(q, (m) => {
        if (m === null) c.cancelled = true;
        else c.msgs.push(summarise(m));
      }, options),
      (ok) => ok.consumerTag,
    );
    c.tag = r?.consumerTag;
    this.ctx.addConsumer(c);
    return c;
  }
  cancel(c: Consumer) {
    return this.call('basic.cancel', { consumer: c.label }, () => this.raw.cancel(c.tag ?? ''));
  }

  private tagged(tag: number): Message {
    return { fields: { deliveryTag: tag } } as unknown as Message;
  }
  ack(tag: number, multiple = false): void {
    this.guard('basic.ack', () => this.raw.ack(this.tagged(tag), multiple));
  }
  nack(tag: number, multiple = false, requeue = true): void {
    this.guard('basic.nack', () => this.raw.nack(this.tagged(tag), multiple, requeue));
  }
  reject(tag: number, requeue = true): void {
    this.guard('basic.reject', () => this.raw.reject(this.tagged(tag), requeue));
  }
  private guard(op: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.ctx.log({ ch: this.label, op, fail: failure(err) });
    }
  }
}
