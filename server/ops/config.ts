import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { MemoryWatermark } from './memory-alarm.js';

/**
 * A user seeded at first start (no stored definitions, no loadDefinitions), as RabbitMQ
 * seeds default_user. `password` is hashed at once and never stored; or give
 * `password_hash` and `hashing_algorithm` as a RabbitMQ export has them.
 */
export interface UserConfig {
  name: string;
  password?: string;
  password_hash?: string;
  hashing_algorithm?: string;
  tags?: string[] | string;
  limits?: { 'max-connections'?: number; 'max-channels'?: number };
  /** Permissions by vhost; without it the user may do everything in every configured vhost. */
  permissions?: Record<string, { configure: string; write: string; read: string }>;
}

export interface BrokerConfig {
  host: string;
  port: number;
  /** Where durable state lives; '' keeps everything in memory (the in-process default). */
  dataDir: string;
  logLevel: string;
  /** Largest frame we accept and offer in connection.tune. */
  frameMax: number;
  channelMax: number;
  /** Heartbeat offered in connection.tune, in seconds (0 disables). */
  heartbeat: number;
  /**
   * ms from the TCP accept for the client to finish the AMQP handshake (up to connection.open);
   * after that the socket is closed without a frame (RabbitMQ's handshake_timeout). 0 = no limit.
   */
  handshakeTimeout: number;
  /** Largest message body accepted; larger publishes get 406. */
  maxMessageSize: number;
  users: UserConfig[];
  vhosts: string[];
  /** Users that may only log in from loopback addresses (RabbitMQ's loopback_users). */
  loopbackUsers: string[];
  /** ms a delivery may stay unacked before its channel is closed (RabbitMQ's consumer_timeout). */
  consumerTimeout: number;
  /** Policies applied at start, as `rabbitmqctl set_policy` would set them. */
  policies: PolicyConfig[];
  /**
   * A definitions file (RabbitMQ's format, or a directory of them) imported at every start,
   * as RabbitMQ's load_definitions; when set, the default users and vhosts are not seeded.
   */
  loadDefinitions: string;
  /** Path of the CLI control socket; '' = none. `warren start` uses <dataDir>/warren.sock. */
  controlSocket: string;
  /**
   * Publishers are blocked (connection.blocked) while the data directory's file system has
   * less free space than this many bytes (RabbitMQ's disk_free_limit, default 50 MB); also
   * as rabbitmq.conf writes it, "50MB" or "2GiB".
   */
  diskFreeLimit: number | string;
  /**
   * Message store durability: 'batch' confirms persistent messages only after fdatasync
   * (group commit); 'never' confirms once written to the OS (survives a process crash,
   * not a power cut).
   */
  storeSync: 'batch' | 'never';
  /**
   * Least ms between store batch starts. 0 (default) syncs as soon as the previous batch is
   * done, so batches grow with load; larger values trade confirm latency for fewer fsyncs.
   */
  storeSyncIntervalMs: number;
  /** Target size of a message store segment file, in bytes. */
  storeSegmentBytes: number;
  /**
   * Above this resident set size (bytes), transient messages are written to the message
   * store as well, so that queue backlogs leave RAM (RabbitMQ pages at half its memory
   * high watermark, i.e. 20% of RAM by default; so does Warren). Needs a data directory.
   */
  memoryPagingThreshold: number;
  /**
   * A queue with this many ready messages pages new transient messages out to the message
   * store (a backlog should not live in RAM); 0 turns per-queue paging off. Needs a data directory.
   */
  queuePagingLength: number;
  /**
   * RabbitMQ's memory alarm: above this much resident memory, publishers are blocked
   * ("low on memory"). A number is a fraction of total memory; "1GB" or { absolute } a size.
   */
  vmMemoryHighWatermark: MemoryWatermark;
  /** Memory a relative watermark refers to, instead of the machine's (bytes or "4GB"; 0 = the machine's). */
  totalMemoryAvailableOverrideValue: number | string;
  /** False turns the plain AMQP listener(s) off (rabbitmq.conf `listeners.tcp = none`). */
  tcpListener: boolean;
  /** More plain AMQP listeners besides host:port: a port (on `host`) or "address:port". */
  extraTcpListeners: (number | string)[];
  /** amqps listeners (RabbitMQ's ssl_listeners): a port (on `host`) or "address:port"; none by default. */
  sslListeners: (number | string)[];
  /** TLS settings under RabbitMQ's ssl_options names. */
  sslOptions: SslOptions;
  /** Which part of a client certificate names the EXTERNAL user. */
  sslCertLoginFrom: 'distinguished_name' | 'common_name' | 'subject_alternative_name' | 'subject_alt_name';
  /** With subject_alternative_name: which SAN type, and which of them (0-based). */
  sslCertLoginSanType: 'dns' | 'ip' | 'email' | 'uri' | 'other_name';
  sslCertLoginSanIndex: number;
  /** ms a client has to finish the TLS handshake. */
  sslHandshakeTimeout: number;
  /** SASL mechanisms offered: PLAIN, AMQPLAIN, EXTERNAL (EXTERNAL only on TLS connections). */
  authMechanisms: string[];
  /** Port of the management HTTP API (RabbitMQ's management.tcp.port); 0 picks a free one, null: none. */
  managementPort: number | null;
  /** Port of the Prometheus /metrics endpoint (prometheus.tcp.port); 0 picks a free one, null: none. */
  prometheusPort: number | null;
  /** ms between two samples of the statistics counters, for rates (RabbitMQ's collect_statistics_interval). */
  collectStatisticsInterval: number;
  /**
   * The cluster's name (RabbitMQ's cluster_name), sent in connection.start and used by
   * federation to know brokers apart; '' means the node's name (`warren@<host name>`). A
   * `cluster_name` global parameter in imported definitions wins, as in RabbitMQ.
   */
  clusterName: string;
}

