import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnackedDeliveries } from '../../../server/connection/unacked-deliveries.js';
import type { QueueEntry } from '../../../server/queue/message.js';

type Op = { kind: 'push'; gap: number } | { kind: 'delete'; pick: number } | { kind: 'get'; pick: number } | { kind: 'multi'; pick: number } | { kind: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), gap: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('multi' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

/** A stand-in entry: only identity matters to the structure. */
const entry = (tag: number): QueueEntry => ({ deliveryTag: tag }) as QueueEntry;

describe('UnackedDeliveries', () => {
  it('behaves as a tag-ordered map under any mix of deliveries and acks (a Map is the model)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const ring = new UnackedDeliveries();
        const model = new Map<number, QueueEntry>();
        let tag = 0;
        // Tags asked about: live ones, settled ones and ones never given.
        const someTag = (pick: number): number => (tag === 0 ? pick : pick % (tag + 2));
        for (const o of ops) {
          switch (o.kind) {
            case 'push': {
              tag += o.gap; // no-ack deliveries take tags too, so tags can skip
              const e = entry(tag);
              ring.push(tag, e);
              model.set(tag, e);
              break;
            }
            case 'delete': {
              const t = someTag(o.pick);
              ring.delete(t);
              model.delete(t);
              break;
            }
            case 'get': {
              const t = someTag(o.pick);
              expect(ring.get(t)).toBe(model.get(t));
              break;
            }
            case 'multi': {
              // basic.ack multiple: everything up to a tag, oldest first, then settled.
              const t = someTag(o.pick);
              const got: QueueEntry[] = [];
              ring.collectUpTo(t, got);
              expect(got).toEqual([...model.entries()].filter(([k]) => k <= t).map(([, e]) => e));
              for (const e of got) {
                ring.delete(e.deliveryTag);
                model.delete(e.deliveryTag);
              }
              break;
            }
            case 'clear':
              ring.clear();
              model.clear();
              break;
          }
          expect(ring.size).toBe(model.size);
          expect(ring.oldest()).toBe(model.values().next().value);
        }
        expect(ring.toArray()).toEqual([...model.values()]);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps its storage to the deliveries held when one stays unacked and thousands after it are acked', () => {
    const ring = new UnackedDeliveries();
    const first = entry(1);
    ring.push(1, first);
    for (let t = 2; t < 100_000; t++) {
      ring.push(t, entry(t));
      ring.delete(t);
    }
    expect(ring.size).toBe(1);
    expect(ring.oldest()).toBe(first);
    // The holes were squeezed out: the arrays hold a bounded number of slots, not 100k.
    expect((ring as unknown as { items: unknown[] }).items.length).toBeLessThan(200);
  });
});
