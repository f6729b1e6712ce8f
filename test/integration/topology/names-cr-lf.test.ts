// CR and LF in queue and exchange names. RabbitMQ 3.10.8 strips "\r" and "\n" from the
// names in queue.declare, queue.delete, queue.bind/unbind, exchange.declare, exchange.delete
// and exchange.bind/unbind (rabbit_channel:strip_cr_lf), so that a later use of the stripped
// name finds the object; queue.purge, basic.get, basic.consume and basic.publish take the
// name as it is. Every reply below was observed on RabbitMQ 3.10.8 with the same raw client.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Method } from '../../../amqp/generated/methods.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { M, RawClient } from '../../helpers/raw-client.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const qDeclare = (queue: string, passive = false, exclusive = false): Method => ({
  id: M.QueueDeclare,
  queue,
  passive,
  durable: false,
  exclusive,
  autoDelete: false,
  nowait: false,
  arguments: {},
});
const xDeclare = (exchange: string, passive = false): Method => ({
  id: M.ExchangeDeclare,
  exchange,
  type: 'fanout',
  passive,
  durable: false,
  autoDelete: false,
  internal: false,
  nowait: false,
  arguments: {},
});

/** Sends each method on channel 1 and collects the replies; a channel error is acknowledged and the channel reopened. */
async function replies(methods: Method[], setup: (c: RawClient) => Promise<void> = async () => {}): Promise<Record<string, unknown>[]> {
  const c = await RawClient.open(b.port);
  await c.openChannel(1);
  await setup(c);
  const out: Record<string, unknown>[] = [];
  for (const m of methods) {
    c.sendMethod(1, m);
    const r = await c.nextReply();
    out.push(r);
    if (r['method'] === 'ChannelClose') {
      c.sendMethod(1, { id: M.ChannelCloseOk });
      await c.openChannel(1);
    }
  }
  await c.close();
  return out;
}

const ok = (method: string, extra: Record<string, unknown> = {}) => ({ method, channel: 1, ...extra });
const closed = (replyCode: number, replyText: string, classId: number, methodId: number) => ({
  method: 'ChannelClose',
  channel: 1,
  replyCode,
  replyText,
  classId,
  methodId,
});

describe('CR and LF in names', () => {
  test('declares strip them, and the stripped names are found afterwards by declare, bind, unbind and delete', async () => {
    expect(
      await replies([
        qDeclare('crlf-a\r\nb\n'),
        qDeclare('crlf-ab', true),
        xDeclare('crlf-x\r\n'),
        xDeclare('crlf-x', true),
        { id: M.QueueBind, queue: 'crlf-a\nb', exchange: 'crlf-\nx', routingKey: 'k\n', nowait: false, arguments: {} },
        { id: M.QueueUnbind, queue: 'crlf-a\nb', exchange: 'crlf-x\r', routingKey: 'k\n', arguments: {} },
        { id: M.QueueDelete, queue: 'crlf-a\r\nb', ifUnused: false, ifEmpty: false, nowait: false },
        qDeclare('crlf-ab', true),
        { id: M.ExchangeDelete, exchange: 'crlf-x\r', ifUnused: false, nowait: false },
        xDeclare('crlf-x', true),
      ]),
    ).toEqual([
      ok('QueueDeclareOk', { queue: 'crlf-ab', messageCount: 0, consumerCount: 0 }),
      ok('QueueDeclareOk', { queue: 'crlf-ab', messageCount: 0, consumerCount: 0 }),
      ok('ExchangeDeclareOk'),
      ok('ExchangeDeclareOk'),
      ok('QueueBindOk'),
      ok('QueueUnbindOk'),
      ok('QueueDeleteOk', { messageCount: 0 }),
      closed(404, "NOT_FOUND - no queue 'crlf-ab' in vhost '/'", 50, 10),
      ok('ExchangeDeleteOk'),
      closed(404, "NOT_FOUND - no exchange 'crlf-x' in vhost '/'", 40, 10),
    ]);
  });

  test('exchange.bind strips both names', async () => {
    expect(
      await replies([
        xDeclare('crlf-src'),
        xDeclare('crlf-dst'),
        { id: M.ExchangeBind, destination: 'crlf-\ndst', source: 'crlf-src\r', routingKey: '', nowait: false, arguments: {} },
        { id: M.ExchangeUnbind, destination: 'crlf-dst\n', source: '\rcrlf-src', routingKey: '', nowait: false, arguments: {} },
        { id: M.ExchangeDelete, exchange: 'crlf-src', ifUnused: true, nowait: false },
        { id: M.ExchangeDelete, exchange: 'crlf-dst', ifUnused: false, nowait: false },
      ]),
    ).toEqual([
      ok('ExchangeDeclareOk'),
      ok('ExchangeDeclareOk'),
      ok('ExchangeBindOk'),
      ok('ExchangeUnbindOk'),
      ok('ExchangeDeleteOk'),
      ok('ExchangeDeleteOk'),
    ]);
  });

  test('purge, get and publish take the name as it is', async () => {
    expect(
      await replies(
        [
          { id: M.QueuePurge, queue: 'crlf-p\nq', nowait: false },
          { id: M.BasicGet, queue: 'crlf-p\nq', noAck: true },
          { id: M.QueueDelete, queue: 'crlf-pq', ifUnused: false, ifEmpty: false, nowait: false },
        ],
        async (c) => {
          c.sendMethod(1, qDeclare('crlf-p\nq'));
          await c.expectMethod(M.QueueDeclareOk);
        },
      ),
    ).toEqual([
      closed(404, "NOT_FOUND - no queue 'crlf-p\nq' in vhost '/'", 50, 30),
      closed(404, "NOT_FOUND - no queue 'crlf-p\nq' in vhost '/'", 60, 70),
      ok('QueueDeleteOk', { messageCount: 0 }),
    ]);
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, xDeclare('crlf-pub'));
    await c.expectMethod(M.ExchangeDeclareOk);
    c.publish(1, 'crlf-pub\n', 'k', Buffer.from('m'));
    expect(await c.nextReply()).toEqual(closed(404, "NOT_FOUND - no exchange 'crlf-pub\n' in vhost '/'", 60, 40));
    c.sendMethod(1, { id: M.ChannelCloseOk });
    await c.close();
  });

  test('a name that is only CR and LF: a server-named queue, and the default exchange for exchanges; reserved prefixes are checked after stripping', async () => {
    const r = await replies([qDeclare('\r\n', false, true), qDeclare('amq.\n', false, true), xDeclare('\n'), xDeclare('amq.\nfoo')]);
    expect(r[0]).toMatchObject({ method: 'QueueDeclareOk', queue: expect.stringMatching(/^amq\.gen-/) });
    expect(r.slice(1)).toEqual([
      closed(403, "ACCESS_REFUSED - queue name 'amq.' contains reserved prefix 'amq.*'", 50, 10),
      closed(403, 'ACCESS_REFUSED - operation not permitted on the default exchange', 40, 10),
      closed(403, "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'", 40, 10),
    ]);
  });
});
