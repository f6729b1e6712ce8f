// The data directory lock. A second broker started on a data directory that a running
// broker uses must refuse before it reads or writes anything there: it used to recover the
// definitions and messages and replace msg_store.delivered first, so that the running broker
// went on noting deliveries in an unlinked file, and after a later kill -9 delivered messages
// came back with redelivered=false.
import amqp from 'amqplib';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Broker } from '../../../server/broker.js';
import { startBroker } from '../../../server/index.js';
import { startChildBroker, type ChildBroker } from '../../helpers/child-broker.js';
import { within } from '../../helpers/timing.js';

let dir: string;
const children: ChildBroker[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-lock-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every file under `root`: its bytes (hashed), size, inode and modification time. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const st = statSync(p);
      const hash = e.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : e.isSocket() ? 'socket' : 'other';
      out[p.slice(root.length + 1)] = `${hash} size=${st.size} ino=${st.ino} mtime=${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

async function child(): Promise<ChildBroker> {
  const c = await startChildBroker({ config: { dataDir: dir } });
  children.push(c);
  return c;
}

describe('the data directory lock', () => {
  test('a second broker on a directory in use refuses to start and leaves every file as it was; the running one still recovers correctly after kill -9', async () => {
    const a = await child();
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${a.port}`);
    conn.on('error', () => {}); // the broker is killed under it below
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('locked', { durable: true });
    for (const body of ['m1', 'm2', 'm3']) ch.sendToQueue('locked', Buffer.from(body), { persistent: true });
    await ch.waitForConfirms();
    const before = snapshot(dir);
    expect(Object.keys(before)).toContain('msg_store.delivered');

    // In this process, and as another process.
    expect(() => new Broker({ port: 0, dataDir: dir, logLevel: 'silent' })).toThrow(
      `data directory ${dir} is in use by another broker (pid ${a.child.pid}); if no broker is running there, remove ${join(dir, 'warren.lock')}`,
    );
    await expect(startChildBroker({ config: { dataDir: dir } })).rejects.toThrow(/is in use by another broker/);
    expect(snapshot(dir)).toEqual(before);

    // The running broker notes this delivery in its (still linked) delivery log...
    const got = await ch.get('locked', { noAck: false });
    expect(got !== false && got.content.toString()).toBe('m1');
    await new Promise((r) => setTimeout(r, 100));
    a.child.kill('SIGKILL');
    await within(a.exit, 5000, 'the broker to die');

    // ...so that after the crash m1 comes back redelivered, and the others do not.
    const b = await startBroker({ port: 0, dataDir: dir });
    try {
      const c2 = await amqp.connect(b.url);
      const ch2 = await c2.createChannel();
      const seen: [string, boolean][] = [];
      for (;;) {
        const m = await ch2.get('locked', { noAck: true });
        if (m === false) break;
        seen.push([m.content.toString(), m.fields.redelivered]);
      }
      expect(seen).toEqual([
        ['m1', true],
        ['m2', false],
        ['m3', false],
      ]);
      await c2.close();
    } finally {
      await b.close();
    }
  });

  test('closing the broker releases the lock; a broker that failed to start does not keep it', async () => {
    const b = await startBroker({ port: 0, dataDir: dir });
    await b.close();
    expect(readdirSync(dir)).not.toContain('warren.lock');
    expect(() => new Broker({ port: 0, dataDir: dir, diskFreeLimit: 'lots' })).toThrow(/disk_free_limit/);
    const again = await startBroker({ port: 0, dataDir: dir });
    await again.close();
  });

  test('a stale lock is taken over: a dead pid, or a live pid that belongs to another process start (pid reuse)', async () => {
    const lock = join(dir, 'warren.lock');
    const write = (holder: Record<string, unknown>) => writeFileSync(lock, JSON.stringify(holder) + '\n');
    // A pid that no process has: the kernel's pid_max is far below this.
    write({ pid: 2 ** 30, host: hostname(), started: '1', boot: null });
    let b = await startBroker({ port: 0, dataDir: dir });
    await b.close();
    // This very pid, but another start time: a previous incarnation (a container restart).
    write({ pid: process.pid, host: hostname(), started: '1', boot: null });
    b = await startBroker({ port: 0, dataDir: dir });
    // While it runs, the lock names it, and a second broker in this process is refused too.
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(startBroker({ port: 0, dataDir: dir })).rejects.toThrow(/is in use by another broker/);
    await b.close();
  });
});
