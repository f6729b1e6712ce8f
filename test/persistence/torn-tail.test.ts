/**
 * A crash mid-write leaves the last segment cut short or with garbage at some byte.
 * For every such byte (fast-check picks it), the store must open, report what it cut,
 * and keep every earlier record byte for byte.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, offsetOf, segmentOf } from '../../persistence/segments/format.js';
import { SegmentStore } from '../../persistence/segments/segment-store.js';
import { payloadFor, removeDir, segFiles, sizeFor, tempDir } from './helpers.js';

const SEGMENT = 8192;
let template: string;
const written: Array<{ id: number; i: number; len: number }> = [];
let lastFile: string;
let lastSize: number;
let lastSeg: number;

beforeAll(async () => {
  template = tempDir('torn-template');
  const store = SegmentStore.open({ dir: template, segmentBytes: SEGMENT });
  for (let i = 0; i < 60; i++) {
    const len = sizeFor(i, 900);
    written.push({ id: store.append(payloadFor(i, len)), i, len });
  }
  // Some acks, so that the ack files take part too.
  for (let i = 0; i < 60; i += 7) store.release(written[i]!.id);
  await store.close();
  const files = segFiles(template);
  lastFile = files[files.length - 1]!;
  lastSize = fs.statSync(join(template, lastFile)).size;
  lastSeg = Number(lastFile.slice(0, 10));
  expect(files.length).toBeGreaterThan(3);
});

afterAll(() => removeDir(template));

function copyTemplate(): string {
  const d = tempDir('torn');
  for (const n of fs.readdirSync(template)) fs.copyFileSync(join(template, n), join(d, n));
  return d;
}

function reopen(dir: string): { store: SegmentStore; got: Array<{ id: number; payload: Buffer }> } {
  const got: Array<{ id: number; payload: Buffer }> = [];
  const store = SegmentStore.open({
    dir,
    segmentBytes: SEGMENT,
    onRecord: (r) => got.push({ id: r.id, payload: Buffer.from(r.payload) }),
  });
  return { store, got };
}

const live = (): typeof written => written.filter((_, k) => k % 7 !== 0);

/** Records of the last segment: start and end of checksummed data. */
function inLast(): Array<{ id: number; start: number; dataEnd: number }> {
  return written
    .filter((w) => segmentOf(w.id) === lastSeg)
    .map((w) => ({ id: w.id, start: offsetOf(w.id), dataEnd: offsetOf(w.id) + RECORD_HEADER_BYTES + w.len }));
}

function check(got: Array<{ id: number; payload: Buffer }>, keep: (id: number) => boolean): void {
  const want = live().filter((w) => keep(w.id));
  expect(got.map((g) => g.id)).toEqual(want.map((w) => w.id));
  got.forEach((g, k) => expect(g.payload.equals(payloadFor(want[k]!.i, want[k]!.len))).toBe(true));
}

describe('torn or corrupt tail', () => {
  it('truncation at any byte of the last segment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: lastSize - 1 }), async (cut) => {
        const dir = copyTemplate();
        try {
          fs.truncateSync(join(dir, lastFile), cut);
          const { store, got } = reopen(dir);
          const recs = inLast();
          const torn = recs.find((r) => r.start < cut && cut < r.dataEnd);
          check(got, (id) => segmentOf(id) !== lastSeg || (cut >= SEGMENT_HEADER_BYTES && recs.find((r) => r.id === id)!.dataEnd <= cut));
          if (cut < SEGMENT_HEADER_BYTES) {
            expect(store.recovery.truncated).toEqual([]);
            expect(store.recovery.removedFiles).toContain(lastFile);
          } else if (torn !== undefined) {
            expect(store.recovery.truncated).toEqual([
              { file: lastFile, offset: torn.start, droppedBytes: cut - torn.start, reason: 'short' },
            ]);
            // Cut back to the bad record (or deleted, if nothing live is left in it).
            if (fs.existsSync(join(dir, lastFile))) expect(fs.statSync(join(dir, lastFile)).size).toBe(torn.start);
          } else {
            expect(store.recovery.truncated).toEqual([]);
          }
          // The store works after recovery: append, flush, reopen.
          const id = store.append(Buffer.from('after'));
          await store.close();
          const again = reopen(dir);
          expect(again.got[again.got.length - 1]!.id).toBe(id);
          expect(again.store.recovery.truncated).toEqual([]);
          await again.store.close();
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a corrupt byte anywhere in the last segment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: lastSize - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const dir = copyTemplate();
        try {
          const path = join(dir, lastFile);
          const b = fs.readFileSync(path);
          b[at]! ^= xor;
          fs.writeFileSync(path, b);
          const { store, got } = reopen(dir);
          const recs = inLast();
          const hit = recs.find((r) => r.start <= at && at < r.dataEnd);
          if (at < SEGMENT_HEADER_BYTES) {
            // Bad header: the file is set aside, never half-trusted.
            check(got, (id) => segmentOf(id) !== lastSeg);
            expect(store.recovery.corruptFiles).toEqual([lastFile]);
            expect(fs.existsSync(path + '.corrupt')).toBe(true);
          } else if (hit !== undefined) {
            check(got, (id) => segmentOf(id) !== lastSeg || offsetOf(id) < hit.start);
            expect(store.recovery.truncated).toHaveLength(1);
            expect(store.recovery.truncated[0]).toMatchObject({ file: lastFile, offset: hit.start, droppedBytes: lastSize - hit.start });
          } else {
            // Padding is not checksummed and carries nothing.
            check(got, () => true);
            expect(store.recovery.truncated).toEqual([]);
          }
          await store.close();
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: 40 },
    );
  });
});
