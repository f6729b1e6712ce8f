// Runtime parameters over HTTP: /api/parameters, /api/vhost-limits, /api/operator-policies and
// /api/global-parameters, with RabbitMQ 3.10.8's status codes and bodies (observed on the
// shared RabbitMQ; parity.test.ts replays them live), what each one does to AMQP clients and
// queues, and the component registry that shovels and federation plug into.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importDefinitions } from '../../../server/access/definitions-import.js';
import type { ParameterComponent } from '../../../server/access/parameters.js';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi({ vhosts: ['/', 'rv'] });
});

afterAll(async () => {
  await b?.close();
});

const reply = async (method: string, path: string, body?: unknown, opts?: Parameters<ApiBroker['api']>[3]) => {
  const r = await b.api(method, path, body, opts);
  return r.text === '' ? { status: r.status } : { status: r.status, body: r.body };
};
const bad = (reason: unknown) => ({ status: 400, body: { error: 'bad_request', reason } });
const NOT_FOUND = { status: 404, body: { error: 'Object Not Found', reason: 'Not Found' } };
const VHOST_NOT_FOUND = { status: 404, body: { error: 'not_found', reason: 'vhost_not_found' } };

describe('/api/vhost-limits', () => {
  test('set one by one, listed, shown as the vhost-limits parameter, and enforced on AMQP', async () => {
    expect(await reply('GET', '/api/vhost-limits/rv')).toEqual({ status: 200, body: [] });
    expect(await reply('PUT', '/api/vhost-limits/rv/max-connections', { value: 5 })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/vhost-limits/rv/max-queues', { value: 1 })).toEqual({ status: 204 });
    const value = { 'max-connections': 5, 'max-queues': 1 };
    expect(await reply('GET', '/api/vhost-limits/rv')).toEqual({ status: 200, body: [{ vhost: 'rv', value }] });
    expect(await reply('GET', '/api/vhost-limits')).toEqual({ status: 200, body: [{ vhost: 'rv', value }] });
    expect(await reply('GET', '/api/parameters/vhost-limits/rv/limits')).toEqual({ status: 200, body: { value, vhost: 'rv', component: 'vhost-limits', name: 'limits' } });
    const c = await amqp.connect(`${b.url}/rv`);
    const ch = await c.createChannel();
    await ch.assertQueue('lq-1');
    const refused = new Promise<Error>((resolve) => ch.once('error', resolve));
    await expect(ch.assertQueue('lq-2')).rejects.toThrow();
    expect((await refused).message).toContain("PRECONDITION_FAILED - cannot declare queue 'lq-2': queue limit in vhost 'rv' (1) is reached");
    await c.close();
    expect(await reply('DELETE', '/api/vhost-limits/rv/max-bogus')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/vhost-limits/rv/max-queues')).toEqual({ status: 204 });
    expect(await reply('GET', '/api/vhost-limits/rv')).toEqual({ status: 200, body: [{ vhost: 'rv', value: { 'max-connections': 5 } }] });
    expect(await reply('DELETE', '/api/vhost-limits/rv/max-connections')).toEqual({ status: 204 });
    expect(await reply('GET', '/api/vhost-limits/rv')).toEqual({ status: 200, body: [] });
    // The parameter stays, with no limit in it, as RabbitMQ keeps it; deleting it removes it.
    expect(await reply('GET', '/api/vhost-limits')).toEqual({ status: 200, body: [{ vhost: 'rv', value: [] }] });
    expect(await reply('GET', '/api/parameters/vhost-limits/rv/limits')).toEqual({ status: 200, body: { value: [], vhost: 'rv', component: 'vhost-limits', name: 'limits' } });
    expect(await reply('DELETE', '/api/parameters/vhost-limits/rv/limits')).toEqual({ status: 204 });
    expect(await reply('GET', '/api/vhost-limits')).toEqual({ status: 200, body: [] });
  });

  test("RabbitMQ's refusals", async () => {
    expect(await reply('PUT', '/api/vhost-limits/rv/max-bogus', { value: 7 })).toEqual(bad('Validation failed\n\nUnrecognised terms [{<<"max-bogus">>,7}] in limits\n'));
    expect(await reply('PUT', '/api/vhost-limits/rv/max-queues', { value: '7' })).toEqual(bad('Validation failed\n\nmax-queues should be a number, actually was <<"7">>\n'));
    expect(await reply('PUT', '/api/vhost-limits/rv/max-queues', {})).toEqual(bad('[{key_missing,value}]'));
    expect(await reply('PUT', '/api/vhost-limits/nowhere/max-queues', { value: 7 })).toEqual(VHOST_NOT_FOUND);
    expect(await reply('PUT', '/api/vhost-limits/rv/max-queues', undefined, { raw: '{"value":7}', headers: { 'content-type': 'text/plain' } })).toEqual({ status: 415 });
    expect(await reply('GET', '/api/vhost-limits/nowhere')).toEqual(NOT_FOUND);
  });
});

describe('/api/parameters', () => {
  test('vhost-limits as a parameter: PUT 201 then 204, its validation HTML-escaped, DELETE 204 then 404', async () => {
    expect(await reply('PUT', '/api/parameters/vhost-limits/rv/limits', { value: { 'max-queues': 1 } })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/parameters/vhost-limits/rv/limits', { value: { 'max-queues': 2 } })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/parameters/vhost-limits/rv/limits', { value: { 'max-bogus': 1 } })).toEqual(
      bad('Validation failed\n\nUnrecognised terms [{&lt;&lt;"max-bogus"&gt;&gt;,1}] in limits\n'),
    );
    expect(await reply('PUT', '/api/parameters/vhost-limits/rv/limits', { value: 5 })).toEqual(bad('Validation failed\n\nlimits not a list 5\n'));
    expect(await reply('PUT', '/api/parameters/vhost-limits/rv/limits', {})).toEqual(bad('[{key_missing,value}]'));
    expect(await reply('PUT', '/api/parameters/vhost-limits/nowhere/limits', { value: {} })).toEqual(VHOST_NOT_FOUND);
    expect(await reply('GET', '/api/parameters/vhost-limits/rv')).toEqual({ status: 200, body: [{ value: { 'max-queues': 2 }, vhost: 'rv', component: 'vhost-limits', name: 'limits' }] });
    expect(await reply('DELETE', '/api/parameters/vhost-limits/rv/limits')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/parameters/vhost-limits/rv/limits')).toEqual(NOT_FOUND);
  });

  test('an unknown component, and policies, are refused as RabbitMQ refuses them; lists of nothing are empty', async () => {
    expect(await reply('PUT', '/api/parameters/bogus/rv/p1', { value: { a: 1 } })).toEqual(bad('Validation failed\n\ncomponent bogus not found\n'));
    expect(await reply('PUT', '/api/parameters/policy/rv/p1', { value: { a: 1 } })).toEqual(bad('policies may not be set using this method'));
    expect(await reply('GET', '/api/parameters/bogus')).toEqual({ status: 200, body: [] });
    expect(await reply('GET', '/api/parameters/bogus/rv')).toEqual({ status: 200, body: [] });
    expect(await reply('GET', '/api/parameters/bogus/rv/x')).toEqual(NOT_FOUND);
    expect(await reply('DELETE', '/api/parameters/bogus/rv/x')).toEqual(NOT_FOUND);
    expect(await reply('GET', '/api/parameters/vhost-limits/nowhere')).toEqual(NOT_FOUND);
  });

  test('policies and operator policies are parameters too: policy only when asked for by name', async () => {
    await b.api('PUT', '/api/policies/rv/pol1', { pattern: '^a', definition: { 'max-length': 10 } });
    await b.api('PUT', '/api/operator-policies/rv/op1', { pattern: '^a', definition: { 'max-length': 5 }, priority: 2, 'apply-to': 'queues' });
    const pol = { value: { pattern: '^a', definition: { 'max-length': 10 }, priority: 0, 'apply-to': 'all' }, vhost: 'rv', component: 'policy', name: 'pol1' };
    const op = { value: { pattern: '^a', definition: { 'max-length': 5 }, priority: 2, 'apply-to': 'queues' }, vhost: 'rv', component: 'operator_policy', name: 'op1' };
    expect(await reply('GET', '/api/parameters/policy/rv')).toEqual({ status: 200, body: [pol] });
    expect(await reply('GET', '/api/parameters/policy/rv/pol1')).toEqual({ status: 200, body: pol });
    expect(await reply('GET', '/api/parameters/operator_policy')).toEqual({ status: 200, body: [op] });
    expect(await reply('GET', '/api/parameters')).toEqual({ status: 200, body: [op] });
    await b.api('DELETE', '/api/policies/rv/pol1');
    await b.api('DELETE', '/api/operator-policies/rv/op1');
  });
});

describe('/api/operator-policies', () => {
  test('PUT 201 then 204, GET, lists sorted by priority, DELETE; the queue shows the operator policy in force', async () => {
    expect(await reply('GET', '/api/operator-policies/rv')).toEqual({ status: 200, body: [] });
    expect(await reply('PUT', '/api/operator-policies/rv/op1', { pattern: '^a', definition: { 'max-length': 10 }, priority: 2, 'apply-to': 'queues' })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/operator-policies/rv/op1', { pattern: '^a', definition: { 'max-length': 10 } })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/operator-policies/rv/op2', { pattern: '^b', definition: { 'message-ttl': 10 }, priority: -1 })).toEqual({ status: 201 });
    const op1 = { vhost: 'rv', name: 'op1', pattern: '^a', 'apply-to': 'all', definition: { 'max-length': 10 }, priority: 0 };
    const op2 = { vhost: 'rv', name: 'op2', pattern: '^b', 'apply-to': 'all', definition: { 'message-ttl': 10 }, priority: -1 };
    expect(await reply('GET', '/api/operator-policies/rv')).toEqual({ status: 200, body: [op2, op1] });
    expect(await reply('GET', '/api/operator-policies')).toEqual({ status: 200, body: [op2, op1] });
    expect(await reply('GET', '/api/operator-policies/rv/op1')).toEqual({ status: 200, body: op1 });
    await b.api('PUT', '/api/policies/rv/pol', { pattern: '^a', definition: { 'max-length': 100, 'message-ttl': 5000 } });
    await b.api('PUT', '/api/queues/rv/aq', { durable: true });
    const q = (await b.api('GET', '/api/queues/rv/aq')).body;
    expect({ policy: q.policy, operator_policy: q.operator_policy, effective_policy_definition: q.effective_policy_definition }).toEqual({
      policy: 'pol',
      operator_policy: 'op1',
      effective_policy_definition: { 'max-length': 10, 'message-ttl': 5000 },
    });
    expect(await reply('DELETE', '/api/operator-policies/rv/op2')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/operator-policies/rv/op2')).toEqual(NOT_FOUND);
    expect(await reply('DELETE', '/api/operator-policies/rv/op1')).toEqual({ status: 204 });
    expect((await b.api('GET', '/api/queues/rv/aq')).body.operator_policy).toBe(null);
  });

  test("RabbitMQ's refusals", async () => {
    expect(await reply('PUT', '/api/operator-policies/rv/op3', { pattern: '^a', definition: { 'dead-letter-exchange': 'x' } })).toEqual(
      bad('Validation failed\n\n[{<<"dead-letter-exchange">>,<<"x">>}] are not recognised policy settings\n'),
    );
    expect(await reply('PUT', '/api/operator-policies/rv/op3', { pattern: '^a' })).toEqual(bad('[{key_missing,definition}]'));
    expect(await reply('PUT', '/api/operator-policies/nowhere/op3', { pattern: '^a', definition: { 'max-length': 1 } })).toEqual(VHOST_NOT_FOUND);
    expect(await reply('PUT', '/api/operator-policies/rv/op3', undefined, { raw: '{"pattern":"^a","definition":{"max-length":1}}', headers: { 'content-type': 'text/plain' } })).toEqual({ status: 415 });
    expect(await reply('GET', '/api/operator-policies/nowhere')).toEqual(NOT_FOUND);
    expect(await reply('GET', '/api/operator-policies/rv/nope')).toEqual(NOT_FOUND);
    // Through /api/parameters an operator policy must give its priority.
    expect(await reply('PUT', '/api/parameters/operator_policy/rv/op4', { value: { pattern: '^b', definition: { 'max-length': 10 } } })).toEqual(
      bad('Validation failed\n\nKey "priority" not found in op4\n'),
    );
    expect(await reply('PUT', '/api/parameters/operator_policy/rv/op4', { value: { pattern: '^b', definition: { 'max-length': 10 }, priority: 0 } })).toEqual({ status: 201 });
    expect(await reply('DELETE', '/api/parameters/operator_policy/rv/op4')).toEqual({ status: 204 });
  });
});

describe('/api/global-parameters', () => {
  test('internal_cluster_id is there from the start; PUT 201 then 204, GET, DELETE 204 then 404', async () => {
    const list = (await b.api('GET', '/api/global-parameters')).body as { name: string; value: string }[];
    expect(list).toEqual([{ name: 'internal_cluster_id', value: b.broker.clusterId }]);
    expect(b.broker.clusterId).toMatch(/^warren-cluster-id-[A-Za-z0-9_-]{22}$/);
    expect(await reply('GET', '/api/global-parameters/g1')).toEqual(NOT_FOUND);
    expect(await reply('PUT', '/api/global-parameters/g1', { value: { a: [1, 2] } })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/global-parameters/g1', { value: { a: [1, 2] } })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/global-parameters/g2', {})).toEqual(bad('[{key_missing,value}]'));
    expect(await reply('GET', '/api/global-parameters/g1')).toEqual({ status: 200, body: { value: { a: [1, 2] }, name: 'g1' } });
    expect((await b.api('GET', '/api/definitions')).body.global_parameters).toContainEqual({ name: 'g1', value: { a: [1, 2] } });
    expect(await reply('DELETE', '/api/global-parameters/g1')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/global-parameters/g1')).toEqual(NOT_FOUND);
  });
});

describe('parameter components (how shovels and federation plug in)', () => {
  test('a registered component validates, and is told of every set and clear, from HTTP, definitions and vhost deletion alike', async () => {
    const calls: string[] = [];
    const component: ParameterComponent = {
      validate: (vhost, name, value) => {
        const v = value as Record<string, unknown>;
        return typeof v?.['uri'] === 'string' ? [] : [`Key "uri" not found in ${name}`];
      },
      apply: (vhost, name, value) => calls.push(`apply ${vhost}/${name} ${JSON.stringify(value)}`),
      remove: (vhost, name) => calls.push(`remove ${vhost}/${name}`),
    };
    // The real components (shovel, federation-upstream, federation-upstream-set) are left alone:
    // this one is a test's own. Until it is registered, its parameters are refused, as in RabbitMQ.
    expect(await reply('PUT', '/api/parameters/test-component/rv/s0', { value: { uri: 'amqp://' } })).toEqual(bad('Validation failed\n\ncomponent test-component not found\n'));
    b.broker.access.registerParameterComponent('test-component', { validate: () => [] });
    importDefinitions(b.broker, { parameters: [{ vhost: 'rv', component: 'test-component', name: 'early', value: { uri: 'amqp://' } }] }, { mode: 'runtime' });
    // A component registered (or replaced) after its parameters were stored is given them at once.
    b.broker.access.registerParameterComponent('test-component', component);
    expect(calls).toEqual(['apply rv/early {"uri":"amqp://"}']);
    expect(await reply('PUT', '/api/parameters/test-component/rv/s1', { value: { nope: 1 } })).toEqual(bad('Validation failed\n\nKey "uri" not found in s1\n'));
    expect(await reply('PUT', '/api/parameters/test-component/rv/s1', { value: { uri: 'amqp://a' } })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/parameters/test-component/rv/s1', { value: { uri: 'amqp://a' } })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/parameters/test-component/rv/s1', { value: { uri: 'amqp://b' } })).toEqual({ status: 204 });
    expect(await reply('GET', '/api/parameters/test-component/rv/s1')).toEqual({ status: 200, body: { value: { uri: 'amqp://b' }, vhost: 'rv', component: 'test-component', name: 's1' } });
    expect(await reply('DELETE', '/api/parameters/test-component/rv/s1')).toEqual({ status: 204 });
    const report = importDefinitions(b.broker, { parameters: [{ vhost: 'rv', component: 'test-component', name: 'bad', value: {} }] }, { mode: 'runtime' });
    expect(report['parameters']!.errors).toEqual(['parameter test-component/bad in vhost \'rv\': Validation failed\n\nKey "uri" not found in bad\n']);
    await b.api('PUT', '/api/vhosts/doomed', {});
    await b.api('PUT', '/api/parameters/test-component/doomed/s2', { value: { uri: 'amqp://c' } });
    await b.api('DELETE', '/api/vhosts/doomed');
    expect(calls).toEqual([
      'apply rv/early {"uri":"amqp://"}',
      'apply rv/s1 {"uri":"amqp://a"}',
      // The same value again is not news to the component, as in RabbitMQ.
      'apply rv/s1 {"uri":"amqp://b"}',
      'remove rv/s1',
      'apply doomed/s2 {"uri":"amqp://c"}',
      'remove doomed/s2',
    ]);
  });

  test('a component whose hook throws does not fail the request: the parameter is kept', async () => {
    b.broker.access.registerParameterComponent('failing-component', {
      validate: () => [],
      apply: () => {
        throw new Error('cannot start');
      },
    });
    expect(await reply('PUT', '/api/parameters/failing-component/rv/up', { value: { uri: 'amqp://x' } })).toEqual({ status: 201 });
    expect((await b.api('GET', '/api/parameters/failing-component/rv/up')).body.value).toEqual({ uri: 'amqp://x' });
    expect(await reply('DELETE', '/api/parameters/failing-component/rv/up')).toEqual({ status: 204 });
  });
});
