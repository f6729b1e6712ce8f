// Drives a broker with @cloudamqp/amqp-client: confirmed publishes through a topic exchange,
// a manual-ack consumer with reject-requeue, a pipelined burst of confirmed publishes, basic.get
// with a multiple ack, then basic.recover. Returns what it observed; cloudamqp-client.test.ts
// compares that with what RabbitMQ 3.10 gives. To run it by hand against another broker, import
// roundTrip from a scratch script (`npx vite-node scratch.ts`) and print its result as JSON.
import { randomUUID } from 'node:crypto';
import { AMQPClient, type AMQPMessage } from '@cloudamqp/amqp-client';

export interface Delivered {
  body: string | null;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  deliveryTag: number;
  messageCount?: number;
  contentType?: string;
  messageId?: string;
  deliveryMode?: number;
  headers?: Record<string, unknown>;
}

export async function roundTrip(url: string) {
  const tag = randomUUID().slice(0, 8);
  const ex = `cloudamqp-topic-${tag}`;
  const seen = (m: AMQPMessage, props = false): Delivered => ({
    body: m.bodyToString(),
    exchange: m.exchange.replace(tag, 'TAG'),
    routingKey: m.routingKey,
    redelivered: m.redelivered,
    deliveryTag: m.deliveryTag,
    ...(m.messageCount === undefined ? {} : { messageCount: m.messageCount }),
    ...(props
      ? {
          contentType: m.properties.contentType,
          messageId: m.properties.messageId,
          deliveryMode: m.properties.deliveryMode,
          headers: m.properties.headers,
        }
      : {}),
  });

  const client = new AMQPClient(url);
  const conn = await client.connect();
  const ch = await conn.channel();
  await ch.confirmSelect();
  // every basic.ack / basic.nack frame, as the client library sees it
  const confirms: Array<[number, boolean, 'ack' | 'nack']> = [];
  const confirmed = ch.publishConfirmed.bind(ch);
  ch.publishConfirmed = (deliveryTag, multiple, nack) => {
    confirms.push([deliveryTag, multiple, nack ? 'nack' : 'ack']);
    confirmed(deliveryTag, multiple, nack);
  };
  const returns: Array<[number | undefined, string | undefined, string, string, string | null]> = [];
  ch.onReturn = (m) => returns.push([m.replyCode, m.replyText, m.exchange.replace(tag, 'TAG'), m.routingKey, m.bodyToString()]);

  await ch.exchangeDeclare(ex, 'topic', { durable: false, autoDelete: true });
  const q: Record<string, string> = {};
  for (const [n, key] of [['a', 'stock.*.nyse'], ['b', 'stock.#'], ['c', '*.ibm.*'], ['d', 'burst.#']] as const) {
    q[n] = (await ch.queueDeclare('', { durable: false, exclusive: true, autoDelete: false })).name;
    await ch.queueBind(q[n]!, ex, key);
  }
  const counts = async () => {
    const c: Record<string, number> = {};
    for (const n of ['a', 'b', 'c', 'd']) c[n] = (await ch.queueDeclare(q[n], { passive: true })).messageCount;
    return c;
  };

  // one at a time, so each confirm is its own frame
  const published: number[] = [];
  for (const [i, rk] of ['stock.ibm.nyse', 'stock.msft.nasdaq', 'bond.ibm.lse', 'stock.nyse', 'weather.uk'].entries()) {
    const props = { contentType: 'text/plain', messageId: `id-${i}`, deliveryMode: 2, headers: { n: i } };
    published.push(await ch.basicPublish(ex, rk, `m${i}:${rk}`, props, true));
  }
  const sequentialConfirms = confirms.splice(0);
  const countsAfterPublish = await counts();

  // a pipelined burst: the broker may fold confirms into multiple acks, but must cover each tag once
  const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => ch.basicPublish(ex, `burst.${i}`, `b${i}`)));
  const burstConfirms = confirms.splice(0);
  const covered: number[] = [];
  let last = 5;
  for (const [t, multiple, kind] of burstConfirms) {
    if (kind !== 'ack') covered.push(-t);
    else if (multiple) while (last < t) covered.push(++last);
    else {
      covered.push(t);
      last = Math.max(last, t);
    }
  }

  // manual-ack consumer on b
  await ch.basicQos(10);
  const consumed: AMQPMessage[] = [];
  let gotThree!: () => void;
  const three = new Promise<void>((resolve) => (gotThree = resolve));
  const consumer = await ch.basicConsume(q.b!, { noAck: false, tag: 'cloudamqp-consumer' }, (m) => {
    consumed.push(m);
    if (consumed.length === 3) gotThree();
  });
  await Promise.race([three, new Promise((_, reject) => setTimeout(() => reject(new Error('no deliveries')), 5000))]);
  await consumer.cancel();
  await consumed[0]!.ack();
  await consumed[1]!.reject(true);
  await consumed[2]!.ack();
  const get = async (n: string, noAck = false) => {
    const m = await ch.basicGet(q[n]!, { noAck });
    return m === null ? null : seen(m);
  };
  const requeued = [await get('b'), await get('b')];
  const fromA = await get('a');
  const fromC = [await get('c'), await get('c')];
  // settles everything outstanding: the requeued one from b, a's and c's
  await ch.basicAck(fromC[1]!.deliveryTag, true);
  const fromD = [await get('d', true), await get('d', true)];
  const purged = await ch.queuePurge(q.d!);
  const countsAfterAck = await counts();
  await ch.basicRecover(true);
  const countsAfterRecover = await counts();
  await ch.close();
  await conn.close();

  return {
    published,
    sequentialConfirms,
    returns,
    countsAfterPublish,
    burst,
    burstCovered: covered,
    consumerTag: consumer.tag,
    consumed: consumed.map((m) => seen(m, true)),
    requeued,
    fromA,
    fromC,
    fromD,
    purged,
    countsAfterAck,
    countsAfterRecover,
  };
}
