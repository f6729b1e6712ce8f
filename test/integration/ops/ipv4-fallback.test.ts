// The default listener is '::' (IPv6 and IPv4 at once). Where the system has no IPv6,
// listening there fails (EAFNOSUPPORT and the like), and the broker listens on 0.0.0.0
// instead, saying so once. (That IPv6 and IPv4 clients both reach the default listener is
// checked with the real command in cli-front-door.test.ts.)
import amqp from 'amqplib';
import { Server } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { Broker } from '../../../server/broker.js';
import { DEFAULT_CONFIG } from '../../../server/ops/config.js';

const realListen = Server.prototype.listen;
afterEach(() => {
  Server.prototype.listen = realListen;
});

/** Makes every listen on '::' fail as it does on a system without IPv6. */
function withoutIpv6(): void {
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    if (args[1] === '::') {
      process.nextTick(() => this.emit('error', Object.assign(new Error('listen EAFNOSUPPORT: address family not supported :::0'), { code: 'EAFNOSUPPORT' })));
      return this;
    }
    return (realListen as (...a: unknown[]) => Server).apply(this, args);
  } as typeof Server.prototype.listen;
}

describe('the default listener without IPv6', () => {
  test("the default host is '::'", () => {
    expect(DEFAULT_CONFIG.host).toBe('::');
  });

  test('falls back to 0.0.0.0, logs it once, and serves IPv4 clients', async () => {
    withoutIpv6();
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
    const broker = new Broker({ port: 0, dataDir: '' }, log);
    try {
      const addr = await broker.listen();
      expect(addr.address).toBe('0.0.0.0');
      expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual(['IPv6 is not available: listening on IPv4 only (0.0.0.0)']);
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${addr.port}`);
      const ch = await conn.createChannel();
      expect((await ch.assertQueue('', { exclusive: true })).messageCount).toBe(0);
      await conn.close();
    } finally {
      await broker.close();
    }
  });

  test("only '::' falls back: any other address's error is the error", async () => {
    withoutIpv6();
    const broker = new Broker({ port: 0, dataDir: '', host: '::', logLevel: 'silent' });
    // '::' given explicitly is the default's value: it falls back too.
    await expect(broker.listen().then((a) => a.address)).resolves.toBe('0.0.0.0');
    await broker.close();
    const other = new Broker({ port: 0, dataDir: '', host: '203.0.113.1', logLevel: 'silent' });
    await expect(other.listen()).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    await other.close();
  });
});
