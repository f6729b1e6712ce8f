// `warren route`, run in-process through commander: what it prints, its exit codes, and
// --against on a live broker (Warren in-process; RabbitMQ when RABBITMQ_URL is set).
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../testing/index.js';
import { registerRoute } from '../../testing/route-command.js';

const DEFS = fileURLToPath(new URL('../../examples/definitions.json', import.meta.url));
const RABBITMQ_URL = process.env['RABBITMQ_URL'] ?? '';

async function warren(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().exitOverride();
  registerRoute(program);
  let out = '';
  let err = '';
  const write = process.stdout.write.bind(process.stdout);
  const error = console.error;
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  console.error = (...a: unknown[]) => {
    err += `${a.join(' ')}\n`;
  };
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'warren', 'route', ...args]);
  } catch (e) {
    err += String((e as Error).message);
    process.exitCode = process.exitCode || 2;
  } finally {
    process.stdout.write = write;
    console.error = error;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe('warren route', () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.close();
  });
  afterEach(() => {
    process.exitCode = 0;
  });

  it('prints the queues reached and the path', async () => {
    const r = await warren('-f', DEFS, '-e', 'orders', '-k', 'eu.created', '-H', 'region=eu');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'queues: audit.all, audit.eu, orders.created, orders.eu',
      'path:',
      "  published to exchange 'orders' (topic)",
      "    binding 'eu.#' matches 'eu.created' -> queue 'orders.eu'",
      "    binding '*.created' matches 'eu.created' -> queue 'orders.created'",
      "    binding '*.*' matches 'eu.created' -> exchange 'audit'",
      "  via 'orders': exchange 'audit' (headers)",
      "    headers -> queue 'audit.all'",
      '    headers {"x-match":"any","region":"eu"} -> queue \'audit.eu\'',
      '',
    ]);
  });

  it('says when nothing is reached, and when the broker would refuse the publish', async () => {
    const fanout = await warren('-f', DEFS, '-e', 'orders.unrouted', '-k', 'x', '-H', 'CC:=[]');
    expect(fanout.out).toContain("  fanout -> queue 'orders.dead'");
    const refused = await warren('-f', DEFS, '-e', 'audit');
    expect(refused.out).toBe("refused: the broker closes the channel with 403 ACCESS_REFUSED - cannot publish to internal exchange 'audit' in vhost '/'\n");
    expect(refused.code).toBe(0);
    const dropped = await warren('-f', DEFS, '-e', 'amq.topic', '-k', 'a');
    expect(dropped.out).toMatch(/^no queue reached: the message is dropped \(a mandatory publish comes back 312 NO_ROUTE\)\npath:/);
  });

  it('prints JSON with --json, headers typed with name:=json', async () => {
    const r = await warren('-f', DEFS, '-e', 'orders', '-k', 'us.shipped', '-H', 'CC:=["eu.shipped"]', '--json');
    const j = JSON.parse(r.out) as { queues: string[]; message: unknown; path: { exchange: string }[] };
    expect(j.queues).toEqual(['audit.all', 'orders.eu', 'orders.us']);
    expect(j.message).toEqual({ vhost: '/', exchange: 'orders', routingKey: 'us.shipped', headers: { CC: ['eu.shipped'] } });
    expect(j.path.map((v) => v.exchange)).toEqual(['orders', 'audit']);
  });

  it('checks the message on a live broker with --against, leaving nothing behind', async () => {
    const before = [...broker.broker.vhosts.get('/')!.queues.keys()];
    const r = await warren('-f', DEFS, '-e', 'orders', '-k', 'apac', '--against', broker.url);
    expect(r.out).toMatch(/\nagainst amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: agrees \(orders\.dead\)\n$/);
    expect(r.code).toBe(0);
    expect([...broker.broker.vhosts.get('/')!.queues.keys()]).toEqual(before);
    const j = JSON.parse((await warren('-f', DEFS, '-e', 'nope', '--against', broker.url, '--json')).out) as { against: unknown };
    expect(j.against).toEqual({ url: expect.stringContaining('***'), error: { code: 404, text: "NOT_FOUND - no exchange 'nope' in vhost '/'" }, agrees: true });
  });

  it('exits 1 when the live broker disagrees', async () => {
    // A broker that refuses every message body: the publish fails where routing says it arrives.
    const small = await startBroker({ maxMessageSize: 1 });
    try {
      const r = await warren('-f', DEFS, '-e', 'orders', '-k', 'eu.x', '--against', small.url);
      expect(r.out).toMatch(/DIFFERS \(refused: 406 PRECONDITION_FAILED - message size 2 is larger than configured max size 1\)/);
      expect(r.code).toBe(1);
    } finally {
      await small.close();
    }
  });

  it.skipIf(RABBITMQ_URL === '')('agrees with RabbitMQ', async () => {
    for (const [e, k, h] of [
      ['orders', 'eu.created', 'region=eu'],
      ['orders', '', 'CC:=["us.x","x.created"]'],
      ['', 'orders.eu', 'BCC:=["audit.all"]'],
    ] as const) {
      const r = await warren('-f', DEFS, '-e', e, '-k', k, '-H', h, '--against', RABBITMQ_URL);
      expect(r.out).toContain(': agrees (');
    }
  });

  it('reports unreadable definitions and bad headers', async () => {
    const missing = await warren('-f', '/no/such.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('cannot read /no/such.json');
    const bad = await warren('-f', DEFS, '-H', 'novalue');
    expect(bad.err).toContain('must be name=value (a string) or name:=json');
  });
});
