// Publisher confirms: confirm.select, acks for every publish, returns before acks, mode conflicts.
import type { Message } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { type Chan, ID, confirmedTags, rejection, sleep, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

function acks(ch: Chan): { deliveryTag: number; multiple: boolean }[] {
  return ch.methods('BasicAck').map((f) => ({ deliveryTag: f.fields['deliveryTag'] as number, multiple: f.fields['multiple'] as boolean }));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

describe('confirm.select', () => {
  test('confirm.select answers select-ok; selecting again is harmless', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    expect(await ch.confirmSelect()).toEqual({});
    expect(await ch.confirmSelect()).toEqual({});
    expect(ch.methods('ConfirmSelectOk')).toHaveLength(2);
    expect(ch.serverCloses).toEqual([]);
  });

  test('every publish is acked: the acks cover exactly tags 1..N, in increasing order, no nacks', async () => {
    const c = await env.connect();
    const ch = await c.confirmChannel();
    const q = await ch.queue();
    const n = 50;
    for (let i = 1; i <= n; i++) ch.ch.sendToQueue(q, Buffer.from(String(i)));
    await within(ch.ch.waitForConfirms(), 'confirms');
    await sleep(30);
    const got = acks(ch);
    expect(confirmedTags(got, n)).toEqual(range(n));
    const tags = got.map((a) => a.deliveryTag);
    expect(tags).toEqual([...tags].sort((a, b) => a - b));
    expect(new Set(tags).size).toBe(tags.length);
    expect(tags[tags.length - 1]).toBe(n);
    expect(ch.methods('BasicNack')).toEqual([]);
    expect(await ch.readyWhen(q, n)).toBe(n);
  });

  test('publishes made before confirm.select are not numbered', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['before-1', 'before-2']);
    await ch.confirmSelect();
    ch.publishAll(q, ['after-1', 'after-2']);
    await ch.readyWhen(q, 4);
    await sleep(30);
    expect(confirmedTags(acks(ch), 2)).toEqual([1, 2]);
    expect(Math.max(...acks(ch).map((a) => a.deliveryTag))).toBe(2);
  });

  test('unroutable publishes are acked too (mandatory or not), with no nack', async () => {
    const c = await env.connect();
    const ch = await c.confirmChannel();
    const q = await ch.queue();
    const returned: Message[] = [];
    ch.ch.on('return', (m: Message) => returned.push(m));
    ch.ch.publish('amq.direct', 'nowhere', Buffer.from('u1')); // 1
    ch.ch.sendToQueue(q, Buffer.from('r1')); // 2
    ch.ch.publish('amq.direct', 'nowhere', Buffer.from('u2'), { mandatory: true }); // 3
    ch.ch.sendToQueue(q, Buffer.from('r2')); // 4
    ch.ch.publish('amq.direct', 'nowhere', Buffer.from('u3')); // 5
    await within(ch.ch.waitForConfirms(), 'confirms');
    await sleep(30);
    // The union is 1..5, each tag once (RabbitMQ may ack unroutable ones ahead of routed ones).
    expect([...confirmedTags(acks(ch), 5)].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(ch.methods('BasicNack')).toEqual([]);
    expect(returned.map((m) => m.content.toString())).toEqual(['u2']);
    expect(await ch.readyWhen(q, 2)).toBe(2);
  });

  test('basic.return for an unroutable mandatory publish comes before the ack that covers it', async () => {
    const c = await env.connect();
    const ch = await c.confirmChannel();
    const q = await ch.queue();
    ch.ch.sendToQueue(q, Buffer.from('routed-1')); // 1
    ch.ch.publish('amq.direct', 'nowhere', Buffer.from('returned'), { mandatory: true, messageId: 'r' }); // 2
    ch.ch.sendToQueue(q, Buffer.from('routed-3')); // 3
    await within(ch.ch.waitForConfirms(), 'confirms');
    await sleep(30);
    const frames = ch.frames;
    const returnAt = frames.findIndex((f) => f.name === 'BasicReturn');
    expect(returnAt).toBeGreaterThanOrEqual(0);
    expect(frames[returnAt]!.fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: 'nowhere' });
    expect(frames[returnAt + 1]!.name).toBe('BasicProperties');
    expect(frames[returnAt + 1]!.fields['messageId']).toBe('r');
    expect(frames[returnAt + 2]!.name).toBe('content');
    expect(String(frames[returnAt + 2]!.fields['content'])).toBe('returned');
    const coversTwo = frames.findIndex(
      (f) =>
        f.name === 'BasicAck' &&
        ((f.fields['multiple'] === true && (f.fields['deliveryTag'] as number) >= 2) || f.fields['deliveryTag'] === 2),
    );
    expect(coversTwo).toBeGreaterThan(returnAt);
    expect([...confirmedTags(acks(ch), 3)].sort((a, b) => a - b)).toEqual([1, 2, 3]);
  });

  test('confirm.select nowait=true: no select-ok, publishes are still acked', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.send(ID.ConfirmSelect, { nowait: true });
    ch.publishAll(q, ['1', '2', '3']);
    await ch.readyWhen(q, 3);
    for (let i = 0; i < 50 && confirmedTags(acks(ch), 3).length < 3; i++) await sleep(10);
    expect(confirmedTags(acks(ch), 3)).toEqual([1, 2, 3]);
    expect(ch.methods('ConfirmSelectOk')).toEqual([]);
  });

  test('confirm.select on a transactional channel: 406 PRECONDITION_FAILED - cannot switch from tx to confirm mode', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    expect(await ch.txSelect()).toEqual({});
    await rejection(ch.confirmSelect());
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
      classId: 85,
      methodId: 10,
    });
  });
});
