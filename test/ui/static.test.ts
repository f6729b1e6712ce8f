// The management port serves the built web UI at `/` without a login, and nothing else
// changes: the API still asks for credentials and unknown paths still get the API's 404.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUi } from '../../server/http/ui-static.js';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { buildUi } from '../../ui/build.js';

describe('web UI files on the management port', () => {
  let broker: RunningBroker;
  let base: string;

  beforeAll(async () => {
    await buildUi();
    broker = await startBroker({ managementPort: 0 });
    base = broker.managementUrl!;
  }, 60_000);

  afterAll(async () => {
    await broker?.close();
  });

  it('serves index.html at / and the bundle beside it, without credentials', async () => {
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await index.text();
    expect(html).toContain('<div id="app"></div>');
    expect(html).toContain('src="app.js"');

    const js = await fetch(`${base}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const css = await fetch(`${base}/app.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const licences = await (await fetch(`${base}/third-party-licenses.txt`)).text();
    expect(licences).toContain('preact');
    expect(licences).toContain('uplot');
  });

  it('leaves the API as it was: credentials asked for, unknown paths a JSON 404', async () => {
    const api = await fetch(`${base}/api/overview`);
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
    const missing = await fetch(`${base}/no-such-file.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
    const traversal = await fetch(`${base}/..%2f..%2fpackage.json`);
    expect(traversal.status).toBe(404);
  });

  it('says how to build the UI when it has not been built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'warren-no-ui-'));
    const app = Fastify();
    try {
      registerUi(app, empty);
      const res = await app.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(404);
      expect(res.body).toBe('The web UI is not built: run `npm run build`.\n');
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
