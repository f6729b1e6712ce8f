// Socket fuzzing: nothing a client sends can break the broker. fast-check generates
// well-formed sessions (test/helpers/fuzz-session.ts), damages their bytes (flips,
// insertions, deletions, repeats, truncation) and cuts them into separate writes at random
// points. For each, the broker must answer with frames that parse, close the connection (if
// it does) with an allowed code (501 FRAME_ERROR, 502 SYNTAX_ERROR, 503 COMMAND_INVALID, 504
// CHANNEL_ERROR, 505 UNEXPECTED_FRAME, 530 NOT_ALLOWED, 540 NOT_IMPLEMENTED or 541
// INTERNAL_ERROR) or close the socket cleanly, never throw, and serve a fresh client after.
//
// The sessions are played twenty at a time (a damaged handshake is answered by a
// silent close after RabbitMQ's 3 s). FUZZ_RUNS=n sets the number of sessions (default
// 100); FUZZ_SEED=s replays a failure (the seed is printed when the property fails).
import amqp from 'amqplib';
import fc from 'fast-check';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FrameReader } from '../../amqp/frame-reader.js';
import { FRAME_METHOD, M } from '../../amqp/generated/constants.js';
import { decodeMethod } from '../../amqp/generated/methods.js';
import { Reader } from '../../amqp/reader.js';
import { Broker } from '../../server/broker.js';
import { fractionArb, mutate, mutationArb, sessionArb, split } from '../helpers/fuzz-session.js';
import { PROTOCOL_HEADER } from '../helpers/raw-client.js';

const ALLOWED = new Set([501, 502, 503, 504, 505, 530, 540, 541]);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 100);
const BATCH = 20;
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);

/** Error-level log lines that mean the broker itself failed (not a client's fault). */
const internalErrors: string[] = [];
let broker: Broker;
let port: number;

beforeAll(async () => {
  const log = pino(
    { level: 'error' },
    {
      write(s: string) {
        const line = JSON.parse(s) as { msg: string; err?: { stack?: string } };
        if (/internal error/.test(line.msg)) internalErrors.push(`${line.msg}: ${line.err?.stack ?? ''}`);
      },
    },
  );
  broker = new Broker({ host: '127.0.0.1', port: 0, dataDir: '' }, log);
  port = (await broker.listen()).port;
});
afterAll(async () => {
  await broker.close();
});

interface Answer {
  bytes: Buffer;
  closedInMs: number | null;
}

/** Writes the chunks (each its own write, a turn apart), half-closes, and collects the answer until the socket closes. */
function play(chunks: Buffer[]): Promise<Answer> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let endedAt = 0;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ bytes: Buffer.concat(got), closedInMs: null });
    }, 5000);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(got), closedInMs: Date.now() - endedAt });
    });
    s.once('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) break;
        s.write(c);
        await new Promise((r) => setImmediate(r));
      }
      endedAt = Date.now();
      s.end();
    });
  });
}

/** What the broker said: the reply to a bad protocol header, or its frames; throws if they do not parse. */
function judge(bytes: Buffer): { closeCodes: number[]; frames: number } {
  if (bytes.length >= 4 && bytes.subarray(0, 4).toString('latin1') === 'AMQP') {
    expect(bytes.equals(PROTOCOL_HEADER), `a protocol-header reply must be exactly AMQP 0-9-1's: ${bytes.toString('hex')}`).toBe(true);
    return { closeCodes: [], frames: 0 };
  }
  const closeCodes: number[] = [];
  let frames = 0;
  const reader = new FrameReader(
    {
      onFrame(type, channel, buf, start, end) {
        frames++;
        if (type !== FRAME_METHOD || channel !== 0) return;
        const m = decodeMethod(new Reader(buf, start, end));
        if (m.id === M.ConnectionClose) closeCodes.push(m.replyCode);
      },
    },
    0,
  );
  reader.push(bytes);
  expect(reader.partial, 'the broker left a frame unfinished').toBe(false);
  return { closeCodes, frames };
}

/** A fresh client can still declare, publish and get. */
async function serves(): Promise<void> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  try {
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('still serving'));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 50 && got === false; i++) got = await ch.get(q.queue, { noAck: true });
    expect(got !== false && got.content.toString()).toBe('still serving');
  } finally {
    await conn.close();
  }
}

/** One damaged session: the session, its damage (sparing the handshake most of the time) and where its bytes are cut. */
const caseArb = fc.record({
  session: sessionArb,
  mutations: fc.array(mutationArb, { maxLength: 4 }),
  spareHandshake: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  cuts: fc.array(fractionArb, { maxLength: 10 }),
});

describe('socket fuzz', () => {
  test(`${RUNS} damaged, re-split sessions: allowed closes only, parseable output, no internal failure, and a fresh client is served after each batch`, async () => {
    const stats = { closes: new Map<number, number>(), silent: 0 };
    const property = fc.asyncProperty(fc.array(caseArb, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
      const answers = await Promise.all(
        cases.map(({ session, mutations, spareHandshake, cuts }) => {
          const bytes = mutate(Buffer.concat(session.steps.map((s) => s.bytes)), mutations, spareHandshake ? session.handshakeBytes : 0);
          return play(split(bytes, cuts));
        }),
      );
      for (const answer of answers) {
        expect(answer.closedInMs, 'the broker closed the socket after the client half-closed').not.toBeNull();
        const { closeCodes } = judge(answer.bytes);
        expect(closeCodes.length).toBeLessThanOrEqual(1);
        for (const code of closeCodes) expect(ALLOWED, `connection.close ${code}`).toContain(code);
        if (closeCodes.length === 0) stats.silent++;
        for (const code of closeCodes) stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
      }
      expect(internalErrors).toEqual([]);
      await serves();
    });
    try {
      await fc.assert(property, { numRuns: Math.ceil(RUNS / BATCH), seed: SEED, endOnFailure: true });
    } catch (err) {
      console.error(`socket fuzz failed: rerun with FUZZ_SEED=${SEED} (and FUZZ_RUNS=${RUNS})`);
      throw err;
    }
    expect(broker.connections.size).toBeLessThanOrEqual(1);
    // Not a check, a record of what the sessions exercised.
    console.log(`socket fuzz (seed ${SEED}): connection.close codes ${JSON.stringify([...stats.closes])}, ${stats.silent} without one`);
  }, 240_000);
});
