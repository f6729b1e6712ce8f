import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One import or re-export from a source file; `runtime` is false when it is erased at compile time. */
export interface ImportEdge {
  from: string;
  to: string;
  runtime: boolean;
}

// `import x, { a, type B } from '...'`, `export { a } from '...'`, `export * from '...'`,
// `import '...'`. Dynamic `import()` does not run at load time, so it cannot form a load cycle.
const STATEMENT = /^\s*(import|export)\s+([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** True when every name a statement brings in is type-only. */
function typeOnly(keyword: string, clause: string): boolean {
  if (/^type\s/.test(clause)) return true;
  if (keyword === 'export' && clause.startsWith('*')) return false;
  const braces = /\{([^}]*)\}/.exec(clause);
  if (braces === null) return false;
  const outside = clause.replace(braces[0], '').replace(/,/g, '').trim();
  if (outside !== '') return false; // a default or namespace import alongside the braces
  const names = braces[1].split(',').map((s) => s.trim()).filter((s) => s !== '');
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

/** Every .ts and .tsx file (not .d.ts) under `dirs`, relative to `root`. */
export function sourceFiles(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if ((name.endsWith('.ts') || name.endsWith('.tsx')) && !name.endsWith('.d.ts')) out.push(relative(root, path));
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out.sort();
}

/** Relative imports between the given files (package imports are left out). */
export function importEdges(root: string, files: string[]): ImportEdge[] {
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(STATEMENT)) {
      const spec = m[3] ?? m[4];
      if (!spec.startsWith('.')) continue;
      const base = relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '');
      const target = known.has(`${base}.ts`) ? `${base}.ts` : `${base}.tsx`;
      if (!known.has(target)) continue;
      const runtime = m[4] !== undefined ? true : !typeOnly(m[1], m[2]);
      edges.push({ from: file, to: target, runtime });
    }
  }
  return edges;
}

/** Strongly connected components with more than one file (or a self-import), over runtime edges. */
export function runtimeCycles(files: string[], edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (e.runtime) next.get(e.from)!.push(e.to);
  // Tarjan's algorithm, iterative so that deep graphs cannot overflow the stack.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  for (const start of files) {
    if (index.has(start)) continue;
    const work: Array<{ v: string; i: number }> = [{ v: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const succ = next.get(top.v)!;
      if (top.i < succ.length) {
        const w = succ[top.i++];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        if (comp.length > 1 || succ.includes(top.v)) out.push(comp.sort());
      }
    }
  }
  return out;
}
