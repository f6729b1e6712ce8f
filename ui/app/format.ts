// Numbers as an operator reads them: thousands separators, rates with one decimal, sizes in
// binary units, durations in the largest unit that fits.

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function num(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  return int.format(n);
}

export function rate(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  return `${n >= 100 ? int.format(n) : one.format(n)}/s`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? int.format(v) : one.format(v)} ${UNITS[u]}`;
}

export function duration(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function timestamp(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return typeof ms === 'string' ? ms : '';
  const d = new Date(ms);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** An argument or header value as text: strings bare, everything else as JSON. */
export function value(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/** message_stats.X_details.rate, or undefined when the broker has no such counter yet. */
export function statRate(stats: unknown, key: string): number | undefined {
  const s = stats as Record<string, { rate?: number } | undefined> | undefined;
  return s?.[`${key}_details`]?.rate;
}
