/**
 * Differences from RabbitMQ 3.10 that Warren makes on purpose. Each entry mirrors a row of
 * the "Deliberate differences" table in docs/compatibility.md (named by `doc`); only the
 * rows that the catalog can observe need an entry. A rule rewrites an outcome so that the
 * deliberate part no longer shows; the comparison applies every rule to both sides, and a
 * scenario that is equal only after that is reported as "deliberate", never as a failure.
 */
import type { Event, Json } from './types.js';

export interface DeliberateDifference {
  id: string;
  /** The row's first cell in docs/compatibility.md. */
  doc: string;
  description: string;
  strip(events: Event[]): Event[];
}

/** Applies `fn` to every object in a JSON tree (bottom-up), keeping its shape. */
function mapObjects(v: Json, fn: (o: { [k: string]: Json }) => { [k: string]: Json }): Json {
  if (Array.isArray(v)) return v.map((x) => mapObjects(x, fn));
  if (v !== null && typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) o[k] = mapObjects(x, fn);
    return fn(o);
  }
  return v;
}

const LAST_DEATH = ['x-last-death-reason', 'x-last-death-queue', 'x-last-death-exchange'];

export const DELIBERATE: readonly DeliberateDifference[] = [
  {
    id: 'x-last-death',
    doc: '`x-last-death-*` headers',
    description: 'Warren sets x-last-death-{reason,queue,exchange} on every dead-lettering (RabbitMQ 3.13+); RabbitMQ 3.10 sets only x-first-death-*',
    strip: (events) =>
      events.map((e) =>
        mapObjects(e, (o) => {
          if (!('x-death' in o)) return o;
          const c = { ...o };
          for (const k of LAST_DEATH) delete c[k];
          return c;
        }) as Event,
      ),
  },
];

export function stripDeliberate(events: Event[], rules: readonly DeliberateDifference[] = DELIBERATE): Event[] {
  return rules.reduce((acc, r) => r.strip(acc), events);
}
