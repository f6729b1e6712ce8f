// `warren ctl` as the real compiled bin: what a shell sees when the broker cannot be reached,
// on usage errors, with help; a listing over a live broker's control socket; definitions
// piped on standard input; await_startup waiting for a broker that starts later.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let dir: string;
let cli: string;
const brokers: RunningBroker[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-ctl-bin-'));
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

function run(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'ctl', ...args], { cwd: dir, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('warren ctl (the bin)', () => {
  test('no broker on the control socket: rabbitmqctl-style diagnostics, exit 69, no banner', async () => {
    const empty = join(dir, 'no-broker');
    mkdirSync(empty);
    const r = await run(['-d', empty, 'list_queues']);
    expect(r.code).toBe(69);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `Error: unable to perform an operation on the broker at ${join(empty, 'warren.sock')}: no broker is listening on its control socket (ENOENT).\n\n` +
        'Most common reasons for this are:\n\n * the broker is not running\n * it runs with another data directory: pass the same --data-dir (default ./data)\n' +
        ' * it is RabbitMQ or a remote broker: use --url http://user:pass@host:15672\n',
    );
  });

  test('no management API at --url: exit 69, and the password is not printed', async () => {
    const port = await freePort();
    const r = await run(['--url', `http://admin:s3cret@127.0.0.1:${port}`, 'list_users']);
    expect(r.code).toBe(69);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^Error: unable to perform an operation on the management API at http://127\\.0\\.0\\.1:${port}: cannot connect \\(ECONNREFUSED\\)\\.\n`));
    expect(r.stderr).not.toContain('s3cret');
  });

  test('usage errors exit 64: a missing argument, one too many, an unknown command, an unknown column, a bad formatter', async () => {
    expect(await run(['add_vhost'])).toEqual({ code: 64, stdout: '', stderr: "error: missing required argument 'vhost'\n" });
    expect(await run(['delete_user', 'a', 'b'])).toEqual({ code: 64, stdout: '', stderr: "error: too many arguments for 'delete_user'. Expected 1 argument but got 2.\n" });
    const unknown = await run(['list_queuez']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("error: unknown command 'list_queuez'");
    const column = await run(['-d', dir, 'list_exchanges', 'name', 'colour']);
    expect(column).toEqual({
      code: 64,
      stdout: '',
      stderr: 'Error (argument validation): Info key(s) colour are not supported\nColumns of list_exchanges: arguments, auto_delete, durable, internal, name, policy, type\n',
    });
    const formatter = await run(['-d', dir, 'list_vhosts', '--formatter', 'yaml']);
    expect(formatter.code).toBe(64);
    expect(formatter.stderr).toBe('Error (argument validation): formatter yaml is not supported: use table, json, pretty_table, csv\n');
  });

  test('help names every command, and a command\'s help its columns', async () => {
    const all = await run(['--help']);
    expect(all.code).toBe(0);
    for (const c of ['list_queues', 'add_user', 'set_policy', 'set_parameter', 'import_definitions', 'await_startup', 'shovel_status']) expect(all.stdout).toContain(`  ${c}`);
    const one = await run(['help', 'list_queues']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('Usage: warren ctl list_queues [options] [column...]');
    expect(one.stdout).toContain('<column> must be one of arguments, auto_delete, consumer_capacity,');
  });

  test('a listing over the control socket; definitions piped on standard input', async () => {
    const dataDir = join(dir, 'broker');
    const b = await startBroker({ port: 0, dataDir, controlSocket: join(dataDir, 'warren.sock') });
    brokers.push(b);
    const defs = { queues: [{ name: 'piped', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 3 } }] };
    // Not a terminal: no progress bar, only the lines.
    expect(await run(['-d', dataDir, 'import_definitions'], JSON.stringify(defs))).toEqual({
      code: 0,
      stdout: 'Importing definitions in JSON from standard input ...\nSuccessfully imported definitions.\n',
      stderr: '',
    });
    expect(await run(['-d', dataDir, 'list_queues', 'name', 'durable', 'arguments'])).toEqual({
      code: 0,
      stdout: 'Timeout: 60.0 seconds ...\nListing queues for vhost / ...\nname\tdurable\targuments\npiped\ttrue\t[{"x-max-length",3}]\n',
      stderr: '',
    });
  });

  test('await_startup waits for a broker that is not there yet', async () => {
    const dataDir = join(dir, 'later');
    mkdirSync(dataDir);
    const waiting = run(['-d', dataDir, 'await_startup', '--timeout', '20']);
    await new Promise((r) => setTimeout(r, 700));
    const b = await startBroker({ port: 0, dataDir, controlSocket: join(dataDir, 'warren.sock') });
    brokers.push(b);
    expect(await waiting).toEqual({ code: 0, stdout: '', stderr: '' });
    const gone = join(dir, 'never');
    mkdirSync(gone);
    const r = await run(['-d', gone, 'await_startup', '-t', '1']);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('no broker is listening on its control socket');
  });
});
