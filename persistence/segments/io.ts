/** Synchronous read/write loops (a regular file may still return short counts). */
import type { StoreFs } from './fs-api.js';

export function readFully(fs: StoreFs, fd: number, buf: Uint8Array, off: number, len: number, pos: number): number {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, buf, off + done, len - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export function writeFully(fs: StoreFs, fd: number, buf: Uint8Array, off: number, len: number, pos: number): void {
  let done = 0;
  while (done < len) {
    const n = fs.writeSync(fd, buf, off + done, len - done, pos + done);
    if (n <= 0) throw new Error('short write');
    done += n;
  }
}

export function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** unlinkSync that ignores a missing file; other errors are returned, not thrown. */
export function unlinkQuiet(fs: StoreFs, path: string): unknown {
  try {
    fs.unlinkSync(path);
    return null;
  } catch (err) {
    return isEnoent(err) ? null : err;
  }
}

export function closeQuiet(fs: StoreFs, fd: number): void {
  if (fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    // already closed or EIO on close: nothing more to do with this descriptor
  }
}
