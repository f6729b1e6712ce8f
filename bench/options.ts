/**
 * Bench options: what the CLI flags set, the defaults each scenario brings, and
 * how explicit flags override them.
 */
import type { FieldTable } from '../amqp/table.js';
import { MIN_TAGGED_BODY } from './load/flight.js';

export const SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11'] as const;
export type ScenarioName = (typeof SCENARIOS)[number] | 'custom';

export interface BenchOptions {
  url: string;
  scenario: ScenarioName;
  producers: number;
  consumers: number;
  /** Queues the consumers spread over (fanout/topic scenarios bind them all). */
  queues: number;
  size: number;
  /** Confirm window; 0 = no confirms. */
  confirm: number;
  /** Prefetch for manual-ack consumers; 0 = consumers use no-ack. */
  prefetch: number;
  multiAckEvery: number;
  persistent: boolean;
  durable: boolean;
  /** Total publish rate in msg/s, split over producers; 0 = unlimited. */
  rate: number;
  /** Messages each producer may have published but not yet delivered to a consumer; 0 = unbounded. */
  inFlight: number;
  duration: number;
  warmup: number;
  queueArgs: FieldTable;
  exchangeType: 'direct' | 'fanout' | 'topic';
  /** Topic bindings (S4). */
  bindings: number;
  /** Messages to queue (S6, and the stream of S11). */
  count: number;
  /** Connections to open (S7), and the larger count to check works (0 = skip). */
  connections: number;
  maxConnections: number;
  pid?: number | undefined;
  pubThreads: number;
  conThreads: number;
  json: boolean;
  quiet: boolean;
  drainTimeout: number;
}

export const BASE: BenchOptions = {
  url: 'amqp://guest:guest@127.0.0.1:5672',
  scenario: 'custom',
  producers: 1,
  consumers: 1,
  queues: 1,
  size: 16,
  confirm: 0,
  prefetch: 0,
  multiAckEvery: 1,
  persistent: false,
  durable: false,
  rate: 0,
  inFlight: 0,
  duration: 10,
  warmup: 1,
  queueArgs: {},
  exchangeType: 'direct',
  bindings: 0,
  count: 0,
  connections: 0,
  maxConnections: 0,
  pubThreads: 1,
  conThreads: 1,
  json: false,
  quiet: false,
  drainTimeout: 3,
};

/** What each scenario changes relative to BASE. */
export const SCENARIO_DEFAULTS: Record<ScenarioName, Partial<BenchOptions>> = {
  custom: {},
  S1: { size: 16 },
  S2: { size: 1024, durable: true, persistent: true, confirm: 1000, prefetch: 1000 },
  S3: { exchangeType: 'fanout', queues: 10, consumers: 10 },
  S4: { exchangeType: 'topic', queues: 10, consumers: 0, bindings: 10000, confirm: 1000, queueArgs: { 'x-max-length': 1000 } },
  S5: { rate: 5000, size: 16 },
  S6: { size: 100, count: 1_000_000, consumers: 1 },
  S7: { connections: 1000, maxConnections: 10000, producers: 0 },
  S8: { size: 1024 * 1024, confirm: 8 },
  // S2 on a quorum queue (issue 14: at least 80 % of S2).
  S9: { size: 1024, durable: true, persistent: true, confirm: 1000, prefetch: 1000, queueArgs: { 'x-queue-type': 'quorum' } },
  // 1 MiB bodies with a bounded publisher (issue 10: at least 1.5x RabbitMQ).
  S10: { size: 1024 * 1024, inFlight: 64 },
  // A stream pre-filled with `count` messages, read from `first` by ten consumers (issue 14: at least 80 % of S3).
  S11: { count: 1_000_000, consumers: 10, confirm: 1000, prefetch: 1000, multiAckEvery: 100, durable: true, queueArgs: { 'x-queue-type': 'stream' } },
};

/** Scenario defaults, then explicit flags (keys present in `given`) on top. */
export function resolveOptions(given: Partial<BenchOptions>): BenchOptions {
  const scenario = (given.scenario ?? 'custom') as ScenarioName;
  if (!(scenario in SCENARIO_DEFAULTS)) throw new Error(`unknown scenario ${scenario} (use ${SCENARIOS.join(', ')})`);
  const out: BenchOptions = { ...BASE, ...SCENARIO_DEFAULTS[scenario] };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  out.scenario = scenario;
  if (scenario === 'S3' && given.consumers !== undefined && given.queues === undefined) out.queues = out.consumers;
  checkInFlight(out);
  return out;
}

/**
 * The in-flight bound counts a message until its consumer has it, so every message
 * must reach a consumer and carry the publisher's index in its body.
 */
function checkInFlight(o: BenchOptions): void {
  if (o.inFlight === 0) return;
  if (!Number.isInteger(o.inFlight) || o.inFlight < 0) throw new Error('--in-flight must be a non-negative integer');
  if (o.producers === 0) return;
  if (o.consumers === 0) throw new Error('--in-flight needs consumers (it bounds messages published but not yet consumed)');
  if (o.exchangeType === 'topic') throw new Error('--in-flight needs every message to reach a consumer: not with --exchange-type topic');
  if (o.consumers < o.queues) throw new Error(`--in-flight needs a consumer on every queue (${o.queues} queues, ${o.consumers} consumers)`);
  if (o.size < MIN_TAGGED_BODY) throw new Error(`--in-flight needs --size of at least ${MIN_TAGGED_BODY} (the body carries the publisher's index)`);
}

/** Parses `--queue-args` JSON into a field table (integers become int32/int64, as RabbitMQ expects). */
export function parseQueueArgs(s: string): FieldTable {
  const v = JSON.parse(s) as unknown;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('--queue-args must be a JSON object');
  return v as FieldTable;
}
