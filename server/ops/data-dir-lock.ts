import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * The data directory's lock: `<dataDir>/warren.lock`, taken before anything else in the
 * directory is read or written, so that a second broker started on a directory in use leaves
 * every file as it was (it used to read the store and replace msg_store.delivered under the
 * running broker first).
 *
 * Node has no flock(), so the lock is a file that names its holder: pid, and on Linux the
 * process's start time and the boot id, so that a pid reused after a crash (a container
 * restart gives the same small pids) is not mistaken for a live holder. The file is created
 * complete, by link(2) from a temporary file, so it is never seen empty. A lock whose holder
 * is gone (kill -9, a crash) is stale and taken over.
 */

export class DataDirInUse extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
    readonly path: string,
  ) {
    super(
      `data directory ${dir} is in use by another broker (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}); ` +
        `if no broker is running there, remove ${path}`,
    );
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  /** Linux: /proc/<pid>/stat's start time (clock ticks since boot), and the boot id; null elsewhere. */
  started: string | null;
  boot: string | null;
}

export class DataDirLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  /** Takes the lock on an existing directory; throws DataDirInUse while a live process holds it. */
  static acquire(dir: string): DataDirLock {
    const path = join(dir, 'warren.lock');
    const me = self();
    const content = JSON.stringify(me) + '\n';
    for (let attempt = 0; ; attempt++) {
      if (create(path, content)) return new DataDirLock(path, content);
      const seen = readOrNull(path);
      if (seen === null) continue; // released meanwhile: try again
      const holder = parse(seen);
      if (holder !== null && alive(holder, me)) throw new DataDirInUse(dir, holder, path);
      if (attempt >= 3) throw new Error(`cannot take the data directory lock ${path}: it keeps changing`);
      // Stale. Look once more right before removing it, so as not to remove a lock another
      // starting broker has just taken over.
      if (readOrNull(path) === seen) unlinkQuietly(path);
    }
  }

  /** Releases the lock if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (readOrNull(this.path) === this.content) unlinkQuietly(this.path);
  }
}

/** Creates `path` holding `content`, atomically; false if it already exists. */
function create(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkQuietly(tmp);
  }
}

function self(): LockHolder {
  return { pid: process.pid, host: hostname(), started: startTime(process.pid), boot: bootId() };
}

/** Whether the holder is a live process: the same host, its pid alive, and (where known) the same start. */
function alive(h: LockHolder, me: LockHolder): boolean {
  // Another machine's process cannot be checked (a shared file system): assume it is alive.
  if (h.host !== me.host) return true;
  if (h.boot !== null && me.boot !== null && h.boot !== me.boot) return false;
  if (h.pid === me.pid) return h.started === null || me.started === null || h.started === me.started;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.started === null) return true;
  const now = startTime(h.pid);
  return now === null || now === h.started;
}

function parse(s: string): LockHolder | null {
  try {
    const o = JSON.parse(s) as Partial<LockHolder>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return null;
    return { pid: o.pid, host: o.host, started: typeof o.started === 'string' ? o.started : null, boot: typeof o.boot === 'string' ? o.boot : null };
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTime(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function bootId(): string | null {
  return readOrNull('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
