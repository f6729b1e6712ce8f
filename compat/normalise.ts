/**
 * Removes from an event log what legitimately differs between two runs of the same
 * scenario: the run's unique name prefix, server-generated names (numbered in order of
 * appearance, so that "the same generated queue" still shows), and x-death timestamps.
 * Delivery tags need no offset: every scenario starts on fresh channels.
 */
import type { Event, Json } from './types.js';

const GEN = /amq\.gen-[A-Za-z0-9_-]{22}/g;
const CTAG = /amq\.ctag-[A-Za-z0-9_-]{22}/g;

export interface NormaliseOptions {
  token: string;
  prefix: string;
}

export function normalise(events: Event[], opts: NormaliseOptions): Event[] {
  const gens = new Map<string, string>();
  const ctags = new Map<string, string>();
  const numbered = (map: Map<string, string>, kind: string) => (s: string) => {
    let v = map.get(s);
    if (v === undefined) {
      v = `amq.${kind}-${map.size + 1}`;
      map.set(s, v);
    }
    return v;
  };
  const str = (s: string): string =>
    s.split(opts.prefix).join('').split(opts.token).join('~').replace(GEN, numbered(gens, 'gen')).replace(CTAG, numbered(ctags, 'ctag'));

  const walk = (v: Json, key: string | undefined): Json => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
    if (v !== null && typeof v === 'object') {
      if (key === 'time' && v['!'] === 'timestamp') return '<time>';
      const o: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(v)) o[str(k)] = walk(x, k);
      return o;
    }
    return v;
  };
  return events.map((e) => walk(e, undefined) as Event);
}
