// frame_max before tune-ok. Until the client's tune-ok, RabbitMQ 3.10.8 accepts frames of at
// most 4,096 bytes (the spec's frame-min-size); a larger start-ok is a handshake failure: no
// frame, the socket closed 3 s later (observed: payload 4,096 gets connection.tune, 4,097
// and 5,000 get nothing and a close after 3.0 s). After tune-ok the negotiated limit applies.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { describeFrame, M, RawClient } from '../../helpers/raw-client.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const response = Buffer.from('\0guest\0guest');

/** A start-ok whose frame payload is exactly `n` bytes (padded in the client properties). */
function startOkOfSize(n: number) {
  const base = RawClient.methodFrame(0, { id: M.ConnectionStartOk, clientProperties: { product: 'x', pad: '' }, mechanism: 'PLAIN', response, locale: 'en_US' }).length - 8;
  return { id: M.ConnectionStartOk, clientProperties: { product: 'x', pad: 'p'.repeat(n - base) }, mechanism: 'PLAIN', response, locale: 'en_US' } as const;
}

describe.concurrent('frame_max before tune-ok', () => {
  test('a start-ok of exactly 4096 bytes is accepted', async () => {
    const c = await RawClient.connect(b.port);
    c.sendHeader();
    await c.expectMethod(M.ConnectionStart);
    const m = startOkOfSize(4096);
    expect(RawClient.methodFrame(0, m).length).toBe(4096 + 8);
    c.sendMethod(0, m);
    expect(await c.nextReply()).toMatchObject({ method: 'ConnectionTune', frameMax: 131072 });
    c.destroy();
  });

  test.each([4097, 5000])('a start-ok of %i bytes: no frame, the socket closes (after RabbitMQ\'s 3 s)', async (n) => {
    const c = await RawClient.connect(b.port);
    c.sendHeader();
    await c.expectMethod(M.ConnectionStart);
    c.sendMethod(0, startOkOfSize(n));
    const t0 = Date.now();
    const frames = (await c.framesWithin(4500)).map(describeFrame);
    expect({ frames, closed: c.isClosed }).toEqual({ frames: [], closed: true });
    expect(c.closeTime! - t0).toBeGreaterThanOrEqual(2900);
    c.destroy();
  });

  test('after tune-ok the negotiated frame_max applies: a 5000-byte method is fine', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.QueueDeclare, queue: '', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: { big: 'x'.repeat(5000) } });
    expect(await c.nextReply()).toMatchObject({ method: 'QueueDeclareOk' });
    await c.close();
  });
});
