// Operator policies: for the keys they may set, the lower of the policy's (or argument's)
// value and the operator policy's wins, as RabbitMQ's rabbit_policy:merge_policy_value
// does; clearing the operator policy restores the policy's value. Observed through AMQP
// (how many messages a queue keeps), and checkable against RabbitMQ with
// WARREN_REFERENCE_URL and RABBITMQ_MGMT_URL.
import { afterAll, describe, expect, test } from 'vitest';
import { onWarren, useAccessBroker } from '../../helpers/access.js';

const t = useAccessBroker(() => ({ users: [] }));
const settle = () => new Promise((r) => setTimeout(r, onWarren ? 10 : 1500));

afterAll(async () => {
  await t.policy(t.p('pol'), { pattern: '', definition: null });
  await t.policy(t.p('op'), { pattern: '', definition: null }, true);
});

async function lengthAfter(q: string, n: number, args: Record<string, unknown> = {}): Promise<number> {
  const c = await t.connect('guest', 'guest');
  const ch = await c.createConfirmChannel();
  await ch.assertQueue(q, { arguments: args });
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  await ch.waitForConfirms();
  const { messageCount } = await ch.checkQueue(q);
  await ch.deleteQueue(q);
  await ch.close();
  return messageCount;
}

describe('operator policies', () => {
  test('max-length: the lower of policy and operator policy wins, either way round; an argument is capped too', async () => {
    const pattern = `^${t.p('q')}`;
    await t.policy(t.p('pol'), { pattern, definition: { 'max-length': 5 }, 'apply-to': 'queues' });
    await t.policy(t.p('op'), { pattern, definition: { 'max-length': 3 }, 'apply-to': 'queues' }, true);
    await settle();
    expect(await lengthAfter(t.p('q1'), 10)).toBe(3);
    await t.policy(t.p('op'), { pattern, definition: { 'max-length': 8 }, 'apply-to': 'queues' }, true);
    await settle();
    expect(await lengthAfter(t.p('q2'), 10)).toBe(5);
    expect(await lengthAfter(t.p('q3'), 10, { 'x-max-length': 9 })).toBe(5);
    await t.policy(t.p('pol'), { pattern, definition: null });
    await settle();
    expect(await lengthAfter(t.p('q4'), 10, { 'x-max-length': 9 })).toBe(8);
    await t.policy(t.p('op'), { pattern, definition: null }, true);
    await settle();
    expect(await lengthAfter(t.p('q5'), 10)).toBe(10);
  });
});
