/**
 * The same messages on a live broker (Warren or RabbitMQ, over amqplib): declare a
 * topology there, publish each message with publisher confirms, then read every queue and
 * say which queues each message reached. Compared with `topology.route`, this checks a
 * topology against the broker that will run it.
 */
import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { AmqpError } from '../amqp/errors.js';
import { Typed, type FieldTable, type FieldValue } from '../amqp/table.js';
import type { Topology, RouteMessage } from '../routing/topology/topology.js';

/** What happened to one message: the queues it reached (sorted), or how the broker refused it. */
export type RouteOutcome = { queues: string[] } | { error: { code: number; text: string } };

/** What `topology.route` says, in the same shape as routeLive's answer. */
export function expectedOutcome(topology: Topology, message: RouteMessage): RouteOutcome {
  try {
    return { queues: [...topology.route(message).queues] };
  } catch (err) {
    if (err instanceof AmqpError) return { error: { code: err.replyCode, text: err.replyText } };
    throw err;
  }
}

export interface LiveOptions {
  /** The topology's vhost to declare (default '/'); the broker's vhost is the URL's. */
  vhost?: string;
  /**
   * Declare the topology first, under names that begin with a unique prefix (default), so
   * that nothing already on the broker is touched and everything is deleted afterwards.
   * False when the broker's vhost already holds the topology under its own names (one
   * loaded with `startBroker({ definitions })` or `createVhost`).
   */
  declare?: boolean;
  /** The prefix of declared names (default `warren-route-<random>.`). */
  prefix?: string;
}

const AMQP_TYPES: Record<string, string> = {
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'int',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  T: 'timestamp',
};

/** A field value in amqplib's notation ({'!': type, value} for the types a JS value cannot show). */
export function toAmqplibValue(v: FieldValue): unknown {
  if (v instanceof Typed) {
    const t = AMQP_TYPES[v.type];
    if (t !== undefined) return { '!': t, value: typeof v.value === 'bigint' ? v.value : Number(v.value) };
    if (v.type === 'D') {
      const d = v.value as { scale: number; value: number };
      return { '!': 'decimal', value: { places: d.scale, digits: d.value } };
    }
    return toAmqplibValue(v.value as FieldValue);
  }
  if (typeof v === 'bigint') return { '!': 'long', value: v };
  // As Warren's codec writes a plain number (amqplib would pick the narrowest width), so a
  // number means the same wire type here as in a Topology.
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return { '!': 'int', value: v };
    return Number.isSafeInteger(v) ? { '!': 'long', value: v } : { '!': 'double', value: v };
  }
  if (Array.isArray(v)) return v.map(toAmqplibValue);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) return toAmqplibTable(v);
  return v;
}

export function toAmqplibTable(t: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(t)) out[k] = toAmqplibValue(t[k]!);
  return out;
}

function channelError(err: unknown): { code: number; text: string } {
  const e = err as { code?: unknown; message?: unknown };
  const msg = String(e.message ?? err);
  const m = /with message "(.*)"$/s.exec(msg);
  return { code: typeof e.code === 'number' ? e.code : 0, text: m !== null ? m[1]! : msg };
}

/**
 * Publishes each message to the broker at `url` and returns, per message, the queues it
 * reached (by the topology's names) or the channel error it got. Each message is confirmed
 * before the next is published; then every queue of the topology is read out.
 */
