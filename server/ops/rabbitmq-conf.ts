/**
 * rabbitmq.conf, read as RabbitMQ reads it, into Warren's config keys. A setting Warren
 * supports is translated (RabbitMQ's name, or Warren's own key in snake_case); a RabbitMQ
 * setting Warren does not support is reported back as a warning, once, naming it; a key
 * that no RabbitMQ release knows (RABBITMQ_CONF_KEYS) is an error, as a typo should be.
 */
import { readFileSync } from 'node:fs';
import { ALIASES, DEFAULT_CONFIG, loadConfigFile, type BrokerConfig, type SslOptions } from './config.js';
import { ConfSyntaxError, parseConf, type ConfEntry } from './conf-syntax.js';
import { RABBITMQ_CONF_KEYS } from './generated/rabbitmq-conf-keys.js';

export interface ConfigWarning {
  key: string;
  file: string;
  line: number;
  reason: string;
}

export interface ConfigFile {
  config: Partial<BrokerConfig>;
  /** Settings that were read but have no effect in Warren; log each once. */
  warnings: ConfigWarning[];
}

/**
 * Reads a config file: rabbitmq.conf's format when the name ends in .conf or the text does
 * not start with `{`, Warren's JSON otherwise.
 */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (!path.endsWith('.conf') && text.trimStart().startsWith('{')) return { config: loadConfigFile(path), warnings: [] };
  return translateConf(path, text);
}

class ConfValueError extends Error {}

/** Parses rabbitmq.conf text (from `file`, for messages and includes) into Warren's config keys. */
export function translateConf(file: string, text: string, readFile?: (path: string) => string): ConfigFile {
  let entries: ConfEntry[];
  try {
    entries = parseConf(text, file, readFile);
  } catch (err) {
    if (err instanceof ConfSyntaxError) throw new Error(`config file ${err.message}`);
    throw new Error(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const t = new Translation();
  for (const e of entries) {
    try {
      t.apply(e);
    } catch (err) {
      if (err instanceof ConfValueError) throw new Error(`config file ${e.file}, line ${e.line}: ${e.key}: ${err.message}`);
      throw err;
    }
  }
  return { config: t.finish(), warnings: t.warnings };
}

type Handler = (t: Translation, value: string, e: ConfEntry, segments: string[]) => void;

/** RabbitMQ's settings that Warren honours, by Cuttlefish pattern (`$x` is any one segment). */
const RULES: [string, Handler][] = [
  ['listeners.tcp', (t, v) => (t.tcpNone = none(v))],
  ['listeners.tcp.$name', (t, v) => t.tcp.push(listener(v))],
  ['listeners.ssl', (t, v) => (t.sslNone = none(v))],
  ['listeners.ssl.$name', (t, v) => t.ssl.push(listener(v))],
  ['ssl_options', (t, v) => (t.sslNoneOptions = none(v))],
  ['ssl_options.cacertfile', (t, v) => (t.ssl_options.cacertfile = v)],
  ['ssl_options.certfile', (t, v) => (t.ssl_options.certfile = v)],
  ['ssl_options.keyfile', (t, v) => (t.ssl_options.keyfile = v)],
  ['ssl_options.password', (t, v) => (t.ssl_options.password = v)],
  ['ssl_options.verify', (t, v) => (t.ssl_options.verify = oneOf(v, ['verify_peer', 'verify_none'] as const))],
  ['ssl_options.fail_if_no_peer_cert', (t, v) => (t.ssl_options.fail_if_no_peer_cert = bool(v))],
  ['ssl_options.honor_cipher_order', (t, v) => (t.ssl_options.honor_cipher_order = bool(v))],
  ['ssl_options.versions.$version', (t, v) => (t.ssl_options.versions ??= []).push(v)],
  ['ssl_options.ciphers.$cipher', (t, v) => (t.ssl_options.ciphers ??= []).push(v)],
  ['ssl_cert_login_from', (t, v) => t.set('sslCertLoginFrom', oneOf(v, ['distinguished_name', 'common_name', 'subject_alternative_name', 'subject_alt_name']))],
  ['ssl_cert_login_san_type', (t, v) => t.set('sslCertLoginSanType', oneOf(v, ['dns', 'ip', 'email', 'uri', 'other_name']))],
  ['ssl_cert_login_san_index', (t, v) => t.set('sslCertLoginSanIndex', integer(v, 0))],
  ['ssl_handshake_timeout', (t, v) => t.set('sslHandshakeTimeout', integer(v, 0))],
  ['auth_mechanisms.$name', (t, v) => t.mechanisms.push(v)],
  ['default_user', (t, v) => (t.defaultUser = v)],
  ['default_pass', (t, v) => (t.defaultPass = v)],
  ['default_user_tags.$tag', (t, v, _e, s) => t.defaultTags.set(s[1]!, bool(v))],
  ['default_vhost', (t, v) => t.set('vhosts', [v])],
  ['loopback_users', (t, v) => (t.loopbackNone = none(v))],
  ['loopback_users.$user', (t, v, _e, s) => t.loopback.set(s[1]!, bool(v))],
  ['heartbeat', (t, v) => t.set('heartbeat', integer(v, 0))],
  ['frame_max', (t, v) => t.set('frameMax', bytesize(v))],
  ['channel_max', (t, v) => t.set('channelMax', integer(v, 0))],
  ['max_message_size', (t, v) => t.set('maxMessageSize', integer(v, 1))],
  ['consumer_timeout', (t, v) => t.set('consumerTimeout', integer(v, 1))],
  ['vm_memory_high_watermark.relative', (t, v) => (t.memRelative = float(v))],
  ['vm_memory_high_watermark.absolute', (t, v) => (t.memAbsolute = informationUnit(v))],
  ['total_memory_available_override_value', (t, v) => t.set('totalMemoryAvailableOverrideValue', informationUnit(v))],
  ['disk_free_limit.absolute', (t, v) => t.set('diskFreeLimit', informationUnit(v))],
  [
    'disk_free_limit.relative',
    (t, v, e) => {
      float(v);
      t.warn(e, 'a disk limit relative to RAM is not supported; set disk_free_limit.absolute');
    },
  ],
  ['load_definitions', (t, v) => t.set('loadDefinitions', v)],
  ['management.load_definitions', (t, v) => t.set('loadDefinitions', v)],
  ['definitions.local.path', (t, v) => t.set('loadDefinitions', v)],
  ['definitions.import_backend', (t, v, e) => void (v !== 'local_filesystem' && t.warn(e, 'only definitions from a local file are supported'))],
  ['log.console', (t, v, e) => void (!bool(v) && t.warn(e, 'Warren always logs to standard output'))],
  ['log.console.level', (t, v) => t.set('logLevel', LOG_LEVELS[oneOf(v, Object.keys(LOG_LEVELS))]!)],
  ['log.file', (t, v, e) => void (v !== 'false' && t.warn(e, 'Warren logs to standard output only'))],
  ['management.tcp.port', (t, v) => t.set('managementPort', integer(v, 0, 65535))],
  ['prometheus.tcp.port', (t, v) => t.set('prometheusPort', integer(v, 0, 65535))],
];

/** RabbitMQ's log levels onto pino's. */
const LOG_LEVELS: Record<string, string> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  none: 'silent',
};

/** Config keys whose value may be a number or a size with units. */
const SIZE_KEYS = new Set<string>(['diskFreeLimit', 'totalMemoryAvailableOverrideValue', 'vmMemoryHighWatermark']);

/** Warren's own keys in snake_case, for the scalar settings (lists have RabbitMQ's forms above). */
const OWN_KEYS = new Map<string, keyof BrokerConfig>();
for (const k of Object.keys(DEFAULT_CONFIG) as (keyof BrokerConfig)[]) {
  const kind = typeof DEFAULT_CONFIG[k];
  if (kind === 'number' || kind === 'string' || kind === 'boolean') OWN_KEYS.set(k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), k);
}
for (const [alias, k] of Object.entries(ALIASES)) if (OWN_KEYS.has(k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))) OWN_KEYS.set(alias, k);

