// warren/routing and warren/testing from TypeScript: the types come with the package.
import { readFileSync } from 'node:fs';
import { Topology, type RouteResult, type RouteVisit } from 'warren/routing';
import { expectRoutes, startBroker, type RunningBroker, type VhostHandle } from 'warren/testing';

const topology: Topology = Topology.fromDefinitions(readFileSync(new URL('../definitions.json', import.meta.url), 'utf8'));
const route: RouteResult = topology.route({ exchange: 'orders', routingKey: 'eu.shipped' });
const path: readonly RouteVisit[] = route.path;
expectRoutes(topology, { exchange: 'orders', routingKey: 'eu.shipped' }, ['orders.eu', 'audit.all']);

const broker: RunningBroker = await startBroker({ definitions: topology.toDefinitions() });
const vhost: VhostHandle = broker.createVhost('example');
console.log(JSON.stringify({ queues: route.queues, exchanges: path.map((v) => v.exchange), vhost: vhost.url.endsWith('/example') }));
await broker.close();