export async function routeLive(url: string, topology: Topology, messages: readonly RouteMessage[], opts: LiveOptions = {}): Promise<RouteOutcome[]> {
  const vhost = opts.vhost ?? '/';
  const declare = opts.declare ?? true;
  const prefix = declare ? (opts.prefix ?? `warren-route-${randomBytes(4).toString('hex')}.`) : '';
  const name = (n: string) => (n === '' ? '' : prefix + n);
  const exchanges = topology.exchanges(vhost).filter((x) => x.name !== '');
  const queues = topology.queues(vhost);
  const brokerVhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/';
  const model: ChannelModel = await amqp.connect(url);
  model.on('error', () => {});
  const declared: { queues: string[]; exchanges: string[] } = { queues: [], exchanges: [] };
  try {
    const admin = await model.createChannel();
    if (declare) {
      for (const x of exchanges) {
        if (x.alternateExchange === '') throw new Error(`exchange '${x.name}': an alternate exchange named '' cannot be checked on a live broker`);
        const args: Record<string, unknown> = x.alternateExchange === null ? {} : { 'alternate-exchange': name(x.alternateExchange) };
        await admin.assertExchange(name(x.name), x.type, { durable: false, autoDelete: false, internal: x.internal, arguments: args });
        declared.exchanges.push(name(x.name));
      }
      for (const q of queues) {
        await admin.assertQueue(name(q), { durable: false, autoDelete: false, exclusive: false });
        declared.queues.push(name(q));
      }
      for (const b of topology.bindings(vhost)) {
        const args = toAmqplibTable(b.arguments);
        if (b.destinationType === 'queue') await admin.bindQueue(name(b.destination), name(b.source), b.routingKey, args);
        else await admin.bindExchange(name(b.destination), name(b.source), b.routingKey, args);
      }
    } else {
      // The queues must start empty for the answer to mean anything.
      for (const q of queues) await admin.purgeQueue(q);
    }
    const outcomes: (RouteOutcome | null)[] = messages.map(() => null);
    let ch: ConfirmChannel | null = null;
    let closed: Promise<void> = Promise.resolve();
    let lastError: unknown = null;
    for (const [i, m] of messages.entries()) {
      if (ch === null) {
        const opened = await model.createConfirmChannel();
        opened.on('error', (err: unknown) => {
          lastError = err;
        });
        closed = new Promise<void>((resolve) => opened.once('close', () => resolve()));
        ch = opened;
      }
      const c: ConfirmChannel = ch;
      const exchange = m.exchange ?? '';
      const dflt = exchange === '';
      const headers = m.headers === undefined ? undefined : { ...m.headers };
      if (dflt && declare && headers !== undefined) {
        // On the default exchange CC and BCC name queues too: point them at our copies.
        for (const k of ['CC', 'BCC']) {
          const v = headers[k];
          if (Array.isArray(v)) headers[k] = v.map((e) => (typeof e === 'string' ? name(e) : e));
        }
      }
      const rk = m.routingKey ?? '';
      c.publish(dflt ? '' : name(exchange), dflt && declare ? name(rk) : rk, Buffer.from(`m${i}`), {
        messageId: `m${i}`,
        ...(headers === undefined ? {} : { headers: toAmqplibTable(headers) }),
      });
      try {
        await c.waitForConfirms();
      } catch {
        await closed;
        const e = channelError(lastError);
        // Say it as the topology would: its names, its vhost.
        if (prefix !== '') e.text = e.text.split(prefix).join('');
        e.text = e.text.split(`in vhost '${brokerVhost}'`).join(`in vhost '${vhost}'`);
        outcomes[i] = { error: e };
        ch = null;
      }
    }
    await (ch as ConfirmChannel | null)?.close();
    const reached: string[][] = messages.map(() => []);
    for (const q of queues) {
      for (;;) {
        const got = await admin.get(name(q), { noAck: true });
        if (got === false) break;
        const i = Number(String(got.properties.messageId).slice(1));
        reached[i]?.push(q);
      }
    }
    if (declare) await cleanup(admin, declared);
    declared.queues = [];
    declared.exchanges = [];
    await admin.close();
    return outcomes.map((o, i) => o ?? { queues: reached[i]!.sort() });
  } finally {
    if (declared.queues.length + declared.exchanges.length > 0) {
      await model
        .createChannel()
        .then((c) => cleanup(c, declared))
        .catch(() => {});
    }
    await model.close().catch(() => {});
  }
}

async function cleanup(ch: Channel, declared: { queues: string[]; exchanges: string[] }): Promise<void> {
  for (const q of declared.queues) await ch.deleteQueue(q);
  for (const x of declared.exchanges) await ch.deleteExchange(x);
}
