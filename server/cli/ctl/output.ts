import { readFileSync } from 'node:fs';
import Table from 'cli-table3';
import { CtlError } from './transport.js';
import { jsonCell, textCell, type Kind } from './values.js';

/** rabbitmqctl's formatters that `warren ctl` has. */
export const FORMATTERS = ['table', 'json', 'pretty_table', 'csv'] as const;
export type Formatter = (typeof FORMATTERS)[number];

export interface OutputOptions {
  formatter: Formatter;
  /** -q: no banners or informational lines. */
  quiet: boolean;
  /** -s: -q, and no table header either. */
  silent: boolean;
  /** false with --no-table-headers. */
  tableHeaders: boolean;
}

/** A column of a listing: its rabbitmqctl name, how its value prints, where it is in the API's object. */
export interface Column {
  name: string;
  kind: Kind;
  get(o: Record<string, unknown>): unknown;
  /** The API's top-level fields it reads (for the `columns` query), when known. */
  fields?: string[];
}

export interface Sink {
  write(text: string): void;
}

export const stdoutSink: Sink = { write: (t) => void process.stdout.write(t) };
export const stderrSink: Sink = { write: (t) => void process.stderr.write(t) };

/** Where `warren ctl` reads and writes: the process's own streams, or a test's. */
export interface CtlIo {
  out: Sink;
  err: Sink;
  /** Standard input's text (a password, definitions), or null on a terminal. */
  readStdin(): string | null;
  /** The stream a progress bar may draw on, when it is a terminal. */
  progress: NodeJS.WritableStream | null;
  /** Ends the command at once with this exit code (commander's usage errors). */
  exit(code: number): never;
  /** The command finished with this exit code. */
  done(code: number): void;
}

export const processIo: CtlIo = {
  out: stdoutSink,
  err: stderrSink,
  readStdin: () => (process.stdin.isTTY ? null : readFileSync(0, 'utf8')),
  progress: process.stderr.isTTY ? process.stderr : null,
  exit: (code) => process.exit(code),
  done: (code) => {
    process.exitCode = code;
  },
};

/**
 * What a command prints, in rabbitmqctl's shapes: a banner ("Listing queues for vhost / ..."),
 * then the result: tab-separated rows under a header line by default, or JSON, CSV or a
 * drawn table. Banners go to stdout, as rabbitmqctl's do; `-q` drops them, and the JSON and
 * CSV formatters never print them.
 */
export class Output {
  /** Banners wait for the broker's first answer: an unreachable broker gets no banner. */
  private pending: string[] = [];

  constructor(
    readonly opts: OutputOptions,
    private readonly out: Sink = stdoutSink,
    private readonly err: Sink = stderrSink,
  ) {}

  /** JSON and CSV are for programs: nothing but the data. */
  get machine(): boolean {
    return this.opts.formatter === 'json' || this.opts.formatter === 'csv';
  }

  private get chatty(): boolean {
    return !this.opts.quiet && !this.opts.silent && !this.machine;
  }

  banner(text: string): void {
    if (this.chatty) this.pending.push(text + '\n');
  }

  /** Prints the banners held so far. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.out.write(text);
  }

  /** A line that is not the result ("Done. Don't forget to grant ..."). */
  info(text: string): void {
    if (this.chatty) this.write(text + '\n');
  }

  /** The result itself: printed whatever the options. */
  data(text: string): void {
    this.write(text.endsWith('\n') ? text : text + '\n');
  }

  /**
   * A listing written as pages arrive. `blankWhenEmpty`: rabbitmqctl prints an empty line
   * (JSON `[]`) for an empty list of some objects (policies, permissions, parameters) and
   * nothing at all (JSON `[` `]`) for the streamed ones (queues, connections, ...).
   */
  list(columns: Column[], blankWhenEmpty: boolean, header = true): ListWriter {
    return new ListWriter(this, columns, blankWhenEmpty, header && this.opts.tableHeaders && !this.opts.silent);
  }

  /** Writes raw text to stdout (for ListWriter). */
  write(text: string): void {
    this.flush();
    this.out.write(text);
  }

  error(e: CtlError | Error): void {
    if (e instanceof CtlError && e.unreached) this.pending = [];
    else this.flush();
    const message = e.message;
    if (this.opts.formatter === 'json') {
      this.err.write(JSON.stringify({ result: 'error', message }) + '\n');
      return;
    }
    if (e instanceof CtlError && e.unreached) this.err.write(`Error: ${message}\n`);
    else this.err.write(e instanceof CtlError && e.bare ? message + '\n' : `Error:\n${message}\n`);
  }
}

const csvQuote = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export class ListWriter {
  private count = 0;
  private readonly held: string[][] = [];

  constructor(
    private readonly output: Output,
    private readonly columns: Column[],
    private readonly blankWhenEmpty: boolean,
    private readonly header: boolean,
  ) {}

  private get formatter(): Formatter {
    return this.output.opts.formatter;
  }

  rows(objects: Record<string, unknown>[]): void {
    let text = '';
    for (const o of objects) {
      const first = this.count++ === 0;
      switch (this.formatter) {
        case 'json': {
          const row: Record<string, unknown> = {};
          for (const c of this.columns) row[c.name] = jsonCell(c.kind, c.get(o));
          text += (first ? '[\n' : ',') + JSON.stringify(row) + '\n';
          break;
        }
        case 'csv': {
          if (first) text += this.columns.map((c) => csvQuote(c.name)).join(',') + '\n';
          text += this.columns.map((c) => csvQuote(textCell(c.kind, c.get(o)))).join(',') + '\n';
          break;
        }
        case 'pretty_table':
          this.held.push(this.columns.map((c) => textCell(c.kind, c.get(o))));
          break;
        case 'table':
          if (first && this.header) text += this.columns.map((c) => c.name).join('\t') + '\n';
          text += this.columns.map((c) => textCell(c.kind, c.get(o))).join('\t') + '\n';
          break;
      }
    }
    if (text !== '') this.output.write(text);
  }

  end(): void {
    switch (this.formatter) {
      case 'json':
        if (this.count > 0) this.output.write(']\n');
        else this.output.write(this.blankWhenEmpty ? '[]\n' : '[\n]\n');
        return;
      case 'csv':
        return;
      case 'pretty_table': {
        const t = new Table({ head: this.columns.map((c) => c.name), style: { head: [], border: [] } });
        for (const r of this.held) t.push(r);
        this.output.write(t.toString() + '\n');
        return;
      }
      case 'table':
        if (this.count === 0 && this.blankWhenEmpty) this.output.write('\n');
    }
  }
}
