import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { ApiStatusError } from './api.js';
import { apiErrorText, attempt, type CommandSpec, type Ctx } from './spec.js';
import { CtlError, EXIT } from './transport.js';

/**
 * export_definitions and import_definitions over GET and POST /api/definitions. An import is
 * sent in slices, section by section in RabbitMQ's own import order, so that a terminal can
 * show its progress and a large file does not become one huge request; the broker takes
 * each slice as it takes a whole file.
 */

type Defs = Record<string, unknown>;

/** rabbit_definitions' order: what later sections name exists by the time they come. */
const SECTIONS = ['users', 'vhosts', 'permissions', 'topic_permissions', 'parameters', 'global_parameters', 'policies', 'queues', 'exchanges', 'bindings'];
const SLICE = 200;

/** A file error in rabbitmqctl's words (exit 65). */
function fileError(err: NodeJS.ErrnoException, path: string, writing: boolean): CtlError {
  const verb = writing ? 'write to' : 'read from';
  const text: Record<string, string> = {
    ENOENT: `Parent directory or file ${path} does not exist`,
    ENOTDIR: `Parent directory of file ${path} is not a directory`,
    EACCES: `No permissions to ${verb} file ${path} or its parent directory`,
    EISDIR: `Path ${path} is a directory`,
    ENOSPC: `No space left on device hosting ${path}`,
  };
  return new CtlError(text[err.code ?? ''] ?? `Could not ${verb} file ${path}: ${err.message}`, EXIT.dataerr);
}

function formatOption(ctx: Ctx): void {
  const f = String(ctx.opts['format'] ?? 'json');
  if (f !== 'json') throw new CtlError(`Bad argument: format must be json (Warren does not read or write Erlang terms), not ${f}`, EXIT.dataerr);
}

export interface Slice {
  section: string;
  entries: number;
  body: Defs;
}

/** The file cut into slices of at most SLICE entries; the first carries the header keys. */
export function slices(defs: Defs): Slice[] {
  const out: Slice[] = [];
  const header: Defs = {};
  for (const [k, v] of Object.entries(defs)) if (!SECTIONS.includes(k)) header[k] = v;
  for (const section of SECTIONS) {
    const list = defs[section];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i += SLICE) {
      const part = list.slice(i, i + SLICE);
      out.push({ section, entries: part.length, body: { [section]: part } });
    }
  }
  if (out.length === 0) out.push({ section: 'header', entries: 0, body: {} });
  Object.assign(out[0]!.body, header);
  return out;
}

function readInput(ctx: Ctx, file: string | undefined): { text: string; banner: string } {
  if (file === undefined || file === '-') {
    const text = ctx.io.readStdin();
    if (text === null) throw new CtlError('not enough arguments: give a file, or pipe the definitions on standard input', EXIT.usage);
    return { text, banner: 'Importing definitions in JSON from standard input ...' };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError(err as NodeJS.ErrnoException, file, false);
  }
  if (text === '') throw new CtlError(`File ${file} is zero-sized`, EXIT.dataerr);
  return { text, banner: `Importing definitions in JSON from a file at "${file}" ...` };
}

export const DEFINITIONS_COMMANDS: CommandSpec[] = [
  {
    name: 'export_definitions',
    args: '<file>',
    description: 'Exports definitions in JSON (users, vhosts, permissions, parameters, policies, queues, exchanges, bindings); "-" writes them to standard output',
    options: [{ flags: '--format <format>', description: 'json (the only one)', default: 'json' }],
    run: async (ctx, [file]) => {
      formatOption(ctx);
      const toStdout = file === '-';
      if (!toStdout) ctx.out.banner(`Exporting definitions in JSON to a file at "${file}" ...`);
      const defs = await attempt(ctx.api.get<Defs>('/api/definitions'));
      const text = JSON.stringify(defs);
      if (toStdout) {
        ctx.out.data(ctx.out.opts.formatter === 'json' ? JSON.stringify({ message: text }) : text);
        return;
      }
      try {
        rmSync(file!, { force: true });
        // Password hashes are in it: readable by its owner only.
        writeFileSync(file!, text, { mode: 0o600 });
      } catch (err) {
        throw fileError(err as NodeJS.ErrnoException, file!, true);
      }
    },
  },
  {
    name: 'import_definitions',
    args: '[file]',
    description: 'Imports definitions in JSON from a file (an export of RabbitMQ 3.x or Warren), or from standard input without one or with "-"; shows progress on a terminal',
    options: [
      { flags: '--format <format>', description: 'json (the only one)', default: 'json' },
      { flags: '--skip-if-unchanged', description: 'accepted for compatibility; the definitions are always imported' },
    ],
    run: async (ctx, [file]) => {
      formatOption(ctx);
      const input = readInput(ctx, file);
      ctx.out.banner(input.banner);
      let defs: unknown;
      try {
        defs = JSON.parse(input.text);
      } catch (err) {
        throw new CtlError(`Failed to deserialise input (format: JSON) (error: ${(err as Error).message})`, EXIT.dataerr);
      }
      if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) {
        throw new CtlError('Failed to deserialise input (format: JSON) (error: not a JSON object)', EXIT.dataerr);
      }
      const parts = slices(defs as Defs);
      const total = parts.reduce((n, p) => n + p.entries, 0);
      const stream = ctx.out.machine || ctx.out.opts.quiet || ctx.out.opts.silent ? null : ctx.io.progress;
      const bar = stream === null ? null : new SingleBar({ format: 'Importing |{bar}| {value}/{total} definitions ({section})', hideCursor: true, stream });
      bar?.start(total, 0, { section: parts[0]!.section });
      // Like Warren's own import, every slice is tried, and each refusal is reported at the end.
      const failures: string[] = [];
      let done = 0;
      try {
        for (const p of parts) {
          bar?.update(done, { section: p.section });
          try {
            await ctx.api.call({ method: 'POST', path: '/api/definitions', body: p.body });
          } catch (err) {
            if (!(err instanceof ApiStatusError)) throw err;
            for (const line of apiErrorText(err).trimEnd().split('\n')) failures.push(`${p.section}: ${line}`);
          }
          done += p.entries;
          bar?.update(done, { section: p.section });
        }
      } finally {
        bar?.stop();
      }
      if (failures.length > 0) throw new CtlError(`Some definitions could not be imported:\n${failures.map((f) => `  ${f}`).join('\n')}`, EXIT.dataerr);
      if (ctx.out.opts.formatter === 'json') ctx.out.data(JSON.stringify({ result: 'ok' }));
      else ctx.out.info('Successfully imported definitions.');
    },
  },
];
