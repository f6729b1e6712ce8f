// The `warren` command line, run as the real compiled bin (dist/server/cli.js), built once
// into a temporary directory.
import amqp from 'amqplib';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { hasOpenssl, makeCertificates } from '../../helpers/certificates.js';
import { M, RawClient } from '../../helpers/raw-client.js';
import { within } from '../../helpers/timing.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let dir: string;
let cli: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-test-'));
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  cli = join(dir, 'server/cli.js');
  // Type errors elsewhere in the tree still emit JavaScript; only a missing bin is fatal.
  if (!existsSync(cli)) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  // The output is ESM and imports commander and pino: give it a package.json and node_modules.
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
}, 60000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Omit<Running, 'port'> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Starts `warren start ...args` and waits for the pino 'broker listening' line. */
async function start(args: string[]): Promise<Running> {
  // The management API and Prometheus on free ports, so that parallel runs do not collide on 15672/15692.
  const r = run(['start', '--data-dir', join(dir, 'data'), '--management-port', '0', '--prometheus-port', '0', ...args]);
  const port = await within(
    new Promise<number>((resolve, reject) => {
      const check = () => {
        for (const line of r.stdout().split('\n')) {
          if (!line.startsWith('{')) continue;
          const rec = JSON.parse(line) as { msg?: string; port?: number };
          if (rec.msg === 'broker listening' && typeof rec.port === 'number') return resolve(rec.port);
        }
      };
      r.child.stdout!.on('data', check);
      void r.exit.then(({ code }) => reject(new Error(`warren exited with ${code} before listening:\n${r.stdout()}\n${r.stderr()}`)));
    }),
    10000,
    "the 'broker listening' log line",
  );
  return { ...r, port };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const FORCED = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'";

describe('warren start', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: clients get connection.close 320 CONNECTION_FORCED and the process exits 0',
    async (signal) => {
      const w = await start(['--port', '0', '--host', '127.0.0.1']);
      expect(w.port).toBeGreaterThan(0);
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${w.port}`);
      const ch = await conn.createChannel();
      await ch.assertQueue('', { exclusive: true });
      // amqplib does not treat 320 as fatal: no 'error' event, the error comes with 'close'.
      conn.on('error', () => {});
      const connClosed = new Promise<(Error & { code?: number }) | undefined>((resolve) => conn.on('close', resolve));
      ch.on('error', () => {});
      const raw = await RawClient.open(w.port);
      await raw.openChannel(1);

      w.child.kill(signal);

      expect(await raw.nextReply(3000)).toEqual({
        method: 'ConnectionClose',
        channel: 0,
        replyCode: 320,
        replyText: FORCED,
        classId: 0,
        methodId: 0,
      });
      raw.sendMethod(0, { id: M.ConnectionCloseOk });
      const err = await within(connClosed, 3000, "amqplib's close event");
      expect({ code: err?.code, message: err?.message }).toEqual({
        code: 320,
        message: `Connection closed: 320 (CONNECTION-FORCED) with message "${FORCED}"`,
      });
      expect(await within(w.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });
      expect(await raw.waitClosed(1000)).toBe(true);
    },
    15000,
  );

  test('--config with a JSON file sets the port (and RabbitMQ-style keys such as frame_max)', async () => {
    const port = await freePort();
    const file = join(dir, 'warren.json');
    writeFileSync(file, JSON.stringify({ port, host: '127.0.0.1', frame_max: 8192 }));
    const w = await start(['--config', file]);
    expect(w.port).toBe(port);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    expect((conn.connection as unknown as { frameMax: number }).frameMax).toBe(8192);
    await conn.close();
    w.child.kill('SIGTERM');
    expect(await within(w.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });
  }, 15000);

  test('--port on the command line wins over the config file', async () => {
    const file = join(dir, 'warren-port.json');
    writeFileSync(file, JSON.stringify({ port: 1, host: '127.0.0.1' }));
    const w = await start(['--config', file, '--port', '0']);
    expect(w.port).not.toBe(1);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${w.port}`);
    await conn.close();
    w.child.kill('SIGTERM');
    expect(await within(w.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });
  }, 15000);

  test('starts the management API and the Prometheus endpoint on the ports given (none: not at all)', async () => {
    const w = await start(['--port', '0', '--host', '127.0.0.1']);
    const portOf = async (msg: string): Promise<number> => {
      let found = 0;
      await within(
        (async () => {
          while (found === 0) {
            for (const line of w.stdout().split('\n')) {
              if (!line.startsWith('{')) continue;
              const rec = JSON.parse(line) as { msg?: string; port?: number };
              if (rec.msg === msg && typeof rec.port === 'number') found = rec.port;
            }
            if (found === 0) await new Promise((r) => setTimeout(r, 20));
          }
        })(),
        10000,
        `the '${msg}' log line`,
      );
      return found;
    };
    const mgmt = await portOf('management API listening');
    const prom = await portOf('Prometheus metrics listening');
    const r = await fetch(`http://127.0.0.1:${mgmt}/api/whoami`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    expect({ status: r.status, body: await r.json() }).toEqual({ status: 200, body: { name: 'guest', tags: ['administrator'] } });
    const m = await fetch(`http://127.0.0.1:${prom}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/^rabbitmq_queues 0$/m);
    w.child.kill('SIGTERM');
    expect(await within(w.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });

    const off = await start(['--port', '0', '--host', '127.0.0.1', '--management-port', 'none', '--prometheus-port', 'none']);
    // A round trip first: the signal handlers are in place once the broker answers.
    await (await amqp.connect(`amqp://guest:guest@127.0.0.1:${off.port}`)).close();
    off.child.kill('SIGTERM');
    expect(await within(off.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });
    expect(off.stdout()).not.toMatch(/management API listening|Prometheus metrics listening/);
  }, 20000);

  test('an unknown config key is reported and the process exits 2 without listening', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ port: 0, bogus_setting: 1 }));
    const r = run(['start', '--config', file]);
    expect(await within(r.exit, 5000, 'the process to exit')).toEqual({ code: 2, signal: null });
    expect(r.stderr()).toBe(`warren: config file ${file}: unknown setting 'bogus_setting'\n`);
    expect(r.stdout()).toBe('');
  });

  test('an unreadable config file is reported and the process exits 2', async () => {
    const file = join(dir, 'missing.json');
    const r = run(['start', '--config', file]);
    expect(await within(r.exit, 5000, 'the process to exit')).toEqual({ code: 2, signal: null });
    expect(r.stderr()).toBe(`warren: cannot read config file ${file}: ENOENT: no such file or directory, open '${file}'\n`);
    expect(r.stdout()).toBe('');
  });

  test.each(['abc', '65536', '-1', '1.5'])('--port %s is rejected by the argument parser', async (value) => {
    const r = run(['start', `--port=${value}`]);
    expect(await within(r.exit, 5000, 'the process to exit')).toEqual({ code: 1, signal: null });
    expect(r.stderr()).toBe(`error: option '-p, --port <port>' argument '${value}' is invalid. must be a port number (0-65535)\n`);
    expect(r.stdout()).toBe('');
  });
});

