// Bundles the management web UI (ui/app/, preact and uPlot) into static files with esbuild.
// `npm run build` runs it after tsc; the management server serves the output at `/`.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository root, found from this file in ui/ (source) or dist/ui/ (built). */
export function repoRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.replace(/[\\/](dist[\\/])?ui[\\/]?$/, '');
}

/** Where the bundle goes and where the management server looks for it. */
export function uiOutDir(root = repoRoot()): string {
  return join(root, 'dist', 'ui', 'www');
}

/** Packages bundled into app.js. */
const BUNDLED = ['preact', 'uplot'];

export async function buildUi(outDir = uiOutDir()): Promise<string> {
  const root = repoRoot();
  const app = join(root, 'ui', 'app');
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(app, 'main.tsx') },
    outdir: outDir,
    write: false,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  const files: [string, Uint8Array | string][] = result.outputFiles.map((f) => [f.path, f.contents]);
  for (const name of ['index.html', 'favicon.svg']) files.push([join(outDir, name), await readFile(join(app, name))]);
  // The bundle carries preact and uPlot: their MIT notices go with it.
  const notices = await Promise.all(BUNDLED.map(async (pkg) => `${pkg}\n\n${await readFile(join(root, 'node_modules', pkg, 'LICENSE'), 'utf8')}`));
  files.push([join(outDir, 'third-party-licenses.txt'), notices.join('\n---\n\n')]);
  // Each file is written aside and renamed into place, so that a server (or a second build
  // running at the same time, as parallel test files do) never reads half a file.
  for (const [path, contents] of files) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, contents);
    await rename(tmp, path);
  }
  return outDir;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildUi(process.argv[2]);
  console.log(`ui: bundled into ${out}`);
}
