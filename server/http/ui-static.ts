import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The web UI at `/` on the management port, as RabbitMQ's management plugin serves its own:
 * static files that `npm run build` bundles from ui/app/ into dist/ui/www/ (ui/build.ts).
 * The UI is a client of the API on the same port; the files need no login, the API does.
 */
export function uiRoot(): string {
  // This file runs as server/http/ui-static.ts (from source) or dist/server/http/ui-static.js.
  const here = fileURLToPath(new URL('.', import.meta.url));
  return join(here.replace(/[\\/](dist[\\/])?server[\\/]http[\\/]?$/, ''), 'dist', 'ui', 'www');
}

export function registerUi(app: FastifyInstance, root = uiRoot()): void {
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', async (_req, reply) => reply.code(404).type('text/plain').send('The web UI is not built: run `npm run build`.\n'));
    return;
  }
  // One route per file (no wildcard), so that any other path still gets the API's 404.
  void app.register(fastifyStatic, { root, prefix: '/', wildcard: false, index: 'index.html' });
}
