import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

export interface UserConfig {
  name: string;
  password: string;
  tags?: string[];
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
  controlSocket: '',
  diskFreeLimit: 50_000_000,
  storeSync: 'batch',
  storeSyncIntervalMs: 0,
  storeSegmentBytes: 8 * 1024 * 1024,
  memoryPagingThreshold: Math.floor(totalmem() * 0.2),
  queuePagingLength: 50_000,
};

// Accepts RabbitMQ's snake_case names as well as ours.
const ALIASES: Record<string, keyof BrokerConfig> = {
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
  disk_free_limit: 'diskFreeLimit',
  store_sync: 'storeSync',
  store_sync_interval_ms: 'storeSyncIntervalMs',
  store_segment_bytes: 'storeSegmentBytes',
  memory_paging_threshold: 'memoryPagingThreshold',
  queue_paging_length: 'queuePagingLength',
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
