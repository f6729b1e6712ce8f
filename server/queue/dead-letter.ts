import { writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import { long, timestamp, Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';
import { Message } from './message.js';
import type { DeathReason, Queue } from './queue.js';
import type { VirtualHost } from '../vhost/vhost.js';

const propsWriter = new Writer(1024);
const routed = new Set<Queue>();

/**
 * Republishes a dead message to its queue's dead-letter exchange, the way
 * rabbit_dead_letter does: an x-death entry per {queue, reason} (newest first, with a
 * count), x-first-death-* set once, x-last-death-* on every death, `expiration` moved
 * into `original-expiration`, and automatic cycles dropped. At most once: whatever no
 * queue takes is gone.
 */
export function deadLetter(vhost: VirtualHost, q: Queue, msg: Message, reason: DeathReason): void {
  const d = prepare(vhost, q, msg, reason);
  if (d !== null && d.targets.length > 0) vhost.enqueue(d.out, d.targets);
}

/** What an at-least-once attempt achieved: the queues that took the copy, and what is left. */
export interface DeadLetterAttempt {
  /** Queues that took the copy now. */
  accepted: Queue[];
  /** Routed queues that refused it (overflow reject-publish); to be tried again. */
  refused: number;
  /** Store id of the copy when it must reach the disk before the source lets go; else -1. */
  waitFor: number;
}

/**
 * An at-least-once dead-lettering attempt (rabbit_fifo_dlx_worker's forward): routes a copy
 * to the queues that do not have it yet (`done`) and reports who took it. A missing
 * exchange or no route takes nothing, and the caller keeps the message for another try.
 */
export function deadLetterAttempt(vhost: VirtualHost, q: Queue, msg: Message, reason: DeathReason, done: ReadonlySet<Queue>): DeadLetterAttempt {
  const result: DeadLetterAttempt = { accepted: [], refused: 0, waitFor: -1 };
  const d = prepare(vhost, q, msg, reason);
  if (d === null) return result;
  for (const t of d.targets) {
    if (done.has(t)) continue;
    if (t.refuses(d.out)) result.refused++;
    else result.accepted.push(t);
  }
  if (result.accepted.length === 0) return result;
  vhost.enqueue(d.out, result.accepted);
  if (d.out.durable) result.waitFor = d.out.storeId;
  return result;
}

/** The dead-letter copy of a message and the queues it routes to (cycles removed); null without a DLX. */
function prepare(vhost: VirtualHost, q: Queue, msg: Message, reason: DeathReason): { out: Message; targets: Queue[] } | null {
  const dlxName = q.settings.deadLetterExchange;
  if (dlxName === null) return null;
  const dlx = vhost.exchanges.get(dlxName);
  // A missing dead-letter exchange drops the message, silently, as in RabbitMQ.
  if (dlx === undefined) return null;
  const props = msg.properties;
  const headers: FieldTable = { ...(props.headers ?? {}) };
  const cc = stringArray(headers['CC']);
  const dlrk = q.settings.deadLetterRoutingKey;
  let keys: string | readonly string[];
  if (dlrk !== null) {
    keys = dlrk;
    delete headers['CC'];
  } else {
    keys = msg.routingKeys;
  }
  const deaths = updateDeaths(headers, q.name, reason, msg, cc);
  // rabbit_misc:set_table_value sorts the table, so dead-lettered headers come out sorted.
  const next: BasicProperties = { ...props, headers: sortTable(headers), expiration: undefined };
  writeProperties(propsWriter, next);
  const out = new Message(dlxName, typeof keys === 'string' ? keys : keys[0]!, propsWriter.take(), next, msg.body, keys, -1);
  routed.clear();
  vhost.router.route(dlx, keys, next.headers, routed);
  // Copied out: a target queue may dead-letter again while we enqueue, reusing `routed`.
  const targets: Queue[] = [];
  for (const target of routed) {
    if (reason !== 'rejected' && isCycle(target.name, deaths)) continue;
    if (!target.deleted) targets.push(target);
  }
  return { out, targets };
}

function updateDeaths(headers: FieldTable, queue: string, reason: DeathReason, msg: Message, cc: string[]): FieldTable[] {
  const existing = headers['x-death'];
  const prior: FieldTable[] = Array.isArray(existing) ? existing.filter(isTable) : [];
  const i = prior.findIndex((d) => str(d['queue']) === queue && str(d['reason']) === reason);
  let entry: FieldTable;
  if (i >= 0) {
    // Same queue and reason again: only the count changes, and the entry moves to the front.
    const old = prior[i]!;
    prior.splice(i, 1);
    entry = sortTable({ ...old, count: long(count(old['count']) + 1) });
  } else {
    const info: FieldTable = {
      count: long(1),
      reason,
      queue,
      time: timestamp(Math.floor(Date.now() / 1000)),
      exchange: msg.exchange,
      'routing-keys': [msg.routingKey, ...cc],
    };
    if (msg.properties.expiration !== undefined) info['original-expiration'] = msg.properties.expiration;
    // RabbitMQ sorts the entry's keys except on a message's very first death.
    entry = existing !== undefined ? sortTable(info) : info;
  }
  const deaths = [entry, ...prior];
  if (existing === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue;
    headers['x-first-death-exchange'] = msg.exchange;
  }
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-queue'] = queue;
  headers['x-last-death-exchange'] = msg.exchange;
  headers['x-death'] = deaths;
  return deaths;
}

/**
 * rabbit_dead_letter:is_cycle: routing back to a queue already in x-death is a cycle,
 * dropped unless some death on the way (up to and including that queue's) was a rejection.
 */
function isCycle(queue: string, deaths: FieldTable[]): boolean {
  const at = deaths.findIndex((d) => str(d['queue']) === queue);
  if (at < 0) return false;
  for (let i = 0; i <= at; i++) if (str(deaths[i]!['reason']) === 'rejected') return false;
  return true;
}

function isTable(v: FieldValue): v is FieldTable {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Typed);
}

function str(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  return Buffer.isBuffer(v) ? v.toString() : undefined;
}

function count(v: FieldValue | undefined): number {
  const x = v instanceof Typed ? v.value : v;
  return typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : 0;
}

function stringArray(v: FieldValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const e of v) if (typeof e === 'string') out.push(e);
  return out;
}

function sortTable(t: FieldTable): FieldTable {
  const out: FieldTable = {};
  for (const k of Object.keys(t).sort()) out[k] = t[k]!;
  return out;
}
