// Policies (rabbitmqctl set_policy): set through the in-process API, through the real
// `warren policy` command line (built once into a temporary directory), and from the
// config; how they combine with queue and exchange arguments; and that they survive a
// restart with a data directory.
//
// The queue and exchange behaviour was checked on RabbitMQ 3.10.8 with rabbitmqctl
// set_policy: for message-ttl, max-length and expires the lower of argument and policy
// wins; for overflow, dead-letter-exchange, dead-letter-routing-key and
// alternate-exchange the argument wins; only the highest-priority matching policy
// applies (definitions are not merged); a policy change applies to existing queues
// (a max-length policy trims a longer queue at once) and clearing it removes its effect.
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { validatePolicy } from '../../../server/vhost/policy.js';
import {
  bodies,
  drain,
  expectDeadLetterHeaders,
  expectDeath,
  lastDeath,
  nowSeconds,
  passive,
  publishConfirmed,
  sleep,
  uniq,
  waitUntil,
} from '../../helpers/queue-features.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let tmp: string;
let cliPath: string;
const running = new Set<RunningBroker>();
const conns: ChannelModel[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'warren-policies-'));
  const out = join(tmp, 'build');
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  cliPath = join(out, 'server/cli.js');
  // Type errors elsewhere in the tree still emit JavaScript; only a missing bin is fatal.
  if (!existsSync(cliPath)) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  // The output is ESM and imports commander and pino: give it a package.json and node_modules.
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
}, 60000);

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => {});
  for (const b of running) await b.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startBroker>[0] = {}): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, ...options });
  running.add(b);
  return b;
}

async function stop(b: RunningBroker): Promise<void> {
  running.delete(b);
  await b.close();
}

