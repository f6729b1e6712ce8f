// warren ctl's printing, on its own: values as rabbitmqctl prints Erlang terms, the four
// formatters (with their empty-list and header rules), column choice, and how an import is
// cut into slices.
import { describe, expect, test } from 'vitest';
import { pickColumns, QUEUE_COLUMNS, sortKeys, UnknownColumns } from '../../../server/cli/ctl/columns.js';
import { slices } from '../../../server/cli/ctl/definitions-commands.js';
import { Output, type Column, type OutputOptions } from '../../../server/cli/ctl/output.js';
import { CtlError, EXIT } from '../../../server/cli/ctl/transport.js';
import { erlString, erlTable, jsonCell, textCell } from '../../../server/cli/ctl/values.js';

describe('values', () => {
  test('AMQP tables print as rabbitmqctl prints them: sorted {"key",value} tuples', () => {
    expect(erlTable({ 'x-max-length': 10, 'x-dead-letter-exchange': 'dlx', 'x-flag': true, 'x-ratio': 1.5 })).toBe(
      '[{"x-dead-letter-exchange","dlx"},{"x-flag",true},{"x-max-length",10},{"x-ratio",1.5}]',
    );
    expect(erlTable({})).toBe('[]');
    expect(textCell('table', { nested: { b: 'x', a: [1, 'two'] } })).toBe('[{"nested",[{"a",[1,"two"]},{"b","x"}]}]');
    expect(erlTable({ z: 1, a: 2 }, false)).toBe('[{"z",1},{"a",2}]');
    expect(erlString('say "hi"\\\n\t')).toBe('"say \\"hi\\"\\\\\\n\\t"');
  });

  test('names, protocol, node states, JSON text, plain values', () => {
    expect(textCell('names', ['administrator', 'monitoring'])).toBe('[administrator, monitoring]');
    expect(textCell('names', 'a,b')).toBe('[a, b]');
    expect(textCell('names', [])).toBe('[]');
    expect(textCell('protocol', 'AMQP 0-9-1')).toBe('{0,9,1}');
    expect(textCell('nodeStates', { 'rabbit@h': 'running' })).toBe('[{rabbit@h, running}]');
    expect(textCell('json', { 'max-length': 5 })).toBe('{"max-length":5}');
    expect(textCell('plain', undefined)).toBe('');
    expect(textCell('plain', false)).toBe('false');
    expect(sortKeys({ b: 1, a: { d: 1, c: 2 } })).toEqual({ a: { c: 2, d: 1 }, b: 1 });
  });

  test('the JSON formatter gives tables as [key, type, value] with the types the management API assigns', () => {
    expect(jsonCell('table', { s: 'x', i: 3, f: 0.5, b: false, t: { k: 'v' }, a: ['x', 1] })).toEqual([
      ['a', 'array', [['longstr', 'x'], ['long', 1]]],
      ['b', 'bool', false],
      ['f', 'double', 0.5],
      ['i', 'long', 3],
      ['s', 'longstr', 'x'],
      ['t', 'table', [['k', 'longstr', 'v']]],
    ]);
    expect(jsonCell('json', { a: 1 })).toBe('{"a":1}');
    expect(jsonCell('names', 'x,y')).toEqual(['x', 'y']);
    expect(jsonCell('plain', undefined)).toBe('');
  });
});

function capture(opts: Partial<OutputOptions>): { o: Output; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const o = new Output({ formatter: 'table', quiet: false, silent: false, tableHeaders: true, ...opts }, { write: (t) => void (out += t) }, { write: (t) => void (err += t) });
  return { o, out: () => out, err: () => err };
}

const COLS: Column[] = [
  { name: 'name', kind: 'plain', get: (x) => x['name'] },
  { name: 'arguments', kind: 'table', get: (x) => x['arguments'] },
];
const ROWS = [
  { name: 'q1', arguments: { 'x-max-length': 1 } },
  { name: 'q,"2"', arguments: {} },
];

function listed(opts: Partial<OutputOptions>, rows: Record<string, unknown>[][], blank = false): string {
  const c = capture(opts);
  c.o.banner('Listing queues ...');
  const w = c.o.list(COLS, blank);
  for (const page of rows) w.rows(page);
  w.end();
  c.o.flush(); // as the command runner does when a command ends well
  return c.out();
}

