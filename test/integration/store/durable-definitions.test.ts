import amqp from 'amqplib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';

let dir: string;
let broker: RunningBroker | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-defs-'));
});
afterEach(async () => {
  await broker?.close();
  broker = null;
  rmSync(dir, { recursive: true, force: true });
});

async function restart(): Promise<RunningBroker> {
  await broker?.close();
  broker = await startBroker({ port: 0, dataDir: dir });
  return broker;
}

/** Declares passively; returns the reply code of the failure, or 'ok'. */
async function exists(url: string, kind: 'queue' | 'exchange', name: string): Promise<number | 'ok'> {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    if (kind === 'queue') await ch.checkQueue(name);
    else await ch.checkExchange(name);
    return 'ok';
  } catch (err) {
    return (err as { code: number }).code;
  } finally {
    await conn.close().catch(() => {});
  }
}

describe('durable definitions survive a restart', () => {
  test('durable exchanges, queues (with arguments), bindings and policies come back; transient ones do not', async () => {
    const b = await restart();
    const conn = await amqp.connect(b.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('orders', 'topic', { durable: true });
    await ch.assertExchange('orders-ae', 'fanout', { durable: true });
    await ch.assertExchange('e2e-dest', 'direct', { durable: true });
    await ch.assertExchange('scratch', 'fanout', { durable: false });
    await ch.assertQueue('orders.eu', { durable: true, arguments: { 'x-max-length': 10, 'x-dead-letter-exchange': 'orders-ae' } });
    await ch.assertQueue('temp', { durable: false });
    const excl = await ch.assertQueue('', { durable: true, exclusive: true });
    await ch.bindQueue('orders.eu', 'orders', 'eu.#');
    await ch.bindQueue('temp', 'orders', 'temp.#');
    await ch.bindExchange('e2e-dest', 'orders', 'x.*');
    await conn.close();
    const policy = b.broker.vhosts.get('/')!;
    const { validatePolicy } = await import('../../../server/vhost/policy.js');
    policy.setPolicy(validatePolicy({ name: 'ttl', pattern: '^orders\\.', applyTo: 'queues', definition: { 'message-ttl': 60000 } }));
    await new Promise((r) => setImmediate(r));

    const b2 = await restart();
    expect(await exists(b2.url, 'exchange', 'orders')).toBe('ok');
    expect(await exists(b2.url, 'exchange', 'e2e-dest')).toBe('ok');
    expect(await exists(b2.url, 'exchange', 'scratch')).toBe(404);
    expect(await exists(b2.url, 'queue', 'orders.eu')).toBe('ok');
    expect(await exists(b2.url, 'queue', 'temp')).toBe(404);
    expect(await exists(b2.url, 'queue', excl.queue)).toBe(404);

    const v = b2.broker.vhosts.get('/')!;
    const q = v.queues.get('orders.eu')!;
    expect(q.settings.maxLength).toBe(10);
    expect(q.settings.deadLetterExchange).toBe('orders-ae');
    expect(q.settings.messageTtl).toBe(60000); // from the recovered policy
    expect(v.policies.list().map((p) => p.name)).toEqual(['ttl']);

    // The recovered binding routes, and redeclaring with the same arguments is equivalent.
    const c2 = await amqp.connect(b2.url);
    const ch2 = await c2.createConfirmChannel();
    await ch2.assertQueue('orders.eu', { durable: true, arguments: { 'x-max-length': 10, 'x-dead-letter-exchange': 'orders-ae' } });
    ch2.publish('orders', 'eu.paris', Buffer.from('o1'));
    await ch2.waitForConfirms();
    const m = await ch2.get('orders.eu', { noAck: true });
    expect(m && m.content.toString()).toBe('o1');
    expect(m && m.fields.routingKey).toBe('eu.paris');
    await c2.close();
  });

  test('the file is RabbitMQ definitions JSON and a stale temporary file from a crash is ignored', async () => {
    const b = await restart();
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('keep', { durable: true, arguments: { 'x-message-ttl': 1000 } });
    await conn.close();
    const defs = JSON.parse(readFileSync(join(dir, 'definitions.json'), 'utf8'));
    expect(defs.queues).toEqual([{ name: 'keep', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-message-ttl': 1000 } }]);
    expect(defs.vhosts).toEqual([
      { name: '/', description: 'Default virtual host', tags: [], metadata: { description: 'Default virtual host', tags: [] } },
    ]);
    // A crash mid-write leaves a half-written temporary file beside the real one.
    writeFileSync(join(dir, 'definitions.json.tmp'), '{"queues": [{"na');
    const b2 = await restart();
    expect(await exists(b2.url, 'queue', 'keep')).toBe('ok');
  });

  test('deleting a durable queue removes it from disk before delete-ok', async () => {
    const b = await restart();
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('gone', { durable: true });
    await ch.deleteQueue('gone');
    const defs = JSON.parse(readFileSync(join(dir, 'definitions.json'), 'utf8'));
    expect(defs.queues).toEqual([]);
    await conn.close();
  });

  test('in-process brokers without a dataDir keep nothing on disk', async () => {
    const b = await startBroker({ port: 0 });
    expect(b.broker.definitions).toBeNull();
    await b.close();
  });
});
