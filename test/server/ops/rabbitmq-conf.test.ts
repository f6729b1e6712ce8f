// rabbitmq.conf, read as RabbitMQ's Cuttlefish reads it, onto Warren's config keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_CONFIG } from '../../../server/ops/config.js';
import { parseConf } from '../../../server/ops/conf-syntax.js';
import { readConfigFile, translateConf } from '../../../server/ops/rabbitmq-conf.js';

const conf = (text: string) => translateConf('/etc/rabbitmq/rabbitmq.conf', text);
const dir = mkdtempSync(join(tmpdir(), 'warren-conf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the syntax', () => {
  test('comments, blank lines, trailing comments, quoted and multi-line values, escaped dots', () => {
    const text = [
      '# a comment',
      '',
      '   listeners.tcp.default = 5673   # trailing comment',
      "default_pass = 'p#ss word'",
      "motd = '''line one",
      "line two'''",
      'cluster_formation.classic_config.nodes.1 = rabbit@host\\.example',
      'tagged\\.key.x = v',
      '\tlog.console.level=debug',
    ].join('\n');
    expect(parseConf(text, 'f.conf').map(({ key, value, line }) => [key, value, line])).toEqual([
      ['listeners.tcp.default', '5673', 3],
      ['default_pass', 'p#ss word', 4],
      ['motd', 'line one\nline two', 5],
      ['cluster_formation.classic_config.nodes.1', 'rabbit@host\\.example', 7],
      ['tagged.key.x', 'v', 8],
      ['log.console.level', 'debug', 9],
    ]);
  });

  test('a line that is not key = value is an error naming file and line', () => {
    expect(() => conf('heartbeat = 10\nthis is not a setting\n')).toThrow("config file /etc/rabbitmq/rabbitmq.conf, line 2: expected 'key = value', got 'this is not a setting'");
    expect(() => conf('heartbeat =\n')).toThrow("line 1: 'heartbeat' has no value");
    expect(() => conf("default_pass = 'open\n")).toThrow('line 1: quoted value is not closed');
  });

  test('include reads more files (a * pattern in order), relative to the including file', () => {
    writeFileSync(join(dir, '10-a.conf'), 'heartbeat = 11\n');
    writeFileSync(join(dir, '20-b.conf'), 'heartbeat = 22\nchannel_max = 7\n');
    writeFileSync(join(dir, 'main.conf'), 'frame_max = 8192\ninclude ./*-*.conf\n');
    expect(readConfigFile(join(dir, 'main.conf')).config).toEqual({ frameMax: 8192, heartbeat: 22, channelMax: 7 });
  });
});

describe("RabbitMQ's keys", () => {
  test('every supported key lands on its Warren setting', () => {
    const { config, warnings } = conf(`
listeners.tcp.default = 5673
listeners.ssl.default = 5671
ssl_options.cacertfile = /certs/ca.pem
ssl_options.certfile   = /certs/server.pem
ssl_options.keyfile    = /certs/server.key
ssl_options.password   = secret
ssl_options.verify     = verify_peer
ssl_options.fail_if_no_peer_cert = true
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
ssl_options.ciphers.1  = TLS_AES_256_GCM_SHA384
ssl_options.honor_cipher_order = true
ssl_cert_login_from = common_name
ssl_cert_login_san_type = email
ssl_cert_login_san_index = 1
ssl_handshake_timeout = 7000
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = EXTERNAL
default_user = admin
default_pass = s3cret
default_user_tags.administrator = true
default_user_tags.monitoring = true
default_vhost = main
loopback_users.admin = true
heartbeat = 30
frame_max = 128KB
channel_max = 100
max_message_size = 1048576
consumer_timeout = 900000
vm_memory_high_watermark.relative = 0.6
total_memory_available_override_value = 8GB
disk_free_limit.absolute = 2GB
load_definitions = /etc/rabbitmq/definitions.json
log.console.level = warning
management.tcp.port = 15673
prometheus.tcp.port = 15693
cluster_name = prod-east
`);
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      port: 5673,
      extraTcpListeners: [],
      sslListeners: ['5671'],
      sslOptions: {
        cacertfile: '/certs/ca.pem',
        certfile: '/certs/server.pem',
        keyfile: '/certs/server.key',
        password: 'secret',
        verify: 'verify_peer',
        fail_if_no_peer_cert: true,
        versions: ['tlsv1.3', 'tlsv1.2'],
        ciphers: ['TLS_AES_256_GCM_SHA384'],
        honor_cipher_order: true,
      },
      sslCertLoginFrom: 'common_name',
      sslCertLoginSanType: 'email',
      sslCertLoginSanIndex: 1,
      sslHandshakeTimeout: 7000,
      authMechanisms: ['PLAIN', 'EXTERNAL'],
      users: [{ name: 'admin', password: 's3cret', tags: ['administrator', 'monitoring'] }],
      vhosts: ['main'],
      loopbackUsers: ['admin'],
      heartbeat: 30,
      frameMax: 131072,
      channelMax: 100,
      maxMessageSize: 1048576,
      consumerTimeout: 900000,
      vmMemoryHighWatermark: 0.6,
      totalMemoryAvailableOverrideValue: '8GB',
      diskFreeLimit: '2GB',
      loadDefinitions: '/etc/rabbitmq/definitions.json',
      logLevel: 'warn',
      managementPort: 15673,
      prometheusPort: 15693,
      clusterName: 'prod-east',
    });
  });

  test('listeners: the first sets host and port, more become extra listeners; `listeners.tcp = none` wins', () => {
    expect(conf('listeners.tcp.1 = 127.0.0.1:5673\nlisteners.tcp.2 = ::1:5673\nlisteners.ssl.1 = 0.0.0.0:5671\n').config).toEqual({
      host: '127.0.0.1',
      port: 5673,
      extraTcpListeners: ['::1:5673'],
      sslListeners: ['0.0.0.0:5671'],
    });
    expect(conf('listeners.tcp.default = 5672\nlisteners.tcp = none\n').config).toEqual({ tcpListener: false });
    expect(conf('listeners.ssl.default = 5671\nlisteners.ssl = none\n').config).toEqual({ sslListeners: [] });
    expect(() => conf('listeners.tcp.default = localhost\n')).toThrow("line 1: listeners.tcp.default: 'localhost' is not a port or an address:port");
    expect(() => conf('listeners.tcp = off\n')).toThrow("listeners.tcp: 'off' is not valid here (only 'none' is)");
  });

  test('loopback_users: none, or per user true/false (guest stays loopback-only unless it is turned off)', () => {
    expect(conf('loopback_users = none\n').config).toEqual({ loopbackUsers: [] });
    expect(conf('loopback_users.guest = false\n').config).toEqual({ loopbackUsers: [] });
    expect(conf('loopback_users.guest = true\nloopback_users.ops = true\n').config).toEqual({ loopbackUsers: ['guest', 'ops'] });
    expect(conf('heartbeat = 5\n').config).toEqual({ heartbeat: 5 });
  });

  test('default_user alone keeps guest\'s password and the administrator tag, as RabbitMQ\'s defaults', () => {
    expect(conf('default_user = bob\n').config).toEqual({ users: [{ name: 'bob', password: 'guest', tags: ['administrator'] }] });
  });

  test('vm_memory_high_watermark: absolute in bytes or units; with both set, relative wins (as RabbitMQ\'s translation)', () => {
    expect(conf('vm_memory_high_watermark.absolute = 1073741824\n').config).toEqual({ vmMemoryHighWatermark: { absolute: 1073741824 } });
    expect(conf('vm_memory_high_watermark.absolute = 1GB\n').config).toEqual({ vmMemoryHighWatermark: { absolute: '1GB' } });
    expect(conf('vm_memory_high_watermark.absolute = 2GB\nvm_memory_high_watermark.relative = 0.5\n').config).toEqual({ vmMemoryHighWatermark: 0.5 });
    expect(() => conf('vm_memory_high_watermark.absolute = lots\n')).toThrow("'lots' is not a size such as 50000000, 50MB or 2GiB");
    expect(() => conf('vm_memory_high_watermark.relative = high\n')).toThrow("'high' is not a number");
  });

  test('log.console.level: RabbitMQ\'s levels onto pino\'s', () => {
    const level = (l: string) => conf(`log.console.level = ${l}\n`).config.logLevel;
    expect(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'none'].map(level)).toEqual(['debug', 'info', 'info', 'warn', 'error', 'fatal', 'silent']);
  });

  test('a RabbitMQ setting Warren does not support is a warning naming it, once; the rest still applies', () => {
    const { config, warnings } = conf(`
heartbeat = 20
cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = rabbit@a
cluster_formation.classic_config.nodes.1 = rabbit@b
mqtt.listeners.tcp.default = 1883
ssl_options.depth = 2
disk_free_limit.relative = 1.5
collect_statistics_interval = 10000
log.file = false
log.console = true
`);
    // collect_statistics_interval is one Warren supports (the management plane's rates).
    expect(config).toEqual({ heartbeat: 20, collectStatisticsInterval: 10000 });
    expect(warnings.map((w) => [w.key, w.line, w.reason])).toEqual([
      ['cluster_formation.peer_discovery_backend', 3, 'not supported by Warren; ignored'],
      ['cluster_formation.classic_config.nodes.1', 4, 'not supported by Warren; ignored'],
      ['mqtt.listeners.tcp.default', 6, 'not supported by Warren; ignored'],
      ['ssl_options.depth', 7, 'not supported by Warren; ignored'],
      ['disk_free_limit.relative', 8, 'a disk limit relative to RAM is not supported; set disk_free_limit.absolute'],
    ]);
  });

  test('handshake_timeout maps onto handshakeTimeout where the broker has it, and warns where it does not', () => {
    const { config, warnings } = conf('handshake_timeout = 5000\n');
    if ('handshakeTimeout' in DEFAULT_CONFIG) expect(config).toEqual({ handshakeTimeout: 5000 });
    else expect(warnings.map((w) => w.key)).toEqual(['handshake_timeout']);
  });

  test('a key no RabbitMQ has is an error with file and line, as a typo should be', () => {
    expect(() => conf('heartbeat = 10\nhearbeat = 10\n')).toThrow('config file /etc/rabbitmq/rabbitmq.conf, line 2: hearbeat: unknown setting (no RabbitMQ release has it)');
    expect(() => conf('listeners.tcp.default.extra = 1\n')).toThrow(/unknown setting/);
  });

  test('bad values are errors naming the key', () => {
    expect(() => conf('heartbeat = ten\n')).toThrow("line 1: heartbeat: 'ten' is not an integer");
    expect(() => conf('ssl_options.verify = verify_always\n')).toThrow("ssl_options.verify: 'verify_always' is not one of verify_peer, verify_none");
    expect(() => conf('ssl_options.fail_if_no_peer_cert = yes\n')).toThrow("'yes' is not true or false");
    expect(() => conf('frame_max = 1TB\n')).toThrow("'1TB' is not a size such as 131072 or 128KB");
    expect(() => conf('management.tcp.port = 70000\n')).toThrow('70000 is out of range (0..65535)');
  });
});

