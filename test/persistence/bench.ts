/**
 * Micro-benchmark of the segment store (not a test). Run:
 *   node_modules/.bin/esbuild test/persistence/bench.ts --bundle --platform=node --format=esm --outfile=/tmp/store-bench.mjs
 *   node --expose-gc /tmp/store-bench.mjs [records=200000] [size=1024]
 */
import { SegmentStore } from '../../persistence/segments/segment-store.js';
import { removeDir, tempDir } from './helpers.js';

const N = Number(process.argv[2] ?? 200_000);
const SIZE = Number(process.argv[3] ?? 1024);
const PER_TURN = 200;
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const dir = tempDir('bench');
  const body = Buffer.alloc(SIZE, 7);
  let durableCalls = 0;
  const store = SegmentStore.open({ dir, onDurable: () => durableCalls++ });
  const ids = new Float64Array(N);

  // Publishers: PER_TURN appends per event-loop turn, paused while > 16 MiB waits for the disk.
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let n = 0;
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (store.pendingBytes < 16 * 1024 * 1024) {
        for (let k = 0; k < PER_TURN && n < N; k++) ids[n++] = store.append(body);
      }
      if (n < N) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  await store.flush();
  const t1 = performance.now();
  gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const s = store.stats;
  console.log(
    `append ${N} x ${SIZE} B, sync=batch: ${Math.round(N / ((t1 - t0) / 1000))} appends/s, ` +
      `${((N * SIZE) / 1048576 / ((t1 - t0) / 1000)).toFixed(0)} MiB/s; batches ${s.batches}, ` +
      `fdatasyncs ${s.fdatasyncs}, dir fsyncs ${s.dirSyncs}, onDurable calls ${durableCalls}, ` +
      `${(N / s.batches).toFixed(0)} records/batch; heap +${((heap1 - heap0) / N).toFixed(1)} B/record`,
  );

  // Random reads (page cache).
  let x = 12345;
  const t2 = performance.now();
  const R = 100_000;
  let sum = 0;
  for (let k = 0; k < R; k++) {
    x = (x * 1103515245 + 12345) >>> 0;
    sum += store.read(ids[x % N]!).length;
  }
  const t3 = performance.now();
  console.log(`read ${R} random: ${Math.round(R / ((t3 - t2) / 1000))} reads/s (${sum} bytes)`);

  // Release all but 1 in 10, then compact.
  const t4 = performance.now();
  for (let k = 0; k < N; k++) if (k % 10 !== 0) store.release(ids[k]!);
  await store.flush();
  const t5 = performance.now();
  const segsBefore = store.segmentCount;
  const removed = store.compact();
  const t6 = performance.now();
  console.log(
    `release ${N - N / 10}: ${Math.round((N - N / 10) / ((t5 - t4) / 1000))} releases/s; ` +
      `compaction ${segsBefore} -> ${store.segmentCount} segments (${removed} removed) in ${(t6 - t5).toFixed(0)} ms`,
  );
  await store.close();

  let recovered = 0;
  const t7 = performance.now();
  const again = SegmentStore.open({ dir, onRecord: () => recovered++ });
  const t8 = performance.now();
  console.log(`recovery: ${recovered} live records in ${(t8 - t7).toFixed(0)} ms`);
  await again.close();

  // One synchronous burst: everything in one batch.
  const dir2 = tempDir('bench2');
  const s2 = SegmentStore.open({ dir: dir2 });
  const t9 = performance.now();
  for (let k = 0; k < 50_000; k++) s2.append(body);
  const t10 = performance.now();
  await s2.flush();
  const t11 = performance.now();
  console.log(
    `burst 50000 appends: ${(t10 - t9).toFixed(0)} ms to append (${Math.round(50_000 / ((t10 - t9) / 1000))}/s), ` +
      `${(t11 - t10).toFixed(0)} ms to durable, fdatasyncs ${s2.stats.fdatasyncs}`,
  );
  await s2.close();

  // Recovery of 200k records (nothing released).
  let r2 = 0;
  const t12 = performance.now();
  const s3 = SegmentStore.open({ dir: dir2, onRecord: () => r2++ });
  console.log(`recovery: ${r2} live records in ${(performance.now() - t12).toFixed(0)} ms`);
  await s3.close();

  // Closed loop: one publisher waiting for each confirm (latency of one batch).
  const dir3 = tempDir('bench3');
  const s4 = SegmentStore.open({ dir: dir3 });
  const t13 = performance.now();
  for (let k = 0; k < 200; k++) {
    s4.append(body);
    await s4.flush();
  }
  const t14 = performance.now();
  console.log(`closed loop: ${((t14 - t13) / 200).toFixed(2)} ms per append-to-durable, fdatasyncs ${s4.stats.fdatasyncs}`);
  await s4.close();
  removeDir(dir);
  removeDir(dir2);
  removeDir(dir3);
}

await main();