async function connection(b: RunningBroker): Promise<ChannelModel> {
  const c = await amqp.connect(b.url);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

async function channel(b: RunningBroker): Promise<ConfirmChannel> {
  return (await connection(b)).createConfirmChannel();
}

/** A data directory whose broker listens on <dir>/warren.sock, where the CLI looks. */
function dataDir(): string {
  return mkdtempSync(join(tmp, 'data-'));
}

function withControl(dir: string): { dataDir: string; controlSocket: string } {
  return { dataDir: dir, controlSocket: join(dir, 'warren.sock') };
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `warren` bin. Asynchronous: the broker answering it lives in this process. */
function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface PolicyInput {
  name: string;
  pattern: string;
  definition: Record<string, unknown>;
  priority?: number;
  applyTo?: 'queues' | 'exchanges' | 'all';
}

function setPolicy(b: RunningBroker, p: PolicyInput): void {
  b.broker.vhosts.get('/')!.setPolicy(validatePolicy(p));
}

function clearPolicy(b: RunningBroker, name: string): boolean {
  return b.broker.vhosts.get('/')!.clearPolicy(name);
}

function publishAll(ch: ConfirmChannel, exchange: string, key: string, bs: string[]): Promise<string[]> {
  return Promise.all(bs.map((body) => publishConfirmed(ch, exchange, key, body)));
}

/** A regex-safe unique prefix; each test's policies match only its own names. */
function prefix(what: string): string {
  return uniq(`pol-${what}`);
}

// ---------------------------------------------------------------- in-process API

describe('policies set through the vhost', () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await start();
  });

  test('max-length limits matching queues (drop-head: the oldest go), trims a longer queue at once, and leaves other queues alone', async () => {
    const P = prefix('maxlen');
    const ch = await channel(b);
    const existing = `${P}.existing`;
    await ch.assertQueue(existing, { exclusive: true });
    expect(await publishAll(ch, '', existing, ['1', '2', '3', '4'])).toEqual(['ack', 'ack', 'ack', 'ack']);

    setPolicy(b, { name: `${P}-limit`, pattern: `^${P}\\.`, applyTo: 'queues', definition: { 'max-length': 2 } });
    expect(await ch.checkQueue(existing)).toEqual({ queue: existing, messageCount: 2, consumerCount: 0 });
    expect(bodies(await drain(ch, existing))).toEqual(['3', '4']);

    const q = `${P}.new`;
    const other = `${P}-other`;
    await ch.assertQueue(q, { exclusive: true });
    await ch.assertQueue(other, { exclusive: true });
    expect(await publishAll(ch, '', q, ['a', 'b', 'c', 'd'])).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(await publishAll(ch, '', other, ['a', 'b', 'c', 'd'])).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(bodies(await drain(ch, q))).toEqual(['c', 'd']);
    expect(bodies(await drain(ch, other))).toEqual(['a', 'b', 'c', 'd']);
  });

  test('message-ttl with dead-letter-exchange from the policy: messages expire and are dead-lettered with x-death reason expired', async () => {
    const P = prefix('ttl');
    const ch = await channel(b);
    const dlx = `${P}-dlx`;
    const dlq = `${P}-dlq`;
    await ch.assertExchange(dlx, 'fanout', { autoDelete: false });
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.bindQueue(dlq, dlx, '');
    setPolicy(b, { name: `${P}-ttl`, pattern: `^${P}\\.`, applyTo: 'queues', definition: { 'message-ttl': 100, 'dead-letter-exchange': dlx } });
    const q = `${P}.work`;
    await ch.assertQueue(q, { exclusive: true });
    const from = nowSeconds();
    expect(await publishConfirmed(ch, '', q, 'short-lived', { messageId: 'm-1' })).toBe('ack');
    await waitUntil('the dead-lettered message', async () => (await ch.checkQueue(dlq)).messageCount === 1);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    const [m] = await drain(ch, dlq);
    expect(m!.content.toString()).toBe('short-lived');
    expect(m!.fields).toMatchObject({ exchange: dlx, routingKey: q, redelivered: false });
    expect(m!.properties.messageId).toBe('m-1');
    const deaths = expectDeadLetterHeaders(m!.properties.headers, {
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q, ''),
    });
    expect(deaths).toHaveLength(1);
    expectDeath(deaths[0], { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] }, { sorted: false, time: { from, to: nowSeconds() } });
    await ch.deleteExchange(dlx);
  });

  test('alternate-exchange on an exchange (apply-to exchanges) takes its unroutable messages; routable ones are unaffected', async () => {
    const P = prefix('ae');
    const ch = await channel(b);
    const x = `${P}.orders`;
    const ae = `${P}-ae`;
    const aeq = `${P}-unrouted`;
    const bound = `${P}-bound`;
    await ch.assertExchange(x, 'direct', { autoDelete: false });
    await ch.assertExchange(ae, 'fanout', { autoDelete: false });
    await ch.assertQueue(aeq, { exclusive: true });
    await ch.assertQueue(bound, { exclusive: true });
    await ch.bindQueue(aeq, ae, '');
    await ch.bindQueue(bound, x, 'known');
    setPolicy(b, { name: `${P}-ae`, pattern: `^${P}\\.`, applyTo: 'exchanges', definition: { 'alternate-exchange': ae } });
    expect(await publishConfirmed(ch, x, 'unknown', 'stray', { mandatory: true })).toBe('ack');
    expect(await publishConfirmed(ch, x, 'known', 'normal')).toBe('ack');
    const strays = await drain(ch, aeq);
    expect(strays.map((m) => [m.content.toString(), m.fields.exchange, m.fields.routingKey])).toEqual([['stray', x, 'unknown']]);
    expect(bodies(await drain(ch, bound))).toEqual(['normal']);

    // Cleared: unroutable messages are dropped again (and returned when mandatory).
    expect(clearPolicy(b, `${P}-ae`)).toBe(true);
    const returned: string[] = [];
    ch.on('return', (m: Message) => returned.push(`${(m.fields as unknown as { replyCode: number }).replyCode} ${m.content.toString()}`));
    expect(await publishConfirmed(ch, x, 'unknown', 'stray-2', { mandatory: true })).toBe('ack');
    expect(returned).toEqual(['312 stray-2']);
    expect(await drain(ch, aeq)).toEqual([]);
    await ch.deleteExchange(x);
    await ch.deleteExchange(ae);
  });

  test('clearing a policy removes its effect on existing and new queues', async () => {
    const P = prefix('clear');
    const ch = await channel(b);
    setPolicy(b, { name: `${P}-limit`, pattern: `^${P}\\.`, applyTo: 'queues', definition: { 'max-length': 1 } });
    const q = `${P}.q`;
    await ch.assertQueue(q, { exclusive: true });
    await publishAll(ch, '', q, ['a', 'b']);
    expect(bodies(await drain(ch, q))).toEqual(['b']);
    expect(clearPolicy(b, `${P}-limit`)).toBe(true);
    expect(clearPolicy(b, `${P}-limit`)).toBe(false);
    await publishAll(ch, '', q, ['1', '2', '3']);
    expect(bodies(await drain(ch, q))).toEqual(['1', '2', '3']);
    const fresh = `${P}.fresh`;
    await ch.assertQueue(fresh, { exclusive: true });
    await publishAll(ch, '', fresh, ['x', 'y']);
    expect(bodies(await drain(ch, fresh))).toEqual(['x', 'y']);
  });

  describe('precedence over arguments', () => {
    test('max-length: the lower of argument and policy wins', async () => {
      const P = prefix('ml-prec');
      const ch = await channel(b);
      setPolicy(b, { name: `${P}-limit`, pattern: `^${P}\\.`, applyTo: 'queues', definition: { 'max-length': 2 } });
      const argHigher = `${P}.arg3`;
      const argLower = `${P}.arg1`;
      await ch.assertQueue(argHigher, { exclusive: true, arguments: { 'x-max-length': 3 } });
      await ch.assertQueue(argLower, { exclusive: true, arguments: { 'x-max-length': 1 } });
      await publishAll(ch, '', argHigher, ['a', 'b', 'c', 'd']);
      await publishAll(ch, '', argLower, ['a', 'b', 'c', 'd']);
      expect(bodies(await drain(ch, argHigher))).toEqual(['c', 'd']);
      expect(bodies(await drain(ch, argLower))).toEqual(['d']);
    });

    test('message-ttl: the lower of argument and policy wins', async () => {
      const P = prefix('ttl-prec');
      const ch = await channel(b);
      const dlq = `${P}-dlq`;
      await ch.assertQueue(dlq, { exclusive: true });
      setPolicy(b, { name: `${P}-short`, pattern: `^${P}\\.short`, applyTo: 'queues', definition: { 'message-ttl': 100 } });
      setPolicy(b, { name: `${P}-long`, pattern: `^${P}\\.long`, applyTo: 'queues', definition: { 'message-ttl': 60000 } });
      const dl = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq };
      const policyLower = `${P}.short`;
      const argLower = `${P}.long`;
      await ch.assertQueue(policyLower, { exclusive: true, arguments: { ...dl, 'x-message-ttl': 60000 } });
      await ch.assertQueue(argLower, { exclusive: true, arguments: { ...dl, 'x-message-ttl': 100 } });
      await publishConfirmed(ch, '', policyLower, 'policy-ttl');
      await publishConfirmed(ch, '', argLower, 'arg-ttl');
      await waitUntil('both expiries', async () => (await ch.checkQueue(dlq)).messageCount === 2);
      const dead = await drain(ch, dlq);
      expect(dead.map((m) => [m.content.toString(), m.properties.headers?.['x-first-death-reason']]).sort()).toEqual([
        ['arg-ttl', 'expired'],
        ['policy-ttl', 'expired'],
      ]);
    });

    test('expires: the lower of argument and policy wins', async () => {
      const P = prefix('exp-prec');
      const conn = await connection(b);
      const ch = await conn.createConfirmChannel();
      setPolicy(b, { name: `${P}-short`, pattern: `^${P}\\.short`, applyTo: 'queues', definition: { expires: 300 } });
      setPolicy(b, { name: `${P}-long`, pattern: `^${P}\\.long`, applyTo: 'queues', definition: { expires: 60000 } });
      const policyLower = `${P}.short`;
      const argLower = `${P}.long`;
      const neither = `${P}.none`;
      await ch.assertQueue(policyLower, { arguments: { 'x-expires': 60000 } });
      await ch.assertQueue(argLower, { arguments: { 'x-expires': 300 } });
      await ch.assertQueue(neither, { arguments: { 'x-expires': 60000 } });
      // Not polled: a passive declare is a use and would renew the lease.
      await sleep(900);
      expect(await passive(conn, policyLower)).toEqual({ code: 404, text: `NOT_FOUND - no queue '${policyLower}' in vhost '/'`, classId: 50, methodId: 10 });
      expect(await passive(conn, argLower)).toEqual({ code: 404, text: `NOT_FOUND - no queue '${argLower}' in vhost '/'`, classId: 50, methodId: 10 });
      expect(await passive(conn, neither)).toEqual({ messageCount: 0, consumerCount: 0 });
      await ch.deleteQueue(neither);
    });

    test('overflow: the argument wins over the policy', async () => {
      const P = prefix('ovf-prec');
      const ch = await channel(b);
      setPolicy(b, { name: `${P}-reject`, pattern: `^${P}\\.`, applyTo: 'queues', definition: { 'max-length': 1, overflow: 'reject-publish' } });
      const withArg = `${P}.arg`;
      const policyOnly = `${P}.policy`;
      await ch.assertQueue(withArg, { exclusive: true, arguments: { 'x-overflow': 'drop-head' } });
      await ch.assertQueue(policyOnly, { exclusive: true });
      expect([await publishConfirmed(ch, '', withArg, 'a'), await publishConfirmed(ch, '', withArg, 'b')]).toEqual(['ack', 'ack']);
      expect([await publishConfirmed(ch, '', policyOnly, 'a'), await publishConfirmed(ch, '', policyOnly, 'b')]).toEqual(['ack', 'nack']);
      expect(bodies(await drain(ch, withArg))).toEqual(['b']);
      expect(bodies(await drain(ch, policyOnly))).toEqual(['a']);
    });

    test('dead-letter-exchange and dead-letter-routing-key: the arguments win over the policy', async () => {
      const P = prefix('dlx-prec');
      const ch = await channel(b);
      const viaArg = `${P}-dlq-arg`;
      const viaPolicy = `${P}-dlq-policy`;
      await ch.assertQueue(viaArg, { exclusive: true });
      await ch.assertQueue(viaPolicy, { exclusive: true });
      setPolicy(b, {
        name: `${P}-dl`,
        pattern: `^${P}\\.`,
        applyTo: 'queues',
        definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': viaPolicy },
      });
      const withArgs = `${P}.args`;
      const policyOnly = `${P}.policy`;
      await ch.assertQueue(withArgs, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': viaArg } });
      await ch.assertQueue(policyOnly, { exclusive: true });
      await publishConfirmed(ch, '', withArgs, 'r1');
      await publishConfirmed(ch, '', policyOnly, 'r2');
      for (const q of [withArgs, policyOnly]) {
        const m = await ch.get(q, { noAck: false });
        expect(m).not.toBe(false);
        ch.reject(m as Message, false);
      }
      await waitUntil('both dead-letterings', async () => (await ch.checkQueue(viaArg)).messageCount + (await ch.checkQueue(viaPolicy)).messageCount === 2);
      expect(bodies(await drain(ch, viaArg))).toEqual(['r1']);
      expect(bodies(await drain(ch, viaPolicy))).toEqual(['r2']);
    });

    test('alternate-exchange: the exchange argument wins over the policy', async () => {
      const P = prefix('ae-prec');
      const ch = await channel(b);
      const aePolicy = `${P}-ae-policy`;
      const aeArg = `${P}-ae-arg`;
      const qPolicy = `${P}-via-policy`;
      const qArg = `${P}-via-arg`;
      for (const [ae, q] of [
        [aePolicy, qPolicy],
        [aeArg, qArg],
      ] as const) {
        await ch.assertExchange(ae, 'fanout', { autoDelete: false });
        await ch.assertQueue(q, { exclusive: true });
        await ch.bindQueue(q, ae, '');
      }
      const withArg = `${P}.with-arg`;
      await ch.assertExchange(withArg, 'direct', { autoDelete: false, arguments: { 'alternate-exchange': aeArg } });
      setPolicy(b, { name: `${P}-ae`, pattern: `^${P}\\.`, applyTo: 'exchanges', definition: { 'alternate-exchange': aePolicy } });
      await publishConfirmed(ch, withArg, 'nowhere', 'u');
      expect(bodies(await drain(ch, qArg))).toEqual(['u']);
      expect(bodies(await drain(ch, qPolicy))).toEqual([]);
      for (const x of [withArg, aePolicy, aeArg]) await ch.deleteExchange(x);
    });
  });

  test('only the highest-priority matching policy applies (definitions are not merged); a priority change takes effect at once', async () => {
    const P = prefix('prio');
    const ch = await channel(b);
    setPolicy(b, { name: `${P}-lo`, pattern: `^${P}\\.`, applyTo: 'queues', priority: 1, definition: { 'max-length': 1 } });
    setPolicy(b, { name: `${P}-hi`, pattern: `^${P}\\.`, applyTo: 'queues', priority: 5, definition: { 'message-ttl': 60000 } });
    const q = `${P}.q`;
    await ch.assertQueue(q, { exclusive: true });
    await publishAll(ch, '', q, ['a', 'b', 'c']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
    setPolicy(b, { name: `${P}-lo`, pattern: `^${P}\\.`, applyTo: 'queues', priority: 10, definition: { 'max-length': 1 } });
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 0 });
    expect(bodies(await drain(ch, q))).toEqual(['c']);
  });

  test('apply-to: a queues policy does not touch exchanges, an exchanges policy does not touch queues, all touches both', async () => {
    const P = prefix('applyto');
    const ch = await channel(b);
    const ae = `${P}-ae`;
    const aeq = `${P}-ae-q`;
    await ch.assertExchange(ae, 'fanout', { autoDelete: false });
    await ch.assertQueue(aeq, { exclusive: true });
    await ch.bindQueue(aeq, ae, '');
    const definition = { 'max-length': 1, 'alternate-exchange': ae };
    setPolicy(b, { name: `${P}-q`, pattern: `^${P}\\.q`, applyTo: 'queues', definition });
    setPolicy(b, { name: `${P}-x`, pattern: `^${P}\\.x`, applyTo: 'exchanges', definition });
    setPolicy(b, { name: `${P}-all`, pattern: `^${P}\\.all`, applyTo: 'all', definition });
    const results: Record<string, { queueKeeps: string[]; exchangeStrays: string[] }> = {};
    for (const kind of ['q', 'x', 'all']) {
      const name = `${P}.${kind}`;
      await ch.assertQueue(name, { exclusive: true });
      await ch.assertExchange(name, 'direct', { autoDelete: false });
      await publishAll(ch, '', name, ['a', 'b']);
      await publishConfirmed(ch, name, 'nowhere', `stray-${kind}`);
      results[kind] = { queueKeeps: bodies(await drain(ch, name)), exchangeStrays: bodies(await drain(ch, aeq)) };
      await ch.deleteExchange(name);
    }
    expect(results).toEqual({
      q: { queueKeeps: ['b'], exchangeStrays: [] },
      x: { queueKeeps: ['a', 'b'], exchangeStrays: ['stray-x'] },
      all: { queueKeeps: ['b'], exchangeStrays: ['stray-all'] },
    });
    await ch.deleteExchange(ae);
  });
});

