import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on CLOCK_MONOTONIC, comparable across worker threads and processes
 * of the same machine (performance.now() alone is relative to each thread's start).
 * The offset is taken once; afterwards a reading costs one performance.now().
 */
const offset = Number(process.hrtime.bigint()) / 1e6 - performance.now();

export function now(): number {
  return performance.now() + offset;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
