// Dynamic shovels on Warren, driven through the `shovel` runtime parameter and observed
// with amqplib: each ack mode, src-delete-after, forward and timestamp headers, publish
// properties, exchanges at both ends, reconnection, status, the in-process connection of a
// URI with no host, and survival of a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from '../../helpers/broker.js';
import { depth, eventually } from '../../helpers/shovel.js';
import { drain } from '../../helpers/queue-features.js';
import { sleep } from '../../helpers/timing.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { AccessError } from '../../../server/access/errors.js';
import { handleControl } from '../../../server/control.js';

let b: RunningBroker;
let conn: ChannelModel;
let ch: ConfirmChannel;
let n = 0;
/** A fresh name per test, so that tests share the broker without seeing each other. */
const fresh = (what: string): string => `shovel-${what}-${++n}`;

beforeAll(async () => {
  b = await startTestBroker();
  conn = await amqp.connect(b.url);
  ch = await conn.createConfirmChannel();
});

afterAll(async () => {
  await conn.close();
  await b.close();
});

function setShovel(name: string, value: Record<string, unknown>, vhost = '/'): void {
  b.broker.access.setParameter(vhost, 'shovel', name, value);
}

async function fill(queue: string, count: number, persistent = true): Promise<void> {
  await ch.assertQueue(queue, { durable: true });
  for (let i = 0; i < count; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent, messageId: `id-${i}` });
  await ch.waitForConfirms();
}

describe('moving messages', () => {
  for (const ackMode of ['on-confirm', 'on-publish', 'no-ack'] as const) {
    it(`${ackMode}: moves a backlog and what arrives later, in order, with nothing left behind`, async () => {
      const src = fresh('src');
      const dst = fresh('dst');
      await fill(src, 300);
      setShovel(fresh('s'), { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'ack-mode': ackMode, 'src-prefetch-count': 50 });
      for (let i = 300; i < 500; i++) ch.sendToQueue(src, Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();
      await eventually('500 messages in the destination', async () => (await depth(conn, dst)) === 500);
      await eventually('an empty, unacked-free source', async () => (await depth(conn, src)) === 0);
      const got = await drain(ch, dst);
      expect(got.map((m) => m.content.toString())).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
      expect(got.every((m) => m.fields.exchange === '' && m.fields.routingKey === dst)).toBe(true);
    });
  }

  it('declares a missing source queue (durable) and a missing destination queue', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    setShovel(fresh('s'), { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'dest-queue-args': { 'x-max-length': 1000 } });
    await eventually('both queues', () => b.broker.vhosts.get('/')!.queues.has(src) && b.broker.vhosts.get('/')!.queues.has(dst));
    const vhost = b.broker.vhosts.get('/')!;
    expect(vhost.queues.get(src)!.durable).toBe(true);
    expect(vhost.queues.get(dst)!.durable).toBe(true);
    ch.sendToQueue(src, Buffer.from('hello'));
    await eventually('the message moved', async () => (await depth(conn, dst)) === 1);
  });

  it('keeps every property and header of the message', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    await ch.assertQueue(src, { durable: true });
    setShovel(fresh('s'), { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst });
    const props = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: { s: 'text', i: 42, f: 1.5, b: true, nested: { k: 'v' }, list: ['a', 1] },
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr',
      replyTo: 'reply-q',
      expiration: '600000',
      messageId: 'mid',
      timestamp: 1700000000,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
    };
    ch.sendToQueue(src, Buffer.from('{"a":1}'), props);
    await ch.waitForConfirms();
    await eventually('the message moved', async () => (await depth(conn, dst)) === 1);
    const [m] = await drain(ch, dst);
    expect(m!.content.toString()).toBe('{"a":1}');
    expect(m!.properties).toMatchObject(props);
  });

  it('src-exchange with src-exchange-key, and dest-exchange with dest-exchange-key', async () => {
    const sx = fresh('sx');
    const dx = fresh('dx');
    const dq = fresh('dq');
    await ch.assertExchange(sx, 'topic', { durable: false });
    await ch.assertExchange(dx, 'direct', { durable: false });
    await ch.assertQueue(dq, { durable: false });
    await ch.bindQueue(dq, dx, 'rewritten');
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-exchange': sx, 'src-exchange-key': 'orders.#', 'dest-uri': 'amqp://', 'dest-exchange': dx, 'dest-exchange-key': 'rewritten' });
    await eventually('the shovel running', () => b.broker.shovels.get('/', s)?.state === 'running');
    ch.publish(sx, 'orders.new', Buffer.from('yes'));
    ch.publish(sx, 'invoices.new', Buffer.from('no'));
    await ch.waitForConfirms();
    await eventually('one message moved', async () => (await depth(conn, dq)) === 1);
    const [m] = await drain(ch, dq);
    expect(m!.content.toString()).toBe('yes');
    expect(m!.fields).toMatchObject({ exchange: dx, routingKey: 'rewritten' });
    const st = b.broker.shovels.status().find((e) => e.name === s)!;
    expect(st).toMatchObject({ src_exchange: sx, src_exchange_key: 'orders.#', dest_exchange: dx, dest_exchange_key: 'rewritten' });
  });

  it('without a destination queue or exchange, keeps the message\'s exchange and routing key', async () => {
    const x = fresh('x');
    const src = fresh('src');
    const dst = fresh('dst');
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertQueue(src, { durable: true });
    await ch.assertQueue(dst, { durable: false });
    await ch.bindQueue(src, x, 'k1');
    // Published to x with key k1, it lands in src; the shovel republishes it to x with k1,
    // which by then routes to dst only.
    ch.publish(x, 'k1', Buffer.from('back'));
    await ch.waitForConfirms();
    await ch.bindQueue(dst, x, 'k1');
    await ch.unbindQueue(src, x, 'k1');
    setShovel(fresh('s'), { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://' });
    await eventually('the message republished to its own exchange and key', async () => (await depth(conn, dst)) === 1);
    const [m] = await drain(ch, dst);
    expect(m!.fields).toMatchObject({ exchange: x, routingKey: 'k1' });
  });
});

