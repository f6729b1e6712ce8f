// Federation tests: brokers in this process, federated through real AMQP connections.
import type { Channel, GetMessage } from 'amqplib';
import type { Broker } from '../../server/broker.js';
import type { Policy } from '../../server/vhost/policy.js';
import { sleep } from './timing.js';

/** Polls `cond` until it holds; fails with `what` after `ms`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Sets the upstream parameter and a policy that federates `pattern` from it. */
export function federate(
  down: Broker,
  upstream: string,
  value: Record<string, unknown>,
  pattern: string,
  options: { vhost?: string; applyTo?: Policy['applyTo']; policy?: string; key?: 'federation-upstream' | 'federation-upstream-set' } = {},
): void {
  const vhost = options.vhost ?? '/';
  down.access.setParameter(vhost, 'federation-upstream', upstream, value);
  const key = options.key ?? 'federation-upstream';
  down.vhosts.get(vhost)!.setPolicy({
    vhost,
    name: options.policy ?? `fed-${upstream}`,
    pattern,
    applyTo: options.applyTo ?? 'exchanges',
    priority: 0,
    definition: { [key]: key === 'federation-upstream' ? upstream : 'all' },
  });
}

/** Waits until `n` links of the broker run (all of them, when `n` is omitted: at least one). */
export async function linksRunning(b: Broker, n?: number): Promise<void> {
  await waitUntil(() => {
    const s = b.federation.status('test');
    const running = s.filter((l) => l['status'] === 'running').length;
    return n === undefined ? s.length > 0 && running === s.length : running === n;
  }, `${n ?? 'all'} federation links running`);
}

/** basic.get until a message comes (or `ms` pass: false). */
export async function getWithin(ch: Channel, queue: string, ms = 3000): Promise<GetMessage | false> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m !== false || Date.now() > deadline) return m;
    await sleep(20);
  }
}

/** Everything the queue holds now, after `settle` ms of quiet. */
export async function drain(ch: Channel, queue: string, settle = 300): Promise<GetMessage[]> {
  await sleep(settle);
  const out: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

/** The live RabbitMQ of heavy tests (RABBITMQ_URL, RABBITMQ_MGMT_URL with credentials; CI starts one). */
export const rmqUrl = process.env['RABBITMQ_URL'] ?? '';
export const rmqMgmt = process.env['RABBITMQ_MGMT_URL'] ?? '';

/** One request to RabbitMQ's HTTP API; the body is parsed JSON (or null). */
export async function rmqApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const u = new URL(rmqMgmt);
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