describe('warren start --config rabbitmq.conf', () => {
  test("RabbitMQ's keys set the listener and tuning; an unsupported RabbitMQ key is logged once as a warning", async () => {
    const port = await freePort();
    const file = join(dir, 'rabbitmq.conf');
    writeFileSync(file, `# as RabbitMQ reads it\nlisteners.tcp.default = 127.0.0.1:${port}\nframe_max = 8192\ncluster_partition_handling = autoheal # no effect in Warren\n`);
    const w = await start(['--config', file]);
    expect(w.port).toBe(port);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    expect((conn.connection as unknown as { frameMax: number }).frameMax).toBe(8192);
    await conn.close();
    const warnings = w
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; setting?: string; line?: number })
      .filter((r) => r.setting !== undefined);
    expect(warnings.map((r) => [r.level, r.setting, r.line, r.msg])).toEqual([[40, 'cluster_partition_handling', 4, 'config: cluster_partition_handling: not supported by Warren; ignored']]);
    w.child.kill('SIGTERM');
    expect(await within(w.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });
  }, 15000);

  test('a key that no RabbitMQ has is reported with its line and the process exits 2', async () => {
    const file = join(dir, 'typo.conf');
    writeFileSync(file, 'heartbeat = 10\nhearbeat = 10\n');
    const r = run(['start', '--config', file]);
    expect(await within(r.exit, 5000, 'the process to exit')).toEqual({ code: 2, signal: null });
    expect(r.stderr()).toBe(`warren: config file ${file}, line 2: hearbeat: unknown setting (no RabbitMQ release has it)\n`);
    expect(r.stdout()).toBe('');
  });

  test.skipIf(!hasOpenssl)('an amqps-only broker from listeners.ssl.default and ssl_options (listeners.tcp = none)', async () => {
    const certs = makeCertificates();
    try {
      const port = await freePort();
      const file = join(dir, 'tls.conf');
      writeFileSync(
        file,
        [
          'listeners.tcp = none',
          `listeners.ssl.default = 127.0.0.1:${port}`,
          `ssl_options.cacertfile = ${certs.ca}`,
          `ssl_options.certfile = ${certs.server.cert}`,
          `ssl_options.keyfile = ${certs.server.key}`,
          'ssl_options.verify = verify_peer',
          'ssl_options.fail_if_no_peer_cert = true',
          'auth_mechanisms.1 = EXTERNAL',
          'ssl_cert_login_from = common_name',
          'default_user = alice',
          '',
        ].join('\n'),
      );
      // A data directory of its own: default_user seeds only a first start, as in RabbitMQ.
      const w = await start(['--config', file, '--data-dir', join(dir, 'data-tls')]);
      expect(w.port).toBe(port);
      const tls = { ca: [certs.read(certs.ca)], cert: certs.read(certs.alice.cert), key: certs.read(certs.alice.key) };
      const conn = await amqp.connect(`amqps://127.0.0.1:${port}`, { ...tls, credentials: amqp.credentials.external() });
      await (await conn.createChannel()).assertQueue('', { exclusive: true });
      await conn.close();
      w.child.kill('SIGTERM');
      expect(await within(w.exit, 5000, 'the process to exit')).toEqual({ code: 0, signal: null });
    } finally {
      certs.remove();
    }
  }, 15000);
});
