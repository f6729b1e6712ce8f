/**
 * The sysctl-like syntax of rabbitmq.conf, as Cuttlefish (RabbitMQ's config parser) reads it:
 * `key = value` lines; keys are dot-separated words of letters, digits, `_` and `-` (a dot
 * inside a word is written `\.`); a value runs to the end of the line or to a `#` comment,
 * or is quoted as '...' or, across lines, '''...'''; `#` starts a comment; `include PATH`
 * reads more files (PATH may end in a `*` pattern).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface ConfEntry {
  key: string;
  value: string;
  file: string;
  line: number;
}

export class ConfSyntaxError extends Error {}

const WORD = String.raw`(?:\\\.|[A-Za-z0-9_-])+`;
const KEY = new RegExp(String.raw`^[ \t]*(${WORD}(?:\.${WORD})*)[ \t]*=[ \t]*`);
const INCLUDE = /^[ \t]*include[ \t]+([A-Za-z0-9\-_.*/]+)[ \t]*(?:#.*)?$/;

/** Parses one file's text; `include` lines are followed through `readFile`. */
export function parseConf(text: string, file: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'), depth = 0): ConfEntry[] {
  const lines = text.split(/\r?\n/);
  const out: ConfEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (/^[ \t]*(#.*)?$/.test(line)) continue;
    const inc = INCLUDE.exec(line);
    if (inc !== null) {
      if (depth > 10) throw new ConfSyntaxError(`${file}, line ${lineNo}: includes nested too deeply`);
      for (const path of expandInclude(inc[1]!, dirname(file))) out.push(...parseConf(readFile(path), path, readFile, depth + 1));
      continue;
    }
    const m = KEY.exec(line);
    if (m === null) throw new ConfSyntaxError(`${file}, line ${lineNo}: expected 'key = value', got '${line.trim()}'`);
    const key = m[1]!.replace(/\\\./g, '\u0000').split('.').map((w) => w.replace(/\u0000/g, '.')).join('.');
    let rest = line.slice(m[0].length);
    let value: string;
    if (rest.startsWith("'''")) {
      // A multi-line value: everything up to the closing ''' (which may be on a later line).
      let body = rest.slice(3);
      let j = i;
      while (!body.includes("'''")) {
        if (++j >= lines.length) throw new ConfSyntaxError(`${file}, line ${lineNo}: ''' value is not closed`);
        body += '\n' + lines[j]!;
      }
      const end = body.indexOf("'''");
      value = body.slice(0, end).replace(/^\r?\n|\r?\n$/g, '');
      rest = body.slice(end + 3);
      i = j;
    } else if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw new ConfSyntaxError(`${file}, line ${lineNo}: quoted value is not closed`);
      value = rest.slice(1, end);
      rest = rest.slice(end + 1);
    } else {
      const hash = rest.indexOf('#');
      value = (hash < 0 ? rest : rest.slice(0, hash)).trimEnd();
      rest = '';
    }
    if (!/^[ \t]*(#.*)?$/.test(rest)) throw new ConfSyntaxError(`${file}, line ${lineNo}: unexpected text after the value: '${rest.trim()}'`);
    if (value === '') throw new ConfSyntaxError(`${file}, line ${lineNo}: '${key}' has no value`);
    out.push({ key, value, file, line: lineNo });
  }
  return out;
}

/** An include path, relative to the including file's directory; a `*` in its last part matches file names. */
function expandInclude(pattern: string, base: string): string[] {
  const path = resolve(base, pattern);
  const name = basename(path);
  if (!name.includes('*')) return [path];
  const dir = dirname(path);
  const re = new RegExp(`^${name.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n)).sort().map((n) => join(dir, n));
}
