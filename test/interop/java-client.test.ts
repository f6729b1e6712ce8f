import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';

// The RabbitMQ Java client from Debian's librabbitmq-client-java (5.0.0). It needs slf4j-api at
// run time (NoClassDefFoundError: org/slf4j/LoggerFactory without it); slf4j-nop keeps slf4j from
// warning on stderr about a missing binding. Both come from libslf4j-java.
const JARS = ['amqp-client.jar', 'slf4j-api.jar', 'slf4j-nop.jar'].map((j) => join('/usr/share/java', j));
const haveJdk = ['javac', 'java'].every((t) => spawnSync(t, ['-version'], { stdio: 'ignore' }).status === 0);
const missing = [...(haveJdk ? [] : ['javac/java (apt-get install default-jdk-headless)']), ...JARS.filter((j) => !existsSync(j))];
if (missing.length > 0) {
  console.warn(`Java client interop tests skipped: missing ${missing.join(', ')} (apt-get install librabbitmq-client-java libslf4j-java)`);
}

const source = fileURLToPath(new URL('./JavaRoundTrip.java', import.meta.url));
// C1 only: these JVMs live for a second, so starting fast beats compiling well.
const FAST = '-XX:TieredStopAtLevel=1';

function exec(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Never spawnSync while the broker runs: it lives in this process.
  const child = spawn(cmd, args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe.skipIf(missing.length > 0)('RabbitMQ Java client (librabbitmq-client-java) against Warren', () => {
  let b: RunningBroker;
  let classes: string;
  beforeAll(async () => {
    classes = mkdtempSync(join(tmpdir(), 'warren-java-'));
    const javac = await exec('javac', [`-J${FAST}`, '-cp', JARS[0]!, '-d', classes, source]);
    expect(javac.stderr).toBe('');
    expect(javac.code).toBe(0);
    b = await startBroker({ port: 0 });
  }, 60000);
  afterAll(async () => {
    await b?.close();
    if (classes) rmSync(classes, { recursive: true, force: true });
  });

  test('confirmed topic publish, consume with ack, multiple nack with requeue, basic.get: as RabbitMQ 3.10', async () => {
    const { code, stdout, stderr } = await exec('java', [FAST, '-cp', [classes, ...JARS].join(':'), 'JavaRoundTrip', b.url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    // the one line RabbitMQ's output differs in by more than the product name: a server-generated tag
    const ctag = lines.findIndex((l) => l.startsWith('consumer '));
    expect(lines[ctag]).toMatch(/^consumer amq\.ctag-[A-Za-z0-9_-]{22}$/);
    lines[ctag] = 'consumer amq.ctag-*';
    // Exactly what the program prints against RabbitMQ 3.10 (bar the product name).
    expect(lines).toEqual([
      'product Warren',
      // one confirm per publish; the unroutable mandatory one is returned first, then acked
      'confirm ack 1 false',
      'published 1',
      'confirm ack 2 false',
      'published 2',
      'confirm ack 3 false',
      'published 3',
      'confirm ack 4 false',
      'published 4',
      'return 312 NO_ROUTE java-topic-TAG weather.uk m4:weather.uk',
      'confirm ack 5 false',
      'published 5',
      // a: stock.*.nyse, b: stock.#, c: *.ibm.*
      'count a 1',
      'count b 3',
      'count c 2',
      'consumer amq.ctag-*',
      'deliver 1 false java-topic-TAG stock.ibm.nyse m0:stock.ibm.nyse text/plain id-0 2 3 {n=0}',
      'deliver 2 false java-topic-TAG stock.msft.nasdaq m1:stock.msft.nasdaq text/plain id-1 2 3 {n=1}',
      'deliver 3 false java-topic-TAG stock.nyse m3:stock.nyse text/plain id-3 2 3 {n=3}',
      // ack 1, then nack(3, multiple, requeue): 2 and 3 come back in order, redelivered
      'get b 4 true stock.msft.nasdaq m1:stock.msft.nasdaq left 1',
      'get b 5 true stock.nyse m3:stock.nyse left 0',
      'get b empty',
      'get a 6 stock.ibm.nyse m0:stock.ibm.nyse left 0',
      'get c 7 m0:stock.ibm.nyse left 1',
      // c's first message was rejected without requeue, so only m2 is left there
      'count a 0',
      'count b 0',
      'count c 1',
      // every delivery was settled: basic.recover brings nothing back
      'after recover a 0',
      'after recover b 0',
      'after recover c 1',
    ]);
  }, 10000);
});
