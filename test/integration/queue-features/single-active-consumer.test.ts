// Single active consumer (x-single-active-consumer true).
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { expect, test } from 'vitest';
import { sleep, uniq, useBroker, waitUntil } from '../../helpers/queue-features.js';

const broker = useBroker();

class Consumer {
  readonly got: ConsumeMessage[] = [];
  cancelledByServer = 0;
  tag = '';
  constructor(readonly ch: Channel) {}

  async start(q: string, options: { noAck?: boolean; prefetch?: number } = {}): Promise<this> {
    if (options.prefetch !== undefined) await this.ch.prefetch(options.prefetch);
    const ok = await this.ch.consume(
      q,
      (m) => {
        if (m === null) this.cancelledByServer++;
        else this.got.push(m);
      },
      { noAck: options.noAck ?? false },
    );
    this.tag = ok.consumerTag;
    return this;
  }

  get seen(): string[] {
    return this.got.map((m) => m.content.toString() + (m.fields.redelivered ? ' (redelivered)' : ''));
  }
}

async function setup(): Promise<{ conn: ChannelModel; ch: ConfirmChannel; q: string; publish(...bodies: string[]): Promise<void> }> {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const q = uniq('sac');
  expect(await ch.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } })).toEqual({
    queue: q,
    messageCount: 0,
    consumerCount: 0,
  });
  return {
    conn,
    ch,
    q,
    async publish(...bodies) {
      for (const b of bodies) ch.sendToQueue(q, Buffer.from(b));
      await ch.waitForConfirms();
    },
  };
}

async function consumer(conn: ChannelModel, q: string, options?: { noAck?: boolean; prefetch?: number }): Promise<Consumer> {
  return new Consumer(await conn.createChannel()).start(q, options);
}

test('only the first consumer receives; declare-ok counts the waiting consumers too', async () => {
  const { conn, ch, q, publish } = await setup();
  const a = await consumer(conn, q, { noAck: true });
  const b = await consumer(conn, q, { noAck: true });
  const c = await consumer(conn, q, { noAck: true });
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 3 });
  expect(await ch.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } })).toEqual({
    queue: q,
    messageCount: 0,
    consumerCount: 3,
  });
  await publish('1', '2', '3', '4');
  await waitUntil('four deliveries', () => a.got.length === 4);
  await sleep(100);
  expect(a.seen).toEqual(['1', '2', '3', '4']);
  expect(b.seen).toEqual([]);
  expect(c.seen).toEqual([]);
});

test('two consumers on one channel: still only the first', async () => {
  const { conn, q, publish } = await setup();
  const ch = await conn.createChannel();
  const first = await new Consumer(ch).start(q, { noAck: true });
  const second = await new Consumer(ch).start(q, { noAck: true });
  await publish('a', 'b', 'c');
  await waitUntil('three deliveries', () => first.got.length === 3);
  await sleep(50);
  expect(first.got.map((m) => [m.content.toString(), m.fields.consumerTag])).toEqual([
    ['a', first.tag],
    ['b', first.tag],
    ['c', first.tag],
  ]);
  expect(second.seen).toEqual([]);
});

test('the active consumer being full does not let a waiting one take messages', async () => {
  const { conn, ch, q, publish } = await setup();
  const a = await consumer(conn, q, { prefetch: 1 });
  const b = await consumer(conn, q, { prefetch: 10 });
  await publish('1', '2', '3');
  await waitUntil('first delivery', () => a.got.length === 1);
  await sleep(100);
  expect(a.seen).toEqual(['1']);
  expect(b.seen).toEqual([]);
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 2 });
  a.ch.ack(a.got[0]!);
  await waitUntil('second delivery', () => a.got.length === 2);
  expect(a.seen).toEqual(['1', '2']);
  expect(b.seen).toEqual([]);
});

test('when the active consumer cancels, the next in registration order takes over; its unacked messages stay with it', async () => {
  const { conn, ch, q, publish } = await setup();
  const a = await consumer(conn, q);
  const b = await consumer(conn, q);
  const c = await consumer(conn, q);
  await publish('1', '2');
  await waitUntil('two deliveries to a', () => a.got.length === 2);
  await a.ch.cancel(a.tag);
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 2 });
  await publish('3', '4');
  await waitUntil('two deliveries to b', () => b.got.length === 2);
  await sleep(100);
  expect(a.seen).toEqual(['1', '2']);
  expect(b.seen).toEqual(['3', '4']);
  expect(c.seen).toEqual([]);
  // a's unacked messages were not requeued by the cancel: acking them still works.
  a.ch.ack(a.got[1]!, true);
  b.ch.ack(b.got[1]!, true);
  await sleep(50);
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 2 });
  expect(c.cancelledByServer + b.cancelledByServer).toBe(0);
});

test("when the active consumer's channel closes, its unacked messages are requeued and go to the new active consumer, redelivered", async () => {
  const { conn, ch, q, publish } = await setup();
  const a = await consumer(conn, q);
  const b = await consumer(conn, q);
  const c = await consumer(conn, q);
  await publish('1', '2', '3');
  await waitUntil('three deliveries to a', () => a.got.length === 3);
  a.ch.ack(a.got[0]!);
  // Ready messages behind the unacked ones.
  await publish('4', '5');
  await waitUntil('five deliveries to a', () => a.got.length === 5);
  await a.ch.close();
  await waitUntil('four deliveries to b', () => b.got.length === 4);
  await sleep(100);
  expect(b.seen).toEqual(['2 (redelivered)', '3 (redelivered)', '4 (redelivered)', '5 (redelivered)']);
  expect(c.seen).toEqual([]);
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 2 });
  // And the same again from b to c, with messages still ready in the queue.
  await publish('6');
  await waitUntil('b got 6', () => b.got.length === 5);
  await b.ch.close();
  await waitUntil('c got everything', () => c.got.length === 5);
  expect(c.seen).toEqual(['2 (redelivered)', '3 (redelivered)', '4 (redelivered)', '5 (redelivered)', '6 (redelivered)']);
});

test('messages published while nobody consumes wait for the first consumer; a later consumer waits', async () => {
  const { conn, q, publish } = await setup();
  await publish('early1', 'early2');
  const a = await consumer(conn, q, { noAck: true });
  const b = await consumer(conn, q, { noAck: true });
  await publish('late');
  await waitUntil('three deliveries', () => a.got.length === 3);
  await sleep(50);
  expect(a.seen).toEqual(['early1', 'early2', 'late']);
  expect(b.seen).toEqual([]);
});

test('a queue without x-single-active-consumer (or with false) round-robins', async () => {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const q = uniq('nosac');
  await ch.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': false } });
  const a = await consumer(conn, q, { noAck: true });
  const b = await consumer(conn, q, { noAck: true });
  for (const m of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(m));
  await ch.waitForConfirms();
  await waitUntil('four deliveries', () => a.got.length + b.got.length === 4);
  expect(a.seen).toEqual(['1', '3']);
  expect(b.seen).toEqual(['2', '4']);
});
