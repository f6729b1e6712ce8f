// `warren migrate plan`, `run` (stopped with Ctrl-C and resumed) and `verify`, from the
// live RabbitMQ (RABBITMQ_URL and RABBITMQ_MGMT_URL; CI starts one) to an empty Warren (a
// real `warren start` process with its management API). RabbitMQ is loaded, in a vhost of
// its own, with users (sha256 and sha512 hashes, tags, limits), permissions and topic
// permissions, policies and an operator policy, vhost limits, classic and quorum queues,
// an exchange with bindings, and backlogs; everything must arrive, every message exactly
// counted, and the plan's report must say what then happens.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../server/access/password.js';
import { depth, eventually, haveRabbit, rabbitApi, rabbitMgmt, rabbitUrl } from '../helpers/shovel.js';
import { buildWarren, freePort, removeBuild, runCli, startWarren, type WarrenProcess } from '../helpers/warren-process.js';

if (!haveRabbit) console.warn('migrate: RABBITMQ_URL or RABBITMQ_MGMT_URL is not set; skipped. CI sets both.');

const token = randomBytes(3).toString('hex');
const V = `migrate-${token}`;
const APP = `migrate-${token}-app`;
const OPS = `migrate-${token}-ops`;
const enc = encodeURIComponent;
/** Messages per queue at the start. */
const BACKLOG: Record<string, number> = { work: 3000, orders: 2000, 'lazy.q': 500, 'ttl.events': 100, big: 30000 };

async function put(path: string, body: unknown): Promise<void> {
  const r = await rabbitApi('PUT', path, body);
  if (r.status !== 201 && r.status !== 204) throw new Error(`PUT ${path}: ${r.status} ${JSON.stringify(r.body)}`);
}

