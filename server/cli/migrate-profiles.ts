/**
 * What each kind of target broker accepts, for `warren migrate plan`: Warren (this
 * implementation, judged with its own validators), RabbitMQ 3.x, and Amazon MQ for
 * RabbitMQ (RabbitMQ with the service's restrictions: AMQPS only, no remote guest, three
 * user tags, default lazy-queue and max-length policies, vhost limits on `/`).
 */

export type TargetProfile = 'warren' | 'rabbitmq' | 'amazon-mq';
export const PROFILES: readonly TargetProfile[] = ['warren', 'rabbitmq', 'amazon-mq'];

/** The exchange types every RabbitMQ has. */
export const BUILTIN_EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers'];

/** Plugins that bring an exchange type, by type. */
export const EXCHANGE_TYPE_PLUGINS: Record<string, string> = {
  'x-delayed-message': 'rabbitmq_delayed_message_exchange',
  'x-consistent-hash': 'rabbitmq_consistent_hash_exchange',
  'x-random': 'rabbitmq_random_exchange',
  'x-recent-history': 'rabbitmq_recent_history_exchange',
  'x-modulus-hash': 'rabbitmq_sharding',
  'x-jms-topic': 'rabbitmq_jms_topic_exchange',
  'x-federation-upstream': 'rabbitmq_federation',
  'x-lvc': 'rabbitmq_lvc_exchange',
};

/** Plugins that own a runtime parameter component. */
export const COMPONENT_PLUGINS: Record<string, string> = {
  shovel: 'rabbitmq_shovel',
  'federation-upstream': 'rabbitmq_federation',
  'federation-upstream-set': 'rabbitmq_federation',
  'mqtt-port-to-vhost-mapping': 'rabbitmq_mqtt',
};

/** The password hashing algorithms of RabbitMQ's internal backend. */
export const HASHING_ALGORITHMS = ['rabbit_password_hashing_sha256', 'rabbit_password_hashing_sha512', 'rabbit_password_hashing_md5'];

/** Queue arguments Warren validates as RabbitMQ does and then does not act on, with why. */
export const WARREN_INERT_ARGUMENTS: Record<string, string> = {
  'x-queue-mode': 'every queue keeps its backlog on disk already (no lazy mode to switch to)',
  'x-queue-version': 'Warren has one classic queue implementation',
  'x-queue-master-locator': 'Warren runs on one node',
  'x-queue-leader-locator': 'Warren runs on one node',
  'x-quorum-initial-group-size': 'Warren runs on one node: a quorum queue has one replica',
  'x-initial-cluster-size': 'Warren runs on one node',
  'x-max-in-memory-length': 'bodies leave memory once on disk anyway',
  'x-max-in-memory-bytes': 'bodies leave memory once on disk anyway',
};

/** How each queue type lands on the target. */
export function queueTypeVerdict(profile: TargetProfile, type: string): { verdict: 'supported' | 'difference'; reason: string } {
  if (profile !== 'warren') return { verdict: 'supported', reason: '' };
  if (type === 'quorum') return { verdict: 'difference', reason: "quorum queue with rabbit_fifo's semantics on one node: not replicated" };
  if (type === 'stream') return { verdict: 'difference', reason: 'stream queue over AMQP 0-9-1 on one node: not replicated, no stream protocol (port 5552)' };
  return { verdict: 'supported', reason: '' };
}

/** Amazon MQ for RabbitMQ: the user tags its brokers accept. */
export const AMAZON_MQ_TAGS = ['administrator', 'management', 'monitoring'];

/** Numbers that vary with an Amazon MQ broker's instance type and deployment (its "recommended default values"). */
export interface AmazonMqLimits {
  maxQueues?: number;
  maxConnections?: number;
  maxLength?: number;
}
