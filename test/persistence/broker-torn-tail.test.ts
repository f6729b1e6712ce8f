/**
 * A torn or corrupt tail at the broker level: after confirmed persistent publishes and a
 * stop, the last segment file is cut or has a byte flipped at a random position
 * (fast-check). The broker must start, and the queue must hold exactly the messages
 * whose records lie wholly before the damage, in publish order, byte for byte.
 */
import amqp from 'amqplib';
import { openSync, closeSync, readSync, writeSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { offsetOf, segmentOf, segmentFileName } from '../../persistence/segments/index.js';
import { startBroker } from '../../server/index.js';
import { payloadFor, removeDir, sizeFor, tempDir } from './helpers.js';

const N = 120;
const bodyOf = (i: number) => payloadFor(i, sizeFor(i, 2000));

/** Publishes N confirmed persistent messages with small segments; returns each one's store id. */
async function fill(dir: string): Promise<number[]> {
  const b = await startBroker({ port: 0, dataDir: dir, storeSegmentBytes: 64 * 1024 });
  const ids: number[] = [];
  const segments = b.broker.store!.segments;
  const append2 = segments.append2.bind(segments);
  segments.append2 = (head, body, refs) => {
    const id = append2(head, body, refs);
    ids.push(id);
    return id;
  };
  const conn = await amqp.connect(b.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('torn', { durable: true });
  for (let i = 0; i < N; i++) ch.sendToQueue('torn', bodyOf(i), { persistent: true, messageId: String(i) });
  await ch.waitForConfirms();
  await conn.close();
  await b.close();
  return ids;
}

describe('a damaged last segment', () => {
  it('is cut at the damage; every message before it is kept, in order and intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), async (where, flip) => {
        const dir = tempDir('broker-torn');
        try {
          const ids = await fill(dir);
          const lastSeg = segmentOf(ids[ids.length - 1]!);
          const path = join(dir, 'msg_store', segmentFileName(lastSeg));
          const size = statSync(path).size;
          // Somewhere in the records (after the 32-byte segment header).
          const pos = 32 + Math.floor(where * (size - 32 - 1));
          if (flip) {
            const fd = openSync(path, 'r+');
            const b = Buffer.alloc(1);
            readSync(fd, b, 0, 1, pos);
            b[0] = b[0]! ^ 0xff;
            writeSync(fd, b, 0, 1, pos);
            closeSync(fd);
          } else {
            truncateSync(path, pos);
          }
          // Records of the last segment that end before the damage survive; those starting after it do not.
          const inLast = ids.map((id, i) => ({ i, seg: segmentOf(id), at: offsetOf(id) }));
          const endOf = (k: number) => (k + 1 < inLast.length && inLast[k + 1]!.seg === lastSeg ? inLast[k + 1]!.at : size);
          const surely = inLast.filter((r, k) => r.seg < lastSeg || endOf(k) <= pos).length;
          const atMost = inLast.filter((r) => r.seg < lastSeg || r.at <= pos).length;

          const b = await startBroker({ port: 0, dataDir: dir, storeSegmentBytes: 64 * 1024 });
          try {
            const conn = await amqp.connect(b.url);
            const ch = await conn.createChannel();
            const got: number[] = [];
            for (;;) {
              const m = await ch.get('torn', { noAck: true });
              if (m === false) break;
              const i = Number(m.properties.messageId);
              expect(m.content.equals(bodyOf(i)), `message ${i} intact`).toBe(true);
              got.push(i);
            }
            await conn.close();
            expect(got).toEqual([...Array(got.length).keys()]);
            expect(got.length).toBeGreaterThanOrEqual(surely);
            expect(got.length).toBeLessThanOrEqual(atMost);
            expect(b.broker.store!.segments.recovery.truncated.length).toBeLessThanOrEqual(1);
          } finally {
            await b.close();
          }
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: 8, endOnFailure: true },
    );
  }, 60_000);
});
