/**
 * The real side of the queue model test: a server/queue.ts Queue with a fake host and
 * fake channels, driven step by step next to the reference model, and the fast-check
 * arbitraries for settings and steps.
 *
 * The fake channels do what server/channel.ts and server/publisher.ts do around a
 * queue (track: queue.delivered, delivery tag, consumer.unacked; release: unacked--,
 * scheduleDispatch; then settle / requeue / reject, one entry at a time in tag order).
 * Timers and Date are faked by the caller (vi.useFakeTimers); process.nextTick stays
 * real (vitest cannot fake it in the forks pool), so after each step settleTurn lets
 * the scheduler's end-of-turn dispatch run and fires the timers that are due.
 */
import fc from 'fast-check';
import { vi } from 'vitest';
import type { FieldTable } from '../../../../amqp/table.js';
import { Consumer, type ConsumerChannel } from '../../../../server/queue/consumer.js';
import { Message, type QueueEntry } from '../../../../server/queue/message.js';
import { queueSettings } from '../../../../server/queue/queue-args.js';
import { Queue, type DeathReason, type QueueHost } from '../../../../server/queue/queue.js';
import { ACK, DISCARD, REQUEUE } from '../../../../server/connection/ack-actions.js';
import { settledAll } from '../../../../server/connection/publisher.js';
import {
  ModelChannel,
  ReferenceQueue,
  type DeadLetter,
  type Reason,
  type Delivery,
  type ModelConsumer,
  type ModelSettings,
  type ModelUnacked,
} from './reference.js';

const T0 = 1_700_000_000_000;
const MAX_CONSUMERS = 4;

// ---------------------------------------------------------------- the real side

/** What server/channel.ts does around a queue: tracking, prefetch, release. */
class FakeChannel implements ConsumerChannel {
  /** Unacked by delivery tag; Map order is tag order. */
  readonly unacked = new Map<number, QueueEntry>();
  private lastTag = 0;

  constructor(private readonly log: Delivery[]) {}

  canDeliver(c: Consumer): boolean {
    if (c.noAck) return true;
    return c.prefetch === 0 || c.unacked < c.prefetch;
  }

  deliver(c: Consumer, entry: QueueEntry): void {
    this.track(entry, c, c.noAck);
    this.log.push([c.tag, entry.msg.body.toString(), entry.redelivered]);
  }

  cancelledByQueue(_c: Consumer): void {}

  track(entry: QueueEntry, c: Consumer | null, noAck: boolean): number {
    const tag = ++this.lastTag;
    entry.queue.delivered(entry, noAck);
    if (!noAck) {
      entry.deliveryTag = tag;
      entry.consumer = c;
      if (c !== null) c.unacked++;
      this.unacked.set(tag, entry);
    }
    return tag;
  }

  /** Channel.release */
  private release(entry: QueueEntry): void {
    this.unacked.delete(entry.deliveryTag);
    const c = entry.consumer;
    if (c !== null) {
      c.unacked--;
      c.queue.creditReturned(c);
    }
  }

  /** publisher.ts apply(): release, then settle / requeue / reject, one entry at a time in tag order. */
  settle(entries: readonly QueueEntry[], action: 'ack' | 'requeue' | 'reject'): void {
    for (const e of entries) {
      this.release(e);
      if (action === 'requeue') e.queue.requeue(e);
      else if (action === 'reject') e.queue.reject(e);
      else e.queue.settle(e);
    }
    settledAll(entries, action === 'requeue' ? REQUEUE : action === 'reject' ? DISCARD : ACK);
  }
}

class FakeHost implements QueueHost {
  readonly name = '/';
  readonly store = null;
  readonly deadLetters: DeadLetter[] = [];
  deleted = 0;
  deadLetter(_q: Queue, msg: Message, reason: DeathReason): void {
    this.deadLetters.push([msg.body.toString(), reason as Reason]);
  }
  deadLetterAttempt(): never {
    throw new Error('classic queues dead-letter at most once');
  }
  deleteQueue(_q: Queue): number {
    this.deleted++;
    return 0;
  }
}

function queueArgs(s: ModelSettings): FieldTable {
  const args: FieldTable = { 'x-dead-letter-exchange': 'dlx', 'x-overflow': s.overflow };
  if (s.messageTtl !== null) args['x-message-ttl'] = s.messageTtl;
  if (s.maxLength !== null) args['x-max-length'] = s.maxLength;
  if (s.maxLengthBytes !== null) args['x-max-length-bytes'] = s.maxLengthBytes;
  if (s.maxPriority !== null) args['x-max-priority'] = s.maxPriority;
  if (s.singleActiveConsumer) args['x-single-active-consumer'] = true;
  return args;
}

