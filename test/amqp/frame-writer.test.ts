import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameReader } from '../../amqp/frame-reader.js';
import { beginFrame, beginMethod, endFrame, writeContent, writeHeartbeat, writeMethod } from '../../amqp/frame-writer.js';
import { M } from '../../amqp/generated/constants.js';
import { decodeMethod, encodeBasicAck, encodeQueueDeclare } from '../../amqp/generated/methods.js';
import { writeProperties } from '../../amqp/generated/properties.js';
import { Reader } from '../../amqp/reader.js';
import { writeTable, type FieldTable } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';
import { amqplibDefs, encode, tableArbs } from './helpers.js';

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
  /** Frame size on the wire: header 7 + payload + end octet. */
  total: number;
}

function parse(data: Buffer): Frame[] {
  const frames: Frame[] = [];
  const r = new FrameReader({
    onFrame(type, channel, buf, start, end) {
      frames.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)), total: end - start + 8 });
    },
  });
  r.push(data);
  expect(r.partial).toBe(false);
  return frames;
}

const props = encode((w) => writeProperties(w, { contentType: 'application/octet-stream', deliveryMode: 2 }));

function content(body: Buffer, frameMax: number, channel = 1): Buffer {
  return encode((w) => writeContent(w, channel, 60, props, body, frameMax));
}

describe('frame writer', () => {
  it('writes a heartbeat frame', () => {
    expect(encode(writeHeartbeat).toString('hex')).toBe('08' + '0000' + '00000000' + 'ce');
  });

  it('a method frame matches amqplib byte for byte', () => {
    const ours = encode((w) => {
      const at = beginMethod(w, 3);
      encodeBasicAck(w, 2 ** 33 + 1, true);
      endFrame(w, at);
    });
    expect(ours.toString('hex')).toBe(amqplibDefs.encodeMethod(M.BasicAck, 3, { deliveryTag: 2 ** 33 + 1, multiple: true }).toString('hex'));
  });

  it('beginFrame returns where the size goes and endFrame back-patches it', () => {
    const w = new Writer();
    w.bytes(Buffer.from('xyz'));
    const at = beginFrame(w, 3, 0x0102);
    expect(at).toBe(3 + 3);
    w.bytes(Buffer.from('hello'));
    endFrame(w, at);
    expect(w.take().toString('hex')).toBe(Buffer.from('xyz').toString('hex') + '03' + '0102' + '00000005' + Buffer.from('hello').toString('hex') + 'ce');
  });

  it('writeMethod: an encoder that throws leaves nothing of its frame behind, even after the slab grew', () => {
    const w = new Writer(64);
    writeMethod(w, 1, { id: M.BasicQosOk });
    const before = w.pos;
    // A 300-byte shortstr is refused halfway through the frame, after the slab had to grow.
    const long = { id: M.ChannelClose, replyCode: 404, replyText: 'x'.repeat(300), classId: 50, methodId: 10 } as const;
    expect(() => writeMethod(w, 1, long)).toThrow(RangeError);
    expect(w.pos).toBe(before);
    writeMethod(w, 1, { ...long, replyText: 'NOT_FOUND - fine' });
    const frames = parse(w.take());
    expect(frames.map((f) => decodeMethod(new Reader(f.payload, 0, f.payload.length)))).toEqual([
      { id: M.BasicQosOk },
      { ...long, replyText: 'NOT_FOUND - fine' },
    ]);
  });
});

