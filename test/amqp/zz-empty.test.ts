import { it } from 'vitest';
it('x', async () => {
  let t = performance.now();
  const lap = (s: string) => { const n = performance.now(); console.log(s, (n - t).toFixed(0)); t = n; };
  await import('fast-check'); lap('fc');
  await import('../../amqp/table.js'); lap('table');
  const { createRequire } = await import('node:module');
  const r = createRequire(import.meta.url);
  r.resolve('amqplib'); lap('resolve');
  r('../../node_modules/amqplib/lib/codec.js'); lap('codec');
  r('../../node_modules/amqplib/lib/defs.js'); lap('defs');
  await import('./helpers.js'); lap('helpers');
});
