// What the operator's log says about connections and channels, at RabbitMQ's levels
// (rabbit_reader, rabbit_channel in 3.10.8): channel and connection errors at error; a
// client that drops its TCP connection without connection.close at warning ("client
// unexpectedly closed TCP connection"); a socket closed before sending anything (a load
// balancer's health check) at debug; a clean close at info.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import amqp from 'amqplib';
import { connect } from 'node:net';
import { Broker } from '../../../server/broker.js';
import { M, RawClient } from '../../helpers/raw-client.js';
import { sleep } from '../../helpers/timing.js';

interface Line {
  level: number;
  msg: string;
  conn?: number;
  [k: string]: unknown;
}

const lines: Line[] = [];
let broker: Broker;
let port: number;

beforeAll(async () => {
  const log = pino({ level: 'debug', base: { name: 'warren' } }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  broker = new Broker({ host: '127.0.0.1', port: 0, dataDir: '' }, log);
  port = (await broker.listen()).port;
});
afterAll(async () => {
  await broker.close();
});

/** The log lines of the connection whose local port (the client's) is `clientPort`, once it is gone. */
async function linesOf(clientPort: number): Promise<Line[]> {
  await sleep(100);
  const conn = lines.find((l) => typeof l['remote'] === 'string' && (l['remote'] as string).endsWith(`:${clientPort}`))?.conn;
  return lines.filter((l) => l.conn !== undefined && l.conn === conn);
}

const ERROR = 50;
const WARN = 40;
const INFO = 30;
const DEBUG = 20;

describe('connection and channel logging', () => {
  test('a channel error is logged at error level, with the channel, code, text and method', async () => {
    const c = await RawClient.open(port);
    const local = c.socket.localPort!;
    await c.openChannel(1);
    c.sendMethod(1, { id: M.QueueDeclare, queue: 'no-such-queue', passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} });
    await c.expectMethod(M.ChannelClose);
    await c.close();
    const mine = await linesOf(local);
    expect(mine.filter((l) => l.msg === 'channel error').map(({ level, channel, code, text, method }) => ({ level, channel, code, text, method }))).toEqual([
      { level: ERROR, channel: 1, code: 404, text: "NOT_FOUND - no queue 'no-such-queue' in vhost '/'", method: 'queue.declare' },
    ]);
  });

  test('a connection error is logged at error level', async () => {
    const c = await RawClient.open(port);
    const local = c.socket.localPort!;
    await c.openChannel(1);
    c.sendMethod(1, { id: M.ChannelOpen, outOfBand: '' });
    await c.expectMethod(M.ConnectionClose);
    c.sendMethod(0, { id: M.ConnectionCloseOk });
    await c.waitClosed();
    const mine = await linesOf(local);
    expect(mine.filter((l) => l.msg === 'connection error').map(({ level, code, text }) => ({ level, code, text }))).toEqual([
      { level: ERROR, code: 504, text: "CHANNEL_ERROR - second 'channel.open' seen" },
    ]);
  });

  test("a client that drops an open connection without connection.close: 'client unexpectedly closed TCP connection' at warning", async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const local = (conn.connection as unknown as { stream: { localPort: number } }).stream.localPort;
    conn.on('error', () => {});
    (conn.connection as unknown as { stream: { destroy(): void } }).stream.destroy();
    const mine = await linesOf(local);
    expect(mine.filter((l) => l.level >= WARN).map(({ level, msg, user, vhost }) => ({ level, msg, user, vhost }))).toEqual([
      { level: WARN, msg: 'client unexpectedly closed TCP connection', user: 'guest', vhost: '/' },
    ]);
  });

  test('a client that drops the connection halfway through the handshake: the same warning', async () => {
    const c = await RawClient.connect(port);
    const local = c.socket.localPort!;
    c.sendHeader();
    await c.expectMethod(M.ConnectionStart);
    c.destroy();
    const mine = await linesOf(local);
    expect(mine.filter((l) => l.level >= WARN).map(({ level, msg, state }) => ({ level, msg, state }))).toEqual([
      { level: WARN, msg: 'client unexpectedly closed TCP connection', state: 'starting' },
    ]);
  });

  test('a clean close is logged at info, and nothing at warning or above', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const local = (conn.connection as unknown as { stream: { localPort: number } }).stream.localPort;
    await conn.close();
    const mine = await linesOf(local);
    expect(mine.filter((l) => l.level >= WARN)).toEqual([]);
    expect(mine.filter((l) => l.msg === 'connection closed').map((l) => l.level)).toEqual([INFO]);
  });

  test('a socket that sends nothing and closes (a health check) is logged at debug only', async () => {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const local = s.localPort!;
    s.end();
    const mine = await linesOf(local);
    expect(mine.map(({ level, msg }) => ({ level, msg }))).toEqual([{ level: DEBUG, msg: 'connection closed with no data received' }]);
  });
});