function message(body: string, ttl: number | undefined, priority: number | undefined): Message {
  const properties = { priority, expiration: ttl === undefined ? undefined : String(ttl) };
  return new Message('', 'q', Buffer.alloc(2), properties, Buffer.from(body), 'q', ttl ?? -1);
}

/** Lets the end-of-turn dispatch run (real nextTick) and fires timers that are due now. */
async function settleTurn(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => process.nextTick(resolve));
    vi.advanceTimersByTime(0);
  }
}

// ---------------------------------------------------------------- commands

export type Op =
  | { op: 'publish'; pad: number; ttl: number | undefined; priority: number | undefined }
  | { op: 'advance'; ms: number }
  | { op: 'consume'; prefetch: number; priority: number; noAck: boolean }
  | { op: 'cancel'; pick: number }
  | { op: 'ack'; ch: number; pick: number; multiple: boolean }
  | { op: 'nack'; ch: number; pick: number; multiple: boolean; requeue: boolean }
  | { op: 'get'; noAck: boolean }
  | { op: 'purge' };

export interface Features {
  ttl: boolean;
  /** TTL 0 (per message or per queue) may be drawn. */
  ttlZero: boolean;
  limits: boolean;
  priorities: boolean;
  /** Several consumers at once (else at most one registered at a time). */
  consumers: boolean;
  /** Single active consumer on some runs, on every run, or never. */
  sac: boolean | 'always';
}

export const ALL: Features = { ttl: true, ttlZero: true, limits: true, priorities: true, consumers: true, sac: true };

function ttlArb(f: Features): fc.Arbitrary<number> {
  const positive = fc.integer({ min: 1, max: 100 });
  return f.ttlZero ? fc.oneof(fc.constant(0), positive) : positive;
}

export function settingsArb(f: Features): fc.Arbitrary<ModelSettings> {
  const nullable = <T>(a: fc.Arbitrary<T>, on: boolean): fc.Arbitrary<T | null> => (on ? fc.option(a, { nil: null, freq: 2 }) : fc.constant(null));
  return fc.record({
    messageTtl: nullable(ttlArb(f), f.ttl),
    maxLength: nullable(fc.integer({ min: 0, max: 5 }), f.limits),
    maxLengthBytes: nullable(fc.integer({ min: 0, max: 16 }), f.limits),
    overflow: f.limits ? fc.constantFrom('drop-head' as const, 'reject-publish' as const, 'reject-publish-dlx' as const) : fc.constant('drop-head' as const),
    maxPriority: nullable(fc.integer({ min: 0, max: 5 }), f.priorities),
    singleActiveConsumer: f.sac === 'always' ? fc.constant(true) : f.sac ? fc.boolean() : fc.constant(false),
  });
}

export function opArb(f: Features): fc.Arbitrary<Op> {
  const pick = fc.nat({ max: 7 });
  const ttl = f.ttl ? fc.option(ttlArb(f), { nil: undefined, freq: 2 }) : fc.constant(undefined);
  const priority = f.priorities ? fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined, freq: 3 }) : fc.constant(undefined);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('publish' as const), pad: fc.nat({ max: 3 }), ttl, priority }) },
    { weight: f.ttl ? 2 : 0, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('consume' as const),
        prefetch: fc.nat({ max: 3 }),
        priority: f.consumers ? fc.nat({ max: 2 }) : fc.constant(0),
        noAck: fc.nat({ max: 9 }).map((n) => n < 2),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), ch: pick, pick, multiple: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('nack' as const), ch: pick, pick, multiple: fc.boolean(), requeue: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), noAck: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ op: 'purge' as const }) },
  );
}

// ---------------------------------------------------------------- one run

interface Pair {
  model: ModelConsumer;
  real: Consumer;
}

