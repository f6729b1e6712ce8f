// Heartbeats. On RabbitMQ 3.10.8 with heartbeat=1 the server sends a heartbeat frame every
// 500 ms while it has nothing else to send, and a client that sends nothing is dropped
// (no connection.close) 2 to 3 intervals after the last bytes it sent: about 3.0 s after
// connection.open in practice.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { describeFrame, FRAME_HEARTBEAT, M, RawClient, TimeoutError } from '../../helpers/raw-client.js';
import { sleep } from '../../helpers/timing.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

describe.concurrent('heartbeats', () => {
  test('with tune-ok heartbeat=1 the server sends a heartbeat frame (type 8, channel 0, empty) every half interval, as RabbitMQ does', async () => {
    const c = await RawClient.connect(b.port);
    await c.handshake({ heartbeat: 1 });
    // Keep the server from timing us out while we watch.
    const keepAlive = setInterval(() => c.sendHeartbeat(), 400);
    const t0 = Date.now();
    const seen: { at: number; type: number; channel: number; size: number }[] = [];
    try {
      while (Date.now() - t0 < 2600) {
        try {
          const f = await c.nextFrame(2600 - (Date.now() - t0));
          seen.push({ at: Date.now() - t0, type: f.type, channel: f.channel, size: f.payload.length });
        } catch (err) {
          if (err instanceof TimeoutError) break;
          throw err;
        }
      }
    } finally {
      clearInterval(keepAlive);
    }
    expect(seen.map(({ type, channel, size }) => ({ type, channel, size }))).toEqual(
      seen.map(() => ({ type: FRAME_HEARTBEAT, channel: 0, size: 0 })),
    );
    // RabbitMQ 3.10.8: at 501, 1002, 1503, 2004, 2505 ms. A client may drop the connection after
    // one silent interval, so no gap may come near 1000 ms (a one-second clock gave 1000-2000).
    const gaps = seen.map((s, i) => s.at - (i === 0 ? 0 : seen[i - 1]!.at));
    expect(seen.length, `heartbeats at ${JSON.stringify(seen.map((s) => s.at))} ms`).toBeGreaterThanOrEqual(4);
    expect(Math.max(...gaps), `heartbeats at ${JSON.stringify(seen.map((s) => s.at))} ms`).toBeLessThan(850);
    expect(c.isClosed).toBe(false);
    await c.close();
  });

  test('tune-ok heartbeat=0 disables heartbeats even when the server offers 1 s', async () => {
    const quick = await startBroker({ port: 0, heartbeat: 1 });
    try {
      const c = await RawClient.connect(quick.port);
      const { tune } = await c.handshake({ heartbeat: 0 });
      expect(tune.heartbeat).toBe(1);
      const before = c.receivedBytes().length;
      await sleep(2600);
      // Not a single byte after open-ok: no heartbeat frames, and no timeout either.
      expect(c.receivedBytes().length - before).toBe(0);
      expect(c.isClosed).toBe(false);
      c.sendMethod(0, { id: M.ConnectionClose, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
      expect(await c.nextReply()).toEqual({ method: 'ConnectionCloseOk', channel: 0 });
      c.destroy();
    } finally {
      await quick.close();
    }
  });

  // Four clients, their last bytes spread over a second, so that whatever clock granularity
  // the broker uses, each one is checked against the "at least two intervals" rule.
  test('a client that negotiates heartbeat=1 and then sends nothing is dropped 2-3 intervals later, without connection.close', async () => {
    const results = await Promise.all(
      [0, 250, 500, 750].map(async (delay) => {
        await sleep(delay);
        const c = await RawClient.connect(b.port);
        await c.handshake({ heartbeat: 1 });
        const lastSent = Date.now(); // connection.open was the last thing we sent
        const frames = (await c.framesWithin(4000)).map(describeFrame);
        const closedAfter = c.closeTime === null ? null : c.closeTime - lastSent;
        c.destroy();
        return { frames, closed: closedAfter !== null, atLeastTwoIntervals: closedAfter !== null && closedAfter >= 1900, closedAfter };
      }),
    );
    const times = results.map((r) => r.closedAfter);
    expect(
      results.map(({ frames, closed, atLeastTwoIntervals }) => ({ frames, closed, atLeastTwoIntervals })),
      `closed after ${JSON.stringify(times)} ms of client silence`,
    ).toEqual(results.map(() => ({ frames: [], closed: true, atLeastTwoIntervals: true })));
  });

  test('a client that keeps sending heartbeats every 500 ms stays connected', async () => {
    const c = await RawClient.connect(b.port);
    await c.handshake({ heartbeat: 1 });
    const keepAlive = setInterval(() => c.sendHeartbeat(), 500);
    await sleep(3200);
    clearInterval(keepAlive);
    expect(c.isClosed).toBe(false);
    await c.openChannel(1);
    await c.close();
  });

  test('amqplib with heartbeat=1 stays connected for 3 s while idle', async () => {
    const conn = await amqp.connect(`${b.url}?heartbeat=1`);
    expect((conn.connection as unknown as { heartbeat: number }).heartbeat).toBe(1);
    const events: string[] = [];
    conn.on('error', (err: Error) => events.push(`error: ${err.message}`));
    conn.on('close', () => events.push('close'));
    await sleep(3000);
    expect(events).toEqual([]);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.messageCount).toBe(0);
    await conn.close();
    expect(events).toEqual(['close']);
  });
});
