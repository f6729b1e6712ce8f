// The front door under pressure, bounded: Warren runs in a child process with a lowered
// descriptor limit (ulimit -n 256) and a data directory, and is hit with thousands of idle
// sockets, a connection storm and more AMQP connections than it has descriptors for. After
// each it must still be running and serve a client: declare, publish (persistent), get.
// Running out of descriptors must not crash it (accept errors are logged once per burst,
// not once per socket; the one-second tick survives failed system calls).
import amqp from 'amqplib';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openFileLimit, startChildBroker, type ChildBroker } from '../helpers/child-broker.js';
import { sleep } from '../helpers/timing.js';

const NOFILE = 256;
let b: ChildBroker;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'warren-stress-'));
  b = await startChildBroker({ nofile: NOFILE, config: { dataDir, logLevel: 'warn' } });
});
afterAll(async () => {
  await b?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh client can declare a queue, publish a persistent message to it and get it back. */
async function serves(tag: string): Promise<void> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  try {
    const ch = await conn.createConfirmChannel();
    const q = `stress-${tag}`;
    await ch.assertQueue(q, { durable: true });
    ch.sendToQueue(q, Buffer.from(tag), { persistent: true });
    await ch.waitForConfirms();
    const got = await ch.get(q, { noAck: true });
    expect(got !== false && got.content.toString()).toBe(tag);
    await ch.deleteQueue(q);
  } finally {
    await conn.close();
  }
}

/** Retries `serves` for a while: descriptors are released asynchronously after the sockets go. */
async function servesAgain(tag: string): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 20; i++) {
    try {
      await serves(tag);
      return;
    } catch (err) {
      last = err;
      await sleep(250);
    }
  }
  throw last;
}

function openSockets(n: number, port: number): Promise<Socket[]> {
  return new Promise((resolve) => {
    const socks: Socket[] = [];
    let settled = 0;
    for (let i = 0; i < n; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      const done = (): void => {
        if (++settled === n) resolve(socks);
      };
      s.once('connect', done);
      s.once('error', done);
      socks.push(s);
    }
  });
}

function descriptorWarnings(): string[] {
  return b
    .logs()
    .filter((l) => /descriptors/.test(String(l['msg'])))
    .map((l) => String(l['msg']));
}

describe.sequential('front door stress (child process, ulimit -n 256)', () => {
  test('thousands of idle sockets: the broker survives the descriptor limit, logs it once per burst, and serves again once they go', async () => {
    const n = Math.min(3000, (openFileLimit() ?? 4096) - 300);
    expect(n, 'this process may open enough sockets').toBeGreaterThan(NOFILE * 2);
    const socks = await openSockets(n, b.port);
    try {
      // Two one-second ticks with the descriptor table full (the memory check opens /proc files).
      await sleep(2500);
      expect(b.alive(), b.output().slice(-2000)).toBe(true);
    } finally {
      for (const s of socks) s.destroy();
    }
    await servesAgain('idle');
    await sleep(1100);
    expect(b.alive()).toBe(true);
    // One line when the shortage began and one when it ended, not one per refused socket.
    expect(descriptorWarnings()).toEqual([
      'out of file descriptors: new connections are refused until some are free',
      'file descriptors available again: accepting connections',
    ]);
  });

  test('a connection storm: thousands of connect-and-drop sockets, some with half a handshake', async () => {
    for (let round = 0; round < 4; round++) {
      const socks = await openSockets(600, b.port);
      socks.forEach((s, i) => {
        if (i % 3 === 0) s.write('AMQP\x00\x00\x09\x01');
        else if (i % 3 === 1) s.write('AM');
        if (i % 2 === 0) s.destroy();
        else s.end();
      });
    }
    await sleep(500);
    expect(b.alive(), b.output().slice(-2000)).toBe(true);
    await servesAgain('storm');
  });

  test('more AMQP connections than descriptors: the ones over the limit fail, the broker does not, and serves once they close', async () => {
    const conns: amqp.ChannelModel[] = [];
    let failed = 0;
    for (let batch = 0; batch < 8; batch++) {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}?heartbeat=0`)),
      );
      for (const r of results) {
        if (r.status === 'fulfilled') {
          r.value.on('error', () => {});
          conns.push(r.value);
        } else failed++;
      }
    }
    expect(conns.length).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(0);
    expect(b.alive(), b.output().slice(-2000)).toBe(true);
    await Promise.allSettled(conns.map((c) => c.close()));
    await servesAgain('amqp');
    expect(b.alive()).toBe(true);
  });
});
