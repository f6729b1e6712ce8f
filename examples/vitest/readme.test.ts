// The property test of the README's "Testing with Warren", as it is printed there.
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import { Topology } from 'warren/routing';
import { checkRouting, expectRoutes } from 'warren/testing';

const topology = Topology.fromDefinitions(readFileSync(new URL('../definitions.json', import.meta.url), 'utf8'));

test('an EU order reaches the EU queue', () => {
  expectRoutes(topology, { exchange: 'orders', routingKey: 'eu.created' }, ['orders.eu', 'orders.created', 'audit.all']);
});
test('no order event is ever dropped', () => {
  checkRouting(topology, (route) => route.queues.length > 0, { exchanges: ['orders'] });
});
