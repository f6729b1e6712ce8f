/**
 * Differential property: for generated topologies (the four exchange types, exchange-to-
 * exchange bindings, alternate exchanges, policies) and generated messages (keys, patterns,
 * headers of every field type, CC and BCC), `topology.route` names exactly the queues the
 * broker puts each message in: Warren in-process, over amqplib, in a fresh vhost loaded
 * from the same definitions, and RabbitMQ when RABBITMQ_URL is set (CI sets it), under
 * uniquely prefixed names. ROUTE_SEED=<n> replays a run, ROUTE_RUNS=<n> runs longer.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedOutcome, routeLive, scenario, startBroker, type RunningBroker } from '../../testing/index.js';

const RABBITMQ_URL = process.env['RABBITMQ_URL'] ?? '';
if (RABBITMQ_URL === '') console.warn('routing: RABBITMQ_URL is not set; topology.route is compared with Warren only, not with RabbitMQ. CI sets it.');

/** ROUTE_RUNS=<n> runs n cases instead (the defaults keep npm test quick). */
const runs = Number(process.env['ROUTE_RUNS'] ?? 0);
const seed = process.env['ROUTE_SEED'] !== undefined ? Number(process.env['ROUTE_SEED']) : Date.now() ^ (Math.random() * 0x7fffffff);

describe('topology.route agrees with the broker', () => {
  let warren: RunningBroker;
  beforeAll(async () => {
    warren = await startBroker();
  });
  afterAll(async () => {
    await warren?.close();
  });

  it('with Warren in-process (definitions loaded into a fresh vhost)', async () => {
    console.log(`routing: differential run with seed ${seed} (replay with ROUTE_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(scenario({ refused: true }), async (s) => {
        const want = s.messages.map((m) => expectedOutcome(s.topology, m));
        const v = warren.createVhost(undefined, { definitions: s.definitions });
        try {
          expect(await routeLive(v.url, s.topology, s.messages, { declare: false })).toEqual(want);
        } finally {
          v.delete();
        }
      }),
      { numRuns: runs || 60, seed },
    );
  }, 120_000);

  it.skipIf(RABBITMQ_URL === '')('with RabbitMQ (declared under unique names)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario({ refused: true }), async (s) => {
        const want = s.messages.map((m) => expectedOutcome(s.topology, m));
        expect(await routeLive(RABBITMQ_URL, s.topology, s.messages)).toEqual(want);
      }),
      { numRuns: runs || 40, seed },
    );
  }, 180_000);
});
