/**
 * Crash test: a child process appends with group commit and prints each id once it is
 * durable; it is SIGKILLed at a random moment (fast-check picks the moments and the
 * child's random seed), possibly several times over one directory. After each crash,
 * every record reported durable (and not released) must be there, byte for byte, in
 * append order, with nothing duplicated and nothing corrupt. CRASH_RUNS=n runs it n times
 * (default 5).
 */
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentStore } from '../../persistence/segments/segment-store.js';
import { bundleFixture, payloadFor, removeDir, sizeFor, tempDir } from './helpers.js';

let bundleDir: string;
let writer: string;

beforeAll(() => {
  bundleDir = tempDir('crash-bundle');
  writer = bundleFixture('writer', bundleDir);
});
afterAll(() => removeDir(bundleDir));

interface Run {
  durable: number[];
  released: number[];
}

function runChild(dir: string, seed: number, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      if (timer === null && out.includes('READY')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (s: Buffer) => (err += s.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited with ${code}/${signal}: ${err}`));
        return;
      }
      const durable: number[] = [];
      const released: number[] = [];
      // Only complete lines count.
      for (const line of out.slice(0, out.lastIndexOf('\n') + 1).split('\n')) {
        if (line.startsWith('D ')) durable.push(Number(line.slice(2)));
        else if (line.startsWith('R ')) released.push(Number(line.slice(2)));
      }
      resolve({ durable, released });
    });
  });
}

describe('crash (SIGKILL) and reopen', () => {
  it('keeps every record reported durable, byte for byte and in order', async () => {
    let totalDurable = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 40, max: 300 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        async (kills, seed) => {
          const dir = tempDir('crash');
          try {
            const durable = new Set<number>();
            const released = new Set<number>();
            for (const [g, ms] of kills.entries()) {
              const run = await runChild(dir, seed + g, ms);
              for (const i of run.durable) durable.add(i);
              for (const i of run.released) released.add(i);

              const seen: number[] = [];
              const store = SegmentStore.open({
                dir,
                segmentBytes: 32 * 1024,
                autoCompact: false,
                onRecord: (r) => {
                  const i = r.payload.readUInt32LE(0);
                  expect(r.payload.equals(payloadFor(i, 4 + sizeFor(i, 3000)))).toBe(true);
                  seen.push(i);
                },
              });
              await store.close();
              // In append order, no duplicates.
              for (let k = 1; k < seen.length; k++) expect(seen[k]!).toBeGreaterThan(seen[k - 1]!);
              const present = new Set(seen);
              const lost = [...durable].filter((i) => !released.has(i) && !present.has(i));
              expect(lost).toEqual([]);
            }
            totalDurable += durable.size;
          } finally {
            removeDir(dir);
          }
        },
      ),
      { numRuns: Number(process.env['CRASH_RUNS'] ?? 5) },
    );
    expect(totalDurable).toBeGreaterThan(0); // the children did get work done
  }, Math.max(30_000, Number(process.env['CRASH_RUNS'] ?? 5) * 3_000));
});
