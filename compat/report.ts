/** What `warren check` prints: a progress bar on stderr, the table, and the JSON form. */
import type { Comparison } from './diff.js';
import { DELIBERATE } from './deliberate.js';

export interface Row {
  name: string;
  summary: string;
  /** 'missing' when the reference has no outcome for this scenario. */
  result: Comparison | 'missing';
}

export interface Report {
  target: { url: string; product: string; version: string };
  reference: { source: string; product: string; version: string };
  rows: Row[];
}

export function counts(rows: Row[]): { match: number; deliberate: number; differ: number; missing: number } {
  const c = { match: 0, deliberate: 0, differ: 0, missing: 0 };
  for (const r of rows) c[r.result === 'missing' ? 'missing' : r.result.verdict]++;
  return c;
}

/** A one-line progress bar, redrawn in place; only when stderr is a terminal. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): ((done: number, total: number, label: string) => void) & { end(): void } {
  const enabled = stream.isTTY === true;
  const draw = (done: number, total: number, label: string) => {
    if (!enabled) return;
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const cols = stream.columns !== undefined && stream.columns > 20 ? stream.columns : 100;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`;
    stream.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
  };
  return Object.assign(draw, { end: () => enabled && stream.write('\r\x1b[K') });
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s + ' '.repeat(n - s.length);
}

export function renderTable(report: Report, colour: boolean): string {
  const paint = (code: number, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const mark = { match: paint(32, 'match'), deliberate: paint(36, 'deliberate'), differ: paint(31, 'DIFFER'), missing: paint(33, 'not recorded') };
  const nameWidth = Math.min(48, Math.max(10, ...report.rows.map((r) => r.name.length + 1)));
  const lines: string[] = [];
  lines.push(`target:    ${report.target.url} (${report.target.product} ${report.target.version})`);
  lines.push(`reference: ${report.reference.source} (${report.reference.product} ${report.reference.version})`);
  lines.push('');
  lines.push(`${pad('scenario', nameWidth)} ${pad('outcome', 40)} result`);
  lines.push(`${'-'.repeat(nameWidth)} ${'-'.repeat(40)} ${'-'.repeat(12)}`);
  for (const r of report.rows) {
    const verdict = r.result === 'missing' ? 'missing' : r.result.verdict;
    const extra = r.result !== 'missing' && r.result.deliberate.length > 0 ? ` (${r.result.deliberate.join(', ')})` : '';
    lines.push(`${pad(r.name, nameWidth)} ${pad(r.summary, 40)} ${mark[verdict]}${extra}`);
    if (r.result !== 'missing' && r.result.verdict === 'differ') {
      for (const d of r.result.diff) lines.push(`    ${paint(2, 'reference ≠ target:')} ${d}`);
    }
  }
  const c = counts(report.rows);
  lines.push('');
  lines.push(`${report.rows.length} scenarios: ${c.match} match, ${c.deliberate} differ only deliberately, ${c.differ} differ${c.missing > 0 ? `, ${c.missing} not recorded` : ''}`);
  const seen = new Set(report.rows.flatMap((r) => (r.result === 'missing' ? [] : r.result.deliberate)));
  for (const d of DELIBERATE) if (seen.has(d.id)) lines.push(`  deliberate '${d.id}': ${d.description} (docs/compatibility.md: ${d.doc})`);
  return lines.join('\n');
}

export function renderJson(report: Report): string {
  return JSON.stringify(
    {
      target: report.target,
      reference: report.reference,
      counts: counts(report.rows),
      deliberate: DELIBERATE.map(({ id, doc, description }) => ({ id, doc, description })),
      scenarios: report.rows.map((r) => ({
        name: r.name,
        summary: r.summary,
        result: r.result === 'missing' ? 'not recorded' : r.result.verdict,
        ...(r.result !== 'missing' && r.result.deliberate.length > 0 ? { deliberate: r.result.deliberate } : {}),
        ...(r.result !== 'missing' && r.result.diff.length > 0 ? { diff: r.result.diff } : {}),
      })),
    },
    null,
    2,
  );
}
