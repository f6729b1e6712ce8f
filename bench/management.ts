/**
 * The management plane under many queues: an in-process broker with N queues (10,000 by
 * default), then the medians of several scrapes of /metrics and /metrics/per-object, of a
 * full and a paged /api/queues listing, and of a statistics sample, with the longest event
 * loop stall seen during each (a listing is built in slices; a stall is what traffic feels).
 *
 *   node dist/bench/management.js [--queues 10000] [--rounds 5] [--json]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startBroker } from '../server/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const queues = arg('queues', 10_000);
const rounds = arg('rounds', 5);
const json = process.argv.includes('--json');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const b = await startBroker({ managementPort: 0, prometheusPort: 0 });
const v = b.broker.vhosts.get('/')!;
for (let i = 0; i < queues; i++) {
  v.declareQueue({ name: `bench-${String(i).padStart(6, '0')}`, durable: false, exclusive: false, autoDelete: false, args: {} }, { id: -3 });
}
const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const stall = monitorEventLoopDelay({ resolution: 1 });
stall.enable();

async function measure(what: string, run: () => Promise<number>): Promise<{ what: string; ms: number; stallMs: number; bytes: number }> {
  const ms: number[] = [];
  const stalls: number[] = [];
  let bytes = 0;
  for (let r = 0; r < rounds + 1; r++) {
    stall.reset();
    const t0 = performance.now();
    bytes = await run();
    const t = performance.now() - t0;
    // The first round warms the JIT up and is not counted.
    if (r === 0) continue;
    ms.push(t);
    stalls.push(stall.max / 1e6);
  }
  return { what, ms: median(ms), stallMs: median(stalls), bytes };
}

const get = (url: string, headers: Record<string, string> = {}) => async (): Promise<number> => (await (await fetch(url, { headers })).text()).length;

const results = [
  await measure('GET /metrics', get(`${b.prometheusUrl}/metrics`)),
  await measure('GET /metrics/per-object', get(`${b.prometheusUrl}/metrics/per-object`)),
  await measure('GET /api/queues (all)', get(`${b.managementUrl}/api/queues`, { authorization: auth })),
  await measure('GET /api/queues?page=1&page_size=100', get(`${b.managementUrl}/api/queues?page=1&page_size=100`, { authorization: auth })),
  await measure('GET /api/queues?page=1&sort=messages', get(`${b.managementUrl}/api/queues?page=1&page_size=100&sort=messages`, { authorization: auth })),
  await measure('statistics sample', async () => {
    await b.broker.management!.sampler.sample();
    return 0;
  }),
];
await b.close();

if (json) {
  console.log(JSON.stringify({ queues, rounds, results }, null, 2));
} else {
  console.log(`${queues} queues, median of ${rounds} rounds`);
  for (const r of results) {
    console.log(`${r.what.padEnd(40)} ${r.ms.toFixed(1).padStart(8)} ms   longest stall ${r.stallMs.toFixed(1).padStart(6)} ms   ${(r.bytes / 1024).toFixed(0).padStart(7)} KiB`);
  }
}
