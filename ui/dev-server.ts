// Serves the built UI and forwards /api/ to any management API, Warren's or RabbitMQ's:
// the UI is only a client of that API, and this checks it against RabbitMQ's.
//   node dist/ui/dev-server.js http://127.0.0.1:15672 [port]
import { readFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uiOutDir } from './build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Starts the server; resolves with it and its URL. */
export async function startDevServer(api: string, port = 0, root = uiOutDir()): Promise<{ server: Server; url: string }> {
  const target = new URL(api);
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/') === true) forward(target, req, res);
    else void serveFile(root, req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${addr.port}/` };
}

function forward(target: URL, req: IncomingMessage, res: ServerResponse): void {
  const headers = { ...req.headers, host: target.host };
  const up = request({ protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', (err) => {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'bad_gateway', reason: err.message }));
  });
  req.pipe(up);
}

async function serveFile(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const rel = normalize(decodeURIComponent(path === '/' ? '/index.html' : path)).replace(/^([/\\])+/, '');
  if (rel.startsWith('..')) {
    res.writeHead(400).end();
    return;
  }
  try {
    const body = await readFile(join(root, rel));
    res.writeHead(200, { 'content-type': TYPES[extname(rel)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const api = process.argv[2];
  if (api === undefined) {
    console.error('usage: node dist/ui/dev-server.js <management API URL> [port]');
    process.exit(2);
  }
  const { url } = await startDevServer(api, Number(process.argv[3] ?? 0));
  console.log(`ui: ${url} (API: ${new URL(api).origin})`);
}
