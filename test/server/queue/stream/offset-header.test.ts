// x-stream-offset spliced into encoded properties: the fast paths (no headers, an empty
// table) give the same bytes as decoding, adding the header and encoding again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readProperties, writeProperties, type BasicProperties } from '../../../../amqp/generated/properties.js';
import { Reader } from '../../../../amqp/reader.js';
import { long, type FieldTable } from '../../../../amqp/table.js';
import { Writer } from '../../../../amqp/writer.js';
import { withStreamOffset } from '../../../../server/queue/stream/offset-header.js';

const w = new Writer(1024);
const encode = (p: BasicProperties): Buffer => {
  writeProperties(w, p);
  return w.take();
};
const decode = (b: Buffer): BasicProperties => readProperties(new Reader().reset(b, 0, b.length));

describe('withStreamOffset', () => {
  it('adds x-stream-offset as a long, keeping every other property, sorted among other headers', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            contentType: fc.string({ maxLength: 20 }),
            contentEncoding: fc.string({ maxLength: 20 }),
            headers: fc.constantFrom<FieldTable>({}, { b: 'x', a: 1 }, { zz: 'last' }),
            deliveryMode: fc.constantFrom(1, 2),
            priority: fc.integer({ min: 0, max: 9 }),
            messageId: fc.string({ maxLength: 20 }),
          },
          { requiredKeys: [] },
        ),
        fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(2 ** 40 + 7)),
        (p, offset) => {
          const out = decode(withStreamOffset(encode(p), offset));
          const headers: FieldTable = { ...(p.headers ?? {}), 'x-stream-offset': long(offset) };
          const sorted: FieldTable = Object.fromEntries(Object.keys(headers).sort().map((k) => [k, headers[k]!]));
          expect(out).toEqual(decode(encode({ ...p, headers: sorted })));
          expect(Object.keys(out.headers!)).toEqual(Object.keys(sorted));
        },
      ),
    );
  });
});
