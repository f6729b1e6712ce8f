// `warren ctl` run in-process: the same commander program the bin builds, with its output
// captured and its exit code returned instead of ending the test process.
import { Command } from 'commander';
import { registerCtl } from '../../server/cli/ctl/command.js';
import type { CtlIo } from '../../server/cli/ctl/output.js';

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * Runs `warren ctl ARGS...`; `stdin` is what standard input holds (none: a terminal);
 * `progress`, a stream that stands for a terminal on standard error.
 */
export async function ctl(args: string[], stdin?: string, progress: NodeJS.WritableStream | null = null): Promise<CtlResult> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const io: CtlIo = {
    out: { write: (t) => void (stdout += t) },
    err: { write: (t) => void (stderr += t) },
    readStdin: () => stdin ?? null,
    progress,
    exit: (c) => {
      throw new Exit(c);
    },
    done: (c) => {
      code = c;
    },
  };
  const program = new Command('warren');
  registerCtl(program, io);
  try {
    await program.parseAsync(['ctl', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    code = err.code;
  }
  return { code, stdout, stderr };
}

/** A successful run's output: fails with the whole result otherwise. */
export async function ctlOk(args: string[], stdin?: string): Promise<string> {
  const r = await ctl(args, stdin);
  if (r.code !== 0 || r.stderr !== '') throw new Error(`warren ctl ${args.join(' ')} failed: ${JSON.stringify(r)}`);
  return r.stdout;
}
