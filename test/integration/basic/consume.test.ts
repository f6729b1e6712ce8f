// basic.consume / basic.cancel: tags, no-ack, exclusive, priorities, round-robin, cancellation.
import { describe, expect, test } from 'vitest';
import { Inbox, drain, outcome, rejection, seen, sleep, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

describe('consumer tags', () => {
  test('an empty tag gets a generated amq.ctag-<22 base64url chars>, used on every delivery', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    const ok1 = await ch.ch.consume(q, inbox.handler, { noAck: true });
    const ok2 = await ch.ch.consume(q, () => {}, { noAck: true });
    expect(ok1.consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    expect(ok2.consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    expect(ok1.consumerTag).not.toBe(ok2.consumerTag);
    ch.publishAll(q, ['m']);
    await inbox.waitFor(1);
    expect(inbox.messages[0]!.fields.consumerTag).toBe(ok1.consumerTag);
    expect(ch.methods('BasicConsumeOk').map((f) => f.fields)).toEqual([{ consumerTag: ok1.consumerTag }, { consumerTag: ok2.consumerTag }]);
  });

  test('a client-chosen tag is echoed in consume-ok and carried by deliveries', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    expect(await ch.ch.consume(q, inbox.handler, { consumerTag: 'my-tag', noAck: true })).toEqual({ consumerTag: 'my-tag' });
    ch.publishAll(q, ['m']);
    await inbox.waitFor(1);
    expect(inbox.messages[0]!.fields).toEqual({
      consumerTag: 'my-tag',
      deliveryTag: 1,
      redelivered: false,
      exchange: '',
      routingKey: q,
    });
  });

  test("reusing a tag on the same channel closes the connection: 530 NOT_ALLOWED - attempt to reuse consumer tag 'x'", async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.consume(q, () => {}, { consumerTag: 'x' });
    const second = outcome(ch.ch.consume(q, () => {}, { consumerTag: 'x' }));
    const close = await within(c.closedByServer, 'connection.close');
    expect(close).toEqual({ code: 530, text: "NOT_ALLOWED - attempt to reuse consumer tag 'x'", classId: 60, methodId: 20 });
    expect((await second).rejected).toBe(true);
    expect(c.errors.map((e) => (e as Error & { code?: number }).code)).toEqual([530]);
  });

  test('the same tag on two channels is fine, and both consumers get messages', async () => {
    const c = await env.connect();
    const ch1 = await c.channel();
    const ch2 = await c.channel();
    const q = await ch1.queue();
    const in1 = new Inbox();
    const in2 = new Inbox();
    expect(await ch1.ch.consume(q, in1.handler, { consumerTag: 'same', noAck: true })).toEqual({ consumerTag: 'same' });
    expect(await ch2.ch.consume(q, in2.handler, { consumerTag: 'same', noAck: true })).toEqual({ consumerTag: 'same' });
    ch1.publishAll(q, ['1', '2', '3', '4']);
    await in1.waitFor(2);
    await in2.waitFor(2);
    expect(in1.bodies).toEqual(['1', '3']);
    expect(in2.bodies).toEqual(['2', '4']);
    expect(in1.messages.map((m) => m.fields.consumerTag)).toEqual(['same', 'same']);
    expect(in2.messages.map((m) => m.fields.consumerTag)).toEqual(['same', 'same']);
    expect([...c.serverCloses, ...ch1.serverCloses, ...ch2.serverCloses]).toEqual([]);
  });
});

describe('no-ack consumers', () => {
  test('deliveries are settled at once: the queue is empty and closing the channel requeues nothing', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { noAck: true });
    ch.publishAll(q, ['a', 'b', 'c']);
    await inbox.waitFor(3);
    expect(inbox.messages.map(seen)).toEqual([
      { body: 'a', deliveryTag: 1, redelivered: false },
      { body: 'b', deliveryTag: 2, redelivered: false },
      { body: 'c', deliveryTag: 3, redelivered: false },
    ]);
    expect(await ch.ready(q)).toBe(0);
    await ch.ch.close();
    expect(await drain(other.ch, q)).toEqual([]);
  });

  test('a no-ack consumer ignores prefetch (per-consumer and global)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(1);
    await ch.ch.prefetch(1, true);
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { noAck: true });
    ch.publishAll(q, ['1', '2', '3', '4', '5']);
    await inbox.waitFor(5);
    expect(inbox.bodies).toEqual(['1', '2', '3', '4', '5']);
  });

  test('acking a no-ack delivery is an unknown delivery tag', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { noAck: true });
    ch.publishAll(q, ['a']);
    await inbox.waitFor(1);
    ch.ch.ack(inbox.messages[0]!);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
  });
});