const KNOWN = RABBITMQ_CONF_KEYS.map((k) => k.split('.'));

function matches(pattern: string[], segments: string[]): boolean {
  return pattern.length === segments.length && pattern.every((p, i) => p.startsWith('$') || p === segments[i]);
}

const RULE_PATTERNS = RULES.map(([p, h]) => [p.split('.'), h] as const);

class Translation {
  readonly out: Record<string, unknown> = {};
  readonly warnings: ConfigWarning[] = [];
  tcpNone = false;
  sslNone = false;
  sslNoneOptions = false;
  loopbackNone = false;
  readonly tcp: string[] = [];
  readonly ssl: string[] = [];
  readonly ssl_options: SslOptions = {};
  readonly mechanisms: string[] = [];
  readonly loopback = new Map<string, boolean>();
  readonly defaultTags = new Map<string, boolean>();
  defaultUser: string | undefined;
  defaultPass: string | undefined;
  memRelative: number | undefined;
  memAbsolute: number | string | undefined;

  set(key: string, value: unknown): void {
    this.out[key] = value;
  }

  warn(e: ConfEntry, reason: string): void {
    if (!this.warnings.some((w) => w.key === e.key)) this.warnings.push({ key: e.key, file: e.file, line: e.line, reason });
  }

  apply(e: ConfEntry): void {
    const segments = e.key.split('.');
    for (const [pattern, handler] of RULE_PATTERNS) {
      if (matches(pattern, segments)) return handler(this, e.value, e, segments);
    }
    const own = OWN_KEYS.get(e.key);
    if (own !== undefined) return this.set(own, ownValue(own, e.value));
    if (e.key === 'handshake_timeout' && 'handshakeTimeout' in DEFAULT_CONFIG) return this.set('handshakeTimeout', integer(e.value, 0));
    if (KNOWN.some((p) => matches(p, segments))) return this.warn(e, 'not supported by Warren; ignored');
    throw new ConfValueError('unknown setting (no RabbitMQ release has it)');
  }