async function loadRabbit(): Promise<void> {
  await put(`/vhosts/${enc(V)}`, {});
  await put(`/users/${enc(APP)}`, { password: 'app-secret', tags: 'management' });
  // A SHA-512 hash is taken as given (a plaintext password is hashed with the node's default).
  await put(`/users/${enc(OPS)}`, { password_hash: hashPassword('ops-secret', 'rabbit_password_hashing_sha512'), hashing_algorithm: 'rabbit_password_hashing_sha512', tags: 'policymaker,monitoring' });
  await put(`/user-limits/${enc(APP)}/max-connections`, { value: 20 });
  for (const u of ['guest', APP, OPS]) await put(`/permissions/${enc(V)}/${enc(u)}`, { configure: '.*', write: '.*', read: '.*' });
  await put(`/topic-permissions/${enc(V)}/${enc(APP)}`, { exchange: 'amq.topic', write: '^app\\.', read: '.*' });
  await put(`/policies/${enc(V)}/ttl`, { pattern: '^ttl\\.', definition: { 'message-ttl': 3600000 }, 'apply-to': 'queues', priority: 1 });
  await put(`/policies/${enc(V)}/lazy`, { pattern: '^lazy\\.', definition: { 'queue-mode': 'lazy' }, 'apply-to': 'queues', priority: 0 });
  await put(`/operator-policies/${enc(V)}/cap`, { pattern: '.*', definition: { 'max-length': 1000000 }, 'apply-to': 'queues', priority: 0 });
  await put(`/vhost-limits/${enc(V)}/max-queues`, { value: 50 });
  const c = await amqp.connect(`${rabbitUrl}/${enc(V)}`);
  const ch = await c.createConfirmChannel();
  await ch.assertExchange('ex', 'topic', { durable: true });
  for (const q of ['work', 'lazy.q', 'ttl.events', 'big', 'empty.q']) await ch.assertQueue(q, { durable: true });
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 10 } });
  await ch.bindQueue('work', 'ex', 'work.#');
  await ch.bindQueue('orders', 'ex', 'orders.*');
  for (const [q, n] of Object.entries(BACKLOG)) {
    for (let i = 0; i < n; i++) {
      ch.sendToQueue(q, Buffer.from(`${q}:${i}`), { persistent: true, messageId: `${q}:${i}`, headers: { n: i } });
      if (i % 2000 === 1999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
  }
  await c.close();
}

describe.skipIf(!haveRabbit)('warren migrate from RabbitMQ to an empty Warren', () => {
  let build: string;
  let dir: string;
  let warren: WarrenProcess;
  let warrenMgmt: string;
  let plan: { summary: Record<string, number>; blockers: number; items: { kind: string; vhost: string | null; name: string; verdict: string; reason: string; messages?: number }[] };

  beforeAll(async () => {
    build = buildWarren();
    dir = mkdtempSync(join(tmpdir(), 'warren-migrate-'));
    await loadRabbit();
    const mport = await freePort();
    warren = await startWarren(build, join(dir, 'data'), await freePort(), ['--management-port', String(mport), '--prometheus-port', 'none']);
    warrenMgmt = `http://guest:guest@127.0.0.1:${mport}`;
  });

  afterAll(async () => {
    await warren?.kill('SIGTERM');
    await rabbitApi('DELETE', `/vhosts/${enc(V)}`);
    for (const u of [APP, OPS]) await rabbitApi('DELETE', `/users/${enc(u)}`);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    removeBuild(build);
  });

  const common = (): string[] => ['--from', rabbitMgmt, '--to', warrenMgmt, '--vhost', V];

  it('plan: lists every object with its verdict, and no blocker', async () => {
    // Every backlog, the quorum queue's included: RabbitMQ reports its count some seconds
    // after the classic queues' (the plan read 0 for it when only 'big' was waited for).
    await eventually('RabbitMQ counting the backlogs', async () => {
      for (const [q, n] of Object.entries(BACKLOG)) {
        const r = await rabbitApi('GET', `/queues/${enc(V)}/${enc(q)}`);
        if ((r.body as { messages?: number }).messages !== n) return false;
      }
      return true;
    }, 60000);
    const r = await runCli(build, ['migrate', 'plan', ...common(), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    plan = JSON.parse(r.stdout);
    const item = (kind: string, name: string) => plan.items.find((i) => i.kind === kind && i.name === name);
    expect(plan.blockers).toBe(0);
    expect(item('broker', 'one node')?.verdict).toBe('difference');
    expect(item('vhost', V)).toMatchObject({ verdict: 'supported' });
    expect(item('user', APP)).toMatchObject({ verdict: 'supported', reason: 'sha256 hash' });
    expect(item('user', OPS)).toMatchObject({ verdict: 'supported', reason: 'sha512 hash' });
    // The target's own guest has another hash: the source's replaces it.
    expect(item('user', 'guest')).toMatchObject({ verdict: 'difference', reason: 'sha256 hash; exists on the target: its password and tags are replaced' });
    expect(item('limit', `user ${APP}`)).toMatchObject({ verdict: 'supported', reason: 'max-connections 20' });
    expect(item('limit', 'vhost limits')).toMatchObject({ verdict: 'supported', reason: 'max-queues 50' });
    expect(item('permission', APP)).toMatchObject({ verdict: 'supported', reason: "configure '.*' write '.*' read '.*'" });
    expect(item('topic-permission', `${APP} on amq.topic`)).toMatchObject({ verdict: 'supported' });
    expect(item('policy', 'ttl')).toMatchObject({ verdict: 'supported', reason: 'message-ttl' });
    expect(item('policy', 'lazy')).toMatchObject({ verdict: 'difference', reason: 'queue-mode; accepted, stored and exported, but without effect in Warren: queue-mode' });
    expect(item('operator-policy', 'cap')).toMatchObject({ verdict: 'supported', reason: 'max-length' });
    expect(item('exchange', 'ex')).toMatchObject({ verdict: 'supported', reason: 'topic' });
    expect(item('queue', 'work')).toMatchObject({ verdict: 'supported', reason: 'classic; 3000 messages to move', messages: 3000 });
    expect(item('queue', 'orders')).toMatchObject({ verdict: 'difference', messages: 2000 });
    expect(item('queue', 'orders')!.reason).toContain('quorum queue');
    expect(item('queue', 'empty.q')).toMatchObject({ verdict: 'supported', reason: 'classic', messages: 0 });
    expect(item('binding', 'ex -> queue work (work.#)')).toMatchObject({ verdict: 'supported' });
    expect(plan.summary).toMatchObject({ unsupported: 0, queuesWithMessages: 5, messages: 35600 });
    // The same plan as a table.
    const t = await runCli(build, ['migrate', 'plan', ...common()]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/│ with difference\s+│ queue\s+│ migrate-[0-9a-f]+\s+│ orders\s+│ 2000/);
    expect(t.stdout).toContain('5 queues hold 35600 messages to move with shovels.');
  });

  it('run: imports, moves every backlog (stopped with Ctrl-C and resumed), and reconciles', async () => {
    const state = join(dir, 'state.json');
    const args = ['migrate', 'run', ...common(), '--state', state, '--json', '--poll', '200', '--prefetch', '200'];
    // The first run is stopped once the big queue is on its way.
    const first = spawn(process.execPath, [join(build, 'server/cli.js'), ...args], { cwd: build, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    first.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => first.on('close', (code) => r(code)));
    let wc: ChannelModel | null = null;
    await eventually('the definitions imported and the big queue moving', async () => {
      if (!existsSync(state)) return false;
      // The vhost exists on Warren once the definitions are in.
      wc ??= await amqp.connect(`${warren.url}/${enc(V)}`).catch(() => null);
      return wc !== null && (await depth(wc, 'big')) > 2000;
    }, 120000);
    first.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain('Stopped. The shovels are removed; run the same command again to resume');
    const saved = JSON.parse(readFileSync(state, 'utf8')) as { imported: boolean; finished: boolean; queues: { name: string; before: number; shovel: string | null }[] };
    expect(saved).toMatchObject({ imported: true, finished: false });
    expect(saved.queues.map((q) => [q.name, q.before]).sort()).toEqual(Object.entries(BACKLOG).sort());
    expect(saved.queues.every((q) => q.shovel === null)).toBe(true);
    // RabbitMQ's shovel list and Warren's are empty: nothing moves while stopped.
    const shovels = (await (await fetch(`${warrenMgmt.replace('guest:guest@', '')}/api/shovels`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).json()) as unknown[];
    expect(shovels).toEqual([]);

    const second = await runCli(build, args, { timeoutMs: 600000 });
    expect(second.stderr).toContain('Resuming the migration');
    expect(second.code).toBe(0);
    const recon = JSON.parse(second.stdout) as { queues: { queue: string; before: number; moved: number; left: number; arrived: number; duplicated: number; missing: number }[] };
    for (const [q, n] of Object.entries(BACKLOG)) {
      const row = recon.queues.find((r) => r.queue === q)!;
      expect(row).toMatchObject({ before: n, moved: n, left: 0, missing: 0 });
      expect(row.arrived).toBe(n + row.duplicated);
      // The plan said how many would move.
      expect(plan.items.find((i) => i.kind === 'queue' && i.name === q)!.messages).toBe(n);
    }
    console.log(`migrate run: ${recon.queues.map((r) => `${r.queue} ${r.moved} moved, ${r.duplicated} duplicated`).join('; ')}`);
    await (wc as ChannelModel | null)?.close();
  });

  it('everything arrived: users log in with their passwords, every message is there, the definitions match', async () => {
    const c = await amqp.connect(`amqp://${enc(APP)}:app-secret@127.0.0.1:${warren.port}/${enc(V)}`);
    const ch = await c.createChannel();
    for (const [q, n] of Object.entries(BACKLOG)) {
      const ids = new Set<string>();
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (m === false) break;
        ids.add(String(m.properties.messageId));
      }
      expect(ids.size).toBe(n);
      expect(ids.has(`${q}:0`) && ids.has(`${q}:${n - 1}`)).toBe(true);
    }
    await c.close();
    const ops = await amqp.connect(`amqp://${enc(OPS)}:ops-secret@127.0.0.1:${warren.port}/${enc(V)}`);
    await ops.close();
    const v = await runCli(build, ['migrate', 'verify', ...common(), '--only', 'topic/', 'quorum/'], { timeoutMs: 300000 });
    expect(v.stderr).toBe('');
    expect(v.stdout).toContain('Definitions: every object the plan brings is on the target, as on the source.');
    expect(v.stdout).toMatch(/Check against amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: \d+ scenarios, \d+ match, \d+ deliberate differences, 0 differ/);
    expect(v.code).toBe(0);
  });
});

// The other direction: Warren (loaded through its own API) to RabbitMQ, the shovels pushed
// from Warren (--shovel-on source, as towards a managed broker that cannot reach back), and
// the same plan judged against Amazon MQ's profile.
describe.skipIf(!haveRabbit)('warren migrate from Warren to RabbitMQ', () => {
  const V2 = `migrate-${token}-out`;
  const ADMIN = `migrate-${token}-admin`;
  const USER = `migrate-${token}-user`;
  const COUNTS: Record<string, number> = { jobs: 4000, 'jobs.quorum': 1500 };
  let build: string;
  let dir: string;
  let warren: WarrenProcess;
  let from: string;

  beforeAll(async () => {
    build = buildWarren();
    dir = mkdtempSync(join(tmpdir(), 'warren-migrate-out-'));
    const mport = await freePort();
    warren = await startWarren(build, join(dir, 'data'), await freePort(), ['--management-port', String(mport), '--prometheus-port', 'none']);
    const load = await fetch(`http://127.0.0.1:${mport}/api/definitions`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        users: [
          { name: ADMIN, password: 'admin-secret', tags: ['administrator'] },
          { name: USER, password: 'user-secret', tags: ['policymaker', 'management'] },
        ],
        vhosts: [{ name: V2 }],
        permissions: [ADMIN, USER].map((user) => ({ user, vhost: V2, configure: '.*', write: '.*', read: '.*' })),
        policies: [{ vhost: V2, name: 'expiry', pattern: '^jobs$', 'apply-to': 'queues', priority: 0, definition: { 'message-ttl': 86400000 } }],
        queues: [
          { name: 'jobs', vhost: V2, durable: true, auto_delete: false, arguments: {} },
          { name: 'jobs.quorum', vhost: V2, durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } },
        ],
      }),
    });
    expect(load.status).toBe(204);
    const c = await amqp.connect(`amqp://${enc(ADMIN)}:admin-secret@127.0.0.1:${warren.port}/${enc(V2)}`);
    const ch = await c.createConfirmChannel();
    for (const [q, n] of Object.entries(COUNTS)) {
      for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`${q}:${i}`), { persistent: true, messageId: `${q}:${i}` });
      await ch.waitForConfirms();
    }
    await c.close();
    from = `http://${enc(ADMIN)}:admin-secret@127.0.0.1:${mport}`;
  });

  afterAll(async () => {
    await warren?.kill('SIGTERM');
    await rabbitApi('DELETE', `/vhosts/${enc(V2)}`);
    for (const u of [ADMIN, USER]) await rabbitApi('DELETE', `/users/${enc(u)}`);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    removeBuild(build);
  });

  it('plan against Amazon MQ\'s profile: AMQPS only, tags dropped, a blocker', async () => {
    const r = await runCli(build, ['migrate', 'plan', '--from', from, '--to', rabbitMgmt, '--vhost', V2, '--target-profile', 'amazon-mq', '--json']);
    expect(r.code).toBe(1);
    const p = JSON.parse(r.stdout) as { target: { profile: string }; items: { kind: string; name: string; verdict: string; reason: string }[] };
    expect(p.target.profile).toBe('amazon-mq');
    const item = (kind: string, name: string) => p.items.find((i) => i.kind === kind && i.name === name);
    expect(item('broker', 'AMQPS only')).toMatchObject({ verdict: 'unsupported' });
    expect(item('broker', 'AMQPS only')!.reason).toContain('but Amazon MQ accepts amqps:// (port 5671) only');
    expect(item('user', USER)).toMatchObject({ verdict: 'difference', reason: 'sha256 hash; tags policymaker are not allowed on Amazon MQ and are dropped' });
    expect(item('queue', 'jobs')).toMatchObject({ verdict: 'supported', reason: 'classic; 4000 messages to move' });
  });

  it('plan, run with the shovels on Warren, verify: everything arrives in RabbitMQ', async () => {
    const common = ['--from', from, '--to', rabbitMgmt, '--vhost', V2];
    const plan = await runCli(build, ['migrate', 'plan', ...common, '--json']);
    expect(plan.code).toBe(0);
    const p = JSON.parse(plan.stdout) as { target: { profile: string; product: string }; summary: Record<string, number> };
    expect(p.target).toMatchObject({ profile: 'rabbitmq', product: 'RabbitMQ' });
    expect(p.summary).toMatchObject({ unsupported: 0, difference: 0, queuesWithMessages: 2, messages: 5500 });
    const run = await runCli(build, ['migrate', 'run', ...common, '--shovel-on', 'source', '--state', join(dir, 'out.json'), '--json', '--poll', '200'], { timeoutMs: 600000 });
    expect(run.code).toBe(0);
    const recon = JSON.parse(run.stdout) as { queues: { queue: string; before: number; moved: number; left: number; arrived: number; missing: number }[] };
    for (const [q, n] of Object.entries(COUNTS)) expect(recon.queues.find((r) => r.queue === q)).toMatchObject({ before: n, moved: n, left: 0, arrived: n, missing: 0 });
    // Warren's password hashes log in to RabbitMQ; the messages are all there.
    const c = await amqp.connect(`${rabbitUrl.replace(/\/\/[^@]*@/, `//${enc(USER)}:user-secret@`)}/${enc(V2)}`);
    const ch = await c.createChannel();
    for (const [q, n] of Object.entries(COUNTS)) expect((await ch.checkQueue(q)).messageCount).toBe(n);
    await c.close();
    const v = await runCli(build, ['migrate', 'verify', ...common, '--skip-check']);
    expect(v.stdout).toContain('Definitions: every object the plan brings is on the target, as on the source.');
    expect(v.code).toBe(0);
  });
});
