import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { setTurnErrorHandler } from '../../../server/ops/scheduler.js';
import { TimerWheel, type WheelTimer } from '../../../server/ops/timer-wheel.js';

class Probe implements WheelTimer {
  wheelSlot = 0;
  fired: number[] = [];
  constructor(private readonly then?: (p: Probe, now: number) => void) {}
  onTimer(now: number): void {
    this.fired.push(now);
    this.then?.(this, now);
  }
}

describe('TimerWheel', () => {
  test('fires a timer once, at the first advance at or after its deadline, never before', () => {
    const w = new TimerWheel(50, 16, 1000);
    const p = new Probe();
    w.schedule(p, 1120);
    w.advance(1100);
    expect(p.fired).toEqual([]);
    w.advance(1149);
    expect(p.fired).toEqual([]);
    w.advance(1150);
    expect(p.fired).toEqual([1150]);
    w.advance(5000);
    expect(p.fired).toEqual([1150]);
  });

  test('a deadline already past fires at the next slot, not synchronously', () => {
    const w = new TimerWheel(50, 16, 1000);
    const p = new Probe();
    w.schedule(p, 500);
    expect(p.fired).toEqual([]);
    w.advance(1050);
    expect(p.fired).toEqual([1050]);
  });

  test('rescheduling replaces the earlier deadline, and cancel removes it', () => {
    const w = new TimerWheel(50, 16, 0);
    const a = new Probe();
    const b = new Probe();
    w.schedule(a, 100);
    w.schedule(a, 300);
    w.schedule(b, 100);
    w.cancel(b);
    w.advance(250);
    expect([a.fired, b.fired]).toEqual([[], []]);
    w.advance(300);
    expect([a.fired, b.fired]).toEqual([[300], []]);
  });

  test('deadlines several turns of the wheel ahead wait for their turn', () => {
    const w = new TimerWheel(10, 8, 0); // one turn = 80 ms
    const p = new Probe();
    w.schedule(p, 250);
    for (let t = 10; t < 250; t += 10) w.advance(t);
    expect(p.fired).toEqual([]);
    w.advance(250);
    expect(p.fired).toEqual([250]);
  });

  test('a periodic timer (rescheduling itself) fires every period, also when the period is exactly one turn', () => {
    for (const period of [30, 80, 170]) {
      const w = new TimerWheel(10, 8, 0);
      const p = new Probe((self, now) => w.schedule(self, now + period));
      w.schedule(p, period);
      for (let t = 10; t <= 1000; t += 10) w.advance(t);
      expect(p.fired).toEqual(Array.from({ length: Math.floor(1000 / period) }, (_, i) => (i + 1) * period));
    }
  });

  test('after a stall longer than a turn, every overdue timer fires once', () => {
    const w = new TimerWheel(10, 8, 0);
    const ps = [15, 42, 77, 120, 555].map((d) => {
      const p = new Probe();
      w.schedule(p, d);
      return p;
    });
    w.advance(10_000);
    expect(ps.map((p) => p.fired)).toEqual(ps.map(() => [10_000]));
  });

  test('a timer that throws does not stop the others', () => {
    const w = new TimerWheel(10, 8, 0);
    const bad: WheelTimer = {
      wheelSlot: 0,
      onTimer() {
        throw new Error('boom');
      },
    };
    const good = new Probe();
    const reported: string[] = [];
    setTurnErrorHandler((err, where) => reported.push(`${where}: ${(err as Error).message}`));
    w.schedule(bad, 20);
    w.schedule(good, 20);
    w.advance(20);
    expect(good.fired).toEqual([20]);
    expect(reported).toEqual(['timer: boom']);
  });

  test('property: with any schedules, reschedules and cancels, each live timer fires exactly once, in the slot of its last deadline', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), timer: fc.nat(5), at: fc.nat(2000) }),
      fc.record({ kind: fc.constant('cancel' as const), timer: fc.nat(5) }),
      fc.record({ kind: fc.constant('advance' as const), by: fc.nat(300) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const res = 10;
        const w = new TimerWheel(res, 16, 0);
        const probes = Array.from({ length: 6 }, () => new Probe());
        const expected: number[][] = probes.map(() => []);
        const pending = new Map<number, number>(); // timer -> due slot
        let now = 0;
        const step = (to: number) => {
          // The reference: every pending deadline whose slot has been reached fires at this advance.
          for (const [i, slot] of [...pending]) {
            if (slot <= Math.floor(to / res)) {
              expected[i]!.push(to);
              pending.delete(i);
            }
          }
          w.advance(to);
          now = to;
        };
        for (const o of ops) {
          if (o.kind === 'schedule') {
            const due = now + o.at;
            w.schedule(probes[o.timer]!, due);
            pending.set(o.timer, Math.max(Math.ceil(due / res), Math.floor(now / res) + 1));
          } else if (o.kind === 'cancel') {
            w.cancel(probes[o.timer]!);
            pending.delete(o.timer);
          } else {
            step(now + o.by);
          }
        }
        step(now + 100_000);
        expect(probes.map((p) => p.fired)).toEqual(expected);
      }),
    );
  });
});