/** RabbitMQ's ssl_options, by its names. */
export interface SslOptions {
  certfile?: string;
  keyfile?: string;
  cacertfile?: string;
  /** Password of an encrypted keyfile. */
  password?: string;
  verify?: 'verify_peer' | 'verify_none';
  fail_if_no_peer_cert?: boolean;
  /** e.g. ['tlsv1.3', 'tlsv1.2']. */
  versions?: string[];
  /** OpenSSL cipher suite names. */
  ciphers?: string[];
  honor_cipher_order?: boolean;
}

export interface PolicyConfig {
  vhost?: string;
  name: string;
  pattern: string;
  definition: Record<string, unknown>;
  priority?: number;
  applyTo?: 'queues' | 'exchanges' | 'all';
}

export const DEFAULT_CONFIG: BrokerConfig = {
  // Every IPv6 and IPv4 address (dual-stack), as RabbitMQ listens; IPv4 alone without IPv6.
  host: '::',
  port: 5672,
  dataDir: './data',
  logLevel: 'info',
  frameMax: 131072,
  channelMax: 2047,
  heartbeat: 60,
  handshakeTimeout: 10_000,
  maxMessageSize: 16 * 1024 * 1024,
  users: [{ name: 'guest', password: 'guest', tags: ['administrator'] }],
  vhosts: ['/'],
  loopbackUsers: ['guest'],
  consumerTimeout: 30 * 60 * 1000,
  policies: [],
  loadDefinitions: '',
  controlSocket: '',
  diskFreeLimit: 50_000_000,
  storeSync: 'batch',
  storeSyncIntervalMs: 0,
  storeSegmentBytes: 8 * 1024 * 1024,
  memoryPagingThreshold: Math.floor(totalmem() * 0.2),
  queuePagingLength: 50_000,
  vmMemoryHighWatermark: 0.4,
  totalMemoryAvailableOverrideValue: 0,
  tcpListener: true,
  extraTcpListeners: [],
  sslListeners: [],
  sslOptions: {},
  sslCertLoginFrom: 'distinguished_name',
  sslCertLoginSanType: 'dns',
  sslCertLoginSanIndex: 0,
  sslHandshakeTimeout: 5000,
  authMechanisms: ['PLAIN', 'AMQPLAIN'],
  managementPort: 15672,
  prometheusPort: 15692,
  collectStatisticsInterval: 5000,
  clusterName: '',
};

// Accepts RabbitMQ's snake_case names as well as ours.
export const ALIASES: Record<string, keyof BrokerConfig> = {
  listen_host: 'host',
  listener_port: 'port',
  data_dir: 'dataDir',
  log_level: 'logLevel',
  frame_max: 'frameMax',
  channel_max: 'channelMax',
  handshake_timeout: 'handshakeTimeout',
  max_message_size: 'maxMessageSize',
  loopback_users: 'loopbackUsers',
  consumer_timeout: 'consumerTimeout',
  load_definitions: 'loadDefinitions',
  disk_free_limit: 'diskFreeLimit',
  store_sync: 'storeSync',
  store_sync_interval_ms: 'storeSyncIntervalMs',
  store_segment_bytes: 'storeSegmentBytes',
  memory_paging_threshold: 'memoryPagingThreshold',
  queue_paging_length: 'queuePagingLength',
  vm_memory_high_watermark: 'vmMemoryHighWatermark',
  total_memory_available_override_value: 'totalMemoryAvailableOverrideValue',
  tcp_listener: 'tcpListener',
  extra_tcp_listeners: 'extraTcpListeners',
  ssl_listeners: 'sslListeners',
  ssl_options: 'sslOptions',
  ssl_cert_login_from: 'sslCertLoginFrom',
  ssl_cert_login_san_type: 'sslCertLoginSanType',
  ssl_cert_login_san_index: 'sslCertLoginSanIndex',
  ssl_handshake_timeout: 'sslHandshakeTimeout',
  auth_mechanisms: 'authMechanisms',
  management_port: 'managementPort',
  prometheus_port: 'prometheusPort',
  collect_statistics_interval: 'collectStatisticsInterval',
  cluster_name: 'clusterName',
};

/** Merges a JSON config file over the defaults; unknown keys are an error, so typos surface. */
export function loadConfigFile(path: string): Partial<BrokerConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`config file ${path} must hold a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = ALIASES[k] ?? k;
    if (!(key in DEFAULT_CONFIG)) throw new Error(`config file ${path}: unknown setting '${k}'`);
    out[key] = v;
  }
  return out as Partial<BrokerConfig>;
}

export function resolveConfig(...layers: Partial<BrokerConfig>[]): BrokerConfig {
  const c: BrokerConfig = { ...DEFAULT_CONFIG };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  }
  return c;
}
