// `warren ctl`: every command, with rabbitmqctl's banners, columns, formatters, error texts
// and exit codes, against a live Warren through its control socket and through its
// management API, and the same commands, with the same expected output, against a live
// RabbitMQ through its management API (when RABBITMQ_MGMT_URL is set; CI sets it).
import amqp, { type ChannelModel } from 'amqplib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { ctl, ctlOk } from '../../helpers/ctl.js';
import { until } from '../../helpers/http.js';

interface Target {
  label: string;
  /** The transport's arguments: `-d DIR` or `--url URL`. */
  args: () => string[];
  amqpUrl: (vhost: string, user?: string, password?: string) => string;
  /** RabbitMQ's statistics lag by up to 5 s; Warren's counts are live. */
  rabbit: boolean;
}

let dir: string;
let warren: RunningBroker;
const rabbitMgmt = process.env['RABBITMQ_MGMT_URL'];
const rabbitAmqp = process.env['RABBITMQ_URL'];

function amqpUrlWith(base: string, vhost: string, user = 'guest', password = 'guest'): string {
  const u = new URL(base);
  u.username = user;
  u.password = password;
  u.pathname = '/' + encodeURIComponent(vhost);
  return u.toString();
}

const TARGETS: Target[] = [
  {
    label: 'Warren through its control socket',
    args: () => ['-d', dir],
    amqpUrl: (v, u, p) => amqpUrlWith(warren.url, v, u, p),
    rabbit: false,
  },
  {
    label: 'Warren through its management API',
    args: () => ['--url', `${warren.managementUrl!.replace('//', '//guest:guest@')}`],
    amqpUrl: (v, u, p) => amqpUrlWith(warren.url, v, u, p),
    rabbit: false,
  },
];
if (rabbitMgmt !== undefined && rabbitMgmt !== '' && rabbitAmqp !== undefined) {
  TARGETS.push({ label: 'RabbitMQ through its management API', args: () => ['--url', rabbitMgmt], amqpUrl: (v, u, p) => amqpUrlWith(rabbitAmqp, v, u, p), rabbit: true });
} else {
  console.log('ctl.test: RABBITMQ_MGMT_URL or RABBITMQ_URL unset: warren ctl is not compared against RabbitMQ');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-ctl-'));
  warren = await startBroker({ port: 0, managementPort: 0, dataDir: dir, controlSocket: join(dir, 'warren.sock') });
});

