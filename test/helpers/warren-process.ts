// Warren as a real process (the compiled `warren` bin), for tests that SIGKILL it or run
// its CLI: built once per test file into a temporary directory that links node_modules.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from './timing.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Compiles the project into a temporary directory; returns it (dist layout: server/cli.js). */
export function buildWarren(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-built-'));
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(join(dir, 'server/cli.js'))) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // What tsc does not copy: the recorded RabbitMQ outcomes and the catalog's user, for `warren check`.
  symlinkSync(join(ROOT, 'compat/recorded'), join(dir, 'compat/recorded'), 'dir');
  symlinkSync(join(ROOT, 'compat/users.json'), join(dir, 'compat/users.json'));
  return dir;
}

export function removeBuild(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface WarrenProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `warren <args>` from a build; resolves when it exits. */
export function runCli(build: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(build, 'server/cli.js'), ...args], { cwd: build, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warren ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 120000} ms:\n${out}\n${err}`));
    }, opts.timeoutMs ?? 120000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

/**
 * `warren start --data-dir dir --port port --host 127.0.0.1 ...more`, once it listens. The
 * management API and Prometheus are off unless `more` gives them a port.
 */
export async function startWarren(build: string, dataDir: string, port: number, more: string[] = []): Promise<WarrenProcess> {
  const http = [...(more.includes('--management-port') ? [] : ['--management-port', 'none']), ...(more.includes('--prometheus-port') ? [] : ['--prometheus-port', 'none'])];
  const child = spawn(process.execPath, [join(build, 'server/cli.js'), 'start', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1', ...http, ...more], {
    cwd: build,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  await within(
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (out.includes('"msg":"broker listening"')) resolve();
      };
      child.stdout!.on('data', check);
      check();
      void exit.then(({ code }) => reject(new Error(`warren exited with ${code} before listening:\n${out}\n${err}`)));
    }),
    20000,
    "warren's 'broker listening' line",
  );
  return {
    child,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    exit,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exit;
    },
  };
}
