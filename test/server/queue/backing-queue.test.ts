/**
 * The backing queue's four lists (plain, pending, compact, requeued) behave as one FIFO by
 * queue order: fast-check drives random publishes (stored or not), durability advances,
 * fetches, requeues, write failures and purges against a plain sorted list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBackingQueue, type StoredMessages } from '../../../server/queue/backing-queue.js';
import { Message, QueueEntry } from '../../../server/queue/message.js';
import type { Queue } from '../../../server/queue/queue.js';
import { PriorityBackingQueue } from '../../../server/queue/priority-backing-queue.js';

class FakeStore implements StoredMessages {
  durableId = -1;
  lastId = -1;
  readonly released: string[] = [];
  readonly bodies = new Map<number, { body: string; priority: number }>();
  materialize(id: number): Message {
    const m = this.bodies.get(id)!;
    const msg = new Message('', 'q', Buffer.alloc(0), { priority: m.priority }, Buffer.from(m.body), 'q', -1);
    msg.storeId = id;
    msg.store = this;
    return msg;
  }
  read(): Buffer {
    throw new Error('not used');
  }
  readRun(): number {
    return 0;
  }
  release(id: number, slot: number): void {
    this.released.push(`${id}:${slot}`);
  }
  noteDelivered(): void {}
  noteHeld(): void {}
  noteReturned(): void {}
  waitFor(): void {}
}

type Op =
  | { op: 'publish'; stored: boolean; priority: number }
  | { op: 'durable' }
  | { op: 'fail' }
  | { op: 'fetch' }
  | { op: 'requeue'; pick: number }
  | { op: 'purge' };

const ops = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('publish' as const), stored: fc.boolean(), priority: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 2, arbitrary: fc.constant({ op: 'durable' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'fail' as const }) },
    { weight: 4, arbitrary: fc.constant({ op: 'fetch' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('requeue' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ op: 'purge' as const }) },
  ),
  { maxLength: 120 },
);

function run(list: Op[], priority: boolean): void {
  const store = new FakeStore();
  const queue = { host: { store } } as unknown as Queue;
  const bq = priority ? new PriorityBackingQueue(3, queue) : new MemoryBackingQueue(queue);
  // The model: ready entries as (priority, seq, body), served highest priority then lowest seq.
  let ready: { p: number; seq: number; body: string }[] = [];
  const held: QueueEntry[] = [];
  let seq = 0;
  let notDurable: Message[] = [];
  for (const o of list) {
    switch (o.op) {
      case 'publish': {
        const body = `m${seq}`;
        const p = priority ? o.priority : 0;
        const msg = new Message('', 'q', Buffer.alloc(0), { priority: p }, Buffer.from(body), 'q', -1);
        const e = new QueueEntry(msg, queue, seq);
        if (o.stored) {
          msg.storeId = ++store.lastId;
          msg.store = store;
          store.bodies.set(msg.storeId, { body, priority: p });
          e.slot = 0;
          notDurable.push(msg);
        }
        bq.publish(e);
        ready.push({ p, seq, body });
        seq++;
        break;
      }
      case 'durable':
        store.durableId = store.lastId;
        for (const m of notDurable) m.pageOut();
        notDurable = [];
        break;
      case 'fail':
        // The store reports the not-yet-durable records failed: they stay in memory.
        for (const m of notDurable) m.storeId = -1;
        notDurable = [];
        break;
      case 'fetch': {
        const e = bq.fetch();
        ready.sort((a, b) => b.p - a.p || a.seq - b.seq);
        const want = ready.shift();
        expect(e === undefined ? undefined : `m${e.seq}`).toBe(want?.body);
        // A message read back from the store is the one that was stored.
        if (e !== undefined && e.msg.storeId >= 0 && !e.msg.resident) expect(store.bodies.get(e.msg.storeId)!.body).toBe(want!.body);
        if (e !== undefined && e.msg.resident) expect(e.msg.body.toString()).toBe(want!.body);
        if (e !== undefined) {
          expect(e.seq).toBe(want!.seq);
          held.push(e);
        }
        break;
      }
      case 'requeue': {
        if (held.length === 0) break;
        const [e] = held.splice(o.pick % held.length, 1);
        e!.redelivered = true;
        bq.requeue(e!);
        ready.push({ p: e!.msg.priority, seq: e!.seq, body: `m${e!.seq}` });
        break;
      }
      case 'purge':
        expect(bq.purge()).toBe(ready.length);
        ready = [];
        break;
    }
    expect(bq.length).toBe(ready.length);
  }
}

describe('backing queue: plain, pending, compact and requeued entries in one order', () => {
  it('serves in queue order whatever list each entry sits in', () => {
    fc.assert(fc.property(ops, (list) => run(list, false)), { numRuns: 300 });
  });
  it('and per priority level, highest first', () => {
    fc.assert(fc.property(ops, (list) => run(list, true)), { numRuns: 300 });
  });
  it('a purge releases every stored entry, compact ones included', () => {
    const store = new FakeStore();
    const queue = { host: { store } } as unknown as Queue;
    const bq = new MemoryBackingQueue(queue);
    for (let i = 0; i < 10_000; i++) {
      const msg = new Message('', 'q', Buffer.alloc(0), {}, Buffer.from('x'), 'q', -1);
      msg.storeId = i;
      msg.store = store;
      const e = new QueueEntry(msg, queue, i);
      e.slot = i % 3;
      store.lastId = i;
      if (i === 5000) store.durableId = 4999;
      bq.publish(e);
    }
    expect(bq.purge()).toBe(10_000);
    expect(store.released.length).toBe(10_000);
    expect(new Set(store.released).size).toBe(10_000);
    expect(store.released).toContain('0:0');
    expect(store.released).toContain('9999:0');
    expect(bq.length).toBe(0);
  });
});
