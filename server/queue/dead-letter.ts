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
 * into `original-expiration`, and automatic cycles dropped.
 */
export function deadLetter(vhost: VirtualHost, q: Queue, msg: Message, reason: DeathReason): void {
  const dlxName = q.settings.deadLetterExchange;
  if (dlxName === null) return;
  const dlx = vhost.exchanges.get(dlxName);
  // A missing dead-letter exchange drops the message, silently, as in RabbitMQ.
  if (dlx === undefined) return;
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
  if (targets.length > 0) vhost.enqueue(out, targets);
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
