import { describe, expect, it } from 'vitest';
import { loadMallocTrim } from '../../../server/ops/malloc-trim.js';
import { MemoryReleaser } from '../../../server/ops/memory-release.js';

const MiB = 1024 * 1024;

describe('MemoryReleaser', () => {
  function setup() {
    let rss = 100 * MiB;
    let gcs = 0;
    let trims = 0;
    const r = new MemoryReleaser(
      () => rss,
      () => void gcs++,
      () => (trims++, true),
    );
    return { r, set: (v: number) => void (rss = v * MiB), gcs: () => gcs, trims: () => trims };
  }

  it('collects once RSS has grown 64 MiB and the backlog has drained, not before', () => {
    const { r, set, gcs, trims } = setup();
    expect(r.tick(0, 0)).toBe(-1); // the floor: 100 MiB
    set(300);
    expect(r.tick(1_000_000, 20_000)).toBe(-1); // a backlog: nothing to give back
    expect(r.tick(100_000, 21_000)).toBe(-1); // a tenth left: still draining
    expect(gcs()).toBe(0);
    expect(r.tick(10_000, 21_500)).toBe(-1); // 1/100 of the peak: nearly
    expect(r.tick(900, 22_000)).toBe(300 * MiB); // under 1/1024 of the peak: drained
    expect(gcs()).toBe(1);
    // The memory comes back; the next readings set the floor again.
    set(200);
    expect(r.tick(0, 23_000)).toBe(-1);
    expect(gcs()).toBe(1);
    // Two seconds on, a second collection lets V8 give back the pages the first one emptied.
    // The C heap is trimmed first: what the first collection freed goes back to the kernel.
    expect(trims()).toBe(0);
    expect(r.tick(0, 24_000)).toBe(-1);
    expect(gcs()).toBe(2);
    expect(trims()).toBe(1);
    set(120);
    expect(r.tick(0, 25_000)).toBe(-1);
    // V8's heap no longer shrinks (the collections here are stand-ins): no third collection,
    // but a last trim two seconds after the second.
    expect(r.tick(0, 26_000)).toBe(-1);
    expect(gcs()).toBe(2);
    expect(trims()).toBe(2);
    set(170);
    expect(r.tick(0, 40_000)).toBe(-1); // 50 MiB over the floor: not enough
    expect(gcs()).toBe(2);
    expect(trims()).toBe(2);
  });

  it('needs the growth: a drained queue on a steady broker costs nothing', () => {
    const { r, set, gcs } = setup();
    for (let t = 0; t < 100; t++) {
      set(100 + (t % 3));
      r.tick(t % 2 === 0 ? 64 : 0, t * 1000);
    }
    expect(gcs()).toBe(0);
  });

  it('collects at most once every 10 s', () => {
    const { r, set, gcs } = setup();
    r.tick(0, 0);
    set(400);
    r.tick(1000, 1000);
    r.tick(0, 11_000);
    r.tick(0, 13_000); // the follow-up
    expect(gcs()).toBe(2);
    set(100);
    r.tick(0, 14_000);
    set(400);
    r.tick(1000, 15_000);
    r.tick(0, 16_000); // drained and grown again, but too soon
    expect(gcs()).toBe(2);
    r.tick(0, 21_000);
    expect(gcs()).toBe(3);
  });

  it('reaches V8 gc() without --expose-gc, and survives a failing RSS reading', () => {
    const r = new MemoryReleaser(() => {
      throw new Error('EMFILE: too many open files');
    });
    expect(r.tick(0, 0)).toBe(-1);
    // No gc given: V8's own, reached at run time; a full collection runs and returns.
    let rss = 0;
    const withV8 = new MemoryReleaser(() => rss);
    withV8.tick(0, 0);
    rss = 200 * MiB;
    withV8.tick(1, 100_000);
    expect(withV8.tick(0, 200_000)).toBe(200 * MiB);
    expect(withV8.collections).toBe(1);
  });

  // npm install builds native/malloc-trim (the install script in package.json); CI's
  // machine has the compiler, so on Linux with glibc the addon must be there and work.
  it.runIf(process.platform === 'linux' && glibc())('reaches glibc malloc_trim through the addon npm install builds', () => {
    const trim = loadMallocTrim();
    expect(trim).toBeTypeOf('function');
    const big: Buffer[] = [];
    for (let i = 0; i < 64; i++) big.push(Buffer.alloc(64 * 1024, i));
    big.length = 0;
    expect(typeof trim!()).toBe('boolean');
  });
});

function glibc(): boolean {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return typeof header?.glibcVersionRuntime === 'string';
}
