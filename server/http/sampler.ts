import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { Broker } from '../broker.js';
import { reportError } from '../ops/scheduler.js';
import type { MessageCounters } from '../ops/stats.js';
import { totalsByVhost, type Totals } from './totals.js';

/**
 * Rates without touching the hot path: every collect_statistics_interval (5 s, as in
 * RabbitMQ) the counters of every queue, exchange, channel, connection and vhost are read
 * once, and each `*_details.rate` is the change per second since the previous sample. The
 * same pass notes when an object last changed, for `idle_since`.
 */

/** message_stats keys of a channel, a vhost and the node, in the plugin's (alphabetical) order. */
export const CHANNEL_STATS = [
  'ack', 'confirm', 'deliver', 'deliver_get', 'deliver_no_ack', 'drop_unroutable',
  'get', 'get_empty', 'get_no_ack', 'publish', 'redeliver', 'return_unroutable',
] as const;
/** message_stats keys of a queue. */
export const QUEUE_STATS = ['ack', 'deliver', 'deliver_get', 'deliver_no_ack', 'get', 'get_empty', 'get_no_ack', 'publish', 'redeliver'] as const;
export const EXCHANGE_STATS = ['publish_in', 'publish_out'] as const;

export type StatKey = (typeof CHANNEL_STATS)[number];

export function counterValue(c: MessageCounters, key: StatKey): number {
  switch (key) {
    case 'ack':
      return c.ack;
    case 'confirm':
      return c.confirm;
    case 'deliver':
      return c.deliver;
    case 'deliver_get':
      return c.deliver + c.deliverNoAck + c.get + c.getNoAck;
    case 'deliver_no_ack':
      return c.deliverNoAck;
    case 'drop_unroutable':
      return c.dropUnroutable;
    case 'get':
      return c.get;
    case 'get_empty':
      return c.getEmpty;
    case 'get_no_ack':
      return c.getNoAck;
    case 'publish':
      return c.publish;
    case 'redeliver':
      return c.redeliver;
    case 'return_unroutable':
      return c.returnUnroutable;
  }
}

/** One object's last sample and the rates it gave. */
export class RateState {
  readonly prev: Float64Array;
  readonly rate: Float64Array;
  at = 0;
  /** When a value last changed (epoch ms). */
  changedAt: number;

  constructor(n: number, now: number) {
    this.prev = new Float64Array(n);
    this.rate = new Float64Array(n);
    this.changedAt = now;
  }

  update(values: Float64Array, now: number): void {
    const dt = (now - this.at) / 1000;
    let changed = false;
    const n = this.prev.length;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v !== this.prev[i]) changed = true;
      this.rate[i] = this.at === 0 || dt <= 0 ? 0 : (v - this.prev[i]!) / dt;
      this.prev[i] = v;
    }
    if (changed && this.at !== 0) this.changedAt = now;
    this.at = now;
  }
}

// Value vectors, reused between objects: the sampler allocates nothing per object but its RateState.
const QUEUE_LEN = QUEUE_STATS.length + 3;
const CHANNEL_LEN = CHANNEL_STATS.length;
const VHOST_LEN = CHANNEL_STATS.length + 5;
const NODE_LEN = VHOST_LEN + 7;
const buf = new Float64Array(NODE_LEN);
/** Objects sampled per turn of the event loop: 10,000 queues take several turns, not one long one. */
const SLICE = 1024;

/** Where each extra value sits in a vector after the message_stats keys. */
export const QUEUE_GAUGES = { messages: QUEUE_STATS.length, ready: QUEUE_STATS.length + 1, unacked: QUEUE_STATS.length + 2 };
export const VHOST_EXTRA = {
  messages: CHANNEL_LEN,
  ready: CHANNEL_LEN + 1,
  unacked: CHANNEL_LEN + 2,
  recvOct: CHANNEL_LEN + 3,
  sendOct: CHANNEL_LEN + 4,
};
export const CHURN_KEYS = [
  'channel_closed', 'channel_created', 'connection_closed', 'connection_created', 'queue_created', 'queue_declared', 'queue_deleted',
] as const;

export class Sampler {
  private readonly states = new WeakMap<object, RateState>();
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  /** The key the node's own rates are kept under. */
  readonly node: object = {};

  constructor(
    private readonly broker: Broker,
    readonly intervalMs: number,
  ) {}

  start(): void {
    const run = (): void => {
      this.sample().catch((err: unknown) => reportError(err, 'statistics sampling'));
    };
    run();
    this.timer = setInterval(run, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The rates of an object, or null before its first sample. */
  stateOf(o: object): RateState | null {
    return this.states.get(o) ?? null;
  }

  private record(o: object, n: number, now: number): void {
    let s = this.states.get(o);
    if (s === undefined) this.states.set(o, (s = new RateState(n, now)));
    s.update(buf, now);
  }

  /** One sample of every object, a slice at a time; a sample still running when the next is due is not doubled. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      await this.sampleAll();
    } finally {
      this.sampling = false;
    }
  }

  private async sampleAll(): Promise<void> {
    let now = Date.now();
    let n = 0;
    const { byVhost, node } = totalsByVhost(this.broker);
    for (const [v, t] of byVhost) {
      vhostValues(t);
      this.record(v, VHOST_LEN, now);
      for (const q of v.queues.values()) {
        if (++n % SLICE === 0) {
          await yieldTurn();
          now = Date.now();
        }
        const c = q.counters;
        for (let i = 0; i < QUEUE_STATS.length; i++) buf[i] = counterValue(c, QUEUE_STATS[i]!);
        buf[QUEUE_GAUGES.ready] = q.messageCount;
        buf[QUEUE_GAUGES.unacked] = q.unacked;
        buf[QUEUE_GAUGES.messages] = q.messageCount + q.unacked;
        this.record(q, QUEUE_LEN, now);
      }
      for (const x of v.exchanges.values()) {
        buf[0] = x.publishIn;
        buf[1] = x.publishOut;
        this.record(x, 2, now);
      }
    }
    for (const c of this.broker.connections) {
      buf[0] = c.counters.recvOct;
      buf[1] = c.counters.sendOct;
      this.record(c, 2, now);
      for (const ch of c.channelList()) {
        if (++n % SLICE === 0) {
          await yieldTurn();
          now = Date.now();
        }
        for (let i = 0; i < CHANNEL_LEN; i++) buf[i] = counterValue(ch.counters, CHANNEL_STATS[i]!);
        this.record(ch, CHANNEL_LEN, now);
      }
    }
    vhostValues(node);
    const k = this.broker.counters;
    const churn = node.churn;
    const extra = [k.channelClosed, k.channelCreated, k.connectionClosed, k.connectionCreated, churn.queueCreated, churn.queueDeclared, churn.queueDeleted];
    for (let i = 0; i < extra.length; i++) buf[VHOST_LEN + i] = extra[i]!;
    this.record(this.node, NODE_LEN, now);
  }
}

function vhostValues(t: Totals): void {
  for (let i = 0; i < CHANNEL_LEN; i++) buf[i] = counterValue(t.messages, CHANNEL_STATS[i]!);
  buf[VHOST_EXTRA.messages] = t.ready + t.unacked;
  buf[VHOST_EXTRA.ready] = t.ready;
  buf[VHOST_EXTRA.unacked] = t.unacked;
  buf[VHOST_EXTRA.recvOct] = t.bytes.recvOct;
  buf[VHOST_EXTRA.sendOct] = t.bytes.sendOct;
}

/** Where the churn counters sit in the node's vector. */
export const NODE_CHURN_AT = VHOST_LEN;
