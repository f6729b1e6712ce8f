/**
 * Latency histogram and percentiles.
 *
 * Log-linear buckets in the spirit of HdrHistogram: values (integers, µs) below 128
 * get a bucket each; above that every power of two is split into 64 buckets, so a
 * reported value is within 1/64 (1.6 %) of the true one. Recording is two integer
 * operations and an array increment, with no allocation.
 */

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // 64
/** Largest value recorded exactly into a bucket; larger values are clamped. */
export const HISTOGRAM_MAX = 0x7fffffff;
export const BUCKETS = (31 - SUB_BITS) * SUB + 2 * SUB; // covers up to 2^31 - 1

export function bucketOf(v: number): number {
  if (v < 2 * SUB) return v < 0 ? 0 : v;
  if (v > HISTOGRAM_MAX) v = HISTOGRAM_MAX;
  const shift = 31 - Math.clz32(v) - SUB_BITS;
  return shift * SUB + (v >>> shift);
}

/** Smallest value that falls into bucket i. */
export function bucketLow(i: number): number {
  if (i < 2 * SUB) return i;
  const shift = (i >>> SUB_BITS) - 1;
  return (i - shift * SUB) * 2 ** shift;
}

/** Largest value that falls into bucket i. */
export function bucketHigh(i: number): number {
  if (i < 2 * SUB) return i;
  const shift = (i >>> SUB_BITS) - 1;
  return bucketLow(i) + 2 ** shift - 1;
}

export class Histogram {
  counts: Float64Array;
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  constructor() {
    this.counts = new Float64Array(BUCKETS);
  }

  /** Records one value (µs; fractions are truncated, negatives count as 0). */
  record(v: number): void {
    const x = v > 0 ? Math.floor(v) : 0;
    this.counts[bucketOf(x)]!++;
    this.count++;
    this.sum += x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
  }

  add(o: Histogram | HistogramSnapshot): void {
    if (o instanceof Histogram) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i]! += o.counts[i]!;
    } else {
      for (let k = 0; k < o.b.length; k += 2) this.counts[o.b[k]!]! += o.b[k + 1]!;
    }
    this.count += o.count;
    this.sum += o.sum;
    if (o.count > 0) {
      if (o.min < this.min) this.min = o.min;
      if (o.max > this.max) this.max = o.max;
    }
  }

  /**
   * The value at percentile p (0–100): the highest value of the bucket holding the
   * ceil(p% · count)-th smallest sample, never above the observed maximum.
   * Returns 0 for an empty histogram.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p <= 0) return this.min;
    const rank = Math.max(1, Math.ceil((Math.min(p, 100) / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.min, Math.min(bucketHigh(i), this.max));
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** A compact, structured-clone-friendly copy: [bucket, count] pairs of non-empty buckets. */
  snapshot(): HistogramSnapshot {
    const b: number[] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) b.push(i, this.counts[i]!);
    return { b, count: this.count, min: this.min, max: this.max, sum: this.sum };
  }
}

export interface HistogramSnapshot {
  b: number[];
  count: number;
  min: number;
  max: number;
  sum: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles in milliseconds (the histogram holds microseconds). */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.count,
    p50: ms(h.percentile(50)),
    p95: ms(h.percentile(95)),
    p99: ms(h.percentile(99)),
    max: ms(h.count === 0 ? 0 : h.max),
    mean: ms(h.mean()),
  };
}

/** Median of a list of numbers (mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >>> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