  finish(): Partial<BrokerConfig> {
    const out = this.out;
    // As RabbitMQ: `listeners.tcp = none` wins over any listeners.tcp.* line.
    if (this.tcpNone) out['tcpListener'] = false;
    else if (this.tcp.length > 0) {
      const [first, ...more] = this.tcp;
      const { host, port } = splitListener(first!);
      out['port'] = port;
      if (host !== undefined) out['host'] = host;
      out['extraTcpListeners'] = more;
    }
    if (this.sslNone) out['sslListeners'] = [];
    else if (this.ssl.length > 0) out['sslListeners'] = this.ssl;
    if (!this.sslNoneOptions && Object.keys(this.ssl_options).length > 0) out['sslOptions'] = this.ssl_options;
    if (this.mechanisms.length > 0) out['authMechanisms'] = this.mechanisms;
    if (this.loopbackNone) out['loopbackUsers'] = [];
    else if (this.loopback.size > 0) out['loopbackUsers'] = [...this.loopback].filter(([, on]) => on).map(([u]) => u);
    if (this.defaultUser !== undefined || this.defaultPass !== undefined || this.defaultTags.size > 0) {
      const tags = this.defaultTags.size > 0 ? [...this.defaultTags].filter(([, on]) => on).map(([t]) => t) : ['administrator'];
      out['users'] = [{ name: this.defaultUser ?? 'guest', password: this.defaultPass ?? 'guest', tags }];
    }
    // As RabbitMQ's translation: with both set, the relative watermark wins.
    if (this.memRelative !== undefined) out['vmMemoryHighWatermark'] = this.memRelative;
    else if (this.memAbsolute !== undefined) out['vmMemoryHighWatermark'] = { absolute: this.memAbsolute };
    return out as Partial<BrokerConfig>;
  }
}

function ownValue(key: keyof BrokerConfig, v: string): unknown {
  const kind = typeof DEFAULT_CONFIG[key];
  if (SIZE_KEYS.has(key)) return /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (kind === 'number') {
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) throw new ConfValueError(`'${v}' is not a number`);
    return n;
  }
  if (kind === 'boolean') return bool(v);
  return v;
}

function none(v: string): true {
  if (v !== 'none') throw new ConfValueError(`'${v}' is not valid here (only 'none' is)`);
  return true;
}

function bool(v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfValueError(`'${v}' is not true or false`);
}

function oneOf<T extends string>(v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new ConfValueError(`'${v}' is not one of ${allowed.join(', ')}`);
  return v as T;
}

function integer(v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(v)) throw new ConfValueError(`'${v}' is not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfValueError(`${n} is out of range (${min}..${max})`);
  return n;
}

function float(v: string): number {
  const n = Number(v);
  if (!/^\d*\.?\d+$/.test(v) || !Number.isFinite(n)) throw new ConfValueError(`'${v}' is not a number`);
  return n;
}

/** Cuttlefish's bytesize: an integer with an optional KB, MB or GB (powers of 1024). */
function bytesize(v: string): number {
  const m = /^(\d+)(kb|mb|gb)?$/i.exec(v);
  if (m === null) throw new ConfValueError(`'${v}' is not a size such as 131072 or 128KB`);
  const unit = m[2] === undefined ? 1 : 1024 ** (['kb', 'mb', 'gb'].indexOf(m[2].toLowerCase()) + 1);
  return Number(m[1]) * unit;
}

/** RabbitMQ's information units (rabbit_resource_monitor_misc): 1000000, "50MB", "2GiB", "512M". */
function informationUnit(v: string): number | string {
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^\d+(kB|KB|MB|GB|kb|mb|gb|Kb|Mb|Gb|kiB|KiB|MiB|GiB|kib|mib|gib|KIB|MIB|GIB|k|K|m|M|g|G)$/.test(v)) {
    throw new ConfValueError(`'${v}' is not a size such as 50000000, 50MB or 2GiB`);
  }
  return v;
}

/** A listener as Cuttlefish's [integer, ip] datatype: "5672", "127.0.0.1:5672" or ":::5672". */
function listener(v: string): string {
  splitListener(v);
  return v;
}

export function splitListener(v: string | number): { host: string | undefined; port: number } {
  const s = String(v);
  const colon = s.lastIndexOf(':');
  const host = colon < 0 ? undefined : s.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const portText = colon < 0 ? s : s.slice(colon + 1);
  if (!/^\d+$/.test(portText) || Number(portText) > 65535 || host === '') {
    throw new ConfValueError(`'${s}' is not a port or an address:port`);
  }
  return { host, port: Number(portText) };
}
