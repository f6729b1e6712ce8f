/**
 * Turns options into a run: the topology (queues, exchanges, bindings), the
 * publisher and consumer specs, and the headline figure each scenario reports.
 * S6 and S7 (memory per message / per connection) live in memory.ts, S11 (a stream
 * read by several consumers) in stream.ts.
 */
import type { BenchClient } from './load/client.js';
import type { ConsumerSpec } from './load/consumer.js';
import { runMemoryScenario } from './memory.js';
import type { BenchOptions } from './options.js';
import type { PublisherSpec } from './load/publisher.js';
import { runPlan, type ProgressSample, type RunResult } from './load/runner.js';
import { runStreamScenario } from './stream.js';

export interface Headline {
  name: string;
  value: number;
  unit: string;
  /** Whether a larger value is better (for ratios in compare). */
  higherIsBetter: boolean;
}

export interface ScenarioResult {
  scenario: string;
  options: BenchOptions;
  headline: Headline;
  /** Secondary figures (rates, RSS per message, …). */
  figures: Record<string, number>;
  run?: RunResult | undefined;
  errors: string[];
}

/** Deterministic PRNG (mulberry32), so S4's bindings and keys are the same on every broker. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango'.split(' ');

/** A topic pattern of 3–6 words, with `*` (25 %) and `#` (10 %) among them. */
export function topicPattern(r: () => number): string {
  const n = 3 + Math.floor(r() * 4);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    words.push(x < 0.25 ? '*' : x < 0.35 ? '#' : WORDS[Math.floor(r() * WORDS.length)]!);
  }
  return words.join('.');
}

export function topicKey(r: () => number): string {
  const n = 3 + Math.floor(r() * 4);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(r() * WORDS.length)]!);
  return words.join('.');
}

interface Topology {
  exchange: string;
  queues: string[];
  /** Routing keys per publisher. */
  keys: string[];
  setup: (c: BenchClient) => Promise<void>;
  teardown: (c: BenchClient) => Promise<void>;
  fanout: number;
}

function topology(o: BenchOptions): Topology {
  const tag = `${o.scenario.toLowerCase()}-${process.pid}-${Date.now().toString(36)}`;
  const queues = Array.from({ length: Math.max(1, o.queues) }, (_, i) => `bench-${tag}-q${i}`);
  const exchange = o.exchangeType === 'direct' ? '' : `bench-${tag}-x`;
  const declareQueues = async (c: BenchClient) => {
    for (const q of queues) await c.declareQueue(1, q, o.durable, o.queueArgs);
  };
  const teardown = async (c: BenchClient) => {
    for (const q of queues) await c.deleteQueue(1, q);
    if (exchange !== '') await c.deleteExchange(1, exchange);
  };
  if (o.exchangeType === 'fanout') {
    return {
      exchange,
      queues,
      keys: [''],
      fanout: o.consumers > 0 ? queues.length : 0,
      teardown,
      setup: async (c) => {
        await c.declareExchange(1, exchange, 'fanout');
        await declareQueues(c);
        for (const q of queues) await c.bindQueue(1, q, exchange, '');
      },
    };
  }
  if (o.exchangeType === 'topic') {
    const r = rng(42);
    const patterns = Array.from({ length: o.bindings }, () => topicPattern(r));
    const keys = Array.from({ length: 10000 }, () => topicKey(r));
    return {
      exchange,
      queues,
      keys,
      fanout: 0,
      teardown,
      setup: async (c) => {
        await c.declareExchange(1, exchange, 'topic');
        await declareQueues(c);
        // Pipelined: replies come back in order, so keep a few hundred in flight.
        let inflight: Promise<unknown>[] = [];
        for (let i = 0; i < patterns.length; i++) {
          inflight.push(c.bindQueue(1, queues[i % queues.length]!, exchange, patterns[i]!));
          if (inflight.length >= 500) {
            await Promise.all(inflight);
            inflight = [];
          }
        }
        await Promise.all(inflight);
      },
    };
  }
  return { exchange, queues, keys: queues, fanout: o.consumers > 0 ? 1 : 0, teardown, setup: declareQueues };
}

/** Builds the publisher/consumer specs for the throughput scenarios. */
export function specsFor(o: BenchOptions, t: Topology): { publishers: PublisherSpec[]; consumers: ConsumerSpec[] } {
  const publishers: PublisherSpec[] = Array.from({ length: o.producers }, (_, i) => ({
    exchange: t.exchange,
    routingKeys: o.exchangeType === 'direct' ? [t.keys[i % t.keys.length]!] : t.keys,
    bodySize: o.size,
    persistent: o.persistent,
    confirm: o.confirm,
    rate: o.rate > 0 ? o.rate / o.producers : 0,
    count: o.count,
    index: i,
  }));
  const consumers: ConsumerSpec[] = Array.from({ length: o.consumers }, (_, i) => ({
    queue: t.queues[i % t.queues.length]!,
    noAck: o.prefetch === 0,
    prefetch: o.prefetch,
    multiAckEvery: o.multiAckEvery,
  }));
  return { publishers, consumers };
}

function headline(o: BenchOptions, r: RunResult): Headline {
  switch (o.scenario) {
    case 'S4':
      // Confirmed, not written: without confirms a socket buffer of unrouted messages hides the real rate.
      return { name: 'published (confirmed)', value: r.rates.confirm, unit: 'msg/s', higherIsBetter: true };
    case 'S5':
      return { name: 'latency p99', value: r.latency.p99, unit: 'ms', higherIsBetter: false };
    case 'S8':
    case 'S10':
      return { name: 'consumed', value: r.rates.consumeBytes, unit: 'B/s', higherIsBetter: true };
    case 'S3':
      return { name: 'deliveries', value: r.rates.consume, unit: 'msg/s', higherIsBetter: true };
    default:
      return o.consumers > 0
        ? { name: 'consumed', value: r.rates.consume, unit: 'msg/s', higherIsBetter: true }
        : { name: 'published', value: r.rates.publish, unit: 'msg/s', higherIsBetter: true };
  }
}

export async function runScenario(o: BenchOptions, progress?: (p: ProgressSample) => void): Promise<ScenarioResult> {
  if (o.scenario === 'S6' || o.scenario === 'S7') return runMemoryScenario(o);
  if (o.scenario === 'S11') return runStreamScenario(o);
  const t = topology(o);
  const { publishers, consumers } = specsFor(o, t);
  const run = await runPlan({
    url: o.url,
    publishers,
    consumers,
    duration: o.duration,
    warmup: o.warmup,
    pubThreads: o.pubThreads,
    conThreads: o.conThreads,
    fanout: t.fanout,
    drainTimeout: o.drainTimeout,
    inFlight: o.inFlight,
    setup: t.setup,
    teardown: t.teardown,
    pid: o.pid,
    progress,
  });
  return {
    scenario: o.scenario,
    options: o,
    headline: headline(o, run),
    figures: {
      publishRate: run.rates.publish,
      confirmRate: run.rates.confirm,
      consumeRate: run.rates.consume,
      consumeBytesRate: run.rates.consumeBytes,
      p50ms: run.latency.p50,
      p95ms: run.latency.p95,
      p99ms: run.latency.p99,
      maxms: run.latency.max,
      clientCpuPercent: run.clientCpuPercent,
      ...(o.inFlight > 0 ? { inFlightMax: run.totals.inFlightMax } : {}),
      ...(run.broker !== null ? { brokerCpuPercent: run.broker.cpuPercent, brokerRssMax: run.broker.rssMax } : {}),
    },
    run,
    errors: run.errors,
  };
}
