/** Compares two outcomes of one scenario: equal, equal but for deliberate differences, or different (with a short diff). */
import { DELIBERATE, stripDeliberate, type DeliberateDifference } from './deliberate.js';
import type { Event, Json, Outcome } from './types.js';

export type Verdict = 'match' | 'deliberate' | 'differ';

export interface Comparison {
  verdict: Verdict;
  /** Ids of the deliberate differences that were seen (and forgiven). */
  deliberate: string[];
  /** Readable lines, `path: expected ≠ actual`; empty unless verdict is 'differ'. */
  diff: string[];
}

const same = (a: Json, b: Json) => JSON.stringify(a) === JSON.stringify(b);

function short(v: Json | undefined, max = 140): string {
  if (v === undefined) return '(nothing)';
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Names an event by what it is, for diff paths: `#3 ch a closed`. */
function label(e: Event | undefined, i: number): string {
  if (e === undefined) return `#${i}`;
  const who = e['ch'] !== undefined ? `ch ${String(e['ch'])}` : e['conn'] !== undefined ? `conn ${String(e['conn'])}` : e['consumer'] !== undefined ? `consumer ${String(e['consumer'])}` : '';
  const what = e['op'] ?? (e['drain'] !== undefined ? `drain ${String(e['drain'])}` : undefined);
  return `#${i} ${who}${what !== undefined ? ` ${String(what)}` : ''}`.trim();
}

/** Paths at which two JSON values differ, deepest first reached, at most `limit`. */
function paths(a: Json | undefined, b: Json | undefined, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return;
  if (a !== undefined && b !== undefined && same(a, b)) return;
  const bothObjects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) {
    out.push(`${path}: ${short(a)} ≠ ${short(b)}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) paths(a[i], b[i], `${path}[${i}]`, out, limit);
    return;
  }
  const ao = a as { [k: string]: Json };
  const bo = b as { [k: string]: Json };
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])];
  for (const k of keys) paths(ao[k], bo[k], `${path}.${k}`, out, limit);
}

export function diffEvents(expected: Event[], actual: Event[], limit = 6): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length) && out.length < limit; i++) {
    const a = expected[i];
    const b = actual[i];
    if (a !== undefined && b !== undefined && same(a, b)) continue;
    if (a === undefined || b === undefined) {
      out.push(`${label(a ?? b, i)}: ${short(a)} ≠ ${short(b)}`);
      continue;
    }
    const before = out.length;
    paths(a, b, '', out, limit);
    for (let j = before; j < out.length; j++) out[j] = `${label(a, i)} › ${out[j]!.slice(1)}`;
  }
  return out;
}

/** `expected` is the reference (RabbitMQ), `actual` the broker under test. */
export function compare(expected: Outcome, actual: Outcome, rules: readonly DeliberateDifference[] = DELIBERATE): Comparison {
  if (same(expected.events, actual.events)) return { verdict: 'match', deliberate: [], diff: [] };
  const deliberate = rules.filter((r) => !same(r.strip(expected.events), expected.events) || !same(r.strip(actual.events), actual.events)).map((r) => r.id);
  const e = stripDeliberate(expected.events, rules);
  const a = stripDeliberate(actual.events, rules);
  if (same(e, a)) return { verdict: 'deliberate', deliberate, diff: [] };
  return { verdict: 'differ', deliberate, diff: diffEvents(e, a) };
}

/** One line about what a scenario observed: messages, returns, confirms, closes. */
export function summariseOutcome(o: Outcome): string {
  let msgs = 0;
  let returns = 0;
  let acks = 0;
  let nacks = 0;
  const closes: string[] = [];
  let exception = '';
  for (const e of o.events) {
    const got = e['got'];
    if (Array.isArray(got)) msgs += got.length;
    if (e['op'] === 'basic.get' && typeof e['ok'] === 'object') msgs++;
    if (e['returned'] !== undefined) returns++;
    if (Array.isArray(e['confirms'])) for (const c of e['confirms']) c === 'ack' ? acks++ : nacks++;
    const closed = e['closed'] as { code?: number } | undefined;
    if (closed?.code !== undefined) closes.push(`${e['conn'] !== undefined ? 'conn' : 'ch'} ${closed.code}`);
    if (typeof e['exception'] === 'string') exception = e['exception'];
  }
  const parts: string[] = [];
  if (msgs > 0) parts.push(`${msgs} msg${msgs === 1 ? '' : 's'}`);
  if (returns > 0) parts.push(`${returns} returned`);
  if (acks + nacks > 0) parts.push(nacks > 0 ? `${acks} ack ${nacks} nack` : `${acks} ack`);
  if (closes.length > 0) parts.push(`closed ${closes.join(', ')}`);
  if (exception !== '') parts.push(`error: ${exception}`);
  return parts.length > 0 ? parts.join('; ') : `${o.events.length} events`;
}
