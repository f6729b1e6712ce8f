/**
 * `node dist/bench/route.js`: routes per second through warren/routing's `topology.route`
 * for a topic exchange with 10,000 bindings, in three workloads:
 * - typical: keys of four words (domain.region.entity.event) from small vocabularies;
 *   70 % of the bindings exact keys, 20 % with one `*`, 10 % `prefix.#`, a handful `#.event`;
 *   1,000 queues. Once with 1,000 keys that repeat (as the keys of a real message stream
 *   do), once with 100,000 distinct keys in turn (each one new to the match cache);
 * - S4: the broker benchmark's patterns (3–6 words from 20, 25 % `*`, 10 % `#`) and 10,000
 *   distinct keys over 10 queues: nearly every key matches hundreds of patterns, the worst
 *   case for a trie.
 * Rates are per CPU second of this process (process.cpuUsage), which a busy machine
 * disturbs less than wall time; the median of --rounds rounds is reported.
 */
import { parseArgs } from 'node:util';
import { Topology } from '../routing/topology/topology.js';
import { rng, topicKey, topicPattern } from './scenarios.js';

interface Workload {
  name: string;
  topology: Topology;
  keys: string[];
  bindings: number;
}

function words(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

function typical(bindings: number, distinctKeys: number, label: string): Workload {
  const r = rng(7);
  const pick = (a: readonly string[]) => a[Math.floor(r() * a.length)]!;
  const D = words('domain', 20);
  const R = words('region', 10);
  const E = words('entity', 50);
  const V = words('event', 10);
  const t = new Topology().exchange('x', 'topic');
  for (let i = 0; i < 1000; i++) t.queue(`q${i}`);
  const seen = new Set<string>();
  while (seen.size < bindings) {
    const k = [pick(D), pick(R), pick(E), pick(V)];
    const x = r();
    let p: string;
    if (x < 0.7) p = k.join('.');
    else if (x < 0.9) {
      k[1 + Math.floor(r() * 3)] = '*';
      p = k.join('.');
    } else if (x < 0.999) p = `${k.slice(0, 2 + Math.floor(r() * 2)).join('.')}.#`;
    else p = `#.${k[3]}`;
    const q = `q${Math.floor(r() * 1000)}`;
    if (seen.has(`${p} ${q}`)) continue;
    seen.add(`${p} ${q}`);
    t.bind('x', q, p);
  }
  const keys = Array.from({ length: distinctKeys }, () => [pick(D), pick(R), pick(E), pick(V)].join('.'));
  return { name: label, topology: t, keys, bindings };
}

function s4(bindings: number): Workload {
  const r = rng(42);
  const t = new Topology().exchange('x', 'topic');
  for (let i = 0; i < 10; i++) t.queue(`q${i}`);
  for (let i = 0; i < bindings; i++) t.bind('x', `q${i % 10}`, topicPattern(r));
  const keys = Array.from({ length: 10000 }, () => topicKey(r));
  return { name: 'S4 patterns, 10,000 distinct keys', topology: t, keys, bindings };
}

interface Result {
  workload: string;
  bindings: number;
  distinctKeys: number;
  queuesPerRoute: number;
  cpuRoutesPerSec: number;
  wallRoutesPerSec: number;
  rounds: number[];
}

function measure(w: Workload, routes: number, rounds: number): Result {
  const { topology, keys } = w;
  // Warm up: JIT, and the match cache where keys repeat.
  for (let i = 0; i < Math.min(routes, 200_000); i++) topology.route({ exchange: 'x', routingKey: keys[i % keys.length]! });
  const cpu: number[] = [];
  const wall: number[] = [];
  let reached = 0;
  for (let round = 0; round < rounds; round++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < routes; i++) reached += topology.route({ exchange: 'x', routingKey: keys[i % keys.length]! }).queues.length;
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    cpu.push(routes / ((c.user + c.system) / 1e6));
    wall.push(routes / wallS);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return {
    workload: w.name,
    bindings: w.bindings,
    distinctKeys: keys.length,
    queuesPerRoute: reached / (routes * rounds),
    cpuRoutesPerSec: median(cpu),
    wallRoutesPerSec: median(wall),
    rounds: cpu.map(Math.round),
  };
}

const { values } = parseArgs({
  options: {
    bindings: { type: 'string', default: '10000' },
    routes: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const bindings = Number(values.bindings);
const routes = Number(values.routes);
const rounds = Number(values.rounds);
const workloads: (() => Workload)[] = [
  () => typical(bindings, 1000, 'typical, 1,000 keys that repeat'),
  () => typical(bindings, 100_000, 'typical, 100,000 distinct keys'),
  () => s4(bindings),
];
const results: Result[] = [];
for (const make of workloads) {
  const w = make();
  if (values.only !== undefined && !w.name.includes(values.only)) continue;
  // The S4 workload routes ~50x slower; keep its run a few seconds long.
  const n = w.name.startsWith('S4') ? Math.max(1, Math.floor(routes / 20)) : routes;
  const r = measure(w, n, rounds);
  results.push(r);
  if (values.json !== true) {
    const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
    console.log(
      `${r.workload.padEnd(36)} ${fmt(r.cpuRoutesPerSec).padStart(7)} routes/CPU-s  (wall ${fmt(r.wallRoutesPerSec)}/s; ${r.queuesPerRoute.toFixed(1)} queues per route; rounds ${r.rounds.map(fmt).join(' ')})`,
    );
  }
}
if (values.json === true) console.log(JSON.stringify({ node: process.version, results }, null, 2));
