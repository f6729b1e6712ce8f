// The package as users get it: built, packed with `npm pack`, installed into a fresh
// project, then used there from plain ESM (the node:test example), from TypeScript (the
// typescript example, type-checked against the packed .d.ts files and run) and as the
// `warren` command. The install is `npm ci --offline` from npm's cache (which this
// repository's `npm ci` fills); where the cache lacks something, the tarball is unpacked by
// hand and its dependencies taken from this repository's node_modules.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.error !== undefined) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A fresh project that depends on the tarball, fast-check and @types/node, with a lockfile
 * made from this repository's: `npm ci` then needs nothing but npm's cache, where this
 * repository's own `npm ci` left every one of those packages.
 */
function writeAppLock(app: string, tarball: string): void {
  type Entry = { dependencies?: Record<string, string>; dev?: boolean; devOptional?: boolean; peer?: boolean; [k: string]: unknown };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Entry> };
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & { version: string; dependencies: Record<string, string> };
  const extra = { 'fast-check': version('fast-check'), '@types/node': version('@types/node') };
  const packages: Record<string, Entry> = {};
  const want: [string, string][] = [...Object.keys(own.dependencies), ...Object.keys(extra)].map((n) => ['', n]);
  while (want.length > 0) {
    const [from, name] = want.pop()!;
    // Node's lookup: the nearest node_modules/<name> above the dependent.
    let key: string | null = null;
    for (let base = from; ; ) {
      const k = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (lock.packages[k] !== undefined) {
        key = k;
        break;
      }
      if (base === '') break;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
    if (key === null) throw new Error(`${name} (needed by ${from || 'the app'}) is not in package-lock.json`);
    if (packages[key] !== undefined) continue;
    const { dev: _d, devOptional: _o, peer: _p, ...entry } = lock.packages[key]!;
    packages[key] = entry;
    for (const d of Object.keys(entry.dependencies ?? {})) want.push([key, d]);
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const deps = { warren: `file:${tarball}`, ...extra };
  packages['node_modules/warren'] = {
    version: own.version,
    resolved: `file:${tarball}`,
    integrity,
    dependencies: own.dependencies,
    bin: own['bin'],
    peerDependencies: own['peerDependencies'],
    peerDependenciesMeta: own['peerDependenciesMeta'],
  };
  const name = 'warren-pack-check';
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module', dependencies: deps }));
  writeFileSync(
    join(app, 'package-lock.json'),
    JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0', dependencies: deps }, ...packages } }),
  );
}

describe('npm pack', () => {
  let work: string;
  let app: string;
  let installedBy: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'warren-pack-'));
    // A clean copy of what package.json's `files` names, built from the sources.
    const pkg = join(work, 'pkg');
    mkdirSync(pkg);
    for (const f of ['package.json', 'README.md', 'compat/recorded', 'docs']) cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
    ok(run(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], ROOT), 'build');
    const packed = ok(run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], pkg), 'npm pack').trim().split('\n').pop()!;
    const tarball = join(work, packed);

    app = join(work, 'app');
    mkdirSync(app);
    writeAppLock(app, tarball);
    const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);
    if (install.status === 0) {
      installedBy = 'npm ci --offline';
    } else {
      console.warn(`pack: npm ci --offline failed (${install.stderr.split('\n').find((l) => /error/i.test(l)) ?? install.status}); unpacking the tarball by hand`);
      const modules = join(app, 'node_modules');
      rmSync(modules, { recursive: true, force: true });
      mkdirSync(modules);
      ok(run('tar', ['-xzf', tarball, '-C', modules], app), 'tar');
      renameSync(join(modules, 'package'), join(modules, 'warren'));
      for (const d of readdirSync(join(ROOT, 'node_modules'))) {
        if (d === 'warren' || d.startsWith('.')) continue;
        symlinkSync(join(ROOT, 'node_modules', d), join(modules, d));
      }
      mkdirSync(join(modules, '.bin'));
      chmodSync(join(modules, 'warren/dist/server/cli.js'), 0o755);
      symlinkSync(join(modules, 'warren/dist/server/cli.js'), join(modules, '.bin/warren'));
      installedBy = 'tarball unpacked, dependencies linked';
    }
    cpSync(join(ROOT, 'examples/definitions.json'), join(app, 'definitions.json'));
    cpSync(join(ROOT, 'examples/node-test'), join(app, 'node-test'), { recursive: true });
    cpSync(join(ROOT, 'examples/typescript'), join(app, 'typescript'), { recursive: true });
  }, 120_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('installs with its entry points and type declarations', () => {
    console.log(`pack: installed by ${installedBy}`);
    const installed = join(app, 'node_modules/warren');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    for (const entry of ['.', './routing', './testing']) {
      expect(existsSync(join(installed, manifest.exports[entry]!.default))).toBe(true);
      expect(existsSync(join(installed, manifest.exports[entry]!.types))).toBe(true);
    }
    // Only the build goes out: no sources, tests or source maps.
    expect(existsSync(join(installed, 'server'))).toBe(false);
    expect(existsSync(join(installed, 'test'))).toBe(false);
    expect(existsSync(join(installed, 'dist/server/index.js.map'))).toBe(false);
  });

  it('works from plain ESM: the node:test example passes', () => {
    const esm = ok(
      run(process.execPath, ['--input-type=module', '-e', "import { startBroker } from 'warren'; import { Topology } from 'warren/routing'; console.log(typeof startBroker, typeof Topology)"], app),
      'import',
    );
    expect(esm.trim()).toBe('function function');
    const r = run(process.execPath, ['--test', 'node-test/orders.test.mjs'], app);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/# pass [1-9]/);
    expect(r.stdout).toMatch(/# fail 0/);
  });

  it('works from TypeScript: the example type-checks against the packed declarations and runs', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], rootDir: 'typescript', outDir: 'typescript-out' },
        include: ['typescript'],
      }),
    );
    ok(run(process.execPath, [TSC, '-p', 'tsconfig.json'], app), 'tsc');
    const out = JSON.parse(ok(run(process.execPath, ['typescript-out/route.js'], app), 'the typescript example')) as Record<string, unknown>;
    expect(out).toEqual({ queues: ['audit.all', 'orders.eu'], exchanges: ['orders', 'audit'], vhost: true });
  });

  it('installs the warren command: warren route', () => {
    const bin = join(app, 'node_modules/.bin/warren');
    const out = ok(run(bin, ['route', '-f', 'definitions.json', '-e', 'orders', '-k', 'eu.created', '-H', 'region=eu', '--json'], app), 'warren route');
    expect((JSON.parse(out) as { queues: string[] }).queues).toEqual(['audit.all', 'audit.eu', 'orders.created', 'orders.eu']);
  });
});