// ---------------------------------------------------------------- config

describe('policies in the config', () => {
  test('startBroker({ policies }) applies them from the start, to queues and exchanges', async () => {
    const P = prefix('cfg');
    const b = await start({
      policies: [
        { name: `${P}-limit`, pattern: `^${P}\\.q`, applyTo: 'queues', definition: { 'max-length': 1 } },
        { name: `${P}-ae`, pattern: `^${P}\\.x`, applyTo: 'exchanges', priority: 2, definition: { 'alternate-exchange': `${P}-ae` } },
      ],
    });
    expect(b.broker.vhosts.get('/')!.policies.list().map((p) => [p.name, p.pattern, p.applyTo, p.priority, p.definition])).toEqual([
      [`${P}-ae`, `^${P}\\.x`, 'exchanges', 2, { 'alternate-exchange': `${P}-ae` }],
      [`${P}-limit`, `^${P}\\.q`, 'queues', 0, { 'max-length': 1 }],
    ]);
    const ch = await channel(b);
    const q = `${P}.q`;
    await ch.assertQueue(q, { exclusive: true });
    await publishAll(ch, '', q, ['a', 'b', 'c']);
    expect(bodies(await drain(ch, q))).toEqual(['c']);
    const x = `${P}.x`;
    const aeq = `${P}-ae-q`;
    await ch.assertExchange(`${P}-ae`, 'fanout', { autoDelete: false });
    await ch.assertExchange(x, 'topic', { autoDelete: false });
    await ch.assertQueue(aeq, { exclusive: true });
    await ch.bindQueue(aeq, `${P}-ae`, '');
    await publishConfirmed(ch, x, 'a.b', 'stray');
    expect(bodies(await drain(ch, aeq))).toEqual(['stray']);
    await stop(b);
  });
});

