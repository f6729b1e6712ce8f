// A peer that stops reading. Once its TCP window and the broker's socket buffer are full,
// nothing more can be written to it. RabbitMQ then drops it after missed heartbeats, and
// the client's recovery can start; Warren treats output that has not drained for two
// heartbeat intervals as a dead peer, and closes the connection (without connection.close,
// which could not be delivered anyway). A client that reads slowly is not a dead peer.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import amqp from 'amqplib';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { M, RawClient } from '../../helpers/raw-client.js';
import { sleep } from '../../helpers/timing.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

/** Opens channel 1, fills a fresh queue with `count` bodies of `size` bytes and starts a no-ack consumer on it. */
async function consumeBacklog(c: RawClient, count: number, size: number): Promise<void> {
  await c.openChannel(1);
  c.sendMethod(1, { id: M.QueueDeclare, queue: '', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} });
  const q = (await c.expectMethod(M.QueueDeclareOk)).queue;
  const body = Buffer.alloc(size, 0x61);
  for (let i = 0; i < count; i++) c.publish(1, '', q, body);
  c.sendMethod(1, { id: M.QueueDeclare, queue: q, passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} });
  expect((await c.expectMethod(M.QueueDeclareOk, 10_000)).messageCount).toBe(count);
  c.sendMethod(1, { id: M.BasicConsume, queue: q, consumerTag: 'c', noLocal: false, noAck: true, exclusive: false, nowait: true, arguments: {} });
}

describe.concurrent('a peer that stops reading', () => {
  test('is closed about two heartbeat intervals after its output stopped draining, even though it keeps sending heartbeats', async () => {
    const c = await RawClient.open(b.port, { heartbeat: 1 });
    // 48 MiB of deliveries: far more than the socket buffers on both sides hold.
    await consumeBacklog(c, 768, 64 * 1024);
    c.socket.pause();
    const stoppedAt = Date.now();
    const keepAlive = setInterval(() => c.sendHeartbeat(), 300);
    const closed = await c.waitClosed(8000);
    clearInterval(keepAlive);
    expect(closed, 'the broker closed the stalled connection').toBe(true);
    expect(c.closeTime! - stoppedAt).toBeGreaterThanOrEqual(1500);
    // The broker is fine and serves a new client.
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('after'));
    const got = await ch.get(q.queue, { noAck: true });
    expect(got !== false && got.content.toString()).toBe('after');
    await conn.close();
  });

  test('a client that reads slowly but steadily is not closed', async () => {
    const c = await RawClient.open(b.port, { heartbeat: 1 });
    await consumeBacklog(c, 768, 64 * 1024);
    c.socket.pause();
    const keepAlive = setInterval(() => c.sendHeartbeat(), 300);
    // Read a little every 200 ms for 4 s: progress, however slow, is not a dead peer.
    for (let i = 0; i < 20 && !c.isClosed; i++) {
      c.socket.resume();
      await sleep(5);
      c.socket.pause();
      await sleep(200);
    }
    clearInterval(keepAlive);
    expect(c.isClosed).toBe(false);
    c.destroy();
  });
});