describe('formatters', () => {
  test('table: the banner, a header line, tab-separated rows; -q drops the banner, -s the header too', () => {
    expect(listed({}, [ROWS])).toBe('Listing queues ...\nname\targuments\nq1\t[{"x-max-length",1}]\nq,"2"\t[]\n');
    expect(listed({ quiet: true }, [ROWS])).toBe('name\targuments\nq1\t[{"x-max-length",1}]\nq,"2"\t[]\n');
    expect(listed({ silent: true }, [ROWS])).toBe('q1\t[{"x-max-length",1}]\nq,"2"\t[]\n');
    expect(listed({ tableHeaders: false }, [ROWS])).toBe('Listing queues ...\nq1\t[{"x-max-length",1}]\nq,"2"\t[]\n');
  });

  test('pages arrive one after another and print as one list; an empty list is nothing, or an empty line', () => {
    expect(listed({}, [[ROWS[0]!], [], [ROWS[1]!]])).toBe('Listing queues ...\nname\targuments\nq1\t[{"x-max-length",1}]\nq,"2"\t[]\n');
    expect(listed({}, [[]])).toBe('Listing queues ...\n');
    expect(listed({}, [[]], true)).toBe('Listing queues ...\n\n');
  });

  test('json: rabbitmqctl\'s streamed array, one object a line; no banner', () => {
    expect(listed({ formatter: 'json' }, [ROWS])).toBe('[\n{"name":"q1","arguments":[["x-max-length","long",1]]}\n,{"name":"q,\\"2\\"","arguments":[]}\n]\n');
    expect(listed({ formatter: 'json' }, [[]])).toBe('[\n]\n');
    expect(listed({ formatter: 'json' }, [[]], true)).toBe('[]\n');
  });

  test('csv: quoted cells, quotes doubled; no banner', () => {
    expect(listed({ formatter: 'csv' }, [ROWS])).toBe('"name","arguments"\n"q1","[{""x-max-length"",1}]"\n"q,""2""","[]"\n');
  });

  test('pretty_table: a drawn table (cli-table3) under the banner', () => {
    expect(listed({ formatter: 'pretty_table' }, [ROWS])).toBe(
      'Listing queues ...\n┌───────┬──────────────────────┐\n│ name  │ arguments            │\n├───────┼──────────────────────┤\n│ q1    │ [{"x-max-length",1}] │\n├───────┼──────────────────────┤\n│ q,"2" │ []                   │\n└───────┴──────────────────────┘\n',
    );
  });

  test('a banner waits for the broker: an unreachable one prints only the error', () => {
    const c = capture({});
    c.o.banner('Listing queues ...');
    c.o.error(new CtlError('unable to perform an operation on X', EXIT.unavailable, false, 'connect'));
    expect(c.out()).toBe('');
    expect(c.err()).toBe('Error: unable to perform an operation on X\n');
    const d = capture({});
    d.o.banner('Deleting user "u" ...');
    d.o.error(new CtlError('User "u" does not exist', EXIT.nouser));
    expect(d.out()).toBe('Deleting user "u" ...\n');
    expect(d.err()).toBe('Error:\nUser "u" does not exist\n');
    const e = capture({});
    e.o.error(new CtlError("Virtual host 'v' does not exist", EXIT.dataerr, true));
    expect(e.err()).toBe("Virtual host 'v' does not exist\n");
    const j = capture({ formatter: 'json' });
    j.o.error(new CtlError('boom', EXIT.unavailable));
    expect(j.err()).toBe('{"result":"error","message":"boom"}\n');
  });
});

describe('columns', () => {
  test('defaults, names given apart or comma-separated, unknown names refused', () => {
    expect(pickColumns(QUEUE_COLUMNS, []).map((c) => c.name)).toEqual(['name', 'messages']);
    expect(pickColumns(QUEUE_COLUMNS, ['name,durable', 'policy']).map((c) => c.name)).toEqual(['name', 'durable', 'policy']);
    expect(() => pickColumns(QUEUE_COLUMNS, ['name', 'bogus', 'worse'])).toThrow(new UnknownColumns(['bogus', 'worse'], QUEUE_COLUMNS));
    expect(() => pickColumns(QUEUE_COLUMNS, ['bogus'])).toThrow('Info key(s) bogus are not supported');
  });
});

describe('import slices', () => {
  test("sections in RabbitMQ's import order, at most 200 entries a slice, the header keys in the first", () => {
    const defs = {
      rabbit_version: '3.10.8',
      bindings: [{ source: 'x' }],
      queues: Array.from({ length: 450 }, (_, i) => ({ name: `q${i}` })),
      users: [{ name: 'u' }],
      vhosts: [{ name: 'v' }],
    };
    const s = slices(defs);
    expect(s.map((p) => [p.section, p.entries])).toEqual([
      ['users', 1],
      ['vhosts', 1],
      ['queues', 200],
      ['queues', 200],
      ['queues', 50],
      ['bindings', 1],
    ]);
    expect(s[0]!.body).toEqual({ users: [{ name: 'u' }], rabbit_version: '3.10.8' });
    expect((s[4]!.body['queues'] as { name: string }[])[0]).toEqual({ name: 'q400' });
    expect(slices({ rabbit_version: '3.10.8' })).toEqual([{ section: 'header', entries: 0, body: { rabbit_version: '3.10.8' } }]);
  });
});