export async function run(settings: ModelSettings, ops: readonly Op[], f: Features): Promise<void> {
  vi.clearAllTimers();
  vi.setSystemTime(T0);
  const host = new FakeHost();
  const args = queueArgs(settings);
  const qs = queueSettings(args, null);
  for (const k of ['messageTtl', 'maxLength', 'maxLengthBytes', 'overflow', 'maxPriority', 'singleActiveConsumer'] as const) {
    if (qs[k] !== settings[k]) throw new Error(`queueSettings() gave ${k}=${String(qs[k])}, expected ${String(settings[k])}`);
  }
  const q = new Queue('q', host, false, null, false, args, qs);
  const model = new ReferenceQueue(settings, T0);
  const deliveries: Delivery[] = [];

  // Channel 0 is the basic.get channel; each consumer gets its own channel after it.
  const getChannel = new FakeChannel(deliveries);
  const realChannels: FakeChannel[] = [getChannel];
  const modelChannels: ModelChannel[] = [model.getChannel];
  const consumers: Pair[] = [];
  let published = 0;

  const fail = (step: number, what: string, real: unknown, expected: unknown): never => {
    throw new Error(
      `step ${step} (${JSON.stringify(ops[step])}): ${what} differs\n  queue: ${JSON.stringify(real)}\n  model: ${JSON.stringify(expected)}`,
    );
  };
  const same = (step: number, what: string, real: unknown, expected: unknown): void => {
    if (JSON.stringify(real) !== JSON.stringify(expected)) fail(step, what, real, expected);
  };

  for (let step = 0; step < ops.length; step++) {
    const o = ops[step]!;
    switch (o.op) {
      case 'publish': {
        const body = `m${++published}${'.'.repeat(o.pad)}`;
        const ok = q.enqueue(message(body, o.ttl, o.priority));
        same(step, 'enqueue result', ok, model.publish(body, Buffer.byteLength(body), o.ttl, o.priority));
        break;
      }
      case 'advance':
        vi.advanceTimersByTime(o.ms);
        model.advance(o.ms);
        break;
      case 'consume': {
        const registered = consumers.filter((c) => c.model.registered).length;
        if (consumers.length >= MAX_CONSUMERS || (!f.consumers && registered > 0)) break;
        const tag = `c${consumers.length + 1}`;
        const ch = new FakeChannel(deliveries);
        const mch = new ModelChannel();
        const real = new Consumer(tag, ch, q, o.noAck, false, o.priority, o.prefetch, {});
        const m: ModelConsumer = { tag, priority: o.priority, prefetch: o.prefetch, noAck: o.noAck, channel: mch, unacked: 0, registered: false };
        consumers.push({ model: m, real });
        realChannels.push(ch);
        modelChannels.push(mch);
        q.addConsumer(real);
        model.addConsumer(m);
        break;
      }
      case 'cancel': {
        const live = consumers.filter((c) => c.model.registered);
        if (live.length === 0) break;
        const c = live[o.pick % live.length]!;
        q.removeConsumer(c.real);
        model.cancelConsumer(c.model);
        break;
      }
      case 'ack':
      case 'nack': {
        const withUnacked = modelChannels.map((ch, i) => i).filter((i) => modelChannels[i]!.unacked.length > 0);
        if (withUnacked.length === 0) break;
        const chi = withUnacked[o.ch % withUnacked.length]!;
        const mch = modelChannels[chi]!;
        const rch = realChannels[chi]!;
        const idx = o.pick % mch.unacked.length;
        const mEntries: ModelUnacked[] = o.multiple ? mch.unacked.slice(0, idx + 1) : [mch.unacked[idx]!];
        const all = [...rch.unacked.values()];
        const rEntries = o.multiple ? all.slice(0, idx + 1) : all[idx] === undefined ? [] : [all[idx]!];
        same(
          step,
          `unacked on channel ${chi}`,
          all.map((e) => e.msg.body.toString()),
          mch.unacked.map((e) => e.msg.body),
        );
        const action = o.op === 'ack' ? 'ack' : o.requeue ? 'requeue' : 'reject';
        rch.settle(rEntries, action);
        if (action === 'ack') model.ack(mch, mEntries);
        else if (action === 'requeue') model.requeue(mch, mEntries);
        else model.reject(mch, mEntries);
        break;
      }
      case 'get': {
        const e = q.fetch();
        let got: [string, boolean] | null = null;
        if (e !== undefined) {
          getChannel.track(e, null, o.noAck);
          got = [e.msg.body.toString(), e.redelivered];
        }
        same(step, 'basic.get result', got, model.get(o.noAck));
        break;
      }
      case 'purge':
        same(step, 'purge count', q.purge(), model.purge());
        break;
    }
    await settleTurn();
    same(step, 'delivery log', deliveries, model.deliveries);
    same(step, 'dead-letter log', host.deadLetters, model.deadLetters);
    same(step, 'messageCount', q.messageCount, model.messageCount);
    same(step, 'unacked count', q.unacked, model.unackedCount(modelChannels));
    same(step, 'consumerCount', q.consumerCount, model.consumerCount);
  }
}

