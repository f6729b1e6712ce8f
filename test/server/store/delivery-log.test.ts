/** The delivery log: what it keeps across a restart, a torn last entry, and its rewrite. */
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryLog } from '../../../server/store/delivery-log.js';

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
    expect(a.read().size).toBe(0);
    a.open([]);
    a.note(16777248, 0);
    a.note(16777248, 2);
    a.note(33554464, 1);
    a.preFlush();
    // A crash in the middle of the next write.
    appendFileSync(path, Buffer.from([1, 2, 3]));
    const b = new DeliveryLog(path, log, () => true);
    expect([...b.read()].sort()).toEqual(['16777248:0', '16777248:2', '33554464:1']);
  });

  it('starts the next run with only the entries it is given', () => {
    const path = join(dir, 'msg_store.delivered');
    const a = new DeliveryLog(path, log, () => true);
    a.open([]);
    for (let i = 0; i < 10; i++) a.note(i, 0);
    a.close();
    const b = new DeliveryLog(path, log, () => true);
    expect(b.read().size).toBe(10);
    b.open([3, 0, 7, 0]);
    b.close();
    expect([...new DeliveryLog(path, log, () => true).read()].sort()).toEqual(['3:0', '7:0']);
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
    expect([...new DeliveryLog(path, log, () => true).read()].sort()).toEqual(['5:1', '6:1', '6:2']);
  });
});
