import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBench } from '../../bench/command.js';
import { FlightGauge } from '../../bench/load/flight.js';
import { resolveOptions } from '../../bench/options.js';
import { runScenario } from '../../bench/scenarios.js';
import { startBroker, type RunningBroker } from '../../server/index.js';

describe('--in-flight option', () => {
  it('S10 is 1 MiB bodies, no confirms, no-ack, 64 in flight; flags win', () => {
    const o = resolveOptions({ scenario: 'S10' });
    expect(o).toMatchObject({ size: 1024 * 1024, inFlight: 64, confirm: 0, prefetch: 0, producers: 1, consumers: 1 });
    expect(resolveOptions({ scenario: 'S10', inFlight: 8 }).inFlight).toBe(8);
    expect(resolveOptions({ scenario: 'S1' }).inFlight).toBe(0);
    expect(resolveOptions({ scenario: 'S3', inFlight: 10 }).inFlight).toBe(10);
  });

  it('refuses combinations where a message might never reach a consumer', () => {
    expect(() => resolveOptions({ inFlight: 4, consumers: 0 })).toThrow(/needs consumers/);
    expect(() => resolveOptions({ inFlight: 4, exchangeType: 'topic' })).toThrow(/topic/);
    expect(() => resolveOptions({ inFlight: 4, queues: 3, consumers: 2 })).toThrow(/a consumer on every queue/);
    expect(() => resolveOptions({ inFlight: 4, size: 11 })).toThrow(/--size of at least 12/);
    expect(() => resolveOptions({ inFlight: 1.5 })).toThrow(/integer/);
    // Without producers (S7) the bound has nothing to bound.
    expect(resolveOptions({ scenario: 'S7', inFlight: 4 }).inFlight).toBe(4);
  });

  function parseBench(argv: string[]): Record<string, unknown> {
    const program = new Command().exitOverride();
    registerBench(program);
    const bench = program.commands.find((c) => c.name() === 'bench')!;
    bench.exitOverride().configureOutput({ writeErr: () => {} });
    let seen: Record<string, unknown> = {};
    bench.action((flags: Record<string, unknown>) => {
      seen = flags;
    });
    program.parse(['bench', ...argv], { from: 'user' });
    return seen;
  }

  it('parses --in-flight as a non-negative integer', () => {
    expect(parseBench(['-s', 'S1', '--in-flight', '32']).inFlight).toBe(32);
    expect(parseBench(['-s', 'S10']).inFlight).toBeUndefined();
    expect(() => parseBench(['--in-flight', '-1'])).toThrow(/integer >= 0/);
    expect(() => parseBench(['--in-flight', 'many'])).toThrow(/integer >= 0/);
  });
});

describe('FlightGauge', () => {
  it('lets a publisher take exactly `limit` messages, then frees one slot per delivery', () => {
    const g = new FlightGauge(FlightGauge.buffer(2), 3, 1);
    expect([g.take(0), g.take(0), g.take(0), g.take(0)]).toEqual([true, true, true, false]);
    expect(g.inFlight(0)).toBe(3);
    // Publishers are independent.
    expect(g.take(1)).toBe(true);
    expect(g.release(0)).toBe(3);
    expect(g.take(0)).toBe(true);
    expect(g.take(0)).toBe(false);
  });

  it('counts every delivery of a fanned-out message', () => {
    const g = new FlightGauge(FlightGauge.buffer(1), 2, 3);
    expect([g.take(0), g.take(0), g.take(0)]).toEqual([true, true, false]);
    expect(g.inFlight(0)).toBe(2);
    g.release(0);
    g.release(0);
    expect(g.take(0)).toBe(false); // the first message still has one delivery to go
    g.release(0);
    expect(g.take(0)).toBe(true);
  });

  it('wakes a parked publisher when a delivery frees a slot, and not before', async () => {
    const g = new FlightGauge(FlightGauge.buffer(1), 2, 1);
    g.take(0);
    g.take(0);
    let woke = 0;
    g.whenFree(0, null, () => woke++);
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(0);
    g.release(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(1);
    // Already free: wakes at once (from a microtask).
    g.whenFree(0, null, () => woke++);
    await Promise.resolve();
    expect(woke).toBe(2);
  });
});

describe('bench --in-flight against an in-process Warren', () => {
  let broker: RunningBroker;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-inflight-test-'));
    broker = await startBroker({ port: 0, dataDir: dir });
  });
  afterAll(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const common = { duration: 1, warmup: 0, pubThreads: 0, conThreads: 0, drainTimeout: 15, quiet: true } as const;

  /** The deepest any bench queue got while `f` ran, sampled in this (the broker's) process. */
  async function deepest<T>(f: () => Promise<T>): Promise<{ result: T; depth: number }> {
    let depth = 0;
    const t = setInterval(() => {
      for (const q of broker.broker.vhosts.get('/')!.queues.values()) if (q.name.startsWith('bench-')) depth = Math.max(depth, q.messageCount);
    }, 1);
    try {
      return { result: await f(), depth };
    } finally {
      clearInterval(t);
    }
  }

  it('never has more than N messages published but not consumed, and loses none', async () => {
    // A consumer slower than its publisher (manual acks, prefetch 1): unbounded, this queue
    // reaches about 100,000 messages in a second.
    const o = resolveOptions({ ...common, url: broker.url, scenario: 'S10', size: 1024, prefetch: 1, inFlight: 4 });
    const { result: r, depth } = await deepest(() => runScenario(o));
    // Seen by the broker too: its queue never held more than the publisher's bound.
    expect(depth).toBeLessThanOrEqual(4);
    expect(r.errors).toEqual([]);
    const t = r.run!.totals;
    expect(t.published).toBeGreaterThan(4);
    expect(t.consumed).toBe(t.published);
    expect(t.consumedBytes).toBe(t.published * 1024);
    expect(t.inFlightMax).toBeGreaterThanOrEqual(1);
    expect(t.inFlightMax).toBeLessThanOrEqual(4);
    expect(r.figures['inFlightMax']).toBe(t.inFlightMax);
  });

  it('bounds each of several publishers on a fanout exchange', async () => {
    const o = resolveOptions({
      ...common,
      url: broker.url,
      exchangeType: 'fanout',
      queues: 2,
      consumers: 2,
      producers: 2,
      size: 100,
      inFlight: 3,
    });
    const r = await runScenario(o);
    expect(r.errors).toEqual([]);
    const t = r.run!.totals;
    expect(t.published).toBeGreaterThan(3);
    expect(t.consumed).toBe(t.published * 2);
    expect(t.inFlightMax).toBeGreaterThanOrEqual(1);
    expect(t.inFlightMax).toBeLessThanOrEqual(3);
  });
});
