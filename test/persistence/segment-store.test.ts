/**
 * Segment store: round trip, ids as positions, group commit, refcounted releases, ack
 * files, segment deletion, recovery of exactly the live set, disk errors, compaction.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '../../persistence/segments/crc32c.js';
import { StoreError } from '../../persistence/segments/errors.js';
import { SEGMENT_HEADER_BYTES, makeId, offsetOf, recordBytes, segmentOf } from '../../persistence/segments/format.js';
import { SegmentStore, type SegmentStoreOptions } from '../../persistence/segments/segment-store.js';
import { RecordRun } from '../../persistence/segments/record-run.js';
import { ShimFs, payloadFor, removeDir, segFiles, sizeFor, tempDir, turns } from './helpers.js';

interface Rec {
  id: number;
  payload: Buffer;
  refs: number;
  slots: number[];
}

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) removeDir(dirs.pop()!);
});
function newDir(): string {
  const d = tempDir('store');
  dirs.push(d);
  return d;
}

function open(dir: string, o: Partial<SegmentStoreOptions> = {}): { store: SegmentStore; recs: Rec[] } {
  const recs: Rec[] = [];
  const store = SegmentStore.open({
    dir,
    segmentBytes: 16 * 1024,
    autoCompact: false,
    ...o,
    onRecord: (r) => recs.push({ id: r.id, payload: Buffer.from(r.payload), refs: r.refs, slots: [...r.slots] }),
  });
  return { store, recs };
}

function bitwiseCrc32c(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the known answer and a bitwise reference', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (a, cut) => {
        const k = Math.min(cut, a.length);
        expect(crc32c(a)).toBe(bitwiseCrc32c(a));
        expect(crc32c(a, k, a.length, crc32c(a, 0, k))).toBe(bitwiseCrc32c(a));
      }),
      { numRuns: 200 },
    );
  });
});

describe('segment store', () => {
  it('round-trips many records across segments; ids are positions', async () => {
    const dir = newDir();
    const { store } = open(dir);
    const ids: number[] = [];
    const N = 1500;
    let seg = 1;
    let off = SEGMENT_HEADER_BYTES;
    for (let i = 0; i < N; i++) {
      const p = payloadFor(i, sizeFor(i, 1200));
      const bytes = recordBytes(p.length, 0);
      if (off + bytes > 16 * 1024) {
        seg++;
        off = SEGMENT_HEADER_BYTES;
      }
      const id = store.append(p);
      expect(id).toBe(makeId(seg, off));
      expect([segmentOf(id), offsetOf(id)]).toEqual([seg, off]);
      off += bytes;
      ids.push(id);
      if (i % 97 === 0) expect(store.read(id).equals(p)).toBe(true); // from the write buffer
    }
    expect(store.durableId).toBe(0);
    await store.flush();
    expect(store.durableId).toBe(ids[N - 1]);
    expect(store.segmentCount).toBe(seg);
    expect(segFiles(dir).length).toBe(seg);
    for (let i = 0; i < N; i++) {
      expect(store.read(ids[i]!).equals(payloadFor(i, sizeFor(i, 1200)))).toBe(true);
      expect(store.sizeOf(ids[i]!)).toBe(sizeFor(i, 1200));
    }
    const t = Buffer.alloc(1300);
    expect(store.readInto(ids[5]!, t, 7)).toBe(sizeFor(5, 1200));
    expect(t.subarray(7, 7 + sizeFor(5, 1200)).equals(payloadFor(5, sizeFor(5, 1200)))).toBe(true);
    await store.close();

    const again = open(dir);
    expect(again.recs.map((r) => r.id)).toEqual(ids);
    again.recs.forEach((r, i) => {
      expect(r.payload.equals(payloadFor(i, sizeFor(i, 1200)))).toBe(true);
      expect([r.refs, r.slots]).toEqual([1, [0]]);
    });
    expect(again.store.recovery).toMatchObject({ segments: seg, liveRecords: N, truncated: [], corruptFiles: [] });
    // New appends go to a new segment after the recovered ones.
    expect(again.store.append(Buffer.from('next'))).toBe(makeId(seg + 1, SEGMENT_HEADER_BYTES));
    await again.store.close();
  });

  it('keeps a record larger than the segment size in a segment of its own', async () => {
    const dir = newDir();
    const { store } = open(dir, { segmentBytes: 4096 });
    const a = store.append(payloadFor(1, 100));
    const big = store.append(payloadFor(2, 50_000));
    const c = store.append(payloadFor(3, 100));
    expect([segmentOf(a), segmentOf(big), segmentOf(c)]).toEqual([1, 2, 3]);
    await store.close();
    const again = open(dir, { segmentBytes: 4096 });
    expect(again.recs.map((r) => r.payload.length)).toEqual([100, 50_000, 100]);
    expect(again.recs[1]!.payload.equals(payloadFor(2, 50_000))).toBe(true);
    await again.store.close();
  });

  it('group commit: one burst is one batch, one fdatasync and one notification', async () => {
    const dir = newDir();
    const shim = new ShimFs();
    const durable: number[] = [];
    const { store } = open(dir, { fs: shim.api, segmentBytes: 8 * 1024 * 1024, onDurable: (id) => durable.push(id) });
    let last = 0;
    for (let i = 0; i < 2000; i++) last = store.append(payloadFor(i, 1024));
    expect(shim.fdatasyncs).toBe(0);
    await store.flush();
    expect(durable).toEqual([last]);
    expect(store.stats.batches).toBe(1);
    expect(shim.fdatasyncs).toBe(1);
    expect(store.stats.dirSyncs).toBe(1); // the new segment's directory entry
    await store.close();
  });

  it('group commit: appends spread over many turns share few fdatasyncs, notified in order', async () => {
    const dir = newDir();
    const shim = new ShimFs();
    shim.syncDelayMs = 2;
    const durable: number[] = [];
    const { store } = open(dir, { fs: shim.api, segmentBytes: 1024 * 1024, onDurable: (id) => durable.push(id) });
    const ids: number[] = [];
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < 20; i++) ids.push(store.append(payloadFor(ids.length, 1024)));
      await turns(1);
    }
    await store.flush();
    const syncs = shim.fdatasyncs;
    expect(syncs).toBe(store.stats.fdatasyncs);
    expect(syncs).toBeLessThan(100); // 6000 appends in 300 turns
    expect(syncs).toBeGreaterThan(0);
    // Strictly increasing, ending at the last id; every id is covered exactly once.
    for (let k = 1; k < durable.length; k++) expect(durable[k]!).toBeGreaterThan(durable[k - 1]!);
    expect(durable[durable.length - 1]).toBe(ids[ids.length - 1]);
    expect(durable.length).toBe(store.stats.batches);
    await store.close();
  });

  it("sync 'never' notifies without fdatasync; syncIntervalMs batches by time", async () => {
    const shim = new ShimFs();
    const a = open(newDir(), { fs: shim.api, sync: 'never' });
    for (let i = 0; i < 100; i++) a.store.append(payloadFor(i, 100));
    await a.store.flush();
    expect(a.store.durableId).toBe(a.store.lastId);
    expect(shim.fdatasyncs).toBe(0);
    await a.store.close();

    const shim2 = new ShimFs();
    const b = open(newDir(), { fs: shim2.api, syncIntervalMs: 40, segmentBytes: 1024 * 1024 });
    const t0 = Date.now();
    while (Date.now() - t0 < 200) {
      b.store.append(payloadFor(1, 100));
      await new Promise((r) => setTimeout(r, 2));
    }
    await b.store.flush();
    // ~200 ms / 40 ms ≈ 5-6 batches (+1 for the final flush), not one per append.
    expect(b.store.stats.batches).toBeLessThanOrEqual(8);
    expect(b.store.stats.appends).toBeGreaterThan(20);
    await b.store.close();
  });

  it('releases with refcounts; fully released segments are deleted; reopen keeps exactly the live set', async () => {
    const dir = newDir();
    const { store } = open(dir, { segmentBytes: 4096 });
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push(store.append(payloadFor(i, 300), 1 + (i % 3)));
    await store.flush();
    const firstSeg = segmentOf(ids[0]!);
    const inFirst = ids.filter((id) => segmentOf(id) === firstSeg);
    expect(inFirst.length).toBeGreaterThan(3);
    expect(segFiles(dir)).toContain('0000000001.seg');

    // Release every reference of every record in segment 1 (anonymous form).
    for (const id of inFirst) {
      const refs = store.refsOf(id);
      for (let k = 0; k < refs; k++) store.release(id);
      expect(store.refsOf(id)).toBe(0);
      expect(() => store.release(id)).toThrowError(expect.objectContaining({ code: 'ERR_STORE_RELEASED' }) as Error);
      expect(() => store.read(id)).toThrow(StoreError);
    }
    expect(() => store.release(makeId(999, 32))).toThrowError(expect.objectContaining({ code: 'ERR_STORE_UNKNOWN_ID' }) as Error);
    await store.flush();
    expect(segFiles(dir)).not.toContain('0000000001.seg');
    expect(fs.existsSync(join(dir, '0000000001.ack'))).toBe(false);

    // Partial releases elsewhere: i=2 (refs 3) slot 1 explicitly; i=4 (refs 2) once anonymously; i=7 (refs 2) fully.
    const pick = (want: number): number => ids.findIndex((id, i) => i >= inFirst.length && 1 + (i % 3) === want);
    const r3 = pick(3);
    const r2 = pick(2);
    const r2b = ids.findIndex((_, i) => i > r2 && 1 + (i % 3) === 2);
    const r1 = pick(1);
    store.release(ids[r3]!, 1);
    store.release(ids[r2]!);
    store.release(ids[r2b]!);
    store.release(ids[r2b]!);
    store.release(ids[r1]!);
    expect(() => store.release(ids[r3]!, 3)).toThrowError(expect.objectContaining({ code: 'ERR_STORE_ARGUMENT' }) as Error);
    await store.close();

    const again = open(dir, { segmentBytes: 4096 });
    const dead = new Set([...inFirst, ids[r2b]!, ids[r1]!]);
    const expected = ids.map((id, i) => ({ id, i })).filter(({ id }) => !dead.has(id));
    expect(again.recs.map((r) => r.id)).toEqual(expected.map((e) => e.id));
    for (const [k, r] of again.recs.entries()) {
      const i = expected[k]!.i;
      expect(r.payload.equals(payloadFor(i, 300))).toBe(true);
      const refs = 1 + (i % 3);
      expect(r.refs).toBe(refs);
      const slots = i === r3 ? [0, 2] : i === r2 ? [1] : Array.from({ length: refs }, (_, s) => s);
      expect(r.slots).toEqual(slots);
    }
    expect(again.store.refsOf(ids[r3]!)).toBe(2);
    // The explicit form continues after reopen.
    again.store.release(ids[r3]!, 0);
    await again.store.close();
    const third = open(dir, { segmentBytes: 4096 });
    expect(third.recs.find((r) => r.id === ids[r3])!.slots).toEqual([2]);
    await third.store.close();
  });

  it('a record released before it is durable is still written, then its segment goes', async () => {
    const dir = newDir();
    const { store } = open(dir, { segmentBytes: 4096 });
    const a = store.append(payloadFor(1, 3000));
    store.release(a);
    const b = store.append(payloadFor(2, 3000)); // rolls: segment 1 is all dead
    expect(segmentOf(b)).toBe(2);
    await store.flush();
    await store.flush();
    expect(segFiles(dir)).toEqual(['0000000002.seg']);
    await store.close();
    const again = open(dir, { segmentBytes: 4096 });
    expect(again.recs.map((r) => r.id)).toEqual([b]);
    await again.store.close();
  });

  it('a failed write fails exactly the records not yet durable; the store carries on', async () => {
    const dir = newDir();
    const shim = new ShimFs();
    const durable: number[] = [];
    const failed: Array<[number, number, string]> = [];
    const { store } = open(dir, {
      fs: shim.api,
      segmentBytes: 64 * 1024,
      onDurable: (id) => durable.push(id),
      onFailed: (from, to, err) => failed.push([from, to, (err.cause as NodeJS.ErrnoException).code!]),
    });
    const ok1 = [0, 1, 2, 3, 4].map((i) => store.append(payloadFor(i, 500)));
    await store.flush();
    shim.failNextWrite = 'ENOSPC';
    const bad = [5, 6, 7].map((i) => store.append(payloadFor(i, 500)));
    await expect(store.flush()).rejects.toMatchObject({ code: 'ERR_STORE_IO' });
    expect(failed).toEqual([[bad[0], bad[2], 'ENOSPC']]);
    expect(durable).toEqual([ok1[4]]);
    for (const id of bad) expect(() => store.read(id)).toThrowError(expect.objectContaining({ code: 'ERR_STORE_UNKNOWN_ID' }) as Error);
    // Appends continue in a new segment; ids are never reused.
    const ok2 = [8, 9].map((i) => store.append(payloadFor(i, 500)));
    expect(segmentOf(ok2[0]!)).toBe(segmentOf(ok1[0]!) + 1);
    await store.flush();

    shim.failNextSync = 'EIO';
    const bad2 = [10, 11].map((i) => store.append(payloadFor(i, 500)));
    await expect(store.flush()).rejects.toMatchObject({ code: 'ERR_STORE_IO' });
    expect(failed[1]).toEqual([bad2[0], bad2[1], 'EIO']);
    const ok3 = store.append(payloadFor(12, 500));
    await store.flush();
    expect(durable).toEqual([ok1[4], ok2[1], ok3]);
    for (const [k, id] of [...ok1, ...ok2].entries()) expect(store.read(id).equals(payloadFor(k < 5 ? k : k + 3, 500))).toBe(true);
    await store.close();

    const again = open(dir, { segmentBytes: 64 * 1024 });
    expect(again.recs.map((r) => r.id)).toEqual([...ok1, ...ok2, ok3]);
    expect(again.recs.map((r) => r.payload.readUInt32LE(0))).toEqual([0, 1, 2, 3, 4, 8, 9, 12]);
    expect(again.store.recovery.truncated).toEqual([]);
    await again.store.close();
  });

  it('reports free disk bytes', async () => {
    const { store } = open(newDir());
    const free = store.freeDiskBytes();
    expect(Number.isSafeInteger(free)).toBe(true);
    expect(free).toBeGreaterThan(0);
    await store.close();
  });

  it('rejects bad arguments and use after close', async () => {
    const { store } = open(newDir());
    expect(() => store.append(Buffer.alloc(1), 0)).toThrowError(expect.objectContaining({ code: 'ERR_STORE_ARGUMENT' }) as Error);
    expect(() => store.append(Buffer.alloc(1), 65536)).toThrowError(expect.objectContaining({ code: 'ERR_STORE_ARGUMENT' }) as Error);
    await store.close();
    expect(() => store.append(Buffer.alloc(1))).toThrowError(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }) as Error);
  });
});

describe('compaction', () => {
  it('rewrites mostly-dead segments into fewer files; ids stay valid; reopen keeps the live set', async () => {
    const dir = newDir();
    const { store } = open(dir, { segmentBytes: 8192 });
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) ids.push(store.append(payloadFor(i, 400), i % 20 === 0 ? 3 : 1));
    await store.flush();
    const before = segFiles(dir).length;
    expect(before).toBeGreaterThan(12);
    // Keep every 10th record; i%20==0 ones (refs 3) lose slot 1 only.
    for (let i = 0; i < 300; i++) {
      if (i % 20 === 0) store.release(ids[i]!, 1);
      else if (i % 10 !== 0) store.release(ids[i]!);
    }
    await store.flush();
    expect(store.compact()).toBeGreaterThan(0);
    const after = segFiles(dir).length;
    expect(after).toBeLessThan(before / 3);
    expect(store.stats.compactions).toBeGreaterThan(0);
    const live = ids.map((id, i) => ({ id, i })).filter(({ i }) => i % 10 === 0);
    for (const { id, i } of live) expect(store.read(id).equals(payloadFor(i, 400))).toBe(true);
    // Releases through the old ids work on the moved records.
    store.release(ids[10]!);
    store.release(ids[20]!, 0);
    expect(store.refsOf(ids[20]!)).toBe(1);
    // And new appends still work.
    const extra = store.append(payloadFor(1000, 400));
    await store.close();

    const again = open(dir, { segmentBytes: 8192 });
    const expect2 = live.filter(({ i }) => i !== 10);
    expect(again.recs.map((r) => r.payload.readUInt32LE(0))).toEqual([...expect2.map((e) => e.i), 1000]);
    for (const r of again.recs) {
      const i = r.payload.readUInt32LE(0);
      expect(r.payload.equals(payloadFor(i, 400))).toBe(true);
      expect(r.slots).toEqual(i === 20 ? [2] : i % 20 === 0 && i !== 1000 ? [0, 2] : [0]);
    }
    expect(again.recs[again.recs.length - 1]!.id).not.toBe(0);
    void extra;
    // A second compaction on the reopened store (ids by position again) still works.
    for (const r of again.recs) if (r.payload.readUInt32LE(0) % 20 !== 0) again.store.release(r.id);
    await again.store.flush();
    again.store.compact();
    await again.store.close();
    const third = open(dir, { segmentBytes: 8192 });
    expect(third.recs.map((r) => r.payload.readUInt32LE(0))).toEqual([...expect2.map((e) => e.i).filter((i) => i % 20 === 0), 1000]);
    await third.store.close();
  });

  it('a crash between the rename and the deletes does not duplicate records; a stray .tmp is removed', async () => {
    const dir = newDir();
    const { store } = open(dir, { segmentBytes: 4096 });
    const ids: number[] = [];
    for (let i = 0; i < 80; i++) ids.push(store.append(payloadFor(i, 300)));
    await store.flush();
    for (let i = 0; i < 80; i++) if (i % 8 !== 0) store.release(ids[i]!);
    await store.flush();
    // Keep copies of the files compaction will delete, as a crash before unlink leaves them.
    const saved = new Map(segFiles(dir).map((n) => [n, fs.readFileSync(join(dir, n))]));
    expect(store.compact()).toBeGreaterThan(0);
    await store.close();
    for (const [n, b] of saved) if (!fs.existsSync(join(dir, n))) fs.writeFileSync(join(dir, n), b);
    fs.writeFileSync(join(dir, '0000000001.seg.tmp'), 'half a compaction');
    const again = open(dir, { segmentBytes: 4096 });
    expect(again.recs.map((r) => r.payload.readUInt32LE(0))).toEqual(ids.map((_, i) => i).filter((i) => i % 8 === 0));
    expect(again.store.recovery.removedFiles).toContain('0000000001.seg.tmp');
    expect(fs.existsSync(join(dir, '0000000001.seg.tmp'))).toBe(false);
    await again.store.close();
  });

  it('runs by itself between batches when autoCompact is on', async () => {
    const dir = newDir();
    const { store } = open(dir, { segmentBytes: 4096, autoCompact: true, compactIntervalMs: 0 });
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(store.append(payloadFor(i, 200)));
    await store.flush();
    const before = segFiles(dir).length;
    for (let i = 0; i < 200; i++) if (i % 9 !== 0) store.release(ids[i]!);
    for (let k = 0; k < 10; k++) {
      store.append(payloadFor(5000 + k, 10));
      await store.flush();
    }
    expect(store.stats.compactions).toBeGreaterThan(0);
    expect(segFiles(dir).length).toBeLessThan(before / 2);
    for (let i = 0; i < 200; i += 9) expect(store.read(ids[i]!).equals(payloadFor(i, 200))).toBe(true);
    await store.close();
  });
});

describe('readRun', () => {
  it('reads the live records from an id on with one read, up to its byte limit and the written end; 0 for a record still in the write buffer', async () => {
    const { store } = open(newDir());
    const payloads = Array.from({ length: 40 }, (_, i) => payloadFor(i, 10 + ((i * 37) % 300)));
    const ids = payloads.map((p) => store.append(p));
    await store.flush();
    // Written after the flush: still in the write buffer when read.
    const late = [payloadFor(100, 50), payloadFor(101, 70)];
    const lateIds = late.map((p) => store.append(p));
    store.release(ids[5]!, 0);
    const got = (run: RecordRun): [number, string][] =>
      Array.from({ length: run.count }, (_, k) => [run.ids[k]!, run.buf.subarray(run.starts[k]!, run.starts[k]! + run.lens[k]!).toString('hex')]);
    const run = new RecordRun();
    // From the 3rd record: everything written, the released one left out.
    expect(store.readRun(ids[2]!, run)).toBe(37);
    expect(got(run)).toEqual(ids.map((id, i) => [id, payloads[i]!.toString('hex')] as [number, string]).filter((_, i) => i >= 2 && i !== 5));
    // A small limit: the first record whole, then as many as fit.
    const small = new RecordRun(600);
    const n = store.readRun(ids[10]!, small);
    expect(n).toBeGreaterThan(0);
    expect(got(small)).toEqual(ids.slice(10, 10 + n).map((id, i) => [id, payloads[10 + i]!.toString('hex')]));
    const tiny = new RecordRun(8);
    expect(store.readRun(ids[12]!, tiny)).toBe(1);
    expect(got(tiny)).toEqual([[ids[12]!, payloads[12]!.toString('hex')]]);
    // Not yet written: read it alone.
    expect(store.readRun(lateIds[0]!, run)).toBe(0);
    expect(store.read(lateIds[0]!).equals(late[0]!)).toBe(true);
    expect(() => store.readRun(ids[5]!, run)).toThrow(/no live record/);
    await store.close();
  });

  it('reads a compacted file by the ids the records had before they moved', async () => {
    const { store } = open(newDir(), { segmentBytes: 8192 });
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) ids.push(store.append(payloadFor(i, 400)));
    await store.flush();
    for (let i = 0; i < 300; i++) if (i % 10 !== 0) store.release(ids[i]!);
    await store.flush();
    expect(store.compact()).toBeGreaterThan(0);
    const run = new RecordRun();
    const n = store.readRun(ids[0]!, run);
    expect(n).toBeGreaterThan(1);
    for (let k = 0; k < n; k++) {
      const i = ids.indexOf(run.ids[k]!);
      expect(i).toBe(k * 10);
      expect(run.buf.subarray(run.starts[k]!, run.starts[k]! + run.lens[k]!).equals(payloadFor(i, 400))).toBe(true);
    }
    await store.close();
  });
});
