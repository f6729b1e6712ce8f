/** Shared helpers for the segment store tests. */
import type { ConfirmChannel } from 'amqplib';
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { StoreFs } from '../../persistence/segments/fs-api.js';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(join(tmpdir(), `warren-${tag}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** xorshift32 bytes: the same (seed, length) gives the same payload. */
export function payloadFor(i: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = (i * 2654435761 + 1) >>> 0 || 1;
  for (let k = 0; k < length; k++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[k] = x & 0xff;
  }
  if (length >= 4) b.writeUInt32LE(i, 0);
  return b;
}

/** Deterministic pseudo-random size in [0, max). */
export function sizeFor(i: number, max: number): number {
  return ((i * 7919 + 13) * 104729) % max;
}

/**
 * Bundles a fixture (test/persistence/fixtures/<name>.ts) to one plain ESM file in `dir`, so
 * that a child process starts in ~50 ms (vite-node takes ~2 s). CommonJS dependencies (pino)
 * get a `require`. Returns the bundle's path.
 */
export function bundleFixture(name: string, dir: string): string {
  const out = join(dir, `${name}.mjs`);
  buildSync({
    entryPoints: [join(import.meta.dirname, 'fixtures', `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  return out;
}

export function segFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
}

/** node:fs with counters and one-shot error injection for write / fdatasync. */
export class ShimFs {
  fdatasyncs = 0;
  writes = 0;
  failNextWrite: string | null = null;
  failNextSync: string | null = null;
  /** Extra latency per fdatasync, as a real disk has (a tmpfs /tmp syncs instantly). */
  syncDelayMs = 0;
  readonly api: StoreFs;

  constructor() {
    const errno = (code: string): NodeJS.ErrnoException =>
      Object.assign(new Error(`${code}: injected`), { code, errno: -28, syscall: 'write' });
    const write = (fd: number, buf: Uint8Array, off: number, len: number, pos: number, cb: (e: NodeJS.ErrnoException | null, n: number) => void): void => {
      this.writes++;
      if (this.failNextWrite !== null) {
        const code = this.failNextWrite;
        this.failNextWrite = null;
        // A partial write first, as a full disk would leave.
        fs.write(fd, buf, off, Math.min(len, 100), pos, () => cb(errno(code), 0));
        return;
      }
      fs.write(fd, buf, off, len, pos, cb);
    };
    const fdatasync = (fd: number, cb: (e: NodeJS.ErrnoException | null) => void): void => {
      this.fdatasyncs++;
      if (this.failNextSync !== null) {
        const code = this.failNextSync;
        this.failNextSync = null;
        setImmediate(() => cb(errno(code)));
        return;
      }
      if (this.syncDelayMs > 0) setTimeout(() => fs.fdatasync(fd, cb), this.syncDelayMs);
      else fs.fdatasync(fd, cb);
    };
    this.api = { ...fs, write, fdatasync } as unknown as StoreFs;
  }
}

/** Resolves after n event-loop turns. */
export async function turns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export interface BrokerChild {
  proc: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** Starts a bundled broker fixture (bundleFixture('broker', …)) on `dir`; resolves once it prints its port. */
export function startBrokerChild(brokerJs: string, dir: string): Promise<BrokerChild> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [brokerJs, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (s: string) => {
      out += s;
      const m = /PORT (\d+)/.exec(out);
      if (m !== null) resolve({ proc, url: `amqp://guest:guest@127.0.0.1:${m[1]}`, exited });
    });
    proc.stderr!.on('data', (s: Buffer) => (err += s.toString()));
    proc.once('exit', (code, signal) => reject(new Error(`broker exited early (${code}/${signal}): ${err}`)));
  });
}

/** Message id `k` of publisher `pub` in the broker crash tests. */
export const idOf = (pub: number, k: number): number => pub * 1_000_000 + k;

/** Whether the broker has been killed: consumers stop noting deliveries from then on. */
export interface KillSwitch {
  dead: boolean;
}

/**
 * Confirming amqplib publishers, each sending ids idOf(pub, 0, 1, ...) with `send` (about 200
 * unconfirmed at a time), until the broker `proc` is SIGKILLed `killAfterMs` after the first
 * confirm. The moment counts from the first confirm, so that every run has something to lose
 * (on a loaded machine connecting alone can take longer than the earliest kill points).
 * Sets `kill.dead` once the broker is gone; returns the ids it confirmed.
 */
export async function publishUntilKilled(opts: {
  url: string;
  proc: ChildProcess;
  publishers: number;
  killAfterMs: number;
  kill: KillSwitch;
  send: (ch: ConfirmChannel, id: number, k: number, confirmed: (err: unknown) => void) => void;
}): Promise<Set<number>> {
  const { url, proc, kill, send } = opts;
  const confirmed = new Set<number>();
  let firstConfirm: () => void = () => {};
  const confirmedOnce = new Promise<void>((r) => (firstConfirm = r));
  const publishers = [...Array(opts.publishers).keys()].map(async (pub) => {
    let ch: ConfirmChannel;
    try {
      const conn = await amqp.connect(url);
      conn.on('error', () => {});
      ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
    } catch {
      return; // killed before this publisher got going
    }
    for (let k = 0; !kill.dead; k++) {
      const id = idOf(pub, k);
      const cb = (err: unknown) => {
        if (err !== null && err !== undefined) return;
        confirmed.add(id);
        firstConfirm();
      };
      try {
        send(ch, id, k, cb);
      } catch {
        return; // the connection went away
      }
      if (k % 200 === 199) await ch.waitForConfirms().catch(() => {});
    }
  });
  await Promise.race([confirmedOnce, new Promise((r) => setTimeout(r, 20_000))]);
  await new Promise((r) => setTimeout(r, opts.killAfterMs));
  proc.kill('SIGKILL');
  await new Promise<void>((r) => proc.once('exit', () => r()));
  kill.dead = true;
  await Promise.all(publishers);
  return confirmed;
}
