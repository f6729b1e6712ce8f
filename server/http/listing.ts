import { Readable } from 'node:stream';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { HttpError, badRequest } from './errors.js';

/**
 * Lists as the management plugin serves them (rabbit_mgmt_util): sorted by `sort` then the
 * default keys, `sort_reverse`, paged by `page` and `page_size` (with `name` and
 * `use_regex` filtering only a paged list), trimmed to `columns`. Building and writing a
 * long list happens in slices with a yield to the event loop between them, so listing
 * 10,000 queues does not stall message flow.
 */

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;
/** Objects formatted, or serialised, per slice before yielding. */
const SLICE = 256;

export type Json = Record<string, unknown>;

export interface ListQuery {
  page: number | null;
  pageSize: number;
  name: string | null;
  useRegex: boolean;
  /** null: not given; '' : given empty (no sorting at all). */
  sort: string | null;
  sortReverse: boolean;
  /** Column paths, e.g. [['name'], ['message_stats', 'publish_details']]; null: all. */
  columns: string[][] | null;
  disableStats: boolean;
}

export type Query = Record<string, string | string[] | undefined>;

function one(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Reads the list parameters, with the plugin's errors for bad paging. Lists the plugin
 * does not page (reply_list rather than reply_list_or_paginate: users, permissions,
 * parameters, limits) ignore `page` and `page_size` (paged: false).
 */
export function listQuery(q: Query, paged = true): ListQuery {
  const pageRaw = paged ? one(q, 'page') : undefined;
  const sizeRaw = paged ? one(q, 'page_size') : undefined;
  const page = parseInteger(pageRaw);
  const size = parseInteger(sizeRaw);
  if (page === 'bad' || size === 'bad') throw badRequest('Pagination parameters are invalid');
  let pageSize = DEFAULT_PAGE_SIZE;
  if (page !== null) {
    const badSize = size !== null && (size <= 0 || size > MAX_PAGE_SIZE);
    if (page <= 0 || badSize) {
      throw new HttpError(
        400,
        'invalid_pagination_parameters',
        `Invalid pagination parameters: page number ${page}, page size ${size === null ? 'undefined' : size}`,
      );
    }
    if (size !== null) pageSize = size;
  }
  const cols = one(q, 'columns');
  return {
    page,
    pageSize,
    name: one(q, 'name') ?? null,
    useRegex: one(q, 'use_regex') === 'true',
    sort: one(q, 'sort') ?? null,
    sortReverse: one(q, 'sort_reverse') === 'true',
    columns: cols === undefined ? null : parseColumns(cols),
    disableStats: one(q, 'disable_stats') === 'true',
  };
}

function parseInteger(v: string | undefined): number | null | 'bad' {
  if (v === undefined) return null;
  return /^-?\d+$/.test(v) ? Number(v) : 'bad';
}

function parseColumns(v: string): string[][] {
  return v
    .split(',')
    .filter((c) => c !== '')
    .map((c) => c.split('.').filter((p) => p !== ''))
    .filter((p) => p.length > 0);
}

/** Keeps only the wanted columns of an object (and of each object in a list), as extract_column_items. */
export function pickColumns(item: unknown, cols: string[][] | null): unknown {
  if (cols === null) return item;
  if (Array.isArray(item)) return item.map((i) => pickColumns(i, cols));
  if (item === null || typeof item !== 'object') return item;
  const out: Json = {};
  for (const [k, v] of Object.entries(item as Json)) {
    if (!cols.some((c) => c[0] === k)) continue;
    out[k] = pickColumns(v, descend(k, cols));
  }
  return out;
}

function descend(key: string, cols: string[][]): string[][] | null {
  const rest: string[][] = [];
  for (const c of cols) {
    if (c[0] !== key) continue;
    if (c.length === 1) return null;
    rest.push(c.slice(1));
  }
  return rest;
}

// Erlang term order, which the plugin's sort uses: numbers < atoms (booleans, null) < maps < lists < binaries.
function rank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'boolean' || v === null) return 1;
  if (Array.isArray(v)) return 3;
  if (typeof v === 'object') return 2;
  return 4;
}