afterAll(async () => {
  await warren?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
/** RabbitMQ's statistics come every 5 s: a test may wait for a few rounds. */
const SLOW = 60_000;

describe.each(TARGETS)('warren ctl against $label', (t) => {
  const tag = `${t.rabbit ? 'r' : t.label.includes('socket') ? 's' : 'h'}${process.pid}x${serial++}`;
  const V = `ctl-${tag}`;
  const U = `ctl-${tag}-user`;
  const run = (...args: string[]) => ctl([...t.args(), ...args]);
  const ok = (...args: string[]) => ctlOk([...t.args(), ...args]);
  let conn: ChannelModel | null = null;

  afterAll(async () => {
    await conn?.close().catch(() => {});
    await run('delete_vhost', V);
    await run('delete_vhost', `${V}-imported`);
    await run('delete_user', U);
  }, SLOW);

  test('add_vhost, list_vhosts, set_permissions, list_permissions', async () => {
    expect(await run('add_vhost', V, '--description', 'made by warren ctl')).toEqual({ code: 0, stdout: `Adding vhost "${V}" ...\n`, stderr: '' });
    // rabbitmqctl's add_vhost grants nobody anything (the API would grant its caller).
    expect(await ok('list_permissions', '-p', V)).toBe(`Listing permissions for vhost "${V}" ...\n\n`);
    expect(await ok('list_permissions', '-p', V, '--formatter', 'json')).toBe('[]\n');
    const vhosts = await ok('list_vhosts', 'name', 'description', 'tracing');
    expect(vhosts.split('\n').slice(0, 2)).toEqual(['Listing vhosts ...', 'name\tdescription\ttracing']);
    expect(vhosts).toContain(`\n${V}\tmade by warren ctl\tfalse\n`);
    expect(await run('set_permissions', '-p', V, 'guest', '.*', '.*', '.*')).toEqual({
      code: 0,
      stdout: `Setting permissions for user "guest" in vhost "${V}" ...\n`,
      stderr: '',
    });
    expect(await ok('list_permissions', '-p', V)).toBe(`Listing permissions for vhost "${V}" ...\nuser\tconfigure\twrite\tread\nguest\t.*\t.*\t.*\n`);
    expect(await ok('list_permissions', '-p', V, '--formatter', 'json')).toBe(`[\n{"user":"guest","configure":".*","write":".*","read":".*"}\n]\n`);
  }, SLOW);

  test('list_queues, list_exchanges, list_bindings, list_consumers, list_connections, list_channels: columns and formatters', async () => {
    conn = await amqp.connect(t.amqpUrl(V), { clientProperties: { connection_name: `conn-${tag}` } });
    const ch = await conn.createChannel();
    await ch.prefetch(7);
    await ch.assertExchange('x1', 'topic', { durable: true, arguments: { 'alternate-exchange': 'ae' } });
    await ch.assertQueue('q1', { durable: true, arguments: { 'x-max-length': 10, 'x-message-ttl': 60000 } });
    await ch.assertQueue('q2', { durable: false });
    await ch.bindQueue('q1', 'x1', 'a.#', { 'x-k': 'v' });
    ch.sendToQueue('q1', Buffer.from('one'));
    ch.sendToQueue('q1', Buffer.from('two'));
    await ch.consume('q2', () => {}, { consumerTag: 'tag-1', arguments: { 'x-priority': 3 } });
    await conn.createConfirmChannel();
    const port = (conn.connection as unknown as { stream: { localPort: number } }).stream.localPort;

    const queuesBanner = `Timeout: 60.0 seconds ...\nListing queues for vhost ${V} ...\n`;
    const queues = `${queuesBanner}name\tdurable\targuments\tmessages\tconsumers\nq1\ttrue\t[{"x-max-length",10},{"x-message-ttl",60000}]\t2\t0\nq2\tfalse\t[]\t0\t1\n`;
    // RabbitMQ's API shows counts a few seconds late.
    await until(async () => (await ok('list_queues', '-p', V, 'name', 'durable', 'arguments', 'messages', 'consumers')) === queues, 'queue counts', 15000);
    expect(await ok('list_queues', '-p', V)).toBe(`${queuesBanner}name\tmessages\nq1\t2\nq2\t0\n`);
    expect(await ok('list_queues', '-p', V, 'name,messages_ready', 'messages_unacknowledged', 'auto_delete', 'exclusive', 'policy', 'state')).toBe(
      `${queuesBanner}name\tmessages_ready\tmessages_unacknowledged\tauto_delete\texclusive\tpolicy\tstate\nq1\t2\t0\tfalse\tfalse\t\trunning\nq2\t0\t0\tfalse\tfalse\t\trunning\n`,
    );
    expect(await ok('list_queues', '-p', V, '-q', 'name')).toBe('name\nq1\nq2\n');
    expect(await ok('list_queues', '-p', V, '-s', 'name')).toBe('q1\nq2\n');
    expect(await ok('list_queues', '-p', V, '--no-table-headers', 'name')).toBe(`${queuesBanner}q1\nq2\n`);
    expect(await ok('list_queues', '-p', V, '--formatter', 'json', 'name', 'arguments', 'durable')).toBe(
      '[\n{"name":"q1","arguments":[["x-max-length","long",10],["x-message-ttl","long",60000]],"durable":true}\n,{"name":"q2","arguments":[],"durable":false}\n]\n',
    );
    expect(await ok('list_queues', '-p', V, '--formatter', 'csv', 'name', 'arguments')).toBe(
      '"name","arguments"\n"q1","[{""x-max-length"",10},{""x-message-ttl"",60000}]"\n"q2","[]"\n',
    );
    expect(await ok('list_queues', '-p', V, '--formatter', 'pretty_table', 'name', 'messages')).toBe(
      `${queuesBanner}┌──────┬──────────┐\n│ name │ messages │\n├──────┼──────────┤\n│ q1   │ 2        │\n├──────┼──────────┤\n│ q2   │ 0        │\n└──────┴──────────┘\n`,
    );
    const bad = await run('list_queues', '-p', V, 'name', 'nonsense');
    expect(bad.code).toBe(64);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^Error \(argument validation\): Info key\(s\) nonsense are not supported\n/);
    // A vhost that does not exist has no queues (rabbitmqctl prints the banner and nothing).
    expect(await run('list_queues', '-p', `${V}-none`)).toEqual({ code: 0, stdout: `Timeout: 60.0 seconds ...\nListing queues for vhost ${V}-none ...\n`, stderr: '' });

    // RabbitMQ has the firehose tracer's exchange, which Warren does not (docs/compatibility.md).
    const exchanges = (await ok('list_exchanges', '-p', V, 'name', 'type', 'durable', 'internal', 'arguments')).replace('amq.rabbitmq.trace\ttopic\ttrue\ttrue\t[]\n', '');
    expect(exchanges).toBe(
      `Listing exchanges for vhost ${V} ...\nname\ttype\tdurable\tinternal\targuments\n\tdirect\ttrue\tfalse\t[]\namq.direct\tdirect\ttrue\tfalse\t[]\namq.fanout\tfanout\ttrue\tfalse\t[]\n` +
        `amq.headers\theaders\ttrue\tfalse\t[]\namq.match\theaders\ttrue\tfalse\t[]\namq.topic\ttopic\ttrue\tfalse\t[]\nx1\ttopic\ttrue\tfalse\t[{"alternate-exchange","ae"}]\n`,
    );
    expect(await ok('list_bindings', '-p', V)).toBe(
      `Listing bindings for vhost ${V}...\nsource_name\tsource_kind\tdestination_name\tdestination_kind\trouting_key\targuments\n` +
        `\texchange\tq1\tqueue\tq1\t[]\n\texchange\tq2\tqueue\tq2\t[]\nx1\texchange\tq1\tqueue\ta.#\t[{"x-k","v"}]\n`,
    );
    expect(await ok('list_bindings', '-p', V, 'source_name', 'routing_key', '--formatter', 'json')).toBe(
      '[\n{"source_name":"","routing_key":"q1"}\n,{"source_name":"","routing_key":"q2"}\n,{"source_name":"x1","routing_key":"a.#"}\n]\n',
    );

    const connName = `127.0.0.1:${port} -> `;
    const consumerRow = `q2\t${connName}`;
    await until(async () => (await ok('list_consumers', '-p', V)).includes(consumerRow), 'the consumer in list_consumers', 15000);
    const consumers = await ok('list_consumers', '-p', V);
    expect(consumers).toMatch(
      new RegExp(
        `^Listing consumers in vhost ${V} \\.\\.\\.\nqueue_name\tchannel_pid\tconsumer_tag\tack_required\tprefetch_count\tactive\targuments\n` +
          `q2\t127\\.0\\.0\\.1:${port} -> [\\d.]+:\\d+ \\(1\\)\ttag-1\ttrue\t7\ttrue\t\\[\\{"x-priority",3\\}\\]\n$`,
      ),
    );
    expect(await ok('list_consumers', '-p', V, 'queue_name', 'consumer_tag', 'activity_status', '--formatter', 'json')).toBe(
      '[\n{"queue_name":"q2","consumer_tag":"tag-1","activity_status":"up"}\n]\n',
    );

    const mine = (text: string) => text.split('\n').filter((l) => l.includes(`conn-${tag}`) || l.includes(connName));
    await until(async () => mine(await ok('list_connections', 'name')).length === 1, 'the connection in list_connections', 15000);
    const connectionColumns = ['user', 'peer_host', 'peer_port', 'state', 'vhost', 'channels', 'protocol', 'auth_mechanism', 'ssl', 'client_properties'];
    // RabbitMQ's API sorts client properties by key (rabbitmqctl shows them as sent).
    const connectionRow = new RegExp(
      `^guest\t127\\.0\\.0\\.1\t${port}\trunning\t${V}\t2\t\\{0,9,1\\}\tPLAIN\tfalse\t\\[\\{"capabilities",\\[\\{"authentication_failure_close",true\\},.*\\{"connection_name","conn-${tag}"\\},\\{"information",`,
    );
    await until(async () => connectionRow.test(mine(await ok('list_connections', ...connectionColumns))[0] ?? ''), 'the connection row with its two channels', 15000);
    const connections = await ok('list_connections', ...connectionColumns);
    expect(connections.startsWith(`Listing connections ...\n${connectionColumns.join('\t')}\n`)).toBe(true);
    expect(mine(connections)).toHaveLength(1);
    const defaults = await ok('list_connections');
    expect(defaults.split('\n').slice(0, 2)).toEqual(['Listing connections ...', 'user\tpeer_host\tpeer_port\tstate']);
    expect(defaults).toContain(`\nguest\t127.0.0.1\t${port}\trunning\n`);

    // RabbitMQ's channel statistics (consumers, prefetch, confirm mode) arrive with its next stats emission.
    const channelRows = async () =>
      mine(await ok('list_channels', 'name', 'number', 'user', 'vhost', 'transactional', 'confirm', 'consumer_count', 'prefetch_count')).map((l) => l.replace(/^[^\t]*\((\d)\)\t/, '($1)\t'));
    const expectedChannels = [`(1)\t1\tguest\t${V}\tfalse\tfalse\t1\t7`, `(2)\t2\tguest\t${V}\tfalse\ttrue\t0\t0`];
    await until(async () => JSON.stringify(await channelRows()) === JSON.stringify(expectedChannels), 'the channels in list_channels with their statistics', 15000).catch(() => undefined);
    expect(await channelRows()).toEqual(expectedChannels);
  }, SLOW);

  test('set_policy, list_policies, clear_policy; set_operator_policy, list_operator_policies, clear_operator_policy', async () => {
    expect(await run('set_policy', '-p', V, 'p1', '^q', '{"max-length":100,"overflow":"reject-publish"}', '--priority', '3', '--apply-to', 'queues')).toEqual({
      code: 0,
      stdout: `Setting policy "p1" for pattern "^q" to "{"max-length":100,"overflow":"reject-publish"}" with priority "3" for vhost "${V}" ...\n`,
      stderr: '',
    });
    expect(await ok('list_policies', '-p', V)).toBe(
      `Listing policies for vhost "${V}" ...\nvhost\tname\tpattern\tapply-to\tdefinition\tpriority\n${V}\tp1\t^q\tqueues\t{"max-length":100,"overflow":"reject-publish"}\t3\n`,
    );
    expect(await ok('list_policies', '-p', V, '--formatter', 'json')).toBe(
      `[\n{"vhost":"${V}","name":"p1","pattern":"^q","apply-to":"queues","definition":"{\\"max-length\\":100,\\"overflow\\":\\"reject-publish\\"}","priority":3}\n]\n`,
    );
    await until(async () => (await ok('list_queues', '-p', V, '-s', 'name', 'policy')) === 'q1\tp1\nq2\tp1\n', 'the policy on the queues', 15000);
    const invalid = await run('set_policy', '-p', V, 'p2', '^q', '{"max-lengthx":5}');
    expect(invalid.code).toBe(69);
    expect(invalid.stderr).toBe('Error:\nValidation failed\n\n[{<<"max-lengthx">>,5}] are not recognised policy settings\n\n');
    expect(await run('set_policy', '-p', V, 'p2', '^q', '{bad json')).toEqual({
      code: 69,
      stdout: `Setting policy "p2" for pattern "^q" to "{bad json" with priority "0" for vhost "${V}" ...\n`,
      stderr: 'Error:\nJSON decoding error. Reason: badarg\n',
    });
    expect(await run('set_policy', '-p', `${V}-none`, 'p2', '^q', '{"max-length":1}')).toEqual({
      code: 65,
      stdout: `Setting policy "p2" for pattern "^q" to "{"max-length":1}" with priority "0" for vhost "${V}-none" ...\n`,
      stderr: `Virtual host '${V}-none' does not exist\n`,
    });
    expect(await run('list_policies', '-p', `${V}-none`)).toEqual({ code: 65, stdout: `Listing policies for vhost "${V}-none" ...\n`, stderr: `Virtual host '${V}-none' does not exist\n` });
    expect(await run('clear_policy', '-p', V, 'p1')).toEqual({ code: 0, stdout: `Clearing policy "p1" on vhost "${V}" ...\n`, stderr: '' });
    expect(await run('clear_policy', '-p', V, 'p1')).toEqual({ code: 69, stdout: `Clearing policy "p1" on vhost "${V}" ...\n`, stderr: 'Error:\nParameter does not exist\n' });
    expect(await ok('list_policies', '-p', V)).toBe(`Listing policies for vhost "${V}" ...\n\n`);

    expect(await run('set_operator_policy', '-p', V, 'op1', '^q', '{"max-length":1000}', '--apply-to', 'queues')).toEqual({
      code: 0,
      stdout: `Setting operator policy override "op1" for pattern "^q" to "{"max-length":1000}" with priority "0" for vhost "${V}" ...\n`,
      stderr: '',
    });
    const refusedKey = await run('set_operator_policy', '-p', V, 'op2', '^q', '{"overflow":"drop-head"}');
    expect(refusedKey.code).toBe(69);
    expect(refusedKey.stderr).toBe('Error:\nValidation failed\n\n[{<<"overflow">>,<<"drop-head">>}] are not recognised policy settings\n\n');
    expect(await ok('list_operator_policies', '-p', V)).toBe(
      `Listing operator policy overrides for vhost "${V}" ...\nvhost\tname\tpattern\tapply-to\tdefinition\tpriority\n${V}\top1\t^q\tqueues\t{"max-length":1000}\t0\n`,
    );
    expect(await run('clear_operator_policy', '-p', V, 'op1')).toEqual({ code: 0, stdout: `Clearing operator policy "op1" on vhost "${V}" ...\n`, stderr: '' });
    expect(await ok('list_operator_policies', '-p', V)).toBe(`Listing operator policy overrides for vhost "${V}" ...\n\n`);
  }, SLOW);

  test('set_parameter, list_parameters, clear_parameter; global parameters', async () => {
    expect(await run('set_parameter', '-p', V, 'federation-upstream', 'up1', '{"uri":"amqp://localhost","max-hops":2}')).toEqual({
      code: 0,
      stdout: `Setting runtime parameter "up1" for component "federation-upstream" to "{"uri":"amqp://localhost","max-hops":2}" in vhost "${V}" ...\n`,
      stderr: '',
    });
    const nocomp = await run('set_parameter', '-p', V, 'no-such-component', 'x', '{}');
    expect(nocomp.code).toBe(69);
    expect(nocomp.stderr).toBe('Error:\nValidation failed\n\ncomponent no-such-component not found\n\n');
    expect(await ok('list_parameters', '-p', V)).toBe(
      `Listing runtime parameters for vhost "${V}" ...\ncomponent\tname\tvalue\nfederation-upstream\tup1\t{"max-hops":2,"uri":"amqp://localhost"}\n`,
    );
    expect(await run('clear_parameter', '-p', V, 'federation-upstream', 'up1')).toEqual({
      code: 0,
      stdout: `Clearing runtime parameter "up1" for component "federation-upstream" on vhost "${V}" ...\n`,
      stderr: '',
    });
    expect((await run('clear_parameter', '-p', V, 'federation-upstream', 'up1')).stderr).toBe('Error:\nParameter does not exist\n');
    expect(await ok('list_parameters', '-p', V)).toBe(`Listing runtime parameters for vhost "${V}" ...\n\n`);

    expect(await run('set_global_parameter', `${V}-g`, '{"a":1}')).toEqual({ code: 0, stdout: `Setting global runtime parameter "${V}-g" to "{"a":1}" ...\n`, stderr: '' });
    expect(await ok('list_global_parameters')).toContain(`\n${V}-g\t{"a":1}\n`);
    expect(await run('clear_global_parameter', `${V}-g`)).toEqual({ code: 0, stdout: `Clearing global runtime parameter "${V}-g" ...\n`, stderr: '' });
    expect(await ok('list_global_parameters')).not.toContain(`${V}-g`);
  }, SLOW);

  test('add_user, change_password, set_user_tags, list_users, list_user_permissions, topic permissions, delete_user', async () => {
    expect(await run('add_user', U, 'first')).toEqual({
      code: 0,
      stdout: `Adding user "${U}" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'warren ctl help set_permissions' to learn more.\n`,
      stderr: '',
    });
    expect(await run('add_user', U, 'again')).toEqual({ code: 70, stdout: `Adding user "${U}" ...\n`, stderr: `Error:\nUser "${U}" already exists\n` });
    expect(await ok('list_users')).toContain(`\n${U}\t[]\n`);
    await ok('set_permissions', '-p', V, U, '^u-', '.*', '');
    expect(await ok('list_user_permissions', U)).toBe(`Listing permissions for user "${U}" ...\nvhost\tconfigure\twrite\tread\n${V}\t^u-\t.*\t\n`);
    const login = async (password: string) => (await amqp.connect(t.amqpUrl(V, U, password))).close();
    await login('first');
    // The password from standard input, as rabbitmqctl reads it when left out.
    expect(await ctl([...t.args(), 'change_password', U], 'second\n')).toEqual({ code: 0, stdout: `Changing password for user "${U}" ...\n`, stderr: '' });
    await login('second');
    await expect(login('first')).rejects.toThrow(/ACCESS_REFUSED|403/);
    expect(await run('set_user_tags', U, 'monitoring', 'management')).toEqual({ code: 0, stdout: `Setting tags for user "${U}" to [monitoring, management] ...\n`, stderr: '' });
    expect(await ok('list_users')).toContain(`\n${U}\t[monitoring, management]\n`);
    // Tags change, the password stays.
    await login('second');
    expect(await ok('list_users', '--formatter', 'json')).toContain(`{"user":"${U}","tags":["monitoring","management"]}`);

    expect(await run('set_topic_permissions', '-p', V, U, 'amq.topic', '^a', '^b')).toEqual({
      code: 0,
      stdout: `Setting topic permissions on "amq.topic" for user "${U}" in vhost "${V}" ...\n`,
      stderr: '',
    });
    await ok('set_topic_permissions', '-p', V, U, 'x1', '^c', '^d');
    expect(await ok('list_topic_permissions', '-p', V)).toBe(`Listing topic permissions for vhost "${V}" ...\nuser\texchange\twrite\tread\n${U}\tamq.topic\t^a\t^b\n${U}\tx1\t^c\t^d\n`);
    expect(await run('clear_topic_permissions', '-p', V, U, 'amq.topic')).toEqual({
      code: 0,
      stdout: `Clearing topic permissions on "amq.topic" for user "${U}" in vhost "${V}" ...\n`,
      stderr: '',
    });
    expect(await ok('list_user_topic_permissions', U)).toBe(`Listing topic permissions for user "${U}" ...\n${V}\tx1\t^c\t^d\n`);
    await ok('clear_topic_permissions', '-p', V, U);
    expect(await ok('list_topic_permissions', '-p', V)).toBe(`Listing topic permissions for vhost "${V}" ...\n\n`);

    expect(await run('clear_permissions', '-p', V, U)).toEqual({ code: 0, stdout: `Clearing permissions for user "${U}" in vhost "${V}" ...\n`, stderr: '' });
    expect(await ok('list_user_permissions', U)).toBe(`Listing permissions for user "${U}" ...\n\n`);
    const nobody = `${U}-nobody`;
    expect(await run('change_password', nobody, 'x')).toEqual({ code: 67, stdout: `Changing password for user "${nobody}" ...\n`, stderr: `Error:\nUser "${nobody}" does not exist\n` });
    expect(await run('set_permissions', '-p', V, nobody, '.*', '.*', '.*')).toEqual({
      code: 67,
      stdout: `Setting permissions for user "${nobody}" in vhost "${V}" ...\n`,
      stderr: `Error:\nUser ${nobody} does not exist\n`,
    });
    expect(await run('set_permissions', '-p', `${V}-none`, U, '.*', '.*', '.*')).toEqual({
      code: 69,
      stdout: `Setting permissions for user "${U}" in vhost "${V}-none" ...\n`,
      stderr: `Error:\nVirtual host ${V}-none does not exist\n`,
    });
  }, SLOW);

  test('set_vhost_limits, list_vhost_limits, clear_vhost_limits; set_user_limits, list_user_limits, clear_user_limits', async () => {
    expect(await run('set_vhost_limits', '-p', V, '{"max-queues":20,"max-connections":10}')).toEqual({
      code: 0,
      stdout: `Setting vhost limits to "{"max-queues":20,"max-connections":10}" for vhost "${V}" ...\n`,
      stderr: '',
    });
    expect(await ok('list_vhost_limits', '-p', V)).toBe(`Listing limits for vhost "${V}" ...\n{"max-connections":10,"max-queues":20}\n`);
    // set_vhost_limits replaces them all.
    await ok('set_vhost_limits', '-p', V, '{"max-queues":5}');
    expect(await ok('list_vhost_limits', '-p', V)).toBe(`Listing limits for vhost "${V}" ...\n{"max-queues":5}\n`);
    expect(await ok('list_vhost_limits', '--global')).toContain(`\n${V}\t{"max-queues":5}\n`);
    const unknown = await run('set_vhost_limits', '-p', V, '{"max-foo":1}');
    expect(unknown.code).toBe(69);
    expect(unknown.stderr).toBe('Error:\nValidation failed\n\nUnrecognised terms [{<<"max-foo">>,1}] in limits\n\n');
    expect(await run('clear_vhost_limits', '-p', V)).toEqual({ code: 0, stdout: `Clearing vhost "${V}" limits ...\n`, stderr: '' });
    expect(await ok('list_vhost_limits', '-p', V)).toBe(`Listing limits for vhost "${V}" ...\n\n`);

    expect(await run('set_user_limits', U, '{"max-connections":3}')).toEqual({
      code: 0,
      stdout: `Setting user limits to "{"max-connections":3}" for user "${U}" ...\n`,
      stderr: '',
    });
    // set_user_limits adds to them.
    await ok('set_user_limits', U, '{"max-channels":4}');
    expect(await ok('list_user_limits', '--user', U)).toBe(`Listing limits for user "${U}" ...\n{"max-channels":4,"max-connections":3}\n`);
    expect(await ok('list_user_limits', '--global')).toContain(`\n${U}\t{"max-channels":4,"max-connections":3}\n`);
    expect(await run('clear_user_limits', U, 'max-channels')).toEqual({ code: 0, stdout: `Clearing "max-channels" limit for user "${U}" ...\n`, stderr: '' });
    expect(await ok('list_user_limits', '--user', U)).toBe(`Listing limits for user "${U}" ...\n{"max-connections":3}\n`);
    expect(await run('clear_user_limits', U, 'all')).toEqual({ code: 0, stdout: `Clearing all limits for user "${U}" ...\n`, stderr: '' });
    expect(await ok('list_user_limits', '--user', U)).toBe(`Listing limits for user "${U}" ...\n{}\n`);
  }, SLOW);

  test('purge_queue, delete_queue, close_connection', async () => {
    expect(await run('purge_queue', '-p', V, 'q1')).toEqual({ code: 0, stdout: `Purging queue 'q1' in vhost '${V}' ...\n`, stderr: '' });
    let last = '';
    await until(async () => (last = await ok('list_queues', '-p', V, '-s', 'name', 'messages')) === 'q1\t0\nq2\t0\n', 'the purge in the counts', 15000).catch((e: Error) => {
      throw new Error(`${e.message}: ${last}`);
    });
    expect(await run('purge_queue', '-p', V, 'nope')).toEqual({ code: 69, stdout: `Purging queue 'nope' in vhost '${V}' ...\n`, stderr: 'Error:\nQueue not found\n' });
    expect(await run('delete_queue', '-p', V, 'q2', '--if-unused')).toEqual({
      code: 64,
      stdout: `Deleting queue 'q2' on vhost '${V}' if queue is unused ...\n`,
      stderr: 'Error:\nQueue is in use\n',
    });
    expect(await run('delete_queue', '-p', V, 'q1', '-e', '-u')).toEqual({
      code: 0,
      stdout: `Deleting queue 'q1' on vhost '${V}' if queue is empty and if queue is unused ...\nQueue was successfully deleted with 0 ready messages\n`,
      stderr: '',
    });
    expect(await run('delete_queue', '-p', V, 'q1')).toEqual({ code: 64, stdout: `Deleting queue 'q1' on vhost '${V}' ...\n`, stderr: 'Error:\nQueue not found\n' });

    const c = conn!;
    const closed = new Promise<Error>((resolve) => c.on('close', resolve));
    const name = (await ok('list_connections', '-s', 'name')).split('\n').find((l) => l.startsWith('127.0.0.1:') && l.includes((c.connection as unknown as { stream: { localPort: number } }).stream.localPort.toString()))!;
    expect(await run('close_connection', name, 'maintenance window')).toEqual({ code: 0, stdout: `Closing connection ${name}, reason: maintenance window...\n`, stderr: '' });
    expect((await closed).message).toContain('CONNECTION_FORCED - maintenance window');
    conn = null;
    expect(await run('close_connection', 'no such connection', 'x')).toEqual({
      code: 69,
      stdout: 'Closing connection no such connection, reason: x...\n',
      stderr: "Error:\nConnection 'no such connection' not found\n",
    });
  }, SLOW);

  test('export_definitions, import_definitions (from a file and from standard input)', async () => {
    const file = join(dir, `export-${tag}.json`);
    expect(await run('export_definitions', file)).toEqual({ code: 0, stdout: `Exporting definitions in JSON to a file at "${file}" ...\n`, stderr: '' });
    const defs = JSON.parse(readFileSync(file, 'utf8')) as { vhosts: { name: string }[]; queues: { name: string; vhost: string }[]; users: { name: string }[] };
    expect(defs.vhosts.map((v) => v.name)).toContain(V);
    expect(defs.users.map((u) => u.name)).toContain(U);
    expect(defs.queues.filter((q) => q.vhost === V).map((q) => q.name)).toEqual(['q2']);
    const toStdout = await ok('export_definitions', '-');
    expect((JSON.parse(toStdout) as { vhosts: { name: string }[] }).vhosts.map((v) => v.name)).toContain(V);
    const missingDir = join(dir, 'no-such-dir', 'x.json');
    expect(await run('export_definitions', missingDir)).toEqual({
      code: 65,
      stdout: `Exporting definitions in JSON to a file at "${missingDir}" ...\n`,
      stderr: `Error:\nParent directory or file ${missingDir} does not exist\n`,
    });

    const W = `${V}-imported`;
    const imported = {
      vhosts: [{ name: W }],
      permissions: [{ user: 'guest', vhost: W, configure: '.*', write: '.*', read: '.*' }],
      exchanges: [{ name: 'ix', vhost: W, type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
      queues: Array.from({ length: 1050 }, (_, i) => ({ name: `iq${String(i).padStart(4, '0')}`, vhost: W, durable: true, auto_delete: false, arguments: {} })),
      bindings: [{ source: 'ix', vhost: W, destination: 'iq0000', destination_type: 'queue', routing_key: '', arguments: {} }],
    };
    const importFile = join(dir, `import-${tag}.json`);
    writeFileSync(importFile, JSON.stringify(imported));
    // On a terminal, a progress bar (cli-progress) counts the entries as the slices go in.
    let drawn = '';
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    terminal.on('data', (d: Buffer) => (drawn += d.toString()));
    expect(await ctl([...t.args(), 'import_definitions', importFile], undefined, terminal)).toEqual({
      code: 0,
      stdout: `Importing definitions in JSON from a file at "${importFile}" ...\nSuccessfully imported definitions.\n`,
      stderr: '',
    });
    expect(drawn).toContain('| 1054/1054 definitions (bindings)');
    // Listed page by page as they come (500 a page): 1,050 queues, in name order.
    const listed = (await ok('list_queues', '-p', W, '-s', 'name')).split('\n').filter((l) => l !== '');
    expect(listed).toHaveLength(1050);
    expect(listed[0]).toBe('iq0000');
    expect(listed[500]).toBe('iq0500');
    expect(listed[1049]).toBe('iq1049');
    expect(await ok('list_bindings', '-p', W, '-s', 'source_name', 'destination_name')).toContain('ix\tiq0000\n');

    const more = { queues: [{ name: 'from-stdin', vhost: W, durable: true, auto_delete: false, arguments: {} }] };
    expect(await ctl([...t.args(), 'import_definitions'], JSON.stringify(more))).toEqual({
      code: 0,
      stdout: 'Importing definitions in JSON from standard input ...\nSuccessfully imported definitions.\n',
      stderr: '',
    });
    expect((await ok('list_queues', '-p', W, '-s', 'name')).split('\n')).toContain('from-stdin');
    // Each refused slice is listed, section by section; the others go in.
    const refusedImport = await ctl(
      [...t.args(), 'import_definitions'],
      JSON.stringify({
        permissions: [{ user: `${U}-ghost`, vhost: W, configure: '', write: '', read: '' }],
        queues: [{ name: 'after-the-refusal', vhost: W, durable: true, auto_delete: false, arguments: {} }],
      }),
    );
    expect(refusedImport.code).toBe(65);
    expect(refusedImport.stderr).toMatch(new RegExp(`^Error:\nSome definitions could not be imported:\n  permissions: .*no_such_user.*${U}-ghost.*\n$`));
    expect((await ok('list_queues', '-p', W, '-s', 'name')).split('\n')).toContain('after-the-refusal');
    expect(await run('import_definitions', join(dir, 'nope.json'))).toEqual({ code: 65, stdout: '', stderr: `Error:\nParent directory or file ${join(dir, 'nope.json')} does not exist\n` });
    expect(await ctl([...t.args(), 'import_definitions', '-'], '{not json')).toMatchObject({ code: 65, stdout: 'Importing definitions in JSON from standard input ...\n' });
  }, SLOW);

  test('status and await_startup', async () => {
    const status = await ok('status');
    expect(status).toMatch(/^Status of node \S+@\S+ \.\.\.\nRuntime\n\nOS PID: \d+\nUptime \(seconds\): \d+\nRabbitMQ version: 3\.\d+\.\d+\n/);
    for (const section of ['Plugins', 'Alarms', 'Memory', 'Free Disk Space', 'Totals', 'Listeners']) expect(status).toContain(`\n${section}\n\n`);
    expect(status).toContain('\nAlarms\n\n(none)\n');
    expect(status).toMatch(/\nInterface: \S+, port: \d+, protocol: amqp, purpose: AMQP 0-9-1 and AMQP 1\.0\n/);
    const json = JSON.parse(await ok('status', '--formatter', 'json')) as Record<string, unknown>;
    expect(json['alarms']).toEqual([]);
    expect(typeof json['pid']).toBe('number');
    expect((json['totals'] as Record<string, number>)['virtual_host_count']).toBeGreaterThanOrEqual(2);
    expect(await run('await_startup')).toEqual({ code: 0, stdout: '', stderr: '' });
  }, SLOW);

  test('delete_vhost, delete_user', async () => {
    expect(await run('delete_user', U)).toEqual({ code: 0, stdout: `Deleting user "${U}" ...\n`, stderr: '' });
    expect(await run('delete_user', U)).toEqual({ code: 67, stdout: `Deleting user "${U}" ...\n`, stderr: `Error:\nUser "${U}" does not exist\n` });
    expect(await run('delete_vhost', V)).toEqual({ code: 0, stdout: `Deleting vhost "${V}" ...\n`, stderr: '' });
    expect(await run('delete_vhost', V)).toEqual({ code: 65, stdout: `Deleting vhost "${V}" ...\n`, stderr: `Virtual host '${V}' does not exist\n` });
  }, SLOW);
});

describe('the control socket serves the management API to warren ctl only', () => {
  test('an HTTP request cannot pass for one from the control socket', async () => {
    const r = await fetch(`${warren.managementUrl!}/api/vhosts`, { headers: { 'x-warren-control': 'guess' } });
    expect(r.status).toBe(401);
  });

  test('the socket takes API requests for paths under /api/ with the four methods only', async () => {
    const { connect } = await import('node:net');
    const ask = (req: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const s = connect(join(dir, 'warren.sock'));
        let buf = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          buf += d;
          if (buf.includes('\n')) {
            s.end();
            resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))));
          }
        });
        s.on('error', reject);
        s.write(JSON.stringify(req) + '\n');
      });
    const refusal = { ok: false, error: 'an api request needs a method (GET, PUT, POST, DELETE) and a path under /api/' };
    expect(await ask({ cmd: 'api', method: 'PATCH', path: '/api/vhosts' })).toEqual(refusal);
    expect(await ask({ cmd: 'api', method: 'GET', path: '/metrics' })).toEqual(refusal);
    const ok = (await ask({ cmd: 'api', method: 'GET', path: '/api/vhosts/%2F' })) as { ok: boolean; result: { status: number; payload: string } };
    expect(ok.ok).toBe(true);
    expect(ok.result.status).toBe(200);
    expect((JSON.parse(ok.result.payload) as { name: string }).name).toBe('/');
  });
});

