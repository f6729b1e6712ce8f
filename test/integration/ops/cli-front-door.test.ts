// The `warren` command at the front door: a second `warren start` on a data directory in
// use, `warren --version`, the default listener (IPv6 and IPv4), and signals sent to
// `npm start`.
import amqp from 'amqplib';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { within } from '../../helpers/timing.js';
import { connect } from 'node:net';
import { buildCli, killAll, listening, npmCommand, ROOT, run, type Build } from '../../helpers/warren-cli.js';

let build: Build;
let dataDir: string;

beforeAll(() => {
  build = buildCli();
}, 60_000);
afterAll(() => build?.remove());
afterEach(() => {
  killAll();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

/** Every file under `root`: its bytes (hashed), size, inode and modification time. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const st = statSync(p);
      const hash = e.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'not a file';
      out[p.slice(root.length + 1)] = `${hash} size=${st.size} ino=${st.ino} mtime=${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('warren --version', () => {
  test.each(['--version', '-V'])('%s prints Warren\'s version (package.json\'s) and exits 0', async (flag) => {
    const r = run(build.cli, [flag]);
    expect(await within(r.exit, 5000, 'warren to exit')).toEqual({ code: 0, signal: null });
    expect(r.stdout()).toBe(`${PACKAGE_VERSION}\n`);
    expect(r.stderr()).toBe('');
  });
});

describe('warren start on a data directory in use', () => {
  test('the second start exits 2 with a clear message and leaves every file (definitions, store, delivery log, control socket) as it was', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'warren-cli-lock-'));
    const first = run(build.cli, ['start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--management-port', 'none', '--prometheus-port', 'none']);
    const { port } = await listening(first);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    ch.sendToQueue('q', Buffer.from('persisted'), { persistent: true });
    await ch.waitForConfirms();
    const before = snapshot(dataDir);
    expect(Object.keys(before).sort()).toEqual(expect.arrayContaining(['definitions.json', 'msg_store.delivered', 'warren.lock', 'warren.sock']));

    const second = run(build.cli, ['start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--management-port', 'none', '--prometheus-port', 'none']);
    expect(await within(second.exit, 10_000, 'the second start to exit')).toEqual({ code: 2, signal: null });
    expect(second.stderr()).toBe(
      `warren: data directory ${dataDir} is in use by another broker (pid ${first.child.pid}); if no broker is running there, remove ${join(dataDir, 'warren.lock')}\n`,
    );
    // Nothing but the start-up settings is logged: nothing recovered, loaded or listened on.
    expect(second.logs().map((l) => l['msg']).filter((m) => m !== 'memory high watermark set')).toEqual([]);
    expect(snapshot(dataDir)).toEqual(before);

    // The first broker is untouched and still serves.
    const got = await ch.get('q', { noAck: true });
    expect(got !== false && got.content.toString()).toBe('persisted');
    await conn.close();
    first.child.kill('SIGTERM');
    expect(await within(first.exit, 5000, 'the broker to stop')).toEqual({ code: 0, signal: null });
    expect(readdirSync(dataDir)).not.toContain('warren.lock');
  }, 30_000);
});

/** Whether something accepts connections on 127.0.0.1:port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('the default listener', () => {
  test('listens on :: (dual-stack): clients connect over IPv6 (::1) and IPv4 (127.0.0.1), and guest may log in over both', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'warren-cli-ipv6-'));
    const w = run(build.cli, ['start', '--port', '0', '--data-dir', dataDir, '--management-port', 'none', '--prometheus-port', 'none']);
    const { port, host } = await listening(w);
    expect(host).toBe('::');
    for (const url of [`amqp://guest:guest@[::1]:${port}`, `amqp://guest:guest@127.0.0.1:${port}`]) {
      const conn = await amqp.connect(url);
      const ch = await conn.createChannel();
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from(url));
      const got = await ch.get(q.queue, { noAck: true });
      expect(got !== false && got.content.toString()).toBe(url);
      await conn.close();
    }
    w.child.kill('SIGTERM');
    expect(await within(w.exit, 5000, 'the broker to stop')).toEqual({ code: 0, signal: null });
  }, 30_000);
});

describe('npm start', () => {
  let pkg: Build;
  beforeAll(() => {
    pkg = buildCli(true);
  }, 60_000);
  afterAll(() => pkg?.remove());

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s sent to the npm process stops the broker (it used to go on running, orphaned)',
    async (signal) => {
      dataDir = mkdtempSync(join(tmpdir(), 'warren-npm-start-'));
      // --ignore-scripts skips prestart (the build, done above) but still runs the start script.
      const npm = run('', ['start', '--ignore-scripts', '--', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--management-port', 'none', '--prometheus-port', 'none'], {
        cwd: pkg.dir,
        command: npmCommand(),
      });
      const { port } = await listening(npm, 20_000);
      expect(await accepting(port)).toBe(true);
      npm.child.kill(signal);
      const exit = await within(npm.exit, 10_000, 'npm to exit');
      // The broker shut down cleanly (its own log says so) and nothing listens any more.
      expect(npm.logs().map((l) => l['msg']), JSON.stringify(exit) + npm.stdout() + npm.stderr()).toEqual(expect.arrayContaining(['shutting down', 'broker stopped']));
      expect(await accepting(port)).toBe(false);
      expect(readdirSync(dataDir)).not.toContain('warren.lock');
    },
    40_000,
  );
});
