/** Milliseconds per unit of an interval (rabbit_amqqueue's max-age units). */
const UNIT_MS: Record<string, number> = { Y: 365 * 86_400_000, M: 30 * 86_400_000, D: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** An interval ("7D", "1h") in ms, or null when it is not one: what max-age accepts. */
export function intervalMs(s: string): number | null {
  const m = /^([0-9]+)(.*)$/s.exec(s);
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = UNIT_MS[m[2]!];
  return n > 0 && unit !== undefined ? n * unit : null;
}