describe('exclusive consumers', () => {
  test('an exclusive consumer locks out later consumers: 403 ACCESS_REFUSED ... in exclusive use', async () => {
    const c = await env.connect();
    const ch1 = await c.channel();
    const ch2 = await c.channel();
    const q = await ch1.queue();
    const inbox = new Inbox();
    await ch1.ch.consume(q, inbox.handler, { exclusive: true, noAck: true });
    const err = await rejection(ch2.ch.consume(q, () => {}));
    expect((err as Error & { code?: number }).code).toBe(403);
    expect(await within(ch2.closedByServer, 'channel.close')).toEqual({
      code: 403,
      text: `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      classId: 60,
      methodId: 20,
    });
    // The exclusive consumer keeps working.
    ch1.publishAll(q, ['x', 'y']);
    await inbox.waitFor(2);
    expect(inbox.bodies).toEqual(['x', 'y']);
  });

  test('an exclusive consume on a queue that already has a consumer is refused the same way', async () => {
    const c = await env.connect();
    const ch1 = await c.channel();
    const ch2 = await c.channel();
    const q = await ch1.queue();
    await ch1.ch.consume(q, () => {}, { noAck: true });
    await rejection(ch2.ch.consume(q, () => {}, { exclusive: true }));
    expect(await within(ch2.closedByServer, 'channel.close')).toEqual({
      code: 403,
      text: `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      classId: 60,
      methodId: 20,
    });
  });

  test('once the exclusive consumer is cancelled, others may consume', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.consume(q, () => {}, { exclusive: true, consumerTag: 'ex' });
    await ch.ch.cancel('ex');
    const inbox = new Inbox();
    expect(await ch.ch.consume(q, inbox.handler, { consumerTag: 'next', noAck: true })).toEqual({ consumerTag: 'next' });
    ch.publishAll(q, ['z']);
    await inbox.waitFor(1);
    expect(inbox.bodies).toEqual(['z']);
  });
});

describe('consumer priorities (x-priority)', () => {
  test('the higher-priority consumer is served while it has prefetch capacity; the lower one only when it is full', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(2);
    const log: string[] = [];
    const low = new Inbox();
    const high = new Inbox();
    // Register the low one first, so that registration order cannot explain the result.
    await ch.ch.consume(
      q,
      (m) => {
        low.handler(m);
        if (m) log.push(`L${m.content}:${m.fields.deliveryTag}`);
      },
      { consumerTag: 'L', arguments: { 'x-priority': 0 } },
    );
    await ch.ch.consume(
      q,
      (m) => {
        high.handler(m);
        if (m) log.push(`H${m.content}:${m.fields.deliveryTag}`);
      },
      { consumerTag: 'H', arguments: { 'x-priority': 10 } },
    );
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6']);
    await low.waitFor(2);
    await high.waitFor(2);
    await sleep(30);
    expect(log).toEqual(['H1:1', 'H2:2', 'L3:3', 'L4:4']);
    expect(await ch.readyWhen(q, 2)).toBe(2);
    ch.ch.ack(high.messages[0]!);
    await high.waitFor(3);
    await sleep(30);
    expect(log).toEqual(['H1:1', 'H2:2', 'L3:3', 'L4:4', 'H5:5']);
    ch.ch.ack(low.messages[0]!);
    await low.waitFor(3);
    expect(log).toEqual(['H1:1', 'H2:2', 'L3:3', 'L4:4', 'H5:5', 'L6:6']);
  });

  test('a negative priority ranks below the default (0)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(1);
    const log: string[] = [];
    await ch.ch.consume(q, (m) => m && log.push(`N${m.content}`), { consumerTag: 'N', arguments: { 'x-priority': -5 } });
    await ch.ch.consume(q, (m) => m && log.push(`D${m.content}`), { consumerTag: 'D' });
    ch.publishAll(q, ['1', '2', '3']);
    await sleep(80);
    expect(log).toEqual(['D1', 'N2']);
    expect(await ch.readyWhen(q, 1)).toBe(1);
  });

  const invalid: [string, unknown, string][] = [
    ['a string', 'high', 'longstr'],
    ['a double', 1.5, 'double'],
    ['a boolean', true, 'bool'],
    ['a table', { a: 1 }, 'table'],
    ['an array', [1], 'array'],
  ];
  for (const [what, value, type] of invalid) {
    test(`x-priority as ${what} is refused: 406 invalid arg 'x-priority' ... "expected integer, got ${type}"`, async () => {
      const c = await env.connect();
      const ch = await c.channel();
      const q = await ch.queue();
      await rejection(ch.ch.consume(q, () => {}, { arguments: { 'x-priority': value } }));
      expect(await within(ch.closedByServer, 'channel.close')).toEqual({
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got ${type}"`,
        classId: 60,
        methodId: 20,
      });
    });
  }
});

