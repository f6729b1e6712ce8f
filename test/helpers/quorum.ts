// Plumbing for the queue-type tests: quorum queues on a broker with a data directory (their
// messages always go to the store), policies set on Warren in process or on a reference
// RabbitMQ through its management API (RABBITMQ_MGMT_URL), and compact views of messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, ConfirmChannel, GetMessage, Message } from 'amqplib';
import { afterAll } from 'vitest';
import { validatePolicy } from '../../server/vhost/policy.js';
import { onWarren, sleep, uniq, useBroker, type TestBroker } from './queue-features.js';

/** Durable queues and exchanges the tests made, deleted afterwards (a reference broker is shared). */
const made = { queues: new Set<string>(), exchanges: new Set<string>() };

/**
 * A broker for the calling file; on Warren it keeps a data directory, as `warren start`
 * does. Whatever `quorum()`, `durableQueue()` and `durableExchange()` made is deleted after.
 */
export function useQuorumBroker(): TestBroker {
  let dir: string | undefined;
  const broker = useBroker(() => ({ dataDir: (dir = mkdtempSync(join(tmpdir(), 'warren-qq-'))) }));
  afterAll(async () => {
    const ch = await (await broker.connect()).createChannel();
    for (const q of made.queues) await ch.deleteQueue(q);
    for (const x of made.exchanges) await ch.deleteExchange(x);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return broker;
}

/** A name for this run, prefixed with the branch's name (a reference broker is shared). */
export function qname(base = 'qq'): string {
  return uniq(`quorum-${base}`);
}

/** Declares a quorum queue (durable, as it must be) with extra arguments. */
export async function quorum(ch: Channel, name: string, args: Record<string, unknown> = {}): Promise<string> {
  made.queues.add(name);
  await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } });
  return name;
}

/** Declares a durable classic queue. */
export async function durableQueue(ch: Channel, name: string, args: Record<string, unknown> = {}): Promise<string> {
  made.queues.add(name);
  await ch.assertQueue(name, { durable: true, arguments: args });
  return name;
}

/** Declares a durable exchange. */
export async function durableExchange(ch: Channel, name: string, type: string): Promise<string> {
  made.exchanges.add(name);
  await ch.assertExchange(name, type, { durable: true });
  return name;
}

/** Publishes each body on a confirm channel and waits for the confirms. */
export async function publishAll(ch: ConfirmChannel, queue: string, bodies: readonly string[], options = {}): Promise<void> {
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), options);
  await ch.waitForConfirms();
}

/**
 * A message as "body", with "*" when redelivered and ":n" for its x-delivery-count header
 * (none when absent): what a quorum queue's tests compare.
 */
export function tagged(m: Message | GetMessage): string {
  const n = (m.properties.headers as Record<string, unknown> | undefined)?.['x-delivery-count'];
  return `${m.content.toString()}${m.fields.redelivered ? '*' : ''}${n === undefined ? '' : `:${String(n)}`}`;
}

/** basic.get no-ack until empty, as tagged strings. */
export async function drainTagged(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(tagged(m));
  }
}

/** basic.get without ack; fails if the queue is empty. */
export async function getOne(ch: Channel, queue: string): Promise<GetMessage> {
  const m = await ch.get(queue);
  if (m === false) throw new Error(`${queue} is empty`);
  return m;
}

/**
 * RabbitMQ settles and returns asynchronously (its queue is a Raft machine): a short pause
 * after a reject or a close before reading the queue again. On Warren it changes nothing.
 */
export function settle(): Promise<void> {
  return sleep(onWarren ? 5 : 150);
}

export interface PolicySpec {
  name: string;
  pattern: string;
  definition: Record<string, unknown>;
  priority?: number;
}

/** Sets a queue policy: in process on Warren, through the management API on a reference broker. */
export async function setPolicy(broker: TestBroker, p: PolicySpec): Promise<void> {
  if (broker.warren !== undefined) {
    broker.warren.broker.vhosts.get('/')!.setPolicy(validatePolicy({ ...p, applyTo: 'queues', priority: p.priority ?? 0 }));
    return;
  }
  await management('PUT', p.name, { pattern: p.pattern, definition: p.definition, 'apply-to': 'queues', priority: p.priority ?? 0 });
  // RabbitMQ applies a policy to its queues asynchronously.
  await sleep(500);
}

export async function clearPolicy(broker: TestBroker, name: string): Promise<void> {
  if (broker.warren !== undefined) {
    broker.warren.broker.vhosts.get('/')!.clearPolicy(name);
    return;
  }
  await management('DELETE', name);
  await sleep(500);
}

async function management(method: string, name: string, body?: object): Promise<void> {
  const base = process.env['RABBITMQ_MGMT_URL'];
  if (base === undefined) throw new Error('policies on a reference broker need RABBITMQ_MGMT_URL');
  const u = new URL(base);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  const res = await fetch(`${u.protocol}//${u.host}/api/policies/%2F/${encodeURIComponent(name)}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok && !(method === 'DELETE' && res.status === 404)) throw new Error(`${method} policy ${name}: ${res.status} ${await res.text()}`);
}
