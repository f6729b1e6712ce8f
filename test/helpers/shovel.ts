// Helpers for shovel and migration tests: a live RabbitMQ's management API, and waiting for
// queues to fill or drain.
import type { ChannelModel } from 'amqplib';
import { sleep } from './timing.js';

export const rabbitMgmt = process.env['RABBITMQ_MGMT_URL'] ?? '';
export const rabbitUrl = process.env['RABBITMQ_URL'] ?? '';
export const haveRabbit = rabbitMgmt !== '' && rabbitUrl !== '';

/** One request to RabbitMQ's HTTP API (RABBITMQ_MGMT_URL, credentials in the URL). */
export async function rabbitApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const u = new URL(rabbitMgmt);
  const res = await fetch(`${u.origin}/api${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

/** Polls until `check` returns true; fails with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The number of ready messages in a queue (a passive declare on a channel of its own); 0 while it does not exist. */
export async function depth(conn: ChannelModel, queue: string): Promise<number> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    const n = (await ch.checkQueue(queue)).messageCount;
    await ch.close();
    return n;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return 0;
    throw err;
  }
}
