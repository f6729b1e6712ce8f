import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConnectionError, FrameError } from '../../amqp/errors.js';
import { FrameReader } from '../../amqp/frame-reader.js';
import { M } from '../../amqp/generated/constants.js';
import { decodeMethod } from '../../amqp/generated/methods.js';
import { Reader } from '../../amqp/reader.js';
import { amqplibDefs, hex, thrown } from './helpers.js';

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** A sink that copies each payload: the reader hands out views it will reuse. */
function collector(): { frames: Frame[]; reader: (frameMax?: number) => FrameReader } {
  const frames: Frame[] = [];
  return {
    frames,
    reader: (frameMax = 0) =>
      new FrameReader(
        {
          onFrame(type, channel, buf, start, end) {
            frames.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) });
          },
        },
        frameMax,
      ),
  };
}

function frameBytes(f: Frame, endOctet = 0xce): Buffer {
  const b = Buffer.alloc(8 + f.payload.length);
  b[0] = f.type;
  b.writeUInt16BE(f.channel, 1);
  b.writeUInt32BE(f.payload.length, 3);
  f.payload.copy(b, 7);
  b[b.length - 1] = endOctet;
  return b;
}

/** Feeds `data` cut at the given offsets and returns the frames received. */
function feed(data: Buffer, cuts: number[], frameMax = 0): Frame[] {
  const c = collector();
  const r = c.reader(frameMax);
  let prev = 0;
  for (const at of [...cuts, data.length]) {
    r.push(data.subarray(prev, at));
    prev = at;
  }
  expect(r.partial).toBe(false);
  return c.frames;
}

const hexFrames = (fs: Frame[]) => fs.map((f) => ({ type: f.type, channel: f.channel, payload: f.payload.toString('hex') }));

function expectFrameError501(fn: () => unknown): FrameError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(FrameError);
  expect(e).toBeInstanceOf(ConnectionError);
  expect((e as FrameError).replyCode).toBe(501);
  expect((e as FrameError).replyText.startsWith('FRAME_ERROR - ')).toBe(true);
  return e as FrameError;
}

const frameArb: fc.Arbitrary<Frame> = fc.record({
  type: fc.constantFrom(1, 2, 3, 8),
  channel: fc.integer({ min: 0, max: 65535 }),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});

describe('FrameReader: known frames', () => {
  it('a heartbeat frame', () => {
    expect(hexFrames(feed(hex('08 0000 00000000 ce'), []))).toEqual([{ type: 8, channel: 0, payload: '' }]);
  });

  it('a method frame from amqplib, decoded', () => {
    const frame = amqplibDefs.encodeMethod(M.BasicAck, 3, { deliveryTag: 42, multiple: true });
    expect(frame.toString('hex')).toBe('01' + '0003' + '0000000d' + '003c0050' + '000000000000002a' + '01' + 'ce');
    let decoded: unknown;
    const r = new FrameReader({
      onFrame(type, channel, buf, start, end) {
        expect([type, channel, start, end]).toEqual([1, 3, 7, 20]);
        decoded = decodeMethod(new Reader(buf, start, end));
      },
    });
    r.push(frame);
    expect(decoded).toEqual({ id: M.BasicAck, deliveryTag: 42, multiple: true });
  });

  it('a content header and body on channel 65535', () => {
    const header = amqplibDefs.encodeProperties(60, 65535, 5, { contentType: 'text/plain' });
    const body = frameBytes({ type: 3, channel: 65535, payload: Buffer.from('hello') });
    expect(hexFrames(feed(Buffer.concat([header, body]), []))).toEqual([
      { type: 2, channel: 65535, payload: '003c' + '0000' + '0000000000000005' + '8000' + '0a' + Buffer.from('text/plain').toString('hex') },
      { type: 3, channel: 65535, payload: Buffer.from('hello').toString('hex') },
    ]);
  });

  it('many frames in one chunk, in order', () => {
    const frames: Frame[] = [];
    for (let i = 0; i < 50; i++) {
      frames.push({ type: [1, 2, 3, 8][i % 4]!, channel: i * 1000, payload: Buffer.alloc(i * 3, i) });
    }
    const data = Buffer.concat(frames.map((f) => frameBytes(f)));
    expect(hexFrames(feed(data, []))).toEqual(hexFrames(frames));
  });

  it('hands out complete frames in place, without copying', () => {
    const data = Buffer.concat([frameBytes({ type: 1, channel: 1, payload: hex('aabb') }), frameBytes({ type: 8, channel: 0, payload: hex('') })]);
    const seen: [Buffer, number, number][] = [];
    new FrameReader({ onFrame: (_t, _c, buf, start, end) => void seen.push([buf, start, end]) }).push(data);
    expect(seen).toEqual([
      [data, 7, 9],
      [data, 17, 17],
    ]);
    expect(seen[0]![0]).toBe(data);
  });

  it('reports a partial frame until its last byte arrives', () => {
    const c = collector();
    const r = c.reader();
    const data = frameBytes({ type: 3, channel: 9, payload: Buffer.from('abc') });
    for (let i = 0; i < data.length - 1; i++) {
      r.push(data.subarray(i, i + 1));
      expect(r.partial).toBe(true);
      expect(c.frames).toHaveLength(0);
    }
    r.push(data.subarray(data.length - 1));
    expect(r.partial).toBe(false);
    expect(hexFrames(c.frames)).toEqual([{ type: 3, channel: 9, payload: Buffer.from('abc').toString('hex') }]);
  });

  it('ignores empty chunks', () => {
    const data = frameBytes({ type: 1, channel: 2, payload: hex('0102') });
    expect(hexFrames(feed(data, [0, 0, 3, 3, 3, 7, 7, data.length]))).toEqual([{ type: 1, channel: 2, payload: '0102' }]);
  });
});

