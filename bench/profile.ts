#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the
 * most self time, and self time per source file.
 *
 *   node dist/bench/profile.js PROFILE.cpuprofile [--top 25] [--callers FUNCTION]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const m = /\/(dist|node_modules)\/(.*)$/.exec(url);
  if (m !== null) return m[1] === 'dist' ? m[2]! : `npm:${m[2]!}`;
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

/** Self time per function (name + location) and per file, in ms and % of all samples. */
export function summariseProfile(p: CpuProfile): { total: number; functions: ProfileRow[]; files: ProfileRow[]; idleMs: number } {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, ProfileRow>();
  const file = new Map<string, ProfileRow>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const ms = us / 1000;
    total += ms;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idle += ms;
    const where = `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    const key = `${name} ${where}`;
    const r = fn.get(key) ?? { name, where, selfMs: 0, percent: 0 };
    r.selfMs += ms;
    fn.set(key, r);
    const fkey = shortUrl(n.callFrame.url);
    const f = file.get(fkey) ?? { name: fkey, where: '', selfMs: 0, percent: 0 };
    f.selfMs += ms;
    file.set(fkey, f);
  }
  const busy = total - idle;
  const finish = (m: Map<string, ProfileRow>) =>
    [...m.values()]
      .filter((r) => r.name !== '(idle)')
      .map((r) => ({ ...r, percent: busy > 0 ? (r.selfMs / busy) * 100 : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { total, functions: finish(fn), files: finish(file), idleMs: idle };
}

/** Self time of functions named `name`, split by the chain of their nearest `depth` callers. */
export function callersOf(p: CpuProfile, name: string, depth = 3): { chain: string; ms: number }[] {
  const parent = new Map<number, ProfileNode>();
  const byId = new Map<number, ProfileNode & { children?: number[] }>();
  for (const n of p.nodes as (ProfileNode & { children?: number[] })[]) byId.set(n.id, n);
  for (const n of byId.values()) for (const c of n.children ?? []) parent.set(c, n);
  const acc = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    if (n.callFrame.functionName !== name) continue;
    const chain: string[] = [];
    for (let q = parent.get(n.id), k = 0; q !== undefined && k < depth; q = parent.get(q.id), k++) {
      chain.push(`${q.callFrame.functionName || '(anon)'}@${shortUrl(q.callFrame.url)}:${q.callFrame.lineNumber + 1}`);
    }
    const key = chain.join(' < ');
    acc.set(key, (acc.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000);
  }
  return [...acc].map(([chain, ms]) => ({ chain, ms })).sort((a, b) => b.ms - a.ms);
}

function main(): void {
  const args = process.argv.slice(2);
  const path = args.find((a) => a.endsWith('.cpuprofile'));
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  if (path === undefined) {
    console.error('usage: profile.js FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const callersAt = args.indexOf('--callers');
  if (callersAt >= 0) {
    for (const r of callersOf(p, args[callersAt + 1]!).slice(0, top)) console.log(`${r.ms.toFixed(0).padStart(7)} ms  ${r.chain}`);
    return;
  }
  const s = summariseProfile(p);
  console.log(`total ${(s.total / 1000).toFixed(1)} s sampled, idle ${((s.idleMs / s.total) * 100).toFixed(1)} %; percentages are of non-idle time`);
  console.log('\nself time by function:');
  for (const r of s.functions.slice(0, top)) console.log(`${r.percent.toFixed(1).padStart(6)} %  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.name}  ${r.where}`);
  console.log('\nself time by file:');
  for (const r of s.files.slice(0, 15)) console.log(`${r.percent.toFixed(1).padStart(6)} %  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.name}`);
}

if (process.argv[1] !== undefined && /profile\.js$/.test(process.argv[1])) main();
