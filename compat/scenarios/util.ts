/** Small helpers the scenario files share. */
import type { Ctx } from '../context.js';
import type { Ch } from '../client.js';
import type { Scenario } from '../types.js';

export function scenario(name: string, description: string, run: (ctx: Ctx) => Promise<void>, timeoutMs?: number): Scenario {
  return timeoutMs === undefined ? { name, description, run } : { name, description, run, timeoutMs };
}

export interface Msg {
  key: string;
  body?: string;
  headers?: Record<string, unknown>;
  opts?: Parameters<Ch['publish']>[3];
}

/**
 * Publishes `msgs` to exchange `x` on a confirm channel with mandatory set, waits for the
 * confirms (logging returns first), then drains each queue in order.
 */
export async function publishAndDrain(ctx: Ctx, pub: Ch, x: string, msgs: Msg[], queues: string[]): Promise<void> {
  for (const m of msgs) {
    pub.publish(x, m.key, m.body ?? m.key, { mandatory: true, ...(m.headers ? { headers: m.headers } : {}), ...m.opts });
  }
  await pub.confirms();
  const get = await ctx.channel('get');
  for (const q of queues) await get.drain(q);
}

/** Declares the queues (named by ctx.n) and returns their names. */
export async function queues(ch: Ch, ctx: Ctx, ...bases: string[]): Promise<string[]> {
  const names: string[] = [];
  for (const b of bases) {
    const q = ctx.n(b);
    await ch.queue(q);
    names.push(q);
  }
  return names;
}