describe('src-delete-after', () => {
  it('queue-length moves the backlog present at start, then deletes the shovel (its parameter too)', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    await fill(src, 120);
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'src-delete-after': 'queue-length', 'src-prefetch-count': 10 });
    await eventually('the shovel gone', () => b.broker.shovels.get('/', s) === undefined);
    expect(b.broker.vhosts.get('/')!.parameters.has(`shovel/${s}`)).toBe(false);
    expect(await depth(conn, dst)).toBe(120);
    ch.sendToQueue(src, Buffer.from('later'));
    await ch.waitForConfirms();
    await sleep(200);
    expect(await depth(conn, src)).toBe(1);
    expect(await depth(conn, dst)).toBe(120);
  });

  it('a number moves exactly that many (on-publish too), leaving the rest', async () => {
    for (const ackMode of ['on-confirm', 'on-publish']) {
      const src = fresh('src');
      const dst = fresh('dst');
      await fill(src, 50);
      const s = fresh('s');
      setShovel(s, { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'src-delete-after': 20, 'ack-mode': ackMode });
      await eventually('the shovel gone', () => b.broker.shovels.get('/', s) === undefined);
      await eventually('the rest back in the source', async () => (await depth(conn, src)) === 30);
      expect(await depth(conn, dst)).toBe(20);
      const left = await drain(ch, src);
      expect(left[0]!.content.toString()).toBe('m20');
    }
  });

  it('queue-length on an empty queue deletes the shovel at once', async () => {
    const src = fresh('src');
    await ch.assertQueue(src, { durable: true });
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': fresh('dst'), 'src-delete-after': 'queue-length' });
    await eventually('the shovel gone', () => b.broker.shovels.get('/', s) === undefined);
  });
});

describe('headers and properties', () => {
  it('dest-add-forward-headers prepends x-shovelled; dest-add-timestamp-header sets x-shovelled-timestamp', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    await ch.assertQueue(src, { durable: true });
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'dest-add-forward-headers': true, 'dest-add-timestamp-header': true });
    const earlier = { 'shovel-name': 'elsewhere' };
    ch.sendToQueue(src, Buffer.from('a'), { headers: { keep: 1 } });
    ch.sendToQueue(src, Buffer.from('b'), { headers: { 'x-shovelled': [earlier] } });
    await ch.waitForConfirms();
    const before = Math.floor(Date.now() / 1000);
    await eventually('both moved', async () => (await depth(conn, dst)) === 2);
    const [a, bm] = await drain(ch, dst);
    const entry = {
      'shovelled-by': b.broker.serverProperties['cluster_name'],
      'shovel-type': 'dynamic',
      'shovel-name': s,
      'shovel-vhost': '/',
      'src-uri': 'amqp://',
      'dest-uri': 'amqp://',
      'src-queue': src,
      'dest-queue': dst,
    };
    expect(a!.properties.headers!['keep']).toBe(1);
    expect(a!.properties.headers!['x-shovelled']).toEqual([entry]);
    expect(bm!.properties.headers!['x-shovelled']).toEqual([entry, earlier]);
    const ts = a!.properties.headers!['x-shovelled-timestamp'] as number;
    expect(ts).toBeGreaterThanOrEqual(before - 5);
    expect(ts).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('dest-publish-properties override the message\'s own', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    await ch.assertQueue(src, { durable: true });
    setShovel(fresh('s'), { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'dest-publish-properties': { delivery_mode: 2, app_id: 'shovelled', content_type: 'text/plain' } });
    ch.sendToQueue(src, Buffer.from('p'), { deliveryMode: 1, appId: 'original', messageId: 'kept' });
    await ch.waitForConfirms();
    await eventually('moved', async () => (await depth(conn, dst)) === 1);
    const [m] = await drain(ch, dst);
    expect(m!.properties).toMatchObject({ deliveryMode: 2, appId: 'shovelled', contentType: 'text/plain', messageId: 'kept' });
  });
});