describe('round-robin dispatch', () => {
  test('equal-priority consumers with prefetch 1 that ack at once alternate exactly', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(1);
    const log: string[] = [];
    for (const t of ['A', 'B', 'C']) {
      await ch.ch.consume(
        q,
        (m) => {
          if (m === null) return;
          log.push(`${t}${m.content}:${m.fields.deliveryTag}`);
          ch.ch.ack(m);
        },
        { consumerTag: t },
      );
    }
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (let i = 0; i < 100 && log.length < 9; i++) await sleep(10);
    expect(log).toEqual(['A1:1', 'B2:2', 'C3:3', 'A4:4', 'B5:5', 'C6:6', 'A7:7', 'B8:8', 'C9:9']);
  });

  test('equal-priority no-ack consumers alternate exactly', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const log: string[] = [];
    for (const t of ['A', 'B', 'C']) {
      await ch.ch.consume(q, (m) => m && log.push(`${t}${m.content}:${m.fields.deliveryTag}`), { consumerTag: t, noAck: true });
    }
    ch.publishAll(q, ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (let i = 0; i < 100 && log.length < 9; i++) await sleep(10);
    expect(log).toEqual(['A1:1', 'B2:2', 'C3:3', 'A4:4', 'B5:5', 'C6:6', 'A7:7', 'B8:8', 'C9:9']);
  });
});

describe('basic.cancel', () => {
  test('cancel-ok, then no more deliveries; unacked messages stay unacked until acked or the channel closes', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(2);
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { consumerTag: 'A' });
    ch.publishAll(q, ['1', '2', '3', '4']);
    await inbox.waitFor(2);
    expect(await ch.ch.cancel('A')).toEqual({ consumerTag: 'A' });
    expect(ch.methods('BasicCancelOk').map((f) => f.fields)).toEqual([{ consumerTag: 'A' }]);
    ch.publishAll(q, ['5', '6']);
    await sleep(50);
    expect(await ch.readyWhen(q, 4)).toBe(4);
    // Acking one of the held messages works and frees nothing for a cancelled consumer.
    ch.ch.ack(inbox.messages[0]!);
    await sleep(50);
    expect(await ch.ready(q)).toBe(4);
    expect(inbox.bodies).toEqual(['1', '2']);
    expect(ch.methods('BasicDeliver')).toHaveLength(2);
    expect(ch.serverCloses).toEqual([]);
    await ch.ch.close();
    expect(await drain(other.ch, q)).toEqual([
      { body: '2', deliveryTag: 1, redelivered: true, messageCount: 4 },
      { body: '3', deliveryTag: 2, redelivered: false, messageCount: 3 },
      { body: '4', deliveryTag: 3, redelivered: false, messageCount: 2 },
      { body: '5', deliveryTag: 4, redelivered: false, messageCount: 1 },
      { body: '6', deliveryTag: 5, redelivered: false, messageCount: 0 },
    ]);
  });

  test('cancelling an unknown tag still answers cancel-ok with that tag', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    expect(await ch.ch.cancel('nope')).toEqual({ consumerTag: 'nope' });
    const q = await ch.queue();
    expect(await ch.ready(q)).toBe(0);
    expect(ch.serverCloses).toEqual([]);
  });

  test('deleting the queue cancels its consumer: delete-ok, then basic.cancel (nowait) and the callback gets null', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { consumerTag: 'A' });
    expect(await ch.ch.deleteQueue(q)).toEqual({ messageCount: 0 });
    await inbox.waitFor(1);
    expect(inbox.cancelled).toBe(1);
    expect(inbox.messages).toEqual([]);
    expect(ch.methods('QueueDeleteOk', 'BasicCancel')).toEqual([
      { name: 'QueueDeleteOk', fields: { messageCount: 0 } },
      { name: 'BasicCancel', fields: { consumerTag: 'A', nowait: true } },
    ]);
    // The tag is gone now: cancelling it is the unknown-tag case.
    expect(await ch.ch.cancel('A')).toEqual({ consumerTag: 'A' });
  });

  test('deleted from another channel: unacked deliveries can still be acked after the cancel', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { consumerTag: 'A' });
    ch.publishAll(q, ['1', '2']);
    await inbox.waitFor(2);
    expect(await other.ch.deleteQueue(q)).toEqual({ messageCount: 0 });
    await inbox.waitFor(3);
    expect(inbox.bodies).toEqual(['1', '2']);
    expect(inbox.cancelled).toBe(1);
    expect(ch.methods('BasicDeliver', 'BasicCancel').map((f) => [f.name, f.fields['deliveryTag'] ?? f.fields['nowait']])).toEqual([
      ['BasicDeliver', 1],
      ['BasicDeliver', 2],
      ['BasicCancel', true],
    ]);
    ch.ch.ack(inbox.messages[0]!);
    ch.ch.ack(inbox.messages[1]!);
    const q2 = await ch.queue();
    expect(await ch.ready(q2)).toBe(0);
    expect(ch.serverCloses).toEqual([]);
  });
});