describe("Warren's own keys and file detection", () => {
  test("Warren's settings in snake_case are accepted too", () => {
    expect(conf('data_dir = /var/lib/warren\nstore_sync = never\nqueue_paging_length = 10\nvm_memory_high_watermark = 0.5\ndisk_free_limit = 1GB\ntcp_listener = false\n').config).toEqual({
      dataDir: '/var/lib/warren',
      storeSync: 'never',
      queuePagingLength: 10,
      vmMemoryHighWatermark: 0.5,
      diskFreeLimit: '1GB',
      tcpListener: false,
    });
    expect(() => conf('queue_paging_length = many\n')).toThrow("queue_paging_length: 'many' is not a number");
  });

  test('a .conf name or key = value text is rabbitmq.conf; a JSON object is JSON', () => {
    writeFileSync(join(dir, 'rabbitmq.conf'), '{ this would be odd }\n');
    expect(() => readConfigFile(join(dir, 'rabbitmq.conf'))).toThrow(/line 1: expected 'key = value'/);
    writeFileSync(join(dir, 'warren.cfg'), 'heartbeat = 9\n');
    expect(readConfigFile(join(dir, 'warren.cfg'))).toEqual({ config: { heartbeat: 9 }, warnings: [] });
    writeFileSync(join(dir, 'warren.json'), '{ "heartbeat": 9, "frame_max": 8192 }\n');
    expect(readConfigFile(join(dir, 'warren.json'))).toEqual({ config: { heartbeat: 9, frameMax: 8192 }, warnings: [] });
    expect(() => readConfigFile(join(dir, 'missing.conf'))).toThrow(/^cannot read config file .*missing.conf: ENOENT/);
  });
});
