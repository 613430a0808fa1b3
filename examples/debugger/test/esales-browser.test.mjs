// The official Voyado client (@apptus/esales-api 3.x) in headless Chromium,
// on a page whose origin differs from kassa's: its notifications must pass
// kassa's CORS and validation and reach a loopback stand-in for the cluster
// with no key attached. The Node twin is wasm/js/test/esales.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startCaddy, freePort, caddyModules } from '../../../wasm/js/test/caddy.mjs';
import { startCluster } from '../../../wasm/js/test/cluster.mjs';
import { browserSkip, launch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const API_KEY = 'real-voyado-api-key-4b1d';
const BACKEND_KEY = 'merchant-backend-key-9f2e';

let skip = browserSkip();
if (!skip && !process.env.CI) {
  try {
    if (!caddyModules().includes('kassa.providers.voyado')) {
      skip = 'kassa.providers.voyado is not in `bin/caddy list-modules` (plugin/voyado not built in yet): run make build';
    }
  } catch (e) {
    skip = `no Caddy binary with kassa: ${e.message}`;
  }
}

let cluster;
let caddy;
let browser;
let page;
let kassaBase;

before(async () => {
  if (skip) return;
  cluster = await startCluster();
  const [pagePort, kassaPort] = [await freePort(), await freePort()];
  kassaBase = `http://127.0.0.1:${kassaPort}`;
  page = `http://127.0.0.1:${pagePort}`;
  caddy = await startCaddy(path.join(here, 'esales.Caddyfile'), {
    PAGE_PORT: String(pagePort),
    KASSA_PORT: String(kassaPort),
    CLUSTER_PORT: String(cluster.port),
    VOYADO_API_KEY: API_KEY,
    VOYADO_BACKEND_KEY: BACKEND_KEY,
  }, `${page}/esales.html`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await caddy?.stop();
  await cluster?.close();
});

test('@apptus/esales-api in Chromium: notifications reach the cluster through kassa (CORS), no key', { skip }, async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(`${page}/esales.html?kassa=${encodeURIComponent(kassaBase + '/')}`);
  const result = await p.waitForFunction(() => globalThis.esalesResult, null, { timeout: 20000 }).then((h) => h.jsonValue());
  assert.deepEqual(result.steps, [
    { name: 'click', ok: true },
    { name: 'addToCart', ok: true },
    { name: 'addFavorite', ok: true },
    { name: 'end', ok: true },
  ]);
  await cluster.waitFor(4);
  const got = cluster.requests;
  assert.deepEqual(got.map((r) => r.path), [
    '/api/storefront/v3/notifications/click',
    '/api/storefront/v3/notifications/add-to-cart',
    '/api/storefront/v3/notifications/add-favorite',
    '/api/storefront/v3/notifications/end',
  ]);
  assert.deepEqual(got.map((r) => r.body), [
    '{"ticket":"OzE7YnJvd3NlcjsxOzA7"}',
    '{"ticket":"OzE7YnJvd3NlcjsyOzA7"}',
    '{"variantKey":"shirt_red_7980"}',
    '',
  ]);
  for (const r of got) {
    assert.deepEqual(r.query, { market: 'SE', ...result.session });
    assert.equal(r.headers['api-key'], undefined);
    const all = r.rawHeaders.join('\n') + r.rawQuery + r.body;
    assert.ok(!all.includes(API_KEY) && !all.includes(BACKEND_KEY), 'no key reaches the cluster');
  }
  assert.deepEqual(errors, []);
  await context.close();
});
