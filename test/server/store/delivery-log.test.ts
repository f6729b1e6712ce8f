/** The delivery log: what it keeps across a restart, a torn last entry, and its rewrite. */
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryLog, heldSlot, type Delivered } from '../../../server/store/delivery-log.js';

/** The noted deliveries as sorted "id:slot" keys, each as often as noted. */
function keys(d: Delivered): string[] {
  return [...d.counts].flatMap(([k, n]) => Array<string>(n).fill(k)).sort();
}

let dir: string;
const log = pino({ level: 'silent' });
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-dlog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('delivery log', () => {
  it('keeps what was noted, once the turn has flushed it; a torn last entry is ignored', () => {
    const path = join(dir, 'msg_store.delivered');
    const a = new DeliveryLog(path, log, () => true);
    expect(keys(a.read())).toEqual([]);
    a.open([]);
    a.note(16777248, 0);
    a.note(16777248, 2);
    a.note(33554464, 1);
    a.preFlush();
    // A crash in the middle of the next write.
    appendFileSync(path, Buffer.from([1, 2, 3]));
    const b = new DeliveryLog(path, log, () => true);
    expect(keys(b.read())).toEqual(['16777248:0', '16777248:2', '33554464:1']);
  });

  it('starts the next run with only the entries it is given', () => {
    const path = join(dir, 'msg_store.delivered');
    const a = new DeliveryLog(path, log, () => true);
    a.open([]);
    for (let i = 0; i < 10; i++) a.note(i, 0);
    a.close();
    const b = new DeliveryLog(path, log, () => true);
    expect(keys(b.read())).toHaveLength(10);
    b.open([3, 0, 7, 0]);
    b.close();
    expect(keys(new DeliveryLog(path, log, () => true).read())).toEqual(['3:0', '7:0']);
  });

  it('rewrites itself past its size limit, dropping entries of dead records', () => {
    const path = join(dir, 'msg_store.delivered');
    const live = new Set([5, 6]);
    const a = new DeliveryLog(path, log, (id) => live.has(id), 100);
    a.open([]);
    for (let i = 0; i < 12; i++) a.note(i, 1);
    a.preFlush();
    expect(statSync(path).size).toBe(20);
    a.note(6, 2);
    a.preFlush();
    expect(keys(new DeliveryLog(path, log, () => true).read())).toEqual(['5:1', '6:1', '6:2']);
  });

  it('counts repeated deliveries (quorum queues) and keeps held dead letters with their reason', () => {
    const path = join(dir, 'msg_store.delivered');
    const a = new DeliveryLog(path, log, () => true);
    a.open([]);
    a.note(7, 1);
    a.note(7, 1);
    a.note(7, 1);
    a.note(8, 0);
    a.note(8, heldSlot(0, 'delivery_limit'));
    a.note(9, heldSlot(4095, 'expired'));
    a.close();
    const d = new DeliveryLog(path, log, () => true).read();
    expect([...d.counts].sort()).toEqual([['7:1', 3], ['8:0', 1]]);
    expect([...d.held].sort()).toEqual([['8:0', 'delivery_limit'], ['9:4095', 'expired']]);
    // A slot too high for the mark is not marked.
    expect(heldSlot(4096, 'rejected')).toBe(-1);
  });
});
