/**
 * Starting and stopping the brokers that bench/compare measures: Warren from the
 * build (optionally under `node --cpu-prof`) and a private RabbitMQ node with its
 * own port, node name and data directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './load/clock.js';

export interface RunningBroker {
  name: 'warren' | 'rabbitmq';
  url: string;
  pid: number;
  /** False once the broker process has gone. */
  alive(): boolean;
  stop(): Promise<void>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
}

async function waitPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    if (child !== undefined && child.exitCode !== null) throw new Error(`broker exited with code ${child.exitCode}`);
    await sleep(100);
  }
  throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms`);
}

/** `env`: extra environment for the broker (e.g. GLIBC_TUNABLES, which glibc reads only at start-up). */
export async function startWarren(port: number, dir: string, cpuProfDir?: string, env: Record<string, string> = {}): Promise<RunningBroker> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const args = [
    ...(cpuProfDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
    join(ROOT, 'dist/server/cli.js'),
    'start',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    '--data-dir',
    join(dir, 'data'),
    // The management plane runs as under `warren start`, on free ports; WARREN_PLANE=off measures without it.
    '--management-port',
    process.env['WARREN_PLANE'] === 'off' ? 'none' : '0',
    '--prometheus-port',
    process.env['WARREN_PLANE'] === 'off' ? 'none' : '0',
  ];
  const log = openSync(join(dir, 'warren.log'), 'a');
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`warren (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n`);
  });
  await waitPort(port, 15000, child);
  return {
    name: 'warren',
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    pid: child.pid!,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60000): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null) rej(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else res(stdout);
    });
  });
}

/**
 * Starts a private RabbitMQ node. The Debian wrapper re-executes itself as user
 * rabbitmq, so the directory is handed to that user. The open-file limit is raised
 * first (the wrapper's `su` would otherwise leave beam with 1024).
 */
export async function startRabbit(port: number, distPort: number, dir: string, nodename = 'bench@localhost', openFiles = 20000): Promise<RunningBroker> {
  mkdirSync(join(dir, 'mnesia'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq.conf'), '');
  await run('chown', ['-R', 'rabbitmq:rabbitmq', dir], process.env);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, 'feature_flags'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  };
  const log = openSync(join(dir, 'server.out'), 'a');
  // setpriv rather than the wrapper's `su`: pam_limits would put the open-file limit back to 1024.
  const script =
    `ulimit -n ${openFiles} 2>/dev/null; cd /var/lib/rabbitmq; ` +
    `if command -v setpriv >/dev/null; then HOME=/var/lib/rabbitmq exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server; ` +
    `else exec rabbitmq-server; fi`;
  const child = spawn('sh', ['-c', script], { env, stdio: ['ignore', log, log], detached: true });
  await waitPort(port, 90000, child);
  await run('rabbitmqctl', ['-n', nodename, 'await_startup'], env, 90000);
  const pidText = await run('rabbitmqctl', ['-n', nodename, 'eval', 'os:getpid().'], env);
  const pid = Number(pidText.trim().replace(/"/g, ''));
  if (!Number.isInteger(pid)) throw new Error(`cannot read RabbitMQ's pid from ${JSON.stringify(pidText)}`);
  return {
    name: 'rabbitmq',
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    pid,
    alive: () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    },
    stop: async () => {
      await run('rabbitmqctl', ['-n', nodename, 'stop'], env, 60000).catch(() => child.kill('SIGTERM'));
      await Promise.race([new Promise((r) => (child.exitCode !== null ? r(0) : child.once('exit', r))), sleep(15000)]);
    },
  };
}
