import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * glibc's malloc_trim(0), from the addon in native/malloc-trim (built by `npm install`'s
 * install script), or null where it was not built: no C compiler at install time, or not
 * glibc. Without it the broker runs the same, but the free middle of the C heap that a
 * drained backlog leaves behind stays in its RSS (see memory-release.ts).
 */
export type Trim = () => boolean;

const ADDON = 'native/malloc-trim/build/Release/malloc_trim.node';

export function loadMallocTrim(): Trim | null {
  if (process.platform !== 'linux') return null;
  // From dist/server/ops when built, from server/ops under the tests.
  for (const up of ['../../', '../../../']) {
    const path = fileURLToPath(new URL(up + ADDON, import.meta.url));
    if (!existsSync(path)) continue;
    // process.dlopen rather than a require of our own: the tests' bundles define `require` themselves.
    const addon: { exports: { trim?: unknown } } = { exports: {} };
    try {
      process.dlopen(addon, path);
      if (typeof addon.exports.trim === 'function') return addon.exports.trim as Trim;
    } catch {
      return null; // built for another Node, or its libc is missing: run without
    }
  }
  return null;
}