describe('FrameReader: split anywhere (fast-check)', () => {
  it('any chunking yields the same frames as the whole input', () => {
    const input = fc
      .array(frameArb, { minLength: 1, maxLength: 12 })
      .chain((frames) => {
        const data = Buffer.concat(frames.map((f) => frameBytes(f)));
        const cuts = fc.oneof(
          fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 20 }).map((a) => a.sort((x, y) => x - y)),
          fc.constant(Array.from({ length: data.length - 1 }, (_, i) => i + 1)), // 1-byte chunks
        );
        return fc.tuple(fc.constant(frames), fc.constant(data), cuts);
      });
    fc.assert(
      fc.property(input, ([frames, data, cuts]) => {
        const whole = feed(data, []);
        expect(hexFrames(whole)).toEqual(hexFrames(frames));
        expect(hexFrames(feed(data, cuts))).toEqual(hexFrames(whole));
        // A frameMax that admits the largest frame changes nothing.
        const largest = Math.max(...frames.map((f) => f.payload.length + 8));
        expect(hexFrames(feed(data, cuts, largest))).toEqual(hexFrames(whole));
      }),
      { numRuns: 300 },
    );
  });
});

describe('FrameReader: frameMax', () => {
  // Like RabbitMQ's rabbit_reader (FRAME_SIZE_FUDGE = 8): the limit applies to the payload size,
  // so a payload may reach frameMax itself, 8 bytes more than a frame of frameMax octets carries.
  const FRAME_MAX = 100;
  const exact = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(FRAME_MAX - 8, 1) });
  const ok = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(FRAME_MAX, 1) });
  const big = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(FRAME_MAX + 1, 2) });

  it('accepts a frame of exactly frameMax bytes, and a payload of frameMax bytes (RabbitMQ tolerance)', () => {
    expect(exact.length).toBe(FRAME_MAX);
    expect(feed(exact, [], FRAME_MAX)).toHaveLength(1);
    expect(feed(exact, [1, 7, 50], FRAME_MAX)).toHaveLength(1);
    expect(feed(ok, [], FRAME_MAX)).toHaveLength(1);
    expect(feed(ok, [1, 7, 50], FRAME_MAX)).toHaveLength(1);
  });

  it('a payload one byte over frameMax arriving whole → FrameError 501', () => {
    const e = expectFrameError501(() => collector().reader(FRAME_MAX).push(big));
    expect(e.message).toContain(`frame_too_large,${FRAME_MAX + 1},${FRAME_MAX - 8}`);
  });

  it('frames before the oversized one in the same chunk are still delivered', () => {
    const c = collector();
    expectFrameError501(() => c.reader(FRAME_MAX).push(Buffer.concat([ok, ok, big])));
    expect(c.frames).toHaveLength(2);
  });

  it('a split oversized frame fails as soon as its header is complete, wherever it is cut', () => {
    const data = Buffer.concat([ok, big]);
    for (let cut = 1; cut < data.length; cut++) {
      const c = collector();
      const r = c.reader(FRAME_MAX);
      const first = data.subarray(0, cut);
      if (cut >= ok.length + 7) {
        expectFrameError501(() => r.push(first));
      } else {
        r.push(first);
        expectFrameError501(() => r.push(data.subarray(cut)));
      }
      // The good frame before it is always delivered, in the first chunk or the second.
      expect(c.frames).toHaveLength(1);
    }
  });

  it('byte by byte, the oversized frame fails on its 7th byte', () => {
    const r = collector().reader(FRAME_MAX);
    for (let i = 0; i < 6; i++) r.push(big.subarray(i, i + 1));
    expectFrameError501(() => r.push(big.subarray(6, 7)));
  });

  it('frameMax 0 means unlimited', () => {
    const huge = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(1 << 20, 7) });
    for (const cuts of [[], [3], [7], [100, 500000], [huge.length - 1]]) {
      const frames = feed(huge, cuts, 0);
      expect(frames).toHaveLength(1);
      expect(frames[0]!.payload.equals(huge.subarray(7, -1))).toBe(true);
    }
  });

  it('frameMax can be lowered after tuning', () => {
    const c = collector();
    const r = c.reader(0);
    r.push(big);
    r.frameMax = FRAME_MAX;
    expectFrameError501(() => r.push(big));
    expect(c.frames).toHaveLength(1);
  });
});

