// basic.qos: per-consumer (global=false) and per-channel (global=true) prefetch.
import type { ConsumeMessage, GetMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { type Chan, ID, outcome, sleep, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

const ten = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];

/** Consumers named by `tags` on ch, logging `${tag}${body}` in arrival order and keeping the messages. */
async function consumers(ch: Chan, q: string, tags: string[]): Promise<{ log: string[]; held: ConsumeMessage[] }> {
  const log: string[] = [];
  const held: ConsumeMessage[] = [];
  for (const t of tags) {
    await ch.ch.consume(
      q,
      (m) => {
        if (m === null) return;
        log.push(`${t}${m.content}`);
        held.push(m);
      },
      { consumerTag: t },
    );
  }
  return { log, held };
}

/** Lets deliveries arrive: enough for a broker to dispatch what it is going to. */
async function settle(ch: Chan, q: string, ready: number): Promise<number> {
  await sleep(50);
  return ch.readyWhen(q, ready);
}

describe('basic.qos', () => {
  test('global=false sets the prefetch of consumers created afterwards, each on its own', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    expect(await ch.ch.prefetch(2)).toEqual({});
    const a = await consumers(ch, q, ['A']);
    await ch.ch.prefetch(3);
    const b = await consumers(ch, q, ['B']);
    ch.publishAll(q, ten);
    expect(await settle(ch, q, 5)).toBe(5);
    expect(a.log).toEqual(['A1', 'A3']);
    expect(b.log).toEqual(['B2', 'B4', 'B5']);
  });

  test('global=true limits the whole channel across its consumers', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(3, true);
    const { log } = await consumers(ch, q, ['A', 'B']);
    ch.publishAll(q, ten);
    expect(await settle(ch, q, 7)).toBe(7);
    expect(log).toEqual(['A1', 'B2', 'A3']);
  });

  test('both at once: per-consumer 2 and channel 3 over three consumers; an ack lets exactly one more through', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(2, false);
    await ch.ch.prefetch(3, true);
    const { log, held } = await consumers(ch, q, ['A', 'B', 'C']);
    ch.publishAll(q, ten);
    expect(await settle(ch, q, 7)).toBe(7);
    expect(log).toEqual(['A1', 'B2', 'C3']);
    ch.ch.ack(held[0]!);
    expect(await settle(ch, q, 6)).toBe(6);
    expect(log).toEqual(['A1', 'B2', 'C3', 'A4']);
  });

  test('both at once: the channel limit binds when it is the smaller', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(3, false);
    await ch.ch.prefetch(2, true);
    const { log } = await consumers(ch, q, ['A', 'B']);
    ch.publishAll(q, ten);
    expect(await settle(ch, q, 8)).toBe(8);
    expect(log).toEqual(['A1', 'B2']);
  });

  test('raising the global prefetch releases more deliveries at once', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(1, true);
    const { log } = await consumers(ch, q, ['A']);
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6']);
    expect(await settle(ch, q, 5)).toBe(5);
    expect(log).toEqual(['A1']);
    await ch.ch.prefetch(3, true);
    expect(await settle(ch, q, 3)).toBe(3);
    expect(log).toEqual(['A1', 'A2', 'A3']);
  });

  test('a per-consumer prefetch change does not touch existing consumers', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(1);
    const { log } = await consumers(ch, q, ['A']);
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6']);
    expect(await settle(ch, q, 5)).toBe(5);
    await ch.ch.prefetch(3);
    expect(await settle(ch, q, 5)).toBe(5);
    expect(log).toEqual(['A1']);
  });

  test('prefetch 0 means unlimited', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(5);
    await ch.ch.prefetch(0);
    const { log } = await consumers(ch, q, ['A']);
    const twenty = Array.from({ length: 20 }, (_, i) => String(i + 1));
    ch.publishAll(q, twenty);
    for (let i = 0; i < 100 && log.length < 20; i++) await sleep(10);
    expect(log).toEqual(twenty.map((b) => `A${b}`));
    expect(await ch.ready(q)).toBe(0);
  });

  test('basic.get deliveries do not count against the global prefetch', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6', '7', '8']);
    await ch.readyWhen(q, 8);
    await ch.ch.prefetch(2, true);
    const g = (await ch.ch.get(q)) as GetMessage;
    expect(g.content.toString()).toBe('1');
    const { log } = await consumers(ch, q, ['A']);
    expect(await settle(ch, q, 5)).toBe(5);
    expect(log).toEqual(['A2', 'A3']);
    // Nor does acking it make room.
    ch.ch.ack(g);
    expect(await settle(ch, q, 5)).toBe(5);
    expect(log).toEqual(['A2', 'A3']);
  });

  test('basic.get deliveries do not count against a per-consumer prefetch either', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6', '7', '8']);
    await ch.readyWhen(q, 8);
    await ch.ch.prefetch(2, false);
    const g = (await ch.ch.get(q)) as GetMessage;
    expect(g.content.toString()).toBe('1');
    const { log } = await consumers(ch, q, ['A']);
    expect(await settle(ch, q, 5)).toBe(5);
    expect(log).toEqual(['A2', 'A3']);
  });

  test('prefetch_size != 0 closes the connection: 540 NOT_IMPLEMENTED - prefetch_size!=0 (1000) (basic.qos)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const reply = outcome(ch.rpc(ID.BasicQos, { prefetchSize: 1000, prefetchCount: 0, global: false }, ID.BasicQosOk));
    expect(await within(c.closedByServer, 'connection.close')).toEqual({
      code: 540,
      text: 'NOT_IMPLEMENTED - prefetch_size!=0 (1000)',
      classId: 60,
      methodId: 10,
    });
    expect((await reply).rejected).toBe(true);
    expect(ch.methods('BasicQosOk')).toEqual([]);
  });

  test('prefetch_size != 0 with global=true is refused the same way', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const reply = outcome(ch.rpc(ID.BasicQos, { prefetchSize: 65536, prefetchCount: 10, global: true }, ID.BasicQosOk));
    expect(await within(c.closedByServer, 'connection.close')).toEqual({
      code: 540,
      text: 'NOT_IMPLEMENTED - prefetch_size!=0 (65536)',
      classId: 60,
      methodId: 10,
    });
    expect((await reply).rejected).toBe(true);
    expect(ch.methods('BasicQosOk')).toEqual([]);
  });
});
