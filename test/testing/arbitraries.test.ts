// warren/testing's arbitraries generate what they promise: keys and patterns over their
// vocabulary, header tables of every AMQP field type that survive the wire as amqplib
// encodes them, topologies that load, and messages that mostly reach somewhere.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { erlTypeAtom } from '../../amqp/erl-term.js';
import { Reader } from '../../amqp/reader.js';
import { readTable } from '../../amqp/table.js';
import { canonicalTable, Topology, type FieldValue } from '../../routing/index.js';
import { arb, expectedOutcome, toAmqplibTable } from '../../testing/index.js';
import { amqplibTable } from '../amqp/helpers.js';

describe('keys and patterns', () => {
  it('are made of the given words (topic patterns add * and #)', () => {
    fc.assert(
      fc.property(arb.routingKey({ words: ['x', 'y'], maxWords: 3 }), arb.topicPattern({ words: ['x'] }), (k, p) => {
        expect(k === '' || k.split('.').every((w) => ['x', 'y', ''].includes(w))).toBe(true);
        expect(k === '' || k.split('.').length <= 3).toBe(true);
        expect(p === '' || p.split('.').every((w) => ['x', '', '*', '#'].includes(w))).toBe(true);
      }),
    );
  });
});

describe('header tables', () => {
  it('cover every AMQP field type', () => {
    const seen = new Set<string>();
    const visit = (v: FieldValue): void => {
      seen.add(erlTypeAtom(v));
      if (Array.isArray(v)) v.forEach(visit);
    };
    fc.assert(
      fc.property(arb.fieldValue({ depth: 1 }), (v) => {
        visit(v);
      }),
      { numRuns: 3000 },
    );
    expect([...seen].sort()).toEqual(
      ['array', 'binary', 'bool', 'byte', 'decimal', 'double', 'float', 'long', 'longstr', 'short', 'signedint', 'table', 'timestamp', 'unsignedbyte', 'unsignedint', 'unsignedshort', 'void'].sort(),
    );
  });

  it('cross the wire unchanged when published with amqplib (toAmqplibTable)', () => {
    fc.assert(
      fc.property(arb.headerTable({ maxKeys: 5 }), fc.dictionary(fc.constantFrom('a', 'b'), arb.fieldValue({ depth: 2 })), (h, deep) => {
        const table = { ...h, deep };
        const decoded = readTable(new Reader(amqplibTable(toAmqplibTable(table))));
        expect(canonicalTable(decoded)).toBe(canonicalTable(table));
      }),
      { numRuns: 500 },
    );
  });
});

describe('topologies and messages', () => {
  it('load, and most messages for them reach a queue', () => {
    let routed = 0;
    let total = 0;
    fc.assert(
      fc.property(arb.topologyDefinitions({ maxExchanges: 4 }).chain((d) => fc.tuple(fc.constant(d), arb.messages(Topology.fromDefinitions(d)))), ([defs, msgs]) => {
        const t = Topology.fromDefinitions(defs);
        expect(t.queues().length).toBeGreaterThan(0);
        for (const m of msgs) {
          const o = expectedOutcome(t, m);
          // Without `refused`, the broker accepts every generated message.
          expect('error' in o).toBe(false);
          total++;
          if ('queues' in o && o.queues.length > 0) routed++;
        }
      }),
      { numRuns: 300 },
    );
    expect(routed / total).toBeGreaterThan(0.2);
  });

  it('scenarios print as replayable JSON and give a fresh topology each time', () => {
    const [s] = fc.sample(arb.scenario(), { numRuns: 1, seed: 42 });
    expect(s!.topology).not.toBe(s!.topology);
    const printed = fc.stringify(s);
    expect(JSON.parse(printed)).toMatchObject({ definitions: { exchanges: expect.any(Array) }, messages: expect.any(Array) });
    const [t] = fc.sample(arb.topology(), { numRuns: 1, seed: 7 });
    expect(fc.stringify(t)).toMatch(/^Topology\.fromDefinitions\(\{/);
  });
});
