// `warren definitions export [FILE] [--vhost V]`, `warren definitions import FILE
// [--vhost V]` and `warren operator-policy`, run as the real compiled bin against a broker
// listening on the control socket of its data directory; and `warren start` with a
// `load_definitions` config key.
import amqp from 'amqplib';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Definitions } from '../../../persistence/definitions.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../access/fixtures/rabbitmq-3.10.8-export.json', import.meta.url));
const VHOST_FIXTURE = fileURLToPath(new URL('../access/fixtures/rabbitmq-3.10.8-vhost-export.json', import.meta.url));
let dir: string;
let cli: string;
const brokers: RunningBroker[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-defs-'));
  const out = join(dir, 'build');
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  cli = join(out, 'server/cli.js');
  if (!existsSync(cli)) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
}, 60000);

afterAll(async () => {
  for (const b of brokers) await b.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function broker(name: string): Promise<{ b: RunningBroker; dataDir: string }> {
  const dataDir = join(dir, name);
  const b = await startBroker({ port: 0, dataDir, controlSocket: join(dataDir, 'warren.sock') });
  brokers.push(b);
  return { b, dataDir };
}

describe('warren definitions', () => {
  test('import FILE: a RabbitMQ export goes in; what cannot be honoured is listed and the exit code is 1', async () => {
    const { b, dataDir } = await broker('import');
    const r = await run('definitions', 'import', FIXTURE, '--data-dir', dataDir);
    // The export's guest has RabbitMQ's hash of "guest": imported over Warren's, fine.
    expect(r).toEqual({ code: 0, stdout: `Importing definitions in JSON from a file at "${FIXTURE}" ...\nSuccessfully imported definitions.\n`, stderr: '' });
    const c = await amqp.connect(`amqp://access-export-app:app-secret@127.0.0.1:${b.port}/access-export`);
    await c.close();

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ permissions: [{ user: 'nobody', vhost: '/', configure: '.*', write: '.*', read: '.*' }] }));
    expect(await run('definitions', 'import', bad, '--data-dir', dataDir)).toEqual({
      code: 1,
      stdout: `Importing definitions in JSON from a file at "${bad}" ...\n`,
      stderr: "  permissions: could not import permissions of user 'nobody' in vhost '/': no_such_user: nobody\nwarren: 1 entries could not be imported\n",
    });
  });

  test('export [FILE]: to stdout, or to a file; --vhost gives the per-vhost form', async () => {
    const { dataDir } = await broker('export');
    await run('definitions', 'import', FIXTURE, '--data-dir', dataDir);
    const whole = await run('definitions', 'export', '--data-dir', dataDir);
    expect(whole.code).toBe(0);
    const defs = JSON.parse(whole.stdout) as Definitions;
    expect(defs.users!.map((u) => u.name).sort()).toEqual(['access-export-app', 'access-export-ops', 'guest']);
    expect(defs.queues!.length).toBe(6);
    const out = join(dir, 'out.json');
    expect(await run('definitions', 'export', out, '--data-dir', dataDir)).toEqual({ code: 0, stdout: `Exporting definitions in JSON to a file at "${out}" ...\n`, stderr: '' });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(defs);
    const one = JSON.parse((await run('definitions', 'export', '--vhost', 'access-export', '--data-dir', dataDir)).stdout) as Definitions;
    expect(Object.keys(one)).toEqual(['rabbit_version', 'parameters', 'policies', 'queues', 'exchanges', 'bindings']);
    expect(await run('definitions', 'export', '--vhost', 'nope', '--data-dir', dataDir)).toEqual({ code: 1, stdout: '', stderr: "warren: no vhost 'nope'\n" });
  });

  test('import FILE --vhost V: a per-vhost export lands in V, which must exist', async () => {
    const { b, dataDir } = await broker('import-vhost');
    expect(await run('definitions', 'import', VHOST_FIXTURE, '--vhost', 'staging', '--data-dir', dataDir)).toEqual({
      code: 1,
      stdout: `Importing definitions in JSON from a file at "${VHOST_FIXTURE}" ...\n`,
      stderr: 'warren: Please create virtual host "staging" prior to importing definitions.\n',
    });
    b.broker.access.addVhost('staging');
    expect((await run('definitions', 'import', VHOST_FIXTURE, '--vhost', 'staging', '--data-dir', dataDir)).code).toBe(0);
    expect([...b.broker.vhosts.get('staging')!.queues.keys()].sort()).toEqual(['app.classic', 'app.lazy.backlog', 'app.orders', 'app.shovel-in', 'app.shovel-out', 'app.stream']);
    // Saved before the command answered.
    const stored = JSON.parse(readFileSync(join(dataDir, 'definitions.json'), 'utf8')) as Definitions;
    expect(stored.queues!.filter((q) => q.vhost === 'staging').length).toBe(6);
  });
});

describe('warren operator-policy', () => {
  test('set, list and clear; a key operator policies do not take is refused with RabbitMQ\'s text', async () => {
    const { b, dataDir } = await broker('op');
    expect(await run('operator-policy', 'set', 'cap', '.*', '{"max-length":10}', '--apply-to', 'queues', '--data-dir', dataDir)).toEqual({
      code: 0,
      stdout: 'Setting operator policy override "cap" for pattern ".*" to "{"max-length":10}" with priority "0" for vhost "/" ...\n',
      stderr: '',
    });
    expect(JSON.parse((await run('operator-policy', 'list', '--data-dir', dataDir)).stdout)).toEqual([
      { vhost: '/', name: 'cap', pattern: '.*', 'apply-to': 'queues', definition: { 'max-length': 10 }, priority: 0 },
    ]);
    expect(await run('operator-policy', 'set', 'bad', '.*', '{"overflow":"reject-publish"}', '--data-dir', dataDir)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'warren: Validation failed\n\n[{<<"overflow">>,<<"reject-publish">>}] are not recognised policy settings\n',
    });
    expect((await run('operator-policy', 'clear', 'cap', '--data-dir', dataDir)).code).toBe(0);
    expect(b.broker.vhosts.get('/')!.operatorPolicies.list()).toEqual([]);
  });
});

describe('warren start with load_definitions', () => {
  test('the file is imported at start and no default user is seeded', async () => {
    const dataDir = join(dir, 'boot');
    const config = join(dir, 'boot.json');
    writeFileSync(config, JSON.stringify({ load_definitions: FIXTURE, host: '127.0.0.1', port: 0, dataDir, logLevel: 'info', management_port: null, prometheus_port: null }));
    const child = spawn(process.execPath, [cli, 'start', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /"port":(\d+),"msg":"broker listening"/.exec(out);
        if (m !== null) resolve(Number(m[1]));
      });
      child.on('close', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    try {
      expect(out).toContain('"msg":"Will not seed default virtual host and user: have definitions to load"');
      const c = await amqp.connect(`amqp://access-export-ops:ops-secret@127.0.0.1:${port}/access-export`);
      await c.close();
      await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
    }
  }, 20000);
});