describe('confirms', () => {
  it('on-confirm: what the destination refuses (nack) stays at the source', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    await ch.assertQueue(dst, { durable: true, arguments: { 'x-max-length': 5, 'x-overflow': 'reject-publish' } });
    await fill(src, 12);
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'src-prefetch-count': 3 });
    await eventually('five moved', async () => (await depth(conn, dst)) === 5);
    await sleep(200);
    b.broker.access.clearParameter('/', 'shovel', s);
    await eventually('the other seven back in the source', async () => (await depth(conn, src)) === 7);
    expect(await depth(conn, dst)).toBe(5);
    expect(b.broker.shovels.get('/', s)).toBeUndefined();
  });
});

describe('status, reconnection and the in-process connection', () => {
  it('status has RabbitMQ\'s fields; a local URI is an in-process connection as user none', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst });
    await eventually('running', () => b.broker.shovels.get('/', s)?.state === 'running');
    const st = b.broker.shovels.status().find((e) => e.name === s)!;
    expect(Object.keys(st)).toEqual(['node', 'timestamp', 'name', 'vhost', 'type', 'state', 'src_uri', 'src_protocol', 'dest_protocol', 'dest_uri', 'src_queue', 'dest_queue', 'forwarded']);
    expect(st).toMatchObject({ node: b.broker.nodeName, name: s, vhost: '/', type: 'dynamic', state: 'running', src_uri: 'amqp://', dest_uri: 'amqp://', src_protocol: 'amqp091', dest_protocol: 'amqp091', src_queue: src, dest_queue: dst, forwarded: 0 });
    expect(st.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d{1,2}:\d\d:\d\d$/);
    const links = [...b.broker.connections].filter((c) => c.clientProperties['connection_name'] === `Shovel ${s}`);
    expect(links.length).toBe(2);
    for (const c of links) {
      expect(c.user).toBe('none');
      expect(c.remote).toBe('127.0.0.1:0');
    }
  });

  it('a local URI with user info logs in as that user', async () => {
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://guest:guest@', 'src-queue': fresh('src'), 'dest-uri': 'amqp://', 'dest-queue': fresh('dst') });
    await eventually('running', () => b.broker.shovels.get('/', s)?.state === 'running');
    const users = [...b.broker.connections].filter((c) => c.clientProperties['connection_name'] === `Shovel ${s}`).map((c) => c.user).sort();
    expect(users).toEqual(['guest', 'none']);
  });

  it('reconnects after reconnect-delay when its connection is closed, and carries on', async () => {
    const src = fresh('src');
    const dst = fresh('dst');
    await ch.assertQueue(src, { durable: true });
    const s = fresh('s');
    // Over TCP to this same broker.
    setShovel(s, { 'src-uri': b.url, 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': dst, 'reconnect-delay': 1 });
    await eventually('running', () => b.broker.shovels.get('/', s)?.state === 'running');
    const port = new URL(b.url).port;
    expect(b.broker.shovels.status().find((e) => e.name === s)!.src_uri).toBe(`amqp://127.0.0.1:${port}`);
    for (const c of b.broker.connections) if (c.clientProperties['connection_name'] === `Shovel ${s}` && c.remote !== '127.0.0.1:0') c.closeForced('closed by a test');
    await eventually('terminated, with the reason', () => b.broker.shovels.status().find((e) => e.name === s)?.state === 'terminated');
    const st = b.broker.shovels.status().find((e) => e.name === s)!;
    expect(st.reason).toContain('closed by a test');
    await eventually('running again', () => b.broker.shovels.get('/', s)?.state === 'running', 5000);
    ch.sendToQueue(src, Buffer.from('after'));
    await ch.waitForConfirms();
    await eventually('moved after reconnecting', async () => (await depth(conn, dst)) === 1);
  });

  it('keeps trying an unreachable source, saying why', async () => {
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://guest:guest@127.0.0.1:1', 'src-queue': 'q', 'dest-uri': 'amqp://', 'reconnect-delay': 1 });
    await eventually('a last error', () => b.broker.shovels.status().find((e) => e.name === s)?.last_error !== undefined);
    const st = b.broker.shovels.status().find((e) => e.name === s)!;
    expect(st.state).toBe('starting');
    expect(st.last_error).toMatch(/ECONNREFUSED/);
    b.broker.access.clearParameter('/', 'shovel', s);
    expect(b.broker.shovels.status().find((e) => e.name === s)).toBeUndefined();
  });

  it('restart: stops the shovel and starts it again from its parameter', async () => {
    const s = fresh('s');
    setShovel(s, { 'src-uri': 'amqp://', 'src-queue': fresh('src'), 'dest-uri': 'amqp://', 'dest-queue': fresh('dst') });
    await eventually('running', () => b.broker.shovels.get('/', s)?.state === 'running');
    const before = b.broker.shovels.get('/', s);
    expect(b.broker.shovels.restart('/', s)).toBe(true);
    expect(b.broker.shovels.get('/', s)).not.toBe(before);
    await eventually('running again', () => b.broker.shovels.get('/', s)?.state === 'running');
    expect(b.broker.shovels.restart('/', 'no-such-shovel')).toBe(false);
  });

  it('a refused value is not stored, with RabbitMQ\'s text', () => {
    let err: unknown;
    try {
      setShovel('bad', { 'src-uri': 'amqp://', 'dest-uri': 'amqp://' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AccessError);
    expect((err as AccessError).reason).toBe("Validation failed\n\nMust specify 'src-exchange' or 'src-queue'\n");
    expect(b.broker.vhosts.get('/')!.parameters.has('shovel/bad')).toBe(false);
  });
});

describe('the control socket', () => {
  it('parameter.set, parameter.list, shovel.status, parameter.clear', async () => {
    const value = { 'src-uri': 'amqp://', 'src-queue': fresh('src'), 'dest-uri': 'amqp://', 'dest-queue': fresh('dst') };
    expect(handleControl(b.broker, { cmd: 'parameter.set', vhost: '/', component: 'shovel', name: 'ctl-s', value })).toEqual({ ok: true, result: null });
    expect(handleControl(b.broker, { cmd: 'parameter.list', vhost: '/', component: 'shovel' })).toMatchObject({ ok: true, result: expect.arrayContaining([{ component: 'shovel', name: 'ctl-s', value }]) });
    await eventually('running', () => b.broker.shovels.get('/', 'ctl-s')?.state === 'running');
    const st = handleControl(b.broker, { cmd: 'shovel.status' }) as { ok: true; result: { name: string; state: string }[] };
    expect(st.result.find((x) => x.name === 'ctl-s')).toMatchObject({ state: 'running', src_queue: value['src-queue'] });
    expect(handleControl(b.broker, { cmd: 'parameter.set', vhost: '/', component: 'shovel', name: 'ctl-bad', value: { 'src-uri': 'amqp://' } })).toEqual({
      ok: false,
      error: "Validation failed\n\nMust specify 'src-exchange' or 'src-queue'\nKey \"dest-uri\" not found in ctl-bad\n",
    });
    expect(handleControl(b.broker, { cmd: 'parameter.clear', vhost: '/', component: 'shovel', name: 'ctl-s' })).toEqual({ ok: true, result: null });
    expect(handleControl(b.broker, { cmd: 'parameter.clear', vhost: '/', component: 'shovel', name: 'ctl-s' })).toEqual({ ok: false, error: 'Parameter does not exist' });
    expect(b.broker.shovels.get('/', 'ctl-s')).toBeUndefined();
  });
});

describe('restart', () => {
  it('a shovel defined before a restart runs again after it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-shovel-'));
    try {
      const first = await startBroker({ port: 0, dataDir });
      first.broker.access.setParameter('/', 'shovel', 'durable-shovel', { 'src-uri': 'amqp://', 'src-queue': 'keep-src', 'dest-uri': 'amqp://', 'dest-queue': 'keep-dst' });
      await eventually('running', () => first.broker.shovels.get('/', 'durable-shovel')?.state === 'running');
      await first.close();
      const second = await startBroker({ port: 0, dataDir });
      try {
        await eventually('running again', () => second.broker.shovels.get('/', 'durable-shovel')?.state === 'running');
        const c = await amqp.connect(second.url);
        const cch = await c.createConfirmChannel();
        cch.sendToQueue('keep-src', Buffer.from('after restart'), { persistent: true });
        await cch.waitForConfirms();
        await eventually('moved', async () => (await depth(c, 'keep-dst')) === 1);
        await c.close();
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
