// consumer_timeout: a channel whose oldest unacknowledged delivery is older than the
// timeout is closed with 406 PRECONDITION_FAILED, and its unacked messages are requeued.
//
// RabbitMQ 3.10 (rabbit_channel:evaluate_consumer_timeout) looks at the oldest entry of
// the channel's unacked queue on every channel tick: consumer deliveries and basic.get
// deliveries alike, each stamped with the time it was sent. The close names no method
// (class 0, method 0). The per-queue x-consumer-timeout argument is RabbitMQ 3.12+.
// None of this can be checked against the shared reference broker (its consumer_timeout
// is the 30-minute default), so these tests run on Warren only.
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { afterAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { serverClose, sleep, uniq, waitUntil, type ServerClose } from '../../helpers/queue-features.js';

const running: RunningBroker[] = [];
const conns: ChannelModel[] = [];

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => {});
  for (const b of running) await b.close();
});

async function broker(consumerTimeout: number): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, consumerTimeout });
  running.push(b);
  return b;
}

async function connect(b: RunningBroker): Promise<ChannelModel> {
  const c = await amqp.connect(b.url);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

/** The channel number amqplib gave `ch`. */
function channelId(ch: Channel): number {
  return (ch as unknown as { ch: number }).ch;
}

function timedOut(channel: number, timeout: number): ServerClose {
  return {
    code: 406,
    text: `PRECONDITION_FAILED - delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
    classId: 0,
    methodId: 0,
  };
}

/** The first server close of `ch`, with the time it arrived; null while none has come. */
function watchClose(ch: Channel): { close: ServerClose | null; at: number; closed: Promise<ServerClose> } {
  const w: { close: ServerClose | null; at: number; closed: Promise<ServerClose> } = { close: null, at: 0, closed: null! };
  w.closed = new Promise((resolve) => {
    ch.once('error', (err: unknown) => {
      w.close = serverClose(err);
      w.at = Date.now();
      resolve(w.close);
    });
  });
  return w;
}

/**
 * Resolves just after the broker's once-a-second clock has ticked. Deliveries sent right
 * after a tick are stamped with (nearly) their real time, so the bounds on when the
 * close comes hold whatever the clock's granularity.
 */
async function afterTick(b: RunningBroker): Promise<void> {
  const before = b.broker.now;
  const deadline = Date.now() + 3000;
  while (b.broker.now === before) {
    if (Date.now() > deadline) throw new Error('the broker clock did not tick');
    await sleep(1);
  }
}

describe('consumerTimeout: 1000', () => {
  test('a consumer that never acks: its channel is closed with 406 after ~1 s and both unacked messages go to another consumer, redelivered', async () => {
    const b = await broker(1000);
    const conn = await connect(b);
    const ch = await conn.createChannel();
    expect(channelId(ch)).toBe(1);
    const watch = watchClose(ch);
    const q = uniq('ct-never');
    await ch.assertQueue(q);
    const got: { m: ConsumeMessage; at: number }[] = [];
    await ch.consume(q, (m) => m !== null && got.push({ m, at: Date.now() }), { noAck: false });
    await afterTick(b);
    ch.sendToQueue(q, Buffer.from('m1'));
    ch.sendToQueue(q, Buffer.from('m2'));
    await waitUntil('both deliveries', () => got.length === 2);
    expect(got.map(({ m }) => [m.content.toString(), m.fields.deliveryTag, m.fields.redelivered])).toEqual([
      ['m1', 1, false],
      ['m2', 2, false],
    ]);

    // Another consumer, on another connection, waits for them.
    const other = await connect(b);
    const och = await other.createChannel();
    const redelivered: ConsumeMessage[] = [];
    await och.consume(q, (m) => m !== null && redelivered.push(m), { noAck: false });
    expect(redelivered).toEqual([]);

    expect(await watch.closed).toEqual(timedOut(1, 1000));
    const elapsed = watch.at - got[0]!.at;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThanOrEqual(3000);

    await waitUntil('the redeliveries', () => redelivered.length === 2);
    expect(redelivered.map((m) => [m.content.toString(), m.fields.redelivered, m.fields.exchange, m.fields.routingKey])).toEqual([
      ['m1', true, '', q],
      ['m2', true, '', q],
    ]);
    for (const m of redelivered) och.ack(m);
    // Only the channel was closed: its connection goes on.
    const again = await conn.createChannel();
    expect(await again.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
    await again.deleteQueue(q);
  });

  test('consumers that ack at once, and no-ack consumers, are never closed', async () => {
    const b = await broker(1000);
    const conn = await connect(b);
    const acking = await conn.createChannel();
    const noAck = await conn.createChannel();
    const w1 = watchClose(acking);
    const w2 = watchClose(noAck);
    const q1 = uniq('ct-acks');
    const q2 = uniq('ct-noack');
    await acking.assertQueue(q1, { exclusive: true });
    await noAck.assertQueue(q2, { exclusive: true });
    const acked: string[] = [];
    await acking.consume(
      q1,
      (m) => {
        if (m === null) return;
        acking.ack(m);
        acked.push(m.content.toString());
      },
      { noAck: false },
    );
    const taken: string[] = [];
    await noAck.consume(q2, (m) => m !== null && taken.push(m.content.toString()), { noAck: true });
    const sent: string[] = [];
    // Sent 100, 500, 900, 1300 and 1700 ms after a tick: acks are never in flight across one.
    await afterTick(b);
    await sleep(100);
    for (let i = 0; i < 5; i++) {
      sent.push(`m${i}`);
      acking.sendToQueue(q1, Buffer.from(`m${i}`));
      noAck.sendToQueue(q2, Buffer.from(`m${i}`));
      await sleep(400);
    }
    await sleep(300);
    expect(acked).toEqual(sent);
    expect(taken).toEqual(sent);
    expect([w1.close, w2.close]).toEqual([null, null]);
    expect(await acking.checkQueue(q1)).toEqual({ queue: q1, messageCount: 0, consumerCount: 1 });
    expect(await noAck.checkQueue(q2)).toEqual({ queue: q2, messageCount: 0, consumerCount: 1 });
  });

  test('basic.get deliveries left unacked time out too; the message is requeued', async () => {
    const b = await broker(1000);
    const conn = await connect(b);
    const ch = await conn.createChannel();
    const watch = watchClose(ch);
    const q = uniq('ct-get');
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from('got'));
    await afterTick(b);
    const m = await ch.get(q, { noAck: false });
    const at = Date.now();
    expect(m !== false && [m.content.toString(), m.fields.deliveryTag, m.fields.redelivered]).toEqual(['got', 1, false]);
    expect(await watch.closed).toEqual(timedOut(1, 1000));
    expect(watch.at - at).toBeGreaterThanOrEqual(900);
    expect(watch.at - at).toBeLessThanOrEqual(3000);
    const other = await conn.createChannel();
    const again = await other.get(q, { noAck: true });
    expect(again !== false && [again.content.toString(), again.fields.redelivered, again.fields.messageCount]).toEqual(['got', true, 0]);
    await other.deleteQueue(q);
  });
});

describe('consumerTimeout: 1500', () => {
  test('a delivery acked 1.3 s after it was sent is in time, whatever the phase of the broker clock when it was sent', async () => {
    const b = await broker(1500);
    const conn = await connect(b);
    const ch = await conn.createChannel();
    const watch = watchClose(ch);
    const q = uniq('ct-phase');
    await ch.assertQueue(q, { exclusive: true });
    const acked: string[] = [];
    await ch.consume(
      q,
      (m) => {
        if (m === null) return;
        setTimeout(() => {
          if (watch.close !== null) return; // closed by the broker: nothing left to ack
          ch.ack(m);
          acked.push(m.content.toString());
        }, 1300);
      },
      { noAck: false },
    );
    // Sent ~150 ms before a tick: the broker must time the delivery from when it was sent,
    // not from its last tick.
    await afterTick(b);
    await sleep(850);
    ch.sendToQueue(q, Buffer.from('late-in-the-second'));
    await waitUntil('the ack', () => acked.length === 1 || watch.close !== null, 4000);
    expect(watch.close).toBeNull();
    expect(acked).toEqual(['late-in-the-second']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
  });
});

describe('x-consumer-timeout', () => {
  test('500 on one queue while the broker default is 60000: that queue\'s deliveries time out after ~0.5 s; another queue\'s do not', async () => {
    const b = await broker(60000);
    const conn = await connect(b);
    const plain = await conn.createChannel();
    const short = await conn.createChannel();
    expect([channelId(plain), channelId(short)]).toEqual([1, 2]);
    const wPlain = watchClose(plain);
    const wShort = watchClose(short);
    const qShort = uniq('ct-arg');
    const qPlain = uniq('ct-default');
    await short.assertQueue(qShort, { arguments: { 'x-consumer-timeout': 500 } });
    await plain.assertQueue(qPlain);
    const gotShort: ConsumeMessage[] = [];
    const gotPlain: ConsumeMessage[] = [];
    await short.consume(qShort, (m) => m !== null && gotShort.push(m), { noAck: false });
    await plain.consume(qPlain, (m) => m !== null && gotPlain.push(m), { noAck: false });
    await afterTick(b);
    short.sendToQueue(qShort, Buffer.from('short'));
    plain.sendToQueue(qPlain, Buffer.from('plain'));
    await waitUntil('both deliveries', () => gotShort.length === 1 && gotPlain.length === 1);
    const at = Date.now();
    expect(await wShort.closed).toEqual(timedOut(2, 500));
    expect(wShort.at - at).toBeGreaterThanOrEqual(450);
    expect(wShort.at - at).toBeLessThanOrEqual(2500);
    // The other channel's delivery, as old, was looked at on the same tick.
    await sleep(200);
    expect(wPlain.close).toBeNull();
    plain.ack(gotPlain[0]!);
    expect(await plain.checkQueue(qPlain)).toEqual({ queue: qPlain, messageCount: 0, consumerCount: 1 });
    // The timed-out delivery is back in its queue.
    expect(await plain.checkQueue(qShort)).toEqual({ queue: qShort, messageCount: 1, consumerCount: 0 });
    await plain.deleteQueue(qShort);
    await plain.deleteQueue(qPlain);
  });
});
