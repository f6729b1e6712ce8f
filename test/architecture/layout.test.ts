// The shape of the house (docs/architecture.md), checked: no runtime import cycles, rooms
// import only downwards at run time, and no folder or file outgrows what a reader can hold.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importEdges, runtimeCycles, sourceFiles } from '../helpers/import-graph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE_DIRS = ['amqp', 'routing', 'server', 'persistence', 'compat', 'bench', 'testing', 'ui'].filter((d) => {
  try {
    return readdirSync(join(ROOT, d)).length >= 0;
  } catch {
    return false;
  }
});
const files = sourceFiles(ROOT, SOURCE_DIRS);
const edges = importEdges(ROOT, files);

/**
 * Higher rooms may import lower ones at run time, never the reverse (type-only imports may
 * point anywhere). Rooms of equal rank may not import each other either.
 */
const RANK: Record<string, number> = {
  server: 9, // the top floor: broker, index, cli, control
  'server/cli': 9,
  'server/http': 8,
  'server/federation': 8,
  'server/connection': 6,
  'server/access': 5,
  'server/vhost': 4,
  'server/store': 4,
  'server/queue': 3,
  'server/ops': 2,
  routing: 1,
  persistence: 1,
  amqp: 0,
};

function room(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'server') return parts[0];
  return parts.length === 2 ? 'server' : `server/${parts[1]}`;
}

describe('layout', () => {
  it('has no runtime import cycle', () => {
    expect(runtimeCycles(files, edges)).toEqual([]);
  });

  it('every server file lives in a room the layering knows', () => {
    const unknown = files.filter((f) => f.startsWith('server/') && !(room(f) in RANK));
    expect(unknown).toEqual([]);
  });

  it('no room imports a higher or sibling room at run time', () => {
    const up: string[] = [];
    for (const e of edges) {
      if (!e.runtime) continue;
      const a = room(e.from);
      const b = room(e.to);
      if (a === b || !(a in RANK) || !(b in RANK)) continue;
      if (RANK[b]! >= RANK[a]!) up.push(`${e.from} -> ${e.to}`);
    }
    expect(up).toEqual([]);
  });

  it('no source folder holds more than 14 source files directly', () => {
    const count = new Map<string, number>();
    for (const f of files) count.set(dirname(f), (count.get(dirname(f)) ?? 0) + 1);
    const crowded = [...count].filter(([d, n]) => n > 14 && !d.endsWith('generated')).map(([d, n]) => `${d}: ${n}`);
    expect(crowded).toEqual([]);
  });

  it('no hand-written source file passes 600 lines', () => {
    const long = files
      .filter((f) => !f.includes('/generated/'))
      .map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > 600)
      .map(([f, n]) => `${f}: ${n}`);
    expect(long).toEqual([]);
  });
});
