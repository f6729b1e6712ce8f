import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../bench/options.js';
import { runScenario } from '../../bench/scenarios.js';
import { bucketHigh, bucketLow, bucketOf, Histogram, median, summarize } from '../../bench/load/stats.js';
import { startBroker, type RunningBroker } from '../../server/index.js';

describe('bench histogram', () => {
  it('keeps every value inside its bucket, with buckets in order', () => {
    let prevHigh = -1;
    for (let i = 0; i < 1600; i++) {
      expect(bucketLow(i)).toBe(prevHigh + 1);
      prevHigh = bucketHigh(i);
    }
    for (const v of [0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 65535, 1e6, 123456789, 2 ** 31 - 1]) {
      const b = bucketOf(v);
      expect(bucketLow(b)).toBeLessThanOrEqual(v);
      expect(bucketHigh(b)).toBeGreaterThanOrEqual(v);
      expect((bucketHigh(b) - bucketLow(b)) / Math.max(1, v)).toBeLessThanOrEqual(1 / 64);
    }
  });

  it('reports percentiles within the bucket precision', () => {
    const h = new Histogram();
    for (let v = 1; v <= 10000; v++) h.record(v);
    expect(h.count).toBe(10000);
    const near = (got: number, want: number) => expect(Math.abs(got - want) / want).toBeLessThanOrEqual(1 / 64);
    near(h.percentile(50), 5000);
    near(h.percentile(95), 9500);
    near(h.percentile(99), 9900);
    expect(h.percentile(100)).toBe(10000);
    expect(h.percentile(0)).toBe(1);
    expect(h.mean()).toBeCloseTo(5000.5, 5);
  });

  it('handles empty, single-valued and skewed histograms', () => {
    const h = new Histogram();
    expect(h.percentile(99)).toBe(0);
    expect(summarize(h)).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
    h.record(777);
    expect(h.percentile(50)).toBe(777);
    expect(h.percentile(99)).toBe(777);
    const s = new Histogram();
    for (let i = 0; i < 990; i++) s.record(10);
    for (let i = 0; i < 10; i++) s.record(100000);
    expect(s.percentile(99)).toBe(10);
    expect(s.percentile(99.1)).toBeGreaterThanOrEqual(100000 * (1 - 1 / 64));
    expect(summarize(s).max).toBe(100);
  });

  it('merges snapshots like the histograms themselves', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 0; i < 1000; i++) (i % 2 === 0 ? a : b).record(i * 37);
    const m = new Histogram();
    m.add(a.snapshot());
    m.add(b);
    const all = new Histogram();
    for (let i = 0; i < 1000; i++) all.record(i * 37);
    for (const p of [50, 90, 99, 99.9]) expect(m.percentile(p)).toBe(all.percentile(p));
    expect(m.max).toBe(all.max);
    expect(m.min).toBe(all.min);
  });

  it('takes medians', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});

describe('bench client against an in-process Warren', () => {
  let broker: RunningBroker;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-bench-test-'));
    broker = await startBroker({ port: 0, dataDir: dir });
  });
  afterAll(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const common = { url: '', duration: 1, warmup: 0, pubThreads: 0, conThreads: 0, drainTimeout: 15, quiet: true } as const;

  it('S1: no confirms, no-ack consumer — everything published is consumed', async () => {
    const o = resolveOptions({ ...common, url: broker.url, scenario: 'S1' });
    const r = await runScenario(o);
    expect(r.errors).toEqual([]);
    const t = r.run!.totals;
    expect(t.published).toBeGreaterThan(0);
    expect(t.consumed).toBe(t.published);
    expect(t.consumedBytes).toBe(t.published * 16);
    expect(r.run!.latency.count).toBeGreaterThan(0);
  });

  it('S2-like: durable, persistent, confirms and manual ack — counts match', async () => {
    const o = resolveOptions({ ...common, url: broker.url, scenario: 'S2', confirm: 100, prefetch: 100 });
    const r = await runScenario(o);
    expect(r.errors).toEqual([]);
    const t = r.run!.totals;
    expect(t.published).toBeGreaterThan(0);
    expect(t.confirmed).toBe(t.published);
    expect(t.nacked).toBe(0);
    expect(t.consumed).toBe(t.published);
    expect(t.consumedBytes).toBe(t.published * 1024);
  });
});