describe('FrameReader: end octet', () => {
  const good = frameBytes({ type: 1, channel: 5, payload: hex('000a0033') });
  const bad = frameBytes({ type: 1, channel: 5, payload: hex('000a0033') }, 0x00);

  it('a wrong end octet in a whole chunk → FrameError 501', () => {
    const e = expectFrameError501(() => collector().reader().push(bad));
    expect(e.message).toContain('frame_end');
  });

  it('a wrong end octet after good frames in the same chunk', () => {
    const c = collector();
    expectFrameError501(() => c.reader().push(Buffer.concat([good, good, bad])));
    expect(c.frames).toHaveLength(2);
  });

  it('a wrong end octet, split at every point → FrameError 501 on the chunk that carries it', () => {
    const data = Buffer.concat([good, bad]);
    for (let cut = 1; cut < data.length; cut++) {
      const c = collector();
      const r = c.reader();
      r.push(data.subarray(0, cut));
      expectFrameError501(() => r.push(data.subarray(cut)));
      expect(c.frames).toHaveLength(1);
    }
  });

  it('a wrong end octet, one byte at a time', () => {
    const c = collector();
    const r = c.reader();
    for (let i = 0; i < bad.length - 1; i++) r.push(bad.subarray(i, i + 1));
    expectFrameError501(() => r.push(bad.subarray(bad.length - 1)));
    expect(c.frames).toHaveLength(0);
  });

  it('the last octet is checked, not just any 0xce in the payload', () => {
    const tricky = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(10, 0xce) }, 0xcf);
    expectFrameError501(() => collector().reader().push(tricky));
    const fine = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(10, 0xce) });
    expect(feed(fine, [5, 17])).toHaveLength(1);
  });
});