// ---------------------------------------------------------------- the command line

describe('warren policy (CLI)', () => {
  test('set, list and clear against a running broker; the policy applies and clearing removes it', async () => {
    const dir = dataDir();
    const b = await start(withControl(dir));
    const ch = await channel(b);

    const set = await cli('policy', 'set', 'lim', '^cli-lim\\.', '{"max-length":2}', '--apply-to', 'queues', '--priority', '3', '--data-dir', dir);
    expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: '' });
    // rabbitmqctl's wording, " ..." included.
    expect.soft(set.stdout).toBe('Setting policy "lim" for pattern "^cli-lim\\." to "{"max-length":2}" with priority "3" for vhost "/" ...\n');
    const q = 'cli-lim.q';
    await ch.assertQueue(q, { exclusive: true });
    await publishAll(ch, '', q, ['a', 'b', 'c']);
    expect(bodies(await drain(ch, q))).toEqual(['b', 'c']);

    const list = await cli('policy', 'list', '--data-dir', dir);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(table(list.stdout)).toEqual([
      ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
      ['/', 'lim', '^cli-lim\\.', 'queues', '{"max-length":2}', '3'],
    ]);

    const clear = await cli('policy', 'clear', 'lim', '--data-dir', dir);
    expect({ code: clear.code, stderr: clear.stderr }).toEqual({ code: 0, stderr: '' });
    expect.soft(clear.stdout).toBe('Clearing policy "lim" on vhost "/" ...\n');
    await publishAll(ch, '', q, ['1', '2', '3']);
    expect(bodies(await drain(ch, q))).toEqual(['1', '2', '3']);
    expect(table((await cli('policy', 'list', '--data-dir', dir)).stdout)).toEqual([['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority']]);
    await stop(b);
  });

  test('policy list --json gives vhost, name, pattern, apply-to, definition and priority for each policy', async () => {
    const dir = dataDir();
    const b = await start(withControl(dir));
    expect((await cli('policy', 'set', 'ae', '^cli-x$', '{"alternate-exchange":"cli-ae"}', '--apply-to', 'exchanges', '--data-dir', dir)).code).toBe(0);
    expect((await cli('policy', 'set', 'lim', '^cli-lim\\.', '{"max-length":2}', '--apply-to', 'queues', '--priority', '3', '--data-dir', dir)).code).toBe(0);
    const list = await cli('policy', 'list', '--json', '--data-dir', dir);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(list.stdout)).toEqual([
      { vhost: '/', name: 'ae', pattern: '^cli-x$', 'apply-to': 'exchanges', definition: { 'alternate-exchange': 'cli-ae' }, priority: 0 },
      { vhost: '/', name: 'lim', pattern: '^cli-lim\\.', 'apply-to': 'queues', definition: { 'max-length': 2 }, priority: 3 },
    ]);
    await stop(b);
  });

  test('the definition is shown with its keys sorted, as rabbitmqctl list_policies shows it', async () => {
    const dir = dataDir();
    const b = await start(withControl(dir));
    const def = '{"overflow":"reject-publish","max-length":5,"dead-letter-exchange":"dlx"}';
    expect((await cli('policy', 'set', 'multi', '^m\\.', def, '--apply-to', 'queues', '--data-dir', dir)).code).toBe(0);
    expect(table((await cli('policy', 'list', '--data-dir', dir)).stdout)).toEqual([
      ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
      ['/', 'multi', '^m\\.', 'queues', '{"dead-letter-exchange":"dlx","max-length":5,"overflow":"reject-publish"}', '0'],
    ]);
    await stop(b);
  });

  test('refused and malformed policies, and an unreachable broker: a clear message on stderr, nothing on stdout, exit 1 (refused) or 2 (usage, connection)', async () => {
    const dir = dataDir();
    const b = await start(withControl(dir));
    // RabbitMQ's own wording (its HTTP API's `reason`, rabbitmqctl's error).
    expect(await cli('policy', 'set', 'bad', '^x', '{"max-lenght":2}', '--data-dir', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'warren: Validation failed\n\n[{<<"max-lenght">>,2}] are not recognised policy settings\n',
    });
    expect(await cli('policy', 'set', 'bad', '^x', '{"max-length":-1}', '--data-dir', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'warren: Validation failed\n\n-1 is not a valid maximum length\n',
    });
    expect(await cli('policy', 'set', 'bad', '^x', '{max-length:2}', '--data-dir', dir)).toEqual({
      code: 2,
      stdout: '',
      stderr: `warren: the definition is not valid JSON: ${errorOf(() => JSON.parse('{max-length:2}'))}\n`,
    });
    expect(await cli('policy', 'set', 'bad', '^(x', '{"max-length":2}', '--data-dir', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: `warren: Validation failed\n\npattern should be regular expression but is invalid: ${errorOf(() => new RegExp('^(x'))}\n`,
    });
    const nowhere = join(tmp, 'no-broker-here');
    expect(await cli('policy', 'set', 'ok', '^x', '{"max-length":2}', '--data-dir', nowhere)).toEqual({
      code: 2,
      stdout: '',
      stderr: `warren: cannot reach the broker at ${join(nowhere, 'warren.sock')}: is the broker running with this --data-dir?\n`,
    });
    expect(await cli('policy', 'clear', 'never-set', '--data-dir', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: "warren: no policy 'never-set' in vhost '/'\n",
    });
    // Nothing was set by any of them.
    expect(b.broker.vhosts.get('/')!.policies.list()).toEqual([]);
    await stop(b);
  });

  test('policies survive a restart with the same data directory', async () => {
    const dir = dataDir();
    let b = await start(withControl(dir));
    expect((await cli('policy', 'set', 'keep', '^keep\\.', '{"max-length":2}', '--apply-to', 'queues', '--data-dir', dir)).code).toBe(0);
    let ch = await channel(b);
    await ch.assertQueue('keep.durable', { durable: true });
    await stop(b);

    b = await start(withControl(dir));
    ch = await channel(b);
    await publishAll(ch, '', 'keep.durable', ['a', 'b', 'c']);
    expect(await ch.checkQueue('keep.durable')).toEqual({ queue: 'keep.durable', messageCount: 2, consumerCount: 0 });
    expect(bodies(await drain(ch, 'keep.durable'))).toEqual(['b', 'c']);
    await ch.assertQueue('keep.new', { exclusive: true });
    await publishAll(ch, '', 'keep.new', ['1', '2', '3']);
    expect(bodies(await drain(ch, 'keep.new'))).toEqual(['2', '3']);
    expect(table((await cli('policy', 'list', '--data-dir', dir)).stdout)).toEqual([
      ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
      ['/', 'keep', '^keep\\.', 'queues', '{"max-length":2}', '0'],
    ]);
    await ch.deleteQueue('keep.durable');
    await stop(b);
  });
});

/** The rows of a `policy list` table: columns separated by a tab or by two or more spaces. */
function table(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\t| {2,}/));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('did not throw');
}