describe('warren ctl --url with wrong credentials', () => {
  test('the login refused: exit 69 with the API\'s reason, no banner, and await_startup does not wait', async () => {
    const url = warren.managementUrl!.replace('//', '//guest:wrong@');
    expect(await ctl(['--url', url, 'list_vhosts'])).toEqual({
      code: 69,
      stdout: '',
      stderr: `Error: the management API at ${warren.managementUrl!} refused user 'guest': Login failed\n`,
    });
    const started = Date.now();
    expect((await ctl(['--url', url, 'await_startup', '-t', '30'])).code).toBe(69);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe.each(TARGETS)('warren ctl shovel_status against $label', (t) => {
  test('a dynamic shovel made with set_parameter shovel is listed with its state', async () => {
    const V = `ctl-shovel-${process.pid}-${t.rabbit ? 'r' : t.label.includes('socket') ? 's' : 'h'}`;
    const args = t.args();
    await ctlOk([...args, 'add_vhost', V]);
    try {
      await ctlOk([...args, 'set_permissions', '-p', V, 'guest', '.*', '.*', '.*']);
      const value = `{"src-uri":"amqp:///${V}","src-queue":"a","dest-uri":"amqp:///${V}","dest-queue":"b"}`;
      expect(await ctl([...args, 'set_parameter', '-p', V, 'shovel', 's1', value])).toEqual({
        code: 0,
        stdout: `Setting runtime parameter "s1" for component "shovel" to "${value}" in vhost "${V}" ...\n`,
        stderr: '',
      });
      const row = new RegExp(`\namqp:///${V}\tamqp091\t\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\ts1\tamqp:///${V}\tamqp091\trunning\t\tdynamic\t${V}\n`);
      await until(async () => row.test(await ctlOk([...args, 'shovel_status'])), 'the running shovel in shovel_status', 15000);
      const status = await ctlOk([...args, 'shovel_status']);
      expect(status).toMatch(/^Shovel status on node \S+\ndestination\tdestination_protocol\tlast_changed\tname\tsource\tsource_protocol\tstate\ttermination_reason\ttype\tvhost\n/);
    } finally {
      await ctl([...args, 'delete_vhost', V]);
    }
  }, SLOW);
});
