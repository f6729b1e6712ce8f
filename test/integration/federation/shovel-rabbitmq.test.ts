// Shovels between Warren and a live RabbitMQ 3.10 (RABBITMQ_URL and RABBITMQ_MGMT_URL; CI
// starts one): a Warren shovel pulls from RabbitMQ and pushes to it, and the same shovel
// definition run by RabbitMQ's plugin and by Warren gives the same messages, status fields
// and validation texts. Everything made on RabbitMQ has a unique shovel-rt-* name and is
// deleted afterwards.
import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from '../../helpers/broker.js';
import { depth, eventually, haveRabbit, rabbitApi, rabbitUrl } from '../../helpers/shovel.js';
import { drain } from '../../helpers/queue-features.js';
import type { RunningBroker } from '../../../server/index.js';
import { AccessError } from '../../../server/access/errors.js';

if (!haveRabbit) console.warn('shovel-rabbitmq: RABBITMQ_URL or RABBITMQ_MGMT_URL is not set; skipped. CI sets both.');

const token = randomBytes(3).toString('hex');
const name = (what: string): string => `shovel-rt-${token}-${what}`;
const enc = encodeURIComponent;

describe.skipIf(!haveRabbit)('shovels with a live RabbitMQ', () => {
  let b: RunningBroker;
  let warren: ChannelModel;
  let rabbit: ChannelModel;
  const rabbitQueues: string[] = [];
  const rabbitShovels: string[] = [];

  beforeAll(async () => {
    b = await startTestBroker();
    warren = await amqp.connect(b.url);
    rabbit = await amqp.connect(rabbitUrl);
  });

  afterAll(async () => {
    for (const s of rabbitShovels) await rabbitApi('DELETE', `/parameters/shovel/%2F/${enc(s)}`);
    const ch = await rabbit.createChannel();
    for (const q of rabbitQueues) await ch.deleteQueue(q);
    await rabbit.close();
    await warren.close();
    await b.close();
  });

  async function fillRabbit(queue: string, count: number): Promise<void> {
    rabbitQueues.push(queue);
    const ch = await rabbit.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    for (let i = 0; i < count; i++) ch.sendToQueue(queue, Buffer.from(`r${i}`), { persistent: true, messageId: `r${i}` });
    await ch.waitForConfirms();
    await ch.close();
  }

  it('a Warren shovel moves a RabbitMQ queue into Warren (on-confirm), and the reverse', async () => {
    const rq = name('from-rabbit');
    await fillRabbit(rq, 500);
    b.broker.access.setParameter('/', 'shovel', name('in'), { 'src-uri': rabbitUrl, 'src-queue': rq, 'dest-uri': 'amqp://', 'dest-queue': 'arrived', 'src-delete-after': 'queue-length' });
    await eventually('500 in Warren', async () => (await depth(warren, 'arrived')) === 500, 20000);
    await eventually('the shovel deleted itself', () => b.broker.shovels.get('/', name('in')) === undefined);
    expect(await depth(rabbit, rq)).toBe(0);
    const ch = await warren.createChannel();
    const got = await drain(ch, 'arrived');
    expect(got.map((m) => m.properties.messageId)).toEqual(Array.from({ length: 500 }, (_, i) => `r${i}`));
    expect(got.every((m) => m.properties.deliveryMode === 2)).toBe(true);

    // And back, from Warren to RabbitMQ.
    const back = name('to-rabbit');
    rabbitQueues.push(back);
    const wch = await warren.createConfirmChannel();
    for (const m of got) wch.sendToQueue('arrived', m.content, m.properties);
    await wch.waitForConfirms();
    b.broker.access.setParameter('/', 'shovel', name('out'), { 'src-uri': 'amqp://', 'src-queue': 'arrived', 'dest-uri': rabbitUrl, 'dest-queue': back, 'ack-mode': 'on-confirm' });
    await eventually('500 in RabbitMQ', async () => (await depth(rabbit, back)) === 500, 20000);
    await eventually('Warren\'s queue empty', async () => (await depth(warren, 'arrived')) === 0);
    const st = b.broker.shovels.status().find((e) => e.name === name('out'))!;
    expect(st.forwarded).toBe(500);
    expect(st.dest_uri).toBe(rabbitUrl.replace(/\/\/[^@]*@/, '//'));
    b.broker.access.clearParameter('/', 'shovel', name('out'));
  });

  it('the same definition on RabbitMQ and on Warren: same message, same x-shovelled, same status fields', async () => {
    const s = name('same');
    const src = name('same-src');
    const dst = name('same-dst');
    rabbitQueues.push(src, dst);
    const value = { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'dest-add-forward-headers': true, 'dest-add-timestamp-header': true, 'dest-publish-properties': { app_id: 'via-shovel' } };
    rabbitShovels.push(s);
    expect((await rabbitApi('PUT', `/parameters/shovel/%2F/${enc(s)}`, { value })).status).toBe(201);
    b.broker.access.setParameter('/', 'shovel', s, value);
    const props = { headers: { h: 'v', n: 7 }, messageId: 'm1', correlationId: 'c1', priority: 3, deliveryMode: 2, contentType: 'text/plain', type: 't' };
    const seen = [];
    for (const conn of [rabbit, warren]) {
      const statusOf = async (): Promise<Record<string, unknown> | undefined> =>
        conn === rabbit
          ? ((await rabbitApi('GET', '/shovels')).body as Record<string, unknown>[]).find((e) => e['name'] === s)
          : (b.broker.shovels.status().find((e) => e.name === s) as Record<string, unknown> | undefined);
      await eventually('the shovel running', async () => (await statusOf())?.['state'] === 'running');
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue(src, Buffer.from('same'), props);
      await ch.waitForConfirms();
      await eventually('moved', async () => (await depth(conn, dst)) === 1);
      const [m] = await drain(ch, dst);
      const headers = { ...m!.properties.headers } as Record<string, unknown>;
      const shovelled = (headers['x-shovelled'] as Record<string, unknown>[]).map((e) => ({ ...e, 'shovelled-by': 'NODE' }));
      expect(typeof headers['x-shovelled-timestamp']).toBe('number');
      delete headers['x-shovelled-timestamp'];
      seen.push({ body: m!.content.toString(), fields: { exchange: m!.fields.exchange, routingKey: m!.fields.routingKey }, properties: { ...m!.properties, headers: { ...headers, 'x-shovelled': shovelled } } });
      const st = (await statusOf())!;
      const { node: _n, timestamp: _t, forwarded: _f, ...rest } = st;
      seen.push(rest);
    }
    expect(seen[2]).toEqual(seen[0]);
    expect(seen[3]).toEqual(seen[1]);
    b.broker.access.clearParameter('/', 'shovel', s);
  });

  it('refuses what RabbitMQ refuses, with its text', async () => {
    const values: unknown[] = [
      { 'src-uri': 'amqp://', 'dest-uri': 'amqp://', 'ack-mode': 'x', 'reconnect-delay': 'y' },
      { 'src-uri': 5, 'src-queue': 1, 'dest-uri': ['amqp://', 'bad://'], 'dest-queue': true, 'dest-add-forward-headers': 'yes' },
      { 'src-uri': 'amqp://', 'src-queue': 'a', 'dest-uri': 'amqp://', 'dest-publish-properties': { delivery_mode: '2', content_type: 3 } },
      { 'src-uri': 'amqp://', 'src-queue': 'a', 'dest-uri': 'amqp://', 'ack-mode': 'no-ack', 'src-delete-after': 5 },
      { 'src-uri': 'amqp://', 'src-queue': 'a', 'dest-uri': 'amqp://', 'unknown-key': 'x' },
      { 'src-uri': 'amqp://h:99999', 'src-queue': 'a', 'dest-uri': 'amqp://:5672' },
    ];
    const s = name('refused');
    for (const value of values) {
      const r = await rabbitApi('PUT', `/parameters/shovel/%2F/${enc(s)}`, { value });
      expect(r.status).toBe(400);
      const rabbitText = String((r.body as { reason: string }).reason).replace(/&lt;/g, '<').replace(/&gt;/g, '>');
      let warrenText = '';
      try {
        b.broker.access.setParameter('/', 'shovel', s, value);
      } catch (err) {
        warrenText = (err as AccessError).reason;
      }
      expect(warrenText).toBe(rabbitText);
    }
  });
});
