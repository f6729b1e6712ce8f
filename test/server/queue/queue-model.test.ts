/**
 * Model-based test of server/queue.ts (issue: "random interleavings of publish, expiry
 * (with a fake clock), consume, ack, nack, requeue and overflow, run against a simple
 * reference model of a queue, ending in the same observable delivery and dead-letter
 * sequence").
 *
 * A real Queue (fake host, fake channels; see ./queue-model/harness.ts) and the
 * reference model of a RabbitMQ 3.x classic queue (./queue-model/reference.ts) take the
 * same random steps: publish (per-message TTL, priority), clock moves, basic.consume
 * (prefetch, x-priority, no-ack), basic.cancel, basic.ack / nack / reject (single or
 * multiple, with or without requeue), basic.get and queue.purge, under random queue
 * arguments (x-message-ttl, x-max-length, x-max-length-bytes, x-overflow,
 * x-max-priority, x-single-active-consumer). After every step the delivery log
 * [consumer, body, redelivered], the dead-letter log [body, reason], messageCount,
 * the unacked and consumer counts and the step's own result (enqueue's accept/refuse,
 * basic.get's message, purge's count) must be the same.
 *
 * One property per feature, so that one discrepancy does not hide another. Each one
 * that found a difference from RabbitMQ keeps its shrunk counterexample as a fast-check
 * `example`, tried first on every run.
 *
 * Env: QUEUE_MODEL_RUNS (runs per property, default 200), QUEUE_MODEL_SEED and
 * QUEUE_MODEL_PATH (replay a reported failure).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { ALL, opArb, run, settingsArb, type Features, type Op } from './queue-model/harness.js';
import type { ModelSettings } from './queue-model/reference.js';

const RUNS = Number(process.env['QUEUE_MODEL_RUNS'] ?? 200);
const SEED = process.env['QUEUE_MODEL_SEED'];
const PATH = process.env['QUEUE_MODEL_PATH'];

type Example = [ModelSettings, Op[]];

interface Check {
  features: Features;
  /** Counterexamples found earlier, tried first. */
  examples?: Example[];
}

async function check({ features, examples = [] }: Check): Promise<void> {
  await fc.assert(
    fc.asyncProperty(settingsArb(features), fc.array(opArb(features), { maxLength: 40, size: 'max' }), (settings, ops) =>
      run(settings, ops, features),
    ),
    {
      numRuns: RUNS,
      verbose: 1,
      examples,
      ...(SEED !== undefined ? { seed: Number(SEED) } : {}),
      ...(PATH !== undefined ? { path: PATH } : {}),
    },
  );
}

const NONE: Features = { ttl: false, ttlZero: false, limits: false, priorities: false, consumers: false, sac: false };
const PLAIN: ModelSettings = {
  messageTtl: null,
  maxLength: null,
  maxLengthBytes: null,
  overflow: 'drop-head',
  maxPriority: null,
  singleActiveConsumer: false,
};
const publish = (ttl?: number, priority?: number): Op => ({ op: 'publish', pad: 0, ttl, priority });
const consume = (prefetch: number, priority = 0, noAck = false): Op => ({ op: 'consume', prefetch, priority, noAck });

describe('Queue against the RabbitMQ classic-queue model', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('FIFO with one consumer at a time: publish, consume, cancel, ack, nack, reject, get, purge', () => check({ features: NONE }));

  it('several consumers: x-priority, prefetch, round-robin as rabbit_queue_consumers', () =>
    check({
      features: { ...NONE, consumers: true },
      // A consumer found without credit is blocked; when credit comes back it rejoins
      // behind the others (rabbit_queue_consumers:unblock), so c2 gets m3 here.
      examples: [[PLAIN, [consume(1), publish(), consume(0, 0, true), publish(), { op: 'nack', ch: 0, pick: 0, multiple: false, requeue: false }, publish()]]],
    }));


  it('single active consumer', () =>
    check({
      features: { ...NONE, consumers: true, sac: 'always' },
      // When the active consumer goes, the next is the highest x-priority one (then the oldest).
      examples: [[{ ...PLAIN, singleActiveConsumer: true }, [consume(0), consume(0), consume(0, 1), { op: 'cancel', pick: 0 }, publish()]]],
    }));

  it('message TTL: only the head expires, and is checked after every fetch', () =>
    check({
      features: { ...NONE, ttl: true, consumers: true },
      // m2 expired behind m1; once m1 is fetched m2 is the head and must be dead-lettered, not delivered.
      examples: [[PLAIN, [publish(), publish(1), { op: 'advance', ms: 1 }, consume(0, 0, true)]]],
    }));

  it('message TTL 0: expires when it is the head, unless a consumer takes it at once', () =>
    check({
      features: { ...NONE, ttl: true, ttlZero: true, consumers: true },
      // m2 (TTL 0) is not the head: it waits behind m1 like any expired message.
      examples: [[PLAIN, [publish(), publish(0)]]],
    }));

  it('length limits and overflow', () =>
    check({
      features: { ...NONE, limits: true, consumers: true },
      // requeue_and_run applies drop-head: a requeue that takes the queue over the limit drops the head.
      examples: [[{ ...PLAIN, maxLength: 0 }, [consume(0), publish(), { op: 'nack', ch: 0, pick: 0, multiple: false, requeue: true }]]],
    }));

  it('length limits with message TTL', () =>
    check({
      features: { ...NONE, ttl: true, limits: true, consumers: true },
      // Dropping m1 makes m2 the head: its TTL must be timed from then on.
      examples: [[{ ...PLAIN, maxLength: 2 }, [publish(), publish(10), publish(), { op: 'advance', ms: 20 }]]],
    }));

  it('priority queues', () => check({ features: { ...NONE, priorities: true, consumers: true } }));

  it('priority queues with message TTL: only the head of the whole queue expires', () =>
    check({
      features: { ...NONE, ttl: true, priorities: true, consumers: true },
      // m1 (priority 0) is behind m2 (priority 1): it must not expire while m2 is there.
      examples: [[{ ...PLAIN, maxPriority: 1 }, [publish(1), publish(undefined, 1), { op: 'advance', ms: 1 }]]],
    }));

  it('everything at once', () => check({ features: ALL }));

});
