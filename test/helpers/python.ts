// Running the Python client scripts of test/interop/ (pika, py-amqp, kombu).
import { spawn, spawnSync } from 'node:child_process';

// Debian's python3-* client packages live in the system interpreter, which may not be the
// first python3 on PATH.
const PYTHONS = ['/usr/bin/python3', 'python3'];

/** The first python3 that can import `module`, or undefined (with a warning naming the Debian package). */
export function pythonWith(module: string, debianPackage: string, label = module): string | undefined {
  const python = PYTHONS.find((p) => spawnSync(p, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0);
  if (python === undefined) {
    console.warn(`${label} interop tests skipped: no python3 with ${module} (apt-get install ${debianPackage})`);
  }
  return python;
}

/** Runs a script to its end; resolves with its exit code and everything it printed. */
export async function runPython(python: string, script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(python, [script, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
