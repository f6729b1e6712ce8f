// warren/testing: fast-check arbitraries for AMQP routing, assertions about routes, the
// same messages on a live broker, and an in-process broker for test suites.
export * as arb from './arbitraries.js';
export {
  fieldValue,
  headerTable,
  message,
  messages,
  routingKey,
  scenario,
  topicPattern,
  topology,
  topologyDefinitions,
} from './arbitraries.js';
export type { HeaderOptions, KeyOptions, MessageOptions, RoutingScenario, TopologyOptions } from './arbitraries.js';
export { checkRouting, expectRoutes, expectUnroutable, routingProperty } from './expect.js';
export type { RoutingInvariant, RoutingPropertyOptions } from './expect.js';
export { expectedOutcome, routeLive, toAmqplibTable, toAmqplibValue } from './live.js';
export type { LiveOptions, RouteOutcome } from './live.js';
export { startBroker } from '../server/index.js';
export type { RunningBroker, StartOptions, VhostHandle } from '../server/index.js';
export { Topology } from '../routing/topology/topology.js';
export type { RouteMessage, RouteResult } from '../routing/topology/topology.js';