describe('writeContent', () => {
  it('a zero-length body writes only the header frame', () => {
    const out = content(Buffer.alloc(0), 4096, 5);
    expect(out.toString('hex')).toBe(
      '02' + '0005' + (12 + props.length).toString(16).padStart(8, '0') + '003c' + '0000' + '0000000000000000' + props.toString('hex') + 'ce',
    );
    const frames = parse(out);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.type).toBe(2);
  });

  it('splits a body into frames of exactly frameMax bytes, then the rest', () => {
    const body = Buffer.from(Array.from({ length: 250 }, (_, i) => i));
    const frames = parse(content(body, 100));
    expect(frames.map((f) => [f.type, f.total])).toEqual([
      [2, 20 + props.length],
      [3, 100],
      [3, 100],
      [3, 250 - 2 * 92 + 8],
    ]);
    expect(Buffer.concat(frames.slice(1).map((f) => f.payload)).equals(body)).toBe(true);
  });

  it('a body that is an exact multiple of the frame payload has no empty trailing frame', () => {
    const frames = parse(content(Buffer.alloc(3 * 92, 7), 100));
    expect(frames.map((f) => f.total)).toEqual([20 + props.length, 100, 100, 100]);
  });

  it('any body and frameMax: frames within frameMax, body comes back (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
        fc.oneof(fc.integer({ min: 9, max: 700 }), fc.constantFrom(4096, 131072)),
        fc.integer({ min: 0, max: 65535 }),
        (body, frameMax, channel) => {
          const out = content(body, frameMax, channel);
          const frames = parse(out);
          const [header, ...bodyFrames] = frames;
          expect(header!.type).toBe(2);
          expect(header!.channel).toBe(channel);
          const hr = new Reader(header!.payload);
          expect([hr.u16(), hr.u16(), hr.u64()]).toEqual([60, 0, body.length]);
          expect(header!.payload.subarray(12).equals(props)).toBe(true);

          const chunk = frameMax - 8;
          expect(bodyFrames).toHaveLength(Math.ceil(body.length / chunk));
          bodyFrames.forEach((f, i) => {
            expect(f.type).toBe(3);
            expect(f.channel).toBe(channel);
            expect(f.total).toBeLessThanOrEqual(frameMax);
            if (i < bodyFrames.length - 1) expect(f.total).toBe(frameMax);
            expect(f.payload.length).toBeGreaterThan(0);
          });
          expect(Buffer.concat(bodyFrames.map((f) => f.payload)).equals(body)).toBe(true);
          expect(out.length).toBe(frames.reduce((n, f) => n + f.total, 0));
          // A reader enforcing the same frameMax accepts every frame.
          new FrameReader({ onFrame() {} }, frameMax).push(out.subarray(header!.total));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Writer', () => {
  // Slabs of 8 KiB and more do not come from Node's shared allocation pool.
  const SLAB = 8192;

  it('a detached view stays intact after more writes into the same slab', () => {
    const w = new Writer(SLAB);
    w.bytes(Buffer.alloc(100, 0x61));
    const v1 = w.detach();
    expect(w.buf.buffer).toBe(v1.buffer); // still sharing the slab
    w.bytes(Buffer.alloc(200, 0x62));
    w.u32(0xdeadbeef);
    const v2 = w.detach();
    expect(v1.equals(Buffer.alloc(100, 0x61))).toBe(true);
    expect(v2.length).toBe(204);
    expect(v2.subarray(0, 200).equals(Buffer.alloc(200, 0x62))).toBe(true);
  });

  it('a detached view stays intact after the slab grows (write more than the slab)', () => {
    const w = new Writer(SLAB);
    w.bytes(Buffer.alloc(100, 0x61));
    const v1 = w.detach();
    const big = Buffer.from(Array.from({ length: 3 * SLAB }, (_, i) => i & 0xff));
    w.bytes(big);
    expect(w.buf.buffer).not.toBe(v1.buffer); // replaced
    w.buf.fill(0xee); // scribbling over the new slab must not reach the view
    expect(v1.equals(Buffer.alloc(100, 0x61))).toBe(true);
  });

  it('a detached view stays intact after detach replaces a nearly full slab', () => {
    const w = new Writer(SLAB);
    w.bytes(Buffer.alloc(SLAB - 1000, 0x61));
    const v1 = w.detach();
    expect(w.pos).toBe(0);
    expect(w.buf.buffer).not.toBe(v1.buffer);
    w.bytes(Buffer.alloc(SLAB, 0x62));
    expect(v1.equals(Buffer.alloc(SLAB - 1000, 0x61))).toBe(true);
    expect(w.detach().equals(Buffer.alloc(SLAB, 0x62))).toBe(true);
  });

  it('take() copies out what was written since the last detach', () => {
    const w = new Writer(SLAB);
    w.u8(1);
    const v = w.detach();
    w.u16(0x0203);
    const t = w.take();
    expect(t.toString('hex')).toBe('0203');
    expect(t.buffer).not.toBe(w.buf.buffer);
    expect(w.length).toBe(0);
    expect(v.toString('hex')).toBe('01');
  });

  it('a table that outgrows the slab after a detach keeps its size right', () => {
    const t: FieldTable = { a: 'x'.repeat(2 * SLAB), b: { c: 'y'.repeat(SLAB) } };
    const w = new Writer(SLAB);
    w.bytes(Buffer.alloc(100, 0x61));
    w.detach();
    writeTable(w, t);
    const out = w.detach();
    expect(out.equals(encode((x) => writeTable(x, t), 1 << 20))).toBe(true);
  });

  it('a method frame that outgrows the slab after a detach keeps its frame size right', () => {
    const args: FieldTable = { 'x-big': 'z'.repeat(3 * SLAB) };
    const w = new Writer(SLAB);
    w.bytes(Buffer.alloc(100, 0x61));
    w.detach();
    const at = beginMethod(w, 1);
    encodeQueueDeclare(w, 'q', false, true, false, false, false, args);
    endFrame(w, at);
    const frames = parse(w.detach());
    expect(frames).toHaveLength(1);
    expect(decodeMethod(new Reader(frames[0]!.payload))).toEqual({
      id: M.QueueDeclare,
      queue: 'q',
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: args,
    });
  });

  type Op =
    | { kind: 'frame'; type: number; channel: number; payload: Buffer }
    | { kind: 'method'; args: FieldTable }
    | { kind: 'content'; body: Buffer; frameMax: number }
    | { kind: 'detach' };

  const { table } = tableArbs({ typed: true, maxDepth: 2, maxKeys: 4 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('frame' as const),
      type: fc.constantFrom(1, 2, 3, 8),
      channel: fc.integer({ min: 0, max: 65535 }),
      payload: fc.integer({ min: 0, max: 3000 }).map((n) => Buffer.alloc(n, n & 0xff)),
    }),
    fc.record({ kind: fc.constant('method' as const), args: table }),
    fc.record({
      kind: fc.constant('content' as const),
      body: fc.integer({ min: 0, max: 5000 }).map((n) => Buffer.alloc(n, (n * 7) & 0xff)),
      frameMax: fc.integer({ min: 16, max: 2000 }),
    }),
    fc.constant({ kind: 'detach' as const }),
  );

  function apply(w: Writer, op: Op): void {
    switch (op.kind) {
      case 'frame': {
        const at = beginFrame(w, op.type, op.channel);
        w.bytes(op.payload);
        endFrame(w, at);
        return;
      }
      case 'method': {
        const at = beginMethod(w, 1);
        encodeQueueDeclare(w, 'q', false, false, false, false, false, op.args);
        endFrame(w, at);
        return;
      }
      case 'content':
        writeContent(w, 1, 60, props, op.body, op.frameMax);
        return;
      case 'detach':
        return;
    }
  }

  it('any mix of writes and detaches: every view keeps exactly the bytes written (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), fc.integer({ min: 1, max: 4096 }), (ops, slab) => {
        const w = new Writer(slab);
        const views: { view: Buffer; want: Buffer }[] = [];
        let pending: Buffer[] = [];
        for (const op of ops) {
          if (op.kind === 'detach') {
            views.push({ view: w.detach(), want: Buffer.concat(pending) });
            pending = [];
          } else {
            apply(w, op);
            // The reference: the same op into a fresh writer that never detaches.
            pending.push(encode((x) => apply(x, op), 1 << 16));
          }
        }
        views.push({ view: w.detach(), want: Buffer.concat(pending) });
        for (const { view, want } of views) {
          expect(view.length).toBe(want.length);
          expect(view.equals(want)).toBe(true);
        }
        // And the whole stream parses back into frames.
        parse(Buffer.concat(views.map((v) => v.view)));
      }),
      { numRuns: 150 },
    );
  });
});
