import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';

// Debian's amqp-tools: the command-line programs built on rabbitmq-c (librabbitmq).
// They cannot put a channel in confirm mode, so publisher confirms are covered by the other clients.
const TOOLS = ['amqp-publish', 'amqp-consume', 'amqp-get', 'amqp-declare-queue', 'amqp-delete-queue'];
const haveTools = TOOLS.every((t) => spawnSync(t, ['--help'], { stdio: 'ignore' }).status === 0);
if (!haveTools) console.warn('amqp-tools interop tests skipped: amqp-publish etc. not found (apt-get install amqp-tools)');

const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// Runs one tool to completion; a non-zero exit is a result, not an exception.
async function tool(name: string, args: string[], input?: string): Promise<Result> {
  if (input !== undefined) {
    const child = spawn(name, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code: code ?? -1, stdout, stderr };
  }
  try {
    const { stdout, stderr } = await run(name, args, { timeout: 8000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

// A consumer that runs until it has handled `count` messages, printing each body on its own line.
// (Never spawnSync here: the broker runs in this process.)
function consumer(url: string, args: string[], script = 'cat; echo'): Promise<Result> {
  const child = spawn('amqp-consume', ['-u', url, ...args, '--', 'sh', '-c', script]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => child.kill(), 8000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    }),
  );
}

describe.skipIf(!haveTools)('amqp-tools (rabbitmq-c) against Warren', () => {
  let b: RunningBroker;
  let u: string;
  beforeAll(async () => {
    b = await startBroker({ port: 0 });
    u = b.url;
  });
  afterAll(async () => {
    await b.close();
  });

  // amqp-consume declares its queue auto-delete, binds it, then consumes; a queue whose consumer
  // count is 1 is therefore bound. Only this readiness poll uses another client (amqplib).
  async function waitForConsumers(queues: string[]): Promise<void> {
    const conn = await amqp.connect(u);
    try {
      for (const q of queues) {
        for (let i = 0; ; i++) {
          const ch = await conn.createChannel();
          ch.on('error', () => {});
          const ok = await ch.checkQueue(q).catch(() => undefined);
          if (ok !== undefined) await ch.close();
          if (ok?.consumerCount === 1) break;
          if (i > 100) throw new Error(`no consumer on ${q}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    } finally {
      await conn.close();
    }
  }

  test('topic routing through amq.topic to amqp-consume subscribers, as in RabbitMQ 3.10', async () => {
    const q = (s: string) => `tools-${s}`;
    // a: stock.*.nyse   b: stock.#   c: *.ibm.* and *.*.lse (two bindings, one delivery)
    const a = consumer(u, ['-q', q('a'), '-e', 'amq.topic', '-r', 'stock.*.nyse', '-c', '2']);
    const bq = consumer(u, ['-q', q('b'), '-e', 'amq.topic', '-r', 'stock.#', '-c', '4']);
    const c = consumer(u, ['-q', q('c'), '-e', 'amq.topic', '-r', '*.ibm.*,*.*.lse', '-c', '3']);
    await waitForConsumers([q('a'), q('b'), q('c')]);
    const keys = ['stock.ibm.nyse', 'stock.msft.nasdaq', 'bond.ibm.lse', 'stock.nyse', 'weather.uk'];
    for (const [i, rk] of keys.entries()) {
      const r = await tool('amqp-publish', ['-u', u, '-e', 'amq.topic', '-r', rk, '-C', 'text/plain', '-H', `n: ${i}`, '-b', `m${i}:${rk}`]);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    }
    // routed to every queue: each consumer must see it last, so no stray message hides behind its count
    expect(await tool('amqp-publish', ['-u', u, '-e', 'amq.topic', '-r', 'stock.ibm.nyse', '-p', '-b', 'end'])).toEqual({
      code: 0, stdout: '', stderr: '',
    });
    expect(await a).toEqual({ code: 0, stdout: 'm0:stock.ibm.nyse\nend\n', stderr: '' });
    expect(await bq).toEqual({
      code: 0, stdout: 'm0:stock.ibm.nyse\nm1:stock.msft.nasdaq\nm3:stock.nyse\nend\n', stderr: '',
    });
    expect(await c).toEqual({ code: 0, stdout: 'm0:stock.ibm.nyse\nm2:bond.ibm.lse\nend\n', stderr: '' });
    // the consumers' queues were auto-delete: gone once they disconnected
    expect(await tool('amqp-get', ['-u', u, '-q', q('a')])).toEqual({
      code: 1, stdout: '', stderr: `basic.get: server channel error 404, message: NOT_FOUND - no queue '${q('a')}' in vhost '/'\n`,
    });
  }, 10000);

  test('ack, no ack on a failing command (requeue on close), basic.get and delete counts, as in RabbitMQ 3.10', async () => {
    const Q = 'tools-work';
    expect(await tool('amqp-declare-queue', ['-u', u, '-q', Q])).toEqual({ code: 0, stdout: `${Q}\n`, stderr: '' });
    for (const body of ['w1', 'w2', 'w3', 'w4']) {
      // body from stdin, routed by the default exchange
      expect(await tool('amqp-publish', ['-u', u, '-r', Q], body)).toEqual({ code: 0, stdout: '', stderr: '' });
    }
    // acked after the command succeeds
    expect(await consumer(u, ['-q', Q, '-c', '1'])).toEqual({ code: 0, stdout: 'w1\n', stderr: '' });
    // the command fails, so no ack: the message goes back to the head of the queue on disconnect
    expect(await consumer(u, ['-q', Q, '-c', '1'], 'cat; echo; exit 3')).toEqual({ code: 0, stdout: 'w2\n', stderr: '' });
    // basic.get with no-ack
    expect(await tool('amqp-get', ['-u', u, '-q', Q])).toEqual({ code: 0, stdout: 'w2', stderr: '' });
    expect(await tool('amqp-delete-queue', ['-u', u, '-q', Q, '--if-empty'])).toEqual({
      code: 1, stdout: '', stderr: `queue.delete: server channel error 406, message: PRECONDITION_FAILED - queue '${Q}' in vhost '/' not empty\n`,
    });
    // delete reports the two messages left (w3, w4): exactly w1 acked, w2 taken by basic.get
    expect(await tool('amqp-delete-queue', ['-u', u, '-q', Q])).toEqual({ code: 0, stdout: '2\n', stderr: '' });
    expect(await tool('amqp-get', ['-u', u, '-q', Q])).toEqual({
      code: 1, stdout: '', stderr: `basic.get: server channel error 404, message: NOT_FOUND - no queue '${Q}' in vhost '/'\n`,
    });
    // deleting a queue that does not exist is not an error in RabbitMQ 3.x
    expect(await tool('amqp-delete-queue', ['-u', u, '-q', Q])).toEqual({ code: 0, stdout: '0\n', stderr: '' });
  }, 10000);

  test('amqp-declare-queue with an empty name gets a server-generated name; empty queue get exits 2', async () => {
    const r = await tool('amqp-declare-queue', ['-u', u, '-q', '']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}\n$/);
    const name = r.stdout.trim();
    expect(await tool('amqp-get', ['-u', u, '-q', name])).toEqual({ code: 2, stdout: '', stderr: '' });
    expect(await tool('amqp-delete-queue', ['-u', u, '-q', name])).toEqual({ code: 0, stdout: '0\n', stderr: '' });
  }, 10000);
});
