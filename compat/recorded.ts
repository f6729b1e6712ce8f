/** The outcomes recorded from a real RabbitMQ and committed with the catalog (compat/recorded/). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Recording } from './types.js';

export const DEFAULT_RECORDING = 'rabbitmq-3.10.json';

/** compat/recorded/, found from the sources (compat/) or from the build (dist/compat/). */
export function recordedDir(): string {
  for (const rel of ['./recorded/', '../../compat/recorded/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL('./recorded/', import.meta.url));
}

export function loadRecording(file?: string): { path: string; recording: Recording } {
  const path = file ?? `${recordedDir()}${DEFAULT_RECORDING}`;
  const recording = JSON.parse(readFileSync(path, 'utf8')) as Recording;
  if (typeof recording.outcomes !== 'object' || recording.outcomes === null) throw new Error(`${path}: not a recording (no "outcomes")`);
  return { path, recording };
}
