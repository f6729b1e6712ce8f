// warren/routing: where a message goes, without a broker. `Topology` is the entry point;
// the exchange types, the Router and the field-value helpers below it are what the broker
// itself runs, exported for tools that want them directly.
export { Topology } from './topology/topology.js';
export type { BindOptions, ExchangeOptions, PolicyOptions, QueueOptions, RouteMessage, RouteResult } from './topology/topology.js';
export type { RouteMatch, RouteVisit } from './topology/explain.js';
export { formatPath } from './topology/explain.js';
export { DefinitionsError, topologySections, fromJson, toJson } from './topology/definitions.js';
export type { BindingDef, ExchangeDef, PolicyDef, QueueDef, TopologySections } from './topology/definitions.js';
export type { Definitions } from '../persistence/definitions.js';
export { Typed } from '../amqp/table.js';
export type { FieldTable, FieldValue } from '../amqp/table.js';
export { AmqpError, ChannelError, ConnectionError } from '../amqp/errors.js';

export { createExchange, EXCHANGE_TYPES } from './exchange.js';
export { FederationUpstreamExchange, shouldForward, alreadySeen, federationUpstreamArgsError } from './plugins/federation-upstream.js';
export type { Binding, Exchange, ExchangeType, Routable, RouteTarget } from './exchange.js';
export { BindingIndex, bindingId } from './binding-set.js';
export { DirectExchange } from './direct.js';
export { FanoutExchange } from './fanout.js';
export { TopicExchange, TOPIC_CACHE_SIZE } from './topic.js';
export { TopicTrie, splitTopic } from './topic-trie.js';
export { HeadersExchange, validateHeadersBindingArgs, xMatchOf } from './headers.js';
export type { XMatch } from './headers.js';
export { DefaultExchange } from './default-exchange.js';
export { Router } from './router.js';
export type { ExchangeNode, RouteTracer } from './router.js';
export { alternateExchangeArg, publishExchange, publishRoutingKeys, STANDARD_EXCHANGES } from './publish.js';
export { routingKeysFor, hasBcc, stripBcc, validateRoutingHeaders } from './sender-selected.js';
export { fieldEquals, plainValue, canonicalTable, canonicalValue } from './field-value.js';
