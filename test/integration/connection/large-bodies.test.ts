// Large bodies through the shared read buffer and the body frames read straight into place:
// several publishers at once, bodies around every frame boundary, each delivered byte for byte.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const FRAME = 131072 - 8;
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
});
