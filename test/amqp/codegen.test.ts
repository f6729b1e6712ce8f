import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HARD_CODES } from '../../amqp/errors.js';
import {
  CLASS,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  HARD_ERROR_CODES,
  HAS_CONTENT,
  M,
  METHOD_NAME,
  REPLY,
  SYNCHRONOUS,
} from '../../amqp/generated/constants.js';
import { SPEC_METHODS, SPEC_PATH, camel, spec } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const GENERATOR = join(root, 'amqp', 'codegen', 'generate.mjs');
const GENERATED = ['constants.ts', 'methods.ts', 'properties.ts'];

function run(script: string, ...args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8', timeout: 10_000 });
}

describe('codegen', () => {
  it('`generate.mjs --check` exits 0: the generated files are current', () => {
    const res = run(GENERATOR, '--check');
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('');
    expect(res.status).toBe(0);
  });

  describe('in a scratch copy', () => {
    // The generator resolves spec/ and generated/ next to its own directory, so a copy is self-contained.
    const dir = mkdtempSync(join(tmpdir(), 'warren-codegen-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'codegen'));
    mkdirSync(join(dir, 'spec'));
    cpSync(GENERATOR, join(dir, 'codegen', 'generate.mjs'));
    cpSync(SPEC_PATH, join(dir, 'spec', 'amqp-rabbitmq-0.9.1.json'));
    cpSync(join(root, 'amqp', 'generated'), join(dir, 'generated'), { recursive: true });
    const script = join(dir, 'codegen', 'generate.mjs');

    it('--check reports a stale file, exits 1 and writes nothing', () => {
      const stale = join(dir, 'generated', 'methods.ts');
      writeFileSync(stale, '// edited by hand\n');
      const res = run(script, '--check');
      expect(res.status).toBe(1);
      expect(res.stdout).toBe('stale: amqp/generated/methods.ts\n');
      expect(readFileSync(stale, 'utf8')).toBe('// edited by hand\n');
    });

    it('regenerating writes back exactly the committed files', () => {
      rmSync(join(dir, 'generated', 'properties.ts'));
      const res = run(script);
      expect(res.status).toBe(0);
      for (const f of GENERATED) {
        expect(readFileSync(join(dir, 'generated', f), 'utf8')).toBe(readFileSync(join(root, 'amqp', 'generated', f), 'utf8'));
      }
      expect(run(script, '--check').status).toBe(0);
    });
  });
});

describe('generated constants cover the spec', () => {
  it('every class/method has an entry in M and METHOD_NAME, and nothing else does', () => {
    expect(SPEC_METHODS).toHaveLength(66);
    for (const x of SPEC_METHODS) {
      expect((M as Record<string, number>)[x.key], x.name).toBe(x.id);
      expect(METHOD_NAME[x.id], x.name).toBe(x.name);
    }
    expect(Object.keys(M).sort()).toEqual(SPEC_METHODS.map((x) => x.key).sort());
    expect(Object.keys(METHOD_NAME).map(Number).sort((a, b) => a - b)).toEqual(SPEC_METHODS.map((x) => x.id).sort((a, b) => a - b));
  });

  it('method ids are (classId << 16) | methodId', () => {
    expect(M.ConnectionStart).toBe(0x000a000a);
    expect(M.BasicPublish).toBe(0x003c0028);
    expect(M.BasicNack).toBe(0x003c0078);
    expect(M.ConfirmSelect).toBe(0x0055000a);
    expect(M.ExchangeUnbindOk).toBe(0x00280033); // 51, not 41: RabbitMQ's spec quirk
    expect(METHOD_NAME[0x003c003c]).toBe('basic.deliver');
  });

  it('every class is in CLASS', () => {
    expect(Object.fromEntries(spec.classes.map((c) => [camel(c.name), c.id]))).toEqual(CLASS);
  });

  it('HAS_CONTENT and SYNCHRONOUS follow the spec flags', () => {
    const ids = (f: (m: (typeof SPEC_METHODS)[number]) => boolean) => SPEC_METHODS.filter(f).map((x) => x.id).sort((a, b) => a - b);
    expect([...HAS_CONTENT].sort((a, b) => a - b)).toEqual(ids((x) => !!x.m.content));
    expect([...HAS_CONTENT].map((id) => METHOD_NAME[id]).sort()).toEqual(['basic.deliver', 'basic.get-ok', 'basic.publish', 'basic.return']);
    expect([...SYNCHRONOUS].sort((a, b) => a - b)).toEqual(ids((x) => !!x.m.synchronous));
  });

  it('frame constants', () => {
    const byName = Object.fromEntries(spec.constants.map((k) => [k.name, k.value]));
    expect([FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT, FRAME_END, FRAME_MIN_SIZE]).toEqual([
      byName['FRAME-METHOD'],
      byName['FRAME-HEADER'],
      byName['FRAME-BODY'],
      byName['FRAME-HEARTBEAT'],
      byName['FRAME-END'],
      byName['FRAME-MIN-SIZE'],
    ]);
    expect([FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT, FRAME_END, FRAME_MIN_SIZE]).toEqual([1, 2, 3, 8, 206, 4096]);
  });

  it('REPLY has every reply code of the spec, FRAME_ERROR included', () => {
    const codes = spec.constants.filter((k) => k.class !== undefined || k.name === 'REPLY-SUCCESS');
    expect(REPLY).toEqual(Object.fromEntries(codes.map((k) => [k.name.replace(/-/g, '_'), k.value])));
    expect((REPLY as Record<string, number>)['FRAME_ERROR']).toBe(501);
  });

  it('hard error codes agree between the spec, the generated set and errors.ts', () => {
    const hard = spec.constants.filter((k) => k.class === 'hard-error').map((k) => k.value).sort();
    expect([...HARD_ERROR_CODES].sort()).toEqual(hard);
    expect([...HARD_CODES].sort()).toEqual(hard);
  });
});
