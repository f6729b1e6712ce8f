import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { pythonWith, runPython } from '../helpers/python.js';

const python = pythonWith('pika', 'python3-pika');

const script = fileURLToPath(new URL('./pika_roundtrip.py', import.meta.url));

describe.skipIf(python === undefined)('pika (python3-pika) against Warren', () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await startBroker({ port: 0 });
  });
  afterAll(async () => {
    await b.close();
  });

  test('every exchange type routes, and ack, nack-requeue and reject behave as in RabbitMQ', async () => {
    const { code, stdout, stderr } = await runPython(python!, script, [`${b.url}/%2F`]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    const routed = [
      ['one', false, 'text/plain'],
      ['two', false],
      ['two', true],
      ['three', false],
      true,
    ];
    expect(out.server_product).toBe('Warren');
    for (const kind of ['direct', 'fanout', 'topic', 'headers']) {
      expect(out[kind].routed, kind).toEqual(routed);
    }
    expect(out.headers.headers).toEqual({ format: 'pdf', size: 3 });
    expect(out.consumed).toEqual(['c0', 'c1', 'c2']);
  }, 30000);

  test('a quorum queue: x-delivery-count on basic.get and on a consumer, dead-lettered past the delivery limit', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(python!, [fileURLToPath(new URL('./pika_quorum.py', import.meta.url)), `${b.url}/%2F`]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // As RabbitMQ 3.10.8 answers the same script.
    expect(JSON.parse(stdout)).toEqual({
      get: [
        ['get-me', false, { k: 'v', 'x-delivery-count': 0 }],
        ['get-me', true, { k: 'v', 'x-delivery-count': 1 }],
      ],
      consume: [
        ['consume-me', false, null],
        ['consume-me', true, 1],
      ],
      dead: [
        ['get-me', 'delivery_limit', 1, null],
        ['consume-me', 'delivery_limit', 1, null],
      ],
    });
  }, 30000);
});