describe('holding frames back (a connection blocked by a resource alarm)', () => {
  const frameArb = fc.record({
    type: fc.constantFrom(1, 2, 3, 8),
    channel: fc.integer({ min: 0, max: 3 }),
    payload: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  });
  it('stops after the frame that set `held`, keeps every later byte, and hands them out in order on release()', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 12 }), fc.nat(), fc.array(fc.nat(), { maxLength: 6 }), (frames, holdAfter, rawCuts) => {
        const data = Buffer.concat(frames.map((f) => frameBytes(f)));
        const cuts = [...new Set(rawCuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const got: Frame[] = [];
        const k = holdAfter % frames.length;
        const r: FrameReader = new FrameReader({
          onFrame(type, channel, buf, start, end) {
            got.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) });
            if (got.length === k + 1) r.held = true;
          },
        });
        let prev = 0;
        for (const at of [...cuts, data.length]) {
          r.push(data.subarray(prev, at));
          prev = at;
        }
        expect(got.length).toBe(k + 1);
        r.release();
        expect(hexFrames(got)).toEqual(hexFrames(frames));
        expect(r.partial).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('FrameReader: body frames filled in place (fast-check)', () => {
  /**
   * A socket that honours nextReadBuffer: each read of at most `size` bytes goes where the
   * reader asks, and the shared buffer is scribbled over after every push, so a frame
   * handed out from a view the reader should have copied would show.
   */
  function feedLikeSocket(data: Buffer, reads: number[], accept: (i: number) => boolean): { frames: Frame[]; inPlace: number; lent: number } {
    const frames: Frame[] = [];
    let targets = 0;
    let inPlace = 0;
    const handed = new Set<Buffer>();
    const r = new FrameReader({
      onFrame(type, channel, buf, start, end) {
        if (handed.has(buf)) inPlace++;
        frames.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) });
      },
      bodyTarget(_channel, size) {
        if (!accept(targets++)) return null;
        // Like a body: a bigger buffer, the frame's part of it in the middle.
        const t = Buffer.alloc(size + 16, 0x55).subarray(8, 8 + size);
        handed.add(t);
        return t;
      },
    });
    const shared = Buffer.alloc(64 * 1024);
    let off = 0;
    let lent = 0;
    for (let i = 0; off < data.length; i++) {
      const into = r.nextReadBuffer(shared);
      if (into !== shared) lent++;
      const n = Math.min(reads[i % reads.length]!, into.length, data.length - off);
      data.copy(into, 0, off, off + n);
      off += n;
      r.push(into, n);
      shared.fill(0xee);
    }
    expect(r.partial).toBe(false);
    return { frames, inPlace, lent };
  }

  const bigFrameArb: fc.Arbitrary<Frame> = fc.oneof(
    frameArb,
    fc.record({
      type: fc.constant(3),
      channel: fc.integer({ min: 1, max: 3 }),
      payload: fc.integer({ min: 1, max: 40000 }).chain((n) => fc.integer({ min: 0, max: 255 }).map((v) => Buffer.alloc(n, v).fill(v + 1, n >> 1))),
    }),
  );

  it('any read sizes, any body frames accepted or refused: the same frames as the whole input', () => {
    const input = fc.tuple(
      fc.array(bigFrameArb, { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
    );
    fc.assert(
      fc.property(input, ([frames, reads, accepts]) => {
        const data = Buffer.concat(frames.map((f) => frameBytes(f)));
        const got = feedLikeSocket(data, reads, (i) => accepts[i % accepts.length]!);
        expect(hexFrames(got.frames)).toEqual(hexFrames(frames));
      }),
      { numRuns: 200 },
    );
  });

  it('a 1 MiB body in 128 KiB frames, read 64 KiB at a time: most of it is read straight into place', () => {
    const frames: Frame[] = [];
    for (let i = 0; i < 8; i++) frames.push({ type: 3, channel: 1, payload: Buffer.alloc(131064, i + 1) });
    const data = Buffer.concat(frames.map((f) => frameBytes(f)));
    const got = feedLikeSocket(data, [65536], () => true);
    expect(hexFrames(got.frames)).toEqual(hexFrames(frames));
    expect(got.inPlace).toBe(8);
    expect(got.lent).toBeGreaterThanOrEqual(8);
  });

  it('a wrong end octet after a body filled in place → FrameError 501 naming the frame', () => {
    const bad = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(20000, 7) }, 0x00);
    const r = new FrameReader({ onFrame() {}, bodyTarget: (_c, size) => Buffer.alloc(size) });
    r.push(bad, 100);
    const lent = r.nextReadBuffer(Buffer.alloc(65536));
    expect(lent.length).toBe(20000 - 93);
    bad.copy(lent, 0, 100, bad.length - 1);
    r.push(lent, lent.length);
    const e = expectFrameError501(() => r.push(bad.subarray(bad.length - 1)));
    expect(e.message).toContain('type 3, first 16 octets = <<7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7>>: {invalid_frame_end_marker,0}');
  });
});
