// Warren in a child process, for tests that must not share the test runner's process: a
// lowered descriptor limit (`ulimit -n`), crashes, logs read back as JSON lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Bundles a TypeScript entry point into one ESM file in `dir`, so that a child starts in
 * ~50 ms (vite-node takes ~2 s). CommonJS dependencies (pino) get a `require`.
 */
export function bundle(entry: string, dir: string, name: string): string {
  const out = join(dir, `${name}.mjs`);
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  return out;
}

export interface ChildBroker {
  child: ChildProcess;
  port: number;
  /** Everything the child printed so far (JSON log lines after the PORT line). */
  output(): string;
  /** The JSON log lines printed so far. */
  logs(): Record<string, unknown>[];
  /** Whether the process is still running. */
  alive(): boolean;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it has not exited within 3 s; removes the bundle. */
  stop(): Promise<void>;
}

export interface ChildBrokerOptions {
  /** Broker config (JSON-serialisable). */
  config?: Record<string, unknown>;
  /** Soft limit on open file descriptors for the child (`ulimit -n`). */
  nofile?: number;
}

/** Starts Warren in a child process and resolves once it listens. */
export async function startChildBroker(opts: ChildBrokerOptions = {}): Promise<ChildBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-child-'));
  const js = bundle(join(import.meta.dirname, 'fixtures', 'broker-child.ts'), dir, 'broker-child');
  const args = [js, JSON.stringify(opts.config ?? {})];
  const child =
    opts.nofile === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : // `exec` so that the pid (and signals) are node's, not the shell's.
        spawn('/bin/sh', ['-c', `ulimit -n ${opts.nofile} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child broker did not start:\n${out}\n${err}`)), 15_000);
    const onData = (): void => {
      const m = /^PORT (\d+)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`child broker exited before listening:\n${out}\n${err}`));
    });
  });
  const logs = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    port,
    output: () => out + err,
    logs,
    alive: () => !exited,
    exit,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The soft limit on open files of this process (Linux), or null when unknown. */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}
