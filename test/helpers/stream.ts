// Plumbing for the stream queue tests: declaring streams, and reading them with consumers
// that record each delivery's body, x-stream-offset, delivery tag and redelivered flag.
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { serverClose, sleep, uniq, type ServerClose } from './queue-features.js';

export function sname(base = 's'): string {
  return uniq(`stream-${base}`);
}

/** Declares a stream (durable, as it must be) with extra arguments. */
export async function stream(ch: Channel, name: string, args: Record<string, unknown> = {}): Promise<string> {
  await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
  return name;
}

/** Publishes each body, waiting for its confirm before the next one (one chunk each on RabbitMQ). */
export async function publishEach(ch: ConfirmChannel, queue: string, bodies: readonly string[], options = {}): Promise<void> {
  for (const b of bodies) {
    ch.sendToQueue(queue, Buffer.from(b), options);
    await ch.waitForConfirms();
  }
}

/** A delivery as "body@offset". */
export function at(m: ConsumeMessage): string {
  return `${m.content.toString()}@${String((m.properties.headers as Record<string, unknown>)['x-stream-offset'])}`;
}

export interface Reading {
  ch: Channel;
  tag: string;
  got: ConsumeMessage[];
  /** Resolves once `n` deliveries arrived in all (fails after `ms`). */
  until(n: number, ms?: number): Promise<string[]>;
  /** What arrived, after a pause long enough for more to arrive had there been any. */
  settled(ms?: number): Promise<string[]>;
}

/**
 * Consumes `queue` on a new channel with basic.qos `prefetch` and the given consumer
 * arguments; `ack` acks each delivery at once.
 */
export async function read(conn: ChannelModel, queue: string, args: Record<string, unknown> = {}, prefetch = 100, ack = true): Promise<Reading> {
  const ch = await conn.createChannel();
  await ch.prefetch(prefetch);
  const got: ConsumeMessage[] = [];
  const { consumerTag } = await ch.consume(
    queue,
    (m) => {
      if (m === null) return;
      got.push(m);
      if (ack) ch.ack(m);
    },
    { arguments: args },
  );
  return {
    ch,
    tag: consumerTag,
    got,
    async until(n, ms = 3000) {
      const deadline = Date.now() + ms;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${got.length} of ${n}: ${got.map(at).join(' ')}`);
        await sleep(5);
      }
      return got.map(at);
    },
    async settled(ms = 200) {
      await sleep(ms);
      return got.map(at);
    },
  };
}

/** The connection.close (or channel.close) the server answers `fn` with, on a fresh connection. */
export async function closeFor(open: () => Promise<ChannelModel>, fn: (ch: Channel) => Promise<unknown>): Promise<ServerClose> {
  const conn = await open();
  const closed = new Promise<ServerClose>((resolve) => {
    conn.on('close', (err: unknown) => {
      if (err instanceof Error) resolve(connectionClose(err));
    });
  });
  const ch = await conn.createChannel();
  let channelErr: ServerClose | null = null;
  ch.on('error', (err: unknown) => {
    try {
      channelErr = serverClose(err);
    } catch {
      // a connection close: reported by the connection
    }
  });
  try {
    await fn(ch);
  } catch (err) {
    try {
      return serverClose(err);
    } catch {
      // the channel ended with the connection
    }
  }
  const r = await Promise.race([closed, sleep(2000).then(() => channelErr)]);
  if (r === null) throw new Error('the server closed nothing');
  return r;
}

/** Reply code and text of a server connection.close, as amqplib reports it. */
function connectionClose(err: Error): ServerClose {
  const e = err as Error & { code?: number; classId?: number; methodId?: number };
  const m = /^Connection closed: (\d+) \([A-Z_-]+\) with message "(.*)"$/s.exec(e.message);
  if (m === null) throw new Error(`not a server close: ${e.message}`);
  return { code: Number(m[1]), text: m[2]!, classId: e.classId ?? -1, methodId: e.methodId ?? -1 };
}