export function compareTerms(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return (a as number) - (b as number);
  if (ra === 1 || ra === 4) {
    const sa = String(a);
    const sb = String(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return 0;
}

function dotted(item: Json, path: string): unknown {
  let v: unknown = item;
  const keys = path.split('.').filter((k) => k !== '');
  for (let i = 0; i < keys.length; i++) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return i === keys.length - 1 ? 0 : [];
    const next = (v as Json)[keys[i]!];
    // A missing value sorts first ("nothing usually means 0").
    v = next === undefined ? (i === keys.length - 1 ? 0 : []) : next;
  }
  return v;
}

interface Row<T> {
  readonly o: T;
  /** What sorting and filtering read: the cheap key fields, or the whole formatted object. */
  k: Json;
  /** The formatted object, once made. */
  full: Json | null;
}

function sortRows<T>(rows: Row<T>[], keys: readonly string[], reverse: boolean): Row<T>[] {
  const keyed = rows.map((row) => ({ row, key: keys.map((k) => dotted(row.k, k)) }));
  keyed.sort((x, y) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareTerms(x.key[i], y.key[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  const out = keyed.map((k) => k.row);
  return reverse ? out.reverse() : out;
}

function nameFilter(name: string | null, useRegex: boolean): ((s: string) => boolean) | null {
  if (name === null || name === '') return null;
  if (!useRegex) {
    const needle = name.toLowerCase();
    return (s) => s.toLowerCase().includes(needle);
  }
  let re: RegExp;
  try {
    re = new RegExp(name, 'i');
  } catch {
    throw badRequest(`invalid regular expression: ${name}`);
  }
  return (s) => re.test(s);
}

/** How one kind of object is listed. */
export interface ListSpec<T> {
  /** The whole object as the API shows it; stats=false leaves out statistics (disable_stats). */
  format(o: T, stats: boolean): Json | null;
  /**
   * The fields the default sort and the name filter read, cheap to make; when a request
   * sorts on anything else, every object is formatted whole first (the plugin does the same).
   */
  key?(o: T): Json;
  defaultSort: readonly string[];
}

/**
 * A list reply, sorted, filtered, paged and trimmed, as a stream of JSON text. Objects are
 * formatted a slice at a time with a yield to the event loop between slices, and, unless
 * the sort needs them, only those on the page are formatted at all.
 */
export async function listBody<T>(objects: Iterable<T>, spec: ListSpec<T>, q: ListQuery): Promise<Readable> {
  const stats = !q.disableStats;
  const keyOf = spec.key ?? ((o: T) => spec.format(o, stats));
  let rows: Row<T>[] = [];
  let n = 0;
  for (const o of objects) {
    const k = keyOf(o);
    if (k !== null) rows.push({ o, k, full: spec.key === undefined ? k : null });
    if (++n % SLICE === 0) await yieldTurn();
  }
  const total = rows.length;
  if (q.sort !== '') {
    const keys = q.sort === null ? spec.defaultSort : [q.sort, ...spec.defaultSort];
    const sample = rows[0]?.k;
    if (sample !== undefined && spec.key !== undefined && !keys.every((k) => k.split('.')[0]! in sample)) {
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        row.k = row.full = spec.format(row.o, stats) ?? {};
        if ((i + 1) % SLICE === 0) await yieldTurn();
      }
    }
    rows = sortRows(rows, keys, q.sortReverse);
  }
  const format = (row: Row<T>): Json | null => row.full ?? spec.format(row.o, stats);
  if (q.page === null) return jsonArrayStream(rows, format, q.columns, '', '');
  const test = nameFilter(q.name, q.useRegex);
  const filtered = test === null ? rows : rows.filter((r) => typeof r.k['name'] === 'string' && test(r.k['name']));
  const size = q.pageSize;
  const start = (q.page - 1) * size;
  if (start > filtered.length) {
    throw new HttpError(400, 'page_out_of_range', `Page out of range, page: ${q.page} page size: ${size}, len: ${filtered.length}`);
  }
  const page = filtered.slice(start, start + size);
  const head = `{"filtered_count":${filtered.length},"item_count":${page.length},"items":`;
  const tail = `,"page":${q.page},"page_count":${Math.ceil(filtered.length / size)},"page_size":${size},"total_count":${total}}`;
  return jsonArrayStream(page, format, q.columns, head, tail);
}

function jsonArrayStream<T>(rows: Row<T>[], format: (r: Row<T>) => Json | null, cols: string[][] | null, head: string, tail: string): Readable {
  let i = 0;
  let scheduled = false;
  const stream = new Readable({
    read() {
      if (scheduled || i > rows.length) return;
      scheduled = true;
      // Each slice is formatted and serialised in its own turn of the event loop.
      setImmediate(next);
    },
  });
  const next = (): void => {
    scheduled = false;
    let chunk = i === 0 ? `${head}[` : '';
    const end = Math.min(rows.length, i + SLICE);
    for (let j = i; j < end; j++) {
      const row = rows[j]!;
      chunk += (j > 0 ? ',' : '') + JSON.stringify(pickColumns(format(row), cols));
      row.full = null;
    }
    i = end;
    if (i === rows.length) {
      chunk += `]${tail}`;
      i++;
    }
    const more = stream.push(chunk);
    if (i > rows.length) stream.push(null);
    else if (more) {
      scheduled = true;
      setImmediate(next);
    }
  };
  return stream;
}
