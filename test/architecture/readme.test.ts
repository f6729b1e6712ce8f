// The README is the user's contract: what it states about the repository must stay true.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../compat/catalog.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const compatibility = readFileSync(join(ROOT, 'docs/compatibility.md'), 'utf8');

describe('README', () => {
  it("states the catalog's real number of scenarios, as does docs/compatibility.md", () => {
    expect(/compat\/`: (\d+) short scenarios/.exec(readme)?.[1]).toBe(String(CATALOG.length));
    expect(/scenarios \((\d+) at the time of writing/.exec(compatibility)?.[1]).toBe(String(CATALOG.length));
  });

  it('says in the quick start what to do when port 5672 is taken', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    expect(quickStart).toContain('npm start -- --port');
  });

  it('points at nothing outside the repository', () => {
    for (const [name, text] of [
      ['README.md', readme],
      ['docs/compatibility.md', compatibility],
      ['docs/architecture.md', readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')],
    ] as const) {
      expect(text.match(/\]\(\.\.\/[^)]*\)|`\.\.\/[^`]*`|\/work\/[\w/.-]+/g) ?? [], name).toEqual([]);
    }
  });
});
