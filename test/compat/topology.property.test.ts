/**
 * Differential property: random topologies and message streams (test/compat/random-topology.ts)
 * give the same multiset of messages per queue, the same returns and the same confirms on
 * Warren and on RabbitMQ. Needs RABBITMQ_URL (CI sets it); COMPAT_SEED=<n> replays a run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { diffEvents } from '../../compat/diff.js';
import { runScenario } from '../../compat/runner.js';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { topologyArb, topologyScenario } from './random-topology.js';

const RABBITMQ_URL = process.env['RABBITMQ_URL'] ?? '';
if (RABBITMQ_URL === '') console.warn('compat: RABBITMQ_URL is not set; the random-topology comparison with RabbitMQ is skipped. CI sets it.');

describe.skipIf(RABBITMQ_URL === '')('compat: random topologies route alike on Warren and RabbitMQ', () => {
  let warren: RunningBroker;
  beforeAll(async () => {
    warren = await startBroker({ port: 0 });
  });
  afterAll(async () => {
    await warren?.close();
  });

  it('same messages per queue, returns and confirms', async () => {
    const seed = process.env['COMPAT_SEED'] !== undefined ? Number(process.env['COMPAT_SEED']) : Date.now() ^ (Math.random() * 0x7fffffff);
    console.log(`compat: random topologies with seed ${seed} (replay with COMPAT_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(topologyArb, async (t) => {
        const s = topologyScenario(t);
        const [r, w] = await Promise.all([runScenario(RABBITMQ_URL, s), runScenario(warren.url, s)]);
        const d = diffEvents(r.events, w.events, 8);
        if (d.length > 0) throw new Error(`RabbitMQ ≠ Warren for ${JSON.stringify(t)}:\n  ${d.join('\n  ')}`);
      }),
      { numRuns: 25, seed, verbose: 0 },
    );
  }, 120_000);
});
