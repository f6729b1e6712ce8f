import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import amqp, { type ChannelModel } from 'amqplib';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { ManagementApi } from './migrate-api.js';
import type { MigrationPlan } from './migrate-plan.js';
import { renderReconciliation, type QueueReconciliation } from './migrate-report.js';

/**
 * `warren migrate run`: imports the plan's definitions into the target, moves every
 * non-empty queue with a dynamic shovel of its own (on-confirm, src-delete-after
 * queue-length: it moves the backlog present when it starts, then deletes itself), shows
 * a bar per queue until each is drained, removes any shovel left, and reconciles the
 * counts. Its progress is kept in a state file: stopped (Ctrl-C), it removes its shovels
 * and the same command resumes where it was.
 */

export interface RunEndpoints {
  source: ManagementApi;
  target: ManagementApi;
  /** AMQP URIs with credentials, without a vhost path. */
  sourceAmqp: string;
  targetAmqp: string;
}

export interface RunOptions {
  statePath: string;
  /** Which broker runs the shovels: the target pulls (default) or the source pushes. */
  shovelOn: 'target' | 'source';
  prefetch: number;
  pollMs: number;
  colour: boolean;
  json: boolean;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

interface QueueState {
  vhost: string;
  name: string;
  /** Messages in the source queue when the migration first saw it. */
  before: number;
  /** Messages already in the target queue then. */
  targetBefore: number;
  /** The shovel moving it now (null between runs). */
  shovel: string | null;
  done: boolean;
}

export interface MigrationState {
  version: 1;
  from: string;
  to: string;
  startedAt: string;
  imported: boolean;
  finished: boolean;
  queues: QueueState[];
}

export const SHOVEL_PREFIX = 'warren-migrate ';

function readState(path: string): MigrationState | null {
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as MigrationState;
}

function saveState(path: string, s: MigrationState): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** amqp://u:p@host:port + vhost → amqp://u:p@host:port/%2F. */
export function withVhost(base: string, vhost: string): string {
  const u = base.replace(/\/+$/, '');
  const m = /^(amqps?:\/\/[^/?#]*)([^?#]*)(\?.*)?$/.exec(u);
  if (m === null) return `${u}/${encodeURIComponent(vhost)}`;
  return `${m[1]}/${encodeURIComponent(vhost)}${m[3] ?? ''}`;
}

/** The local broker of a shovel, in a vhost: a URI with no host. */
function localUri(vhost: string): string {
  return vhost === '/' ? 'amqp://' : `amqp:///${encodeURIComponent(vhost)}`;
}

/** Counts ready messages through AMQP (exact, unlike the management API's sampled counts); one connection per vhost. */
export class QueueCounter {
  private readonly conns = new Map<string, ChannelModel>();

  constructor(private readonly base: string) {}

  private async conn(vhost: string): Promise<ChannelModel> {
    let c = this.conns.get(vhost);
    if (c === undefined) {
      c = await amqp.connect(withVhost(this.base, vhost), { clientProperties: { connection_name: 'warren migrate' } });
      c.on('error', () => {});
      c.on('close', () => this.conns.delete(vhost));
      this.conns.set(vhost, c);
    }
    return c;
  }

  /** Ready messages in the queue; 0 when it does not exist. */
  async depth(vhost: string, queue: string): Promise<number> {
    const ch = await (await this.conn(vhost)).createChannel();
    ch.on('error', () => {});
    try {
      const n = (await ch.checkQueue(queue)).messageCount;
      await ch.close().catch(() => {});
      return n;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return 0;
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) await c.close().catch(() => {});
    this.conns.clear();
  }
}

export async function runMigration(plan: MigrationPlan, ep: RunEndpoints, opts: RunOptions): Promise<number> {
  const { log } = opts;
  let state = readState(opts.statePath);
  if (state !== null && (state.from !== ep.source.display || state.to !== ep.target.display)) {
    throw new Error(`${opts.statePath} belongs to a migration from ${state.from} to ${state.to}; give another --state file`);
  }
  if (state?.finished === true) throw new Error(`${opts.statePath} records a finished migration; remove it to migrate again`);
  const resuming = state !== null;
  state ??= { version: 1, from: ep.source.display, to: ep.target.display, startedAt: new Date().toISOString(), imported: false, finished: false, queues: [] };
  const st = state;
  const save = (): void => saveState(opts.statePath, st);
  log(resuming ? `Resuming the migration started ${st.startedAt} (state in ${opts.statePath}).` : `Migrating ${ep.source.display} -> ${ep.target.display} (state in ${opts.statePath}).`);

  if (!st.imported) {
    const n = plan.summary.unsupported;
    log(`Importing the definitions into the target${n > 0 ? `, without the ${n} object${n === 1 ? '' : 's'} the plan refused` : ''} ...`);
    // New vhosts are made through the API first: that gives this tool's user permissions
    // there (as RabbitMQ does for whoever creates a vhost), to count and to shovel.
    const there = new Set(await ep.target.vhostNames());
    for (const v of plan.definitions.vhosts ?? []) if (!there.has(v.name)) await ep.target.putVhost(v.name);
    await ep.target.importDefinitions(plan.definitions);
    st.imported = true;
    save();
  }

  const source = new QueueCounter(ep.sourceAmqp);
  const target = new QueueCounter(ep.targetAmqp);
  const shovels = opts.shovelOn === 'target' ? ep.target : ep.source;
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    log('Stopping: removing the shovels (the migration resumes with the same command) ...');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let bars: MultiBar | null = null;
  try {
    if (!resuming) {
      // Every queue the plan lets through, counted exactly (the API's counts are sampled).
      for (const i of plan.items) {
        if (i.kind !== 'queue' || i.verdict === 'unsupported') continue;
        const vhost = i.vhost ?? '/';
        const before = await source.depth(vhost, i.name);
        if (before > 0) st.queues.push({ vhost, name: i.name, before, targetBefore: await target.depth(vhost, i.name), shovel: null, done: false });
      }
      save();
    }
    const active = st.queues.filter((q) => !q.done);
    for (const q of active) {
      // A shovel of an interrupted run may still be there.
      if (q.shovel !== null) await shovels.deleteParameter('shovel', q.vhost, q.shovel).catch(() => false);
      const remaining = await source.depth(q.vhost, q.name);
      if (remaining === 0) {
        q.done = true;
        q.shovel = null;
        continue;
      }
      q.shovel = `${SHOVEL_PREFIX}${q.name}`;
      const remote = opts.shovelOn === 'target' ? withVhost(ep.sourceAmqp, q.vhost) : withVhost(ep.targetAmqp, q.vhost);
      await shovels.putParameter('shovel', q.vhost, q.shovel, {
        'src-uri': opts.shovelOn === 'target' ? remote : localUri(q.vhost),
        'src-queue': q.name,
        'dest-uri': opts.shovelOn === 'target' ? localUri(q.vhost) : remote,
        'dest-queue': q.name,
        'ack-mode': 'on-confirm',
        'src-delete-after': 'queue-length',
        'src-prefetch-count': opts.prefetch,
        'reconnect-delay': 5,
      });
      save();
    }
    const moving = st.queues.filter((q) => !q.done);
    if (moving.length > 0) log(`Moving ${moving.length} queue${moving.length === 1 ? '' : 's'} with shovels on the ${opts.shovelOn} ...`);
    const tty = process.stderr.isTTY === true;
    if (tty) bars = new MultiBar({ format: '{bar} {percentage}% | {value}/{total} | {queue} {status}', hideCursor: true, clearOnComplete: false, fps: 5 }, Presets.shades_classic);
    const barOf = new Map<QueueState, SingleBar>();
    for (const q of moving) barOf.set(q, bars?.create(q.before, 0, { queue: `${q.vhost === '/' ? '' : `${q.vhost}/`}${q.name}`, status: '' }) as SingleBar);
    let lastLine = 0;
    while (!stopping && moving.some((q) => !q.done)) {
      // One request for every shovel still there; a shovel that finished has deleted itself.
      const present = await shovels.parameterKeys('shovel');
      for (const q of moving) {
        if (q.done || stopping) continue;
        const left = await source.depth(q.vhost, q.name);
        const moved = Math.max(0, Math.min(q.before, q.before - left));
        const gone = !present.has(`${q.vhost}\0${q.shovel!}`);
        if (gone) {
          q.done = true;
          q.shovel = null;
          save();
        }
        barOf.get(q)?.update(gone ? q.before : moved, { status: gone ? 'done' : '' });
        if (!tty && (gone || Date.now() - lastLine > 10000)) log(`  ${q.vhost === '/' ? '' : `${q.vhost}/`}${q.name}: ${gone ? 'done' : `${moved}/${q.before} moved`}`);
      }
      if (!tty && Date.now() - lastLine > 10000) lastLine = Date.now();
      if (!stopping && moving.some((q) => !q.done)) await sleepUnless(opts.pollMs, () => stopping);
    }
    bars?.stop();
    bars = null;
    // Whatever this run made and is still there goes (a stop, or a shovel that did not finish).
    for (const q of st.queues) {
      if (q.shovel === null) continue;
      await shovels.deleteParameter('shovel', q.vhost, q.shovel).catch(() => false);
      q.shovel = null;
    }
    save();
    if (stopping) {
      log(`Stopped. The shovels are removed; run the same command again to resume (state in ${opts.statePath}).`);
      return 130;
    }
    const rows: QueueReconciliation[] = [];
    for (const q of st.queues) {
      const left = await source.depth(q.vhost, q.name);
      const now = await target.depth(q.vhost, q.name);
      const moved = Math.max(0, q.before - left);
      const arrived = Math.max(0, now - q.targetBefore);
      rows.push({ vhost: q.vhost, queue: q.name, before: q.before, moved, left, arrived, duplicated: Math.max(0, arrived - moved), missing: Math.max(0, moved - arrived) });
    }
    st.finished = true;
    save();
    process.stdout.write(opts.json ? `${JSON.stringify({ queues: rows }, null, 2)}\n` : `${renderReconciliation(rows, opts.colour)}\n`);
    return rows.some((r) => r.missing > 0) ? 1 : 0;
  } finally {
    bars?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await source.close();
    await target.close();
  }
}

function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = (): void => {
      if (stop() || Date.now() - started >= ms) resolve();
      else setTimeout(tick, Math.min(100, ms));
    };
    tick();
  });
}
