// `warren migrate` between two Warrens in this process (each with its management API on a
// free port): plan finds the target's kind and lists the objects, run imports and moves a
// backlog with a shovel on the target, verify finds the definitions equal. The command
// runs as the CLI runs it (commander), with its output captured.
import amqp from 'amqplib';
import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerMigrate } from '../../../server/cli/migrate-command.js';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let source: ApiBroker;
let target: ApiBroker;
let dir: string;

async function migrate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  registerMigrate(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  try {
    process.exitCode = 0;
    await program.parseAsync(['node', 'warren', 'migrate', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = 0;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-migrate-cli-'));
  source = await startWithApi();
  target = await startWithApi();
  const c = await amqp.connect(source.url);
  const ch = await c.createConfirmChannel();
  await ch.assertExchange('events', 'topic', { durable: true });
  await ch.assertQueue('billing', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.assertQueue('audit', { durable: true, arguments: { 'x-queue-mode': 'lazy' } });
  await ch.bindQueue('billing', 'events', 'bill.*');
  for (let i = 0; i < 250; i++) ch.publish('events', 'bill.new', Buffer.from(`b${i}`), { persistent: true, messageId: `b${i}` });
  await ch.waitForConfirms();
  await c.close();
});

afterAll(async () => {
  await source.close();
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('warren migrate between two Warrens', () => {
  it('plan: the target is found to be Warren, every object judged, exit 0 without blockers', async () => {
    const r = await migrate('plan', '--from', source.managementUrl.replace('//', '//guest:guest@'), '--to', target.managementUrl.replace('//', '//guest:guest@'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { target: { profile: string; product: string }; items: { kind: string; name: string; verdict: string; reason: string; messages?: number }[]; blockers: number };
    expect(p.target).toMatchObject({ profile: 'warren', product: 'Warren' });
    expect(p.blockers).toBe(0);
    const q = (name: string) => p.items.find((i) => i.kind === 'queue' && i.name === name);
    expect(q('billing')).toMatchObject({ verdict: 'difference', messages: 250 });
    expect(q('audit')).toMatchObject({ verdict: 'difference', reason: 'classic; x-queue-mode has no effect: every queue keeps its backlog on disk already (no lazy mode to switch to)', messages: 0 });
    expect(p.items.find((i) => i.kind === 'exchange' && i.name === 'events')).toMatchObject({ verdict: 'supported', reason: 'topic' });
  });

  it('plan --from-file with a blocker exits 1 and prints the table', async () => {
    const file = join(dir, 'defs.json');
    writeFileSync(file, JSON.stringify({ vhosts: [{ name: '/' }], exchanges: [{ name: 'later', vhost: '/', type: 'x-delayed-message', durable: true, auto_delete: false, internal: false, arguments: {} }] }));
    const r = await migrate('plan', '--from-file', file, '--no-colour');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Source: ${file}`);
    expect(r.stdout).toMatch(/│ NOT SUPPORTED\s+│ exchange\s+│ \/\s+│ later/);
    expect(r.stdout).toContain('1 blocker: `warren migrate run` leaves it out.');
  });

  it('run: imports, moves the backlog with a shovel on the target, reconciles; verify agrees', async () => {
    const from = source.managementUrl.replace('//', '//guest:guest@');
    const to = target.managementUrl.replace('//', '//guest:guest@');
    const r = await migrate('run', '--from', from, '--to', to, '--state', join(dir, 'state.json'), '--poll', '100', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ queues: [{ vhost: '/', queue: 'billing', before: 250, moved: 250, left: 0, arrived: 250, duplicated: 0, missing: 0 }] });
    expect(r.stderr).toContain('Moving 1 queue with shovels on the target ...');
    // The shovel is gone from the target once done.
    expect(target.broker.shovels.status()).toEqual([]);
    const c = await amqp.connect(target.url);
    const ch = await c.createChannel();
    const got = [];
    for (let m = await ch.get('billing'); m !== false; m = await ch.get('billing')) got.push(m.properties.messageId);
    expect(got).toEqual(Array.from({ length: 250 }, (_, i) => `b${i}`));
    await c.close();
    const v = await migrate('verify', '--from', from, '--to', to, '--skip-check');
    expect(v.stdout).toContain('Definitions: every object the plan brings is on the target, as on the source.');
    expect(v.code).toBe(0);
    // A second run refuses: the state file records a finished migration.
    const again = await migrate('run', '--from', from, '--to', to, '--state', join(dir, 'state.json'));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('records a finished migration; remove it to migrate again');
  });
});
