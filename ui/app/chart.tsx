// A time chart over uPlot, fed by the samples the page records at each refresh, with a
// legend that shows each series' latest value (the chart moves as the broker does).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { num, rate } from './format.js';
import type { History } from './state.js';

export const COLORS = ['#2f6fb0', '#d9822b', '#3a9a4a', '#b8423c', '#7c5cb8', '#8a6d3b', '#1b9aa8', '#c2549b', '#6b7280'];

export interface ChartProps {
  title: string;
  labels: string[];
  history: History | undefined;
  /** 'rate' draws messages per second, 'count' message counts. */
  kind: 'rate' | 'count';
  height?: number;
  testId?: string;
}

export function Chart({ title, labels, history, kind, height = 180, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const fmt = kind === 'rate' ? rate : num;

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // At least a minute of time, so that the first samples do not stretch over years.
        x: { time: true, range: (_u, min, max) => (max === null ? [Date.now() / 1000 - 60, Date.now() / 1000] : [Math.min(min ?? max, max - 60), max]) },
        y: { range: (_u, _min, max) => [0, Math.max(kind === 'rate' ? 1 : 5, (max ?? 0) * 1.1)] },
      },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' }, space: 90, values: (_u, vals) => vals.map(clock) },
        { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' }, size: 56, values: (_u, vals) => vals.map(tick) },
      ],
      series: [{}, ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 1.5, points: { show: false } }))],
    };
    const u = new uPlot(opts, empty(labels.length), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [labels.join('\u0000'), height, kind]);

  useEffect(() => {
    if (plot.current !== null && history !== undefined) {
      plot.current.setData([history.t, ...history.series] as uPlot.AlignedData);
    }
  });

  const n = history?.t.length ?? 0;
  return (
    <div class="chart" data-testid={testId} data-samples={n}>
      <div class="chart-title">{title}</div>
      <div class="chart-body">
        <div class="chart-plot" ref={box} />
        <table class="chart-legend">
          <tbody>
            {labels.map((l, i) => (
              <tr key={l}>
                <td>
                  <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} />
                  {l}
                </td>
                <td class="num" data-series={l}>
                  {n > 0 ? fmt(history!.series[i]![n - 1]) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** A time tick as the clock shows it: the charts span minutes to hours, never days. */
function clock(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}${d.getSeconds() === 0 ? '' : `:${p(d.getSeconds())}`}`;
}

function tick(v: number): string {
  return Number.isInteger(v) ? num(v) : v.toFixed(v < 1 ? 2 : 1);
}

function empty(series: number): uPlot.AlignedData {
  return [[], ...Array.from({ length: series }, () => [])] as unknown as uPlot.AlignedData;
}
