/** Human-readable output: the live progress line and the final summary; JSON for --json. */
import type { ProgressSample } from './load/runner.js';
import type { ScenarioResult } from './scenarios.js';

export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (a >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n.toFixed(0)} B`;
}

export function formatValue(value: number, unit: string): string {
  if (unit === 'B/s') return `${fmtBytes(value)}/s`;
  if (unit === 'B') return fmtBytes(value);
  if (unit === 'ms') return `${value.toFixed(2)} ms`;
  return `${fmtRate(value)} ${unit}`;
}

export function progressLine(p: ProgressSample): string {
  const parts = [
    `${p.elapsed.toFixed(0).padStart(3)}s`,
    `pub ${fmtRate(p.publishRate).padStart(7)}/s`,
    `con ${fmtRate(p.consumeRate).padStart(7)}/s`,
    `${fmtBytes(p.consumeBytesRate).padStart(10)}/s`,
    `p99 ${p.p99.toFixed(2)} ms`,
  ];
  if (p.rss !== undefined) parts.push(`broker rss ${fmtBytes(p.rss)}`);
  return parts.join('  ');
}

export function summaryText(r: ScenarioResult): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(`== ${r.scenario}  ${o.url.replace(/\/\/[^@]*@/, '//')}`);
  const settings = [
    `producers=${o.producers}`,
    `consumers=${o.consumers}`,
    `size=${o.size}`,
    `confirm=${o.confirm}`,
    `prefetch=${o.prefetch === 0 ? 'no-ack' : o.prefetch}`,
    `persistent=${o.persistent}`,
    `rate=${o.rate === 0 ? 'max' : o.rate}`,
  ];
  if (o.inFlight > 0) settings.push(`in-flight=${o.inFlight}`);
  if (r.run !== undefined) settings.push(`duration=${o.duration}s (warm-up ${o.warmup}s)`);
  lines.push(`   ${settings.join(' ')}`);
  lines.push(`   ${r.headline.name}: ${formatValue(r.headline.value, r.headline.unit)}`);
  const run = r.run;
  if (run !== undefined) {
    lines.push(
      `   published ${fmtRate(run.rates.publish)} msg/s, confirmed ${fmtRate(run.rates.confirm)} msg/s, ` +
        `consumed ${fmtRate(run.rates.consume)} msg/s (${fmtBytes(run.rates.consumeBytes)}/s)`,
    );
    const l = run.latency;
    if (l.count > 0) {
      lines.push(`   latency ms: p50 ${l.p50.toFixed(3)}  p95 ${l.p95.toFixed(3)}  p99 ${l.p99.toFixed(3)}  max ${l.max.toFixed(3)}  (n=${l.count})`);
    }
    const t = run.totals;
    lines.push(`   totals: published ${t.published}, confirmed ${t.confirmed}, nacked ${t.nacked}, consumed ${t.consumed}${run.drained ? ' (drained)' : ''}`);
    if (o.inFlight > 0) lines.push(`   in flight: at most ${t.inFlightMax} of one publisher's messages seen at a delivery (bound ${o.inFlight})`);
    lines.push(`   load generator cpu: ${run.clientCpuPercent}% of a core (all threads)`);
    if (run.broker !== null) {
      const b = run.broker;
      lines.push(`   broker pid ${b.pid}: cpu ${b.cpuPercent.toFixed(0)}% of a core, rss ${fmtBytes(b.rssStart)} → ${fmtBytes(b.rssEnd)} (max ${fmtBytes(b.rssMax)})`);
    }
  } else {
    for (const [k, v] of Object.entries(r.figures)) {
      const text = /rss/i.test(k) ? fmtBytes(v) : /Rate$/.test(k) ? `${fmtRate(v)} msg/s` : String(Math.round(v * 100) / 100);
      lines.push(`   ${k}: ${text}`);
    }
  }
  for (const e of r.errors) lines.push(`   error: ${e}`);
  return lines.join('\n');
}

export function jsonResult(r: ScenarioResult): string {
  const { options, ...rest } = r;
  return JSON.stringify({ ...rest, options: { ...options, url: options.url.replace(/\/\/[^@]*@/, '//') } }, null, 2);
}
