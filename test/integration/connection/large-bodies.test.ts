// Large bodies through the shared read buffer and the body frames read straight into place:
// several publishers at once, bodies around every frame boundary, each delivered byte for byte.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { FRAME_BODY, FRAME_HEADER, M, RawClient } from '../../helpers/raw-client.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const FRAME = 131072 - 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A body frame's bytes: type 3, channel, size, payload, end octet. */
function bodyFrame(channel: number, payload: Buffer, end = 0xce): Buffer {
  const f = Buffer.alloc(8 + payload.length);
  f[0] = FRAME_BODY;
  f.writeUInt16BE(channel, 1);
  f.writeUInt32BE(payload.length, 3);
  payload.copy(f, 7);
  f[f.length - 1] = end;
  return f;
}

/** Opens channel 1 and an exclusive queue on a raw connection; sends basic.publish and a content header for `size` bytes. */
async function startPublish(c: RawClient, size: number): Promise<string> {
  await c.openChannel(1);
  c.sendMethod(1, { id: M.QueueDeclare, queue: '', passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} });
  const q = (await c.expectMethod(M.QueueDeclareOk)).queue;
  c.sendMethod(1, { id: M.BasicPublish, exchange: '', routingKey: q, mandatory: false, immediate: false });
  c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(size));
  return q;
}
const SIZES = [0, 1, 4095, FRAME - 1, FRAME, FRAME + 1, 2 * FRAME + 7, 1024 * 1024 + 3, 3 * 1024 * 1024];

describe('large bodies', () => {
  test('connections read into the shared buffer on this Node', async () => {
    const c = await amqp.connect(b.url);
    try {
      const conns = [...b.broker.connections];
      expect(conns.length).toBeGreaterThan(0);
      for (const conn of conns) expect(conn.sharedReads).toBe(true);
    } finally {
      await c.close();
    }
  });

  test('three publishers at once (frame_max 131072 and 4096): every body arrives intact and in order', async () => {
    const url = (frameMax: number) => `${b.url}?frameMax=${frameMax}`;
    const consumer = await amqp.connect(url(131072));
    const publishers = await Promise.all([amqp.connect(url(131072)), amqp.connect(url(131072)), amqp.connect(url(4096))]);
    try {
      const cch = await consumer.createChannel();
      const { queue } = await cch.assertQueue('', { exclusive: true });
      const sent: Buffer[][] = publishers.map(() => []);
      const got: Buffer[][] = publishers.map(() => []);
      const total = publishers.length * SIZES.length * 2;
      let n = 0;
      const done = new Promise<void>((resolve) => {
        void cch.consume(
          queue,
          (m) => {
            if (m === null) return;
            got[Number(m.properties.appId)]!.push(m.content);
            if (++n === total) resolve();
          },
          { noAck: true },
        );
      });
      await Promise.all(
        publishers.map(async (p, i) => {
          const ch = await p.createConfirmChannel();
          for (let round = 0; round < 2; round++) {
            for (const size of round === 0 ? SIZES : [...SIZES].reverse()) {
              const body = randomBytes(size);
              sent[i]!.push(body);
              ch.sendToQueue(queue, body, { appId: String(i) });
            }
          }
          await ch.waitForConfirms();
        }),
      );
      await done;
      for (let i = 0; i < publishers.length; i++) {
        expect(got[i]!.map((x) => x.length)).toEqual(sent[i]!.map((x) => x.length));
        for (let k = 0; k < sent[i]!.length; k++) expect(got[i]![k]!.equals(sent[i]![k]!)).toBe(true);
      }
    } finally {
      for (const p of publishers) await p.close();
      await consumer.close();
    }
  }, 60000);

  test('a body frame read in place with a wrong end octet: 501 FRAME_ERROR naming its first octets, as when it arrives whole', async () => {
    const c = await RawClient.open(b.port);
    await startPublish(c, 2 * FRAME);
    const payload = Buffer.alloc(FRAME, 1);
    const frame = bodyFrame(1, payload, 0x00);
    // In pieces, with pauses, so that the broker reads the rest of the payload into place.
    c.write(frame.subarray(0, 1000));
    await sleep(30);
    c.write(frame.subarray(1000, 70000));
    await sleep(30);
    c.write(frame.subarray(70000));
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 501,
      replyText: 'FRAME_ERROR - type 3, first 16 octets = <<1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1>>: {invalid_frame_end_marker,0}',
      classId: 0,
      methodId: 0,
    });
    c.destroy();
  });

  test('a publisher that vanishes in the middle of a body being read in place leaves the broker serving others', async () => {
    const c = await RawClient.open(b.port);
    const q = await startPublish(c, 3 * FRAME);
    const frame = bodyFrame(1, Buffer.alloc(FRAME, 1));
    c.write(frame.subarray(0, 5000));
    await sleep(30);
    c.write(frame.subarray(5000, 60000));
    await sleep(30);
    c.destroy();
    await sleep(50);
    // The same queue, through amqplib: a whole 1 MiB message goes through.
    const conn = await amqp.connect(`${b.url}?frameMax=131072`);
    try {
      const ch = await conn.createChannel();
      const body = randomBytes(1024 * 1024);
      ch.sendToQueue(q, body);
      let m: amqp.GetMessage | false = false;
      for (let i = 0; i < 100 && m === false; i++) {
        m = await ch.get(q, { noAck: true });
        if (m === false) await sleep(10);
      }
      expect(m !== false && m.content.equals(body)).toBe(true);
      await ch.deleteQueue(q);
    } finally {
      await conn.close();
    }
  });
});
