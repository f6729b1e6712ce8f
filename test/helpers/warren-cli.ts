// The `warren` command line as users run it: the compiled bin (dist/server/cli.js), built
// once per test file into a temporary directory, run as a child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from './timing.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Build {
  /** The build directory (holds server/cli.js, a package.json and a node_modules link). */
  dir: string;
  cli: string;
  remove(): void;
}

/**
 * Compiles the project into a temporary directory (tsc; type errors elsewhere still emit).
 * With `asPackage`, the directory is laid out like the repository, with its package.json
 * (so that `npm start` runs there) and the build in dist/.
 */
export function buildCli(asPackage = false): Build {
  const dir = mkdtempSync(join(tmpdir(), 'warren-cli-build-'));
  const out = asPackage ? join(dir, 'dist') : dir;
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const cli = join(out, 'server/cli.js');
  if (!existsSync(cli)) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  // The output is ESM and imports commander and pino: give it a package.json and node_modules.
  if (asPackage) copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  else writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, cli, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** How to run npm: the npm running this test (npm test), else the one on the PATH. */
export function npmCommand(): string[] {
  const cli = process.env['npm_execpath'];
  // Under `npx vitest` it is npx's script, which is not npm.
  return cli !== undefined && /npm-cli\.js$/.test(cli) ? [process.execPath, cli] : ['npm'];
}

export interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** pino's JSON lines from stdout. */
  logs(): Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];

/** Runs `node <cli> ...args` (or another command line, with `command`). */
export function run(cli: string, args: string[], opts: { cwd?: string; command?: string[] } = {}): Run {
  const [cmd, ...pre] = opts.command ?? [process.execPath, cli];
  const child = spawn(cmd!, [...pre, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const logs = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, stdout: () => out, stderr: () => err, logs, exit };
}

/** Waits for pino's 'broker listening' line; resolves with the port (and the host logged). */
export function listening(r: Run, ms = 10_000): Promise<{ port: number; host: string }> {
  return within(
    new Promise<{ port: number; host: string }>((resolve, reject) => {
      const check = (): void => {
        const rec = r.logs().find((l) => l['msg'] === 'broker listening');
        if (rec !== undefined) resolve({ port: Number(rec['port']), host: String(rec['host']) });
      };
      check();
      r.child.stdout!.on('data', check);
      void r.exit.then(({ code }) => reject(new Error(`warren exited with ${code} before listening:\n${r.stdout()}\n${r.stderr()}`)));
    }),
    ms,
    "the 'broker listening' log line",
  );
}

/** SIGKILLs every child still running (for afterEach). */
export function killAll(): void {
  for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
