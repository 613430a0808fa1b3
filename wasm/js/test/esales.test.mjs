// The official Voyado Elevate client (@apptus/esales-api 3.x, from npm) with
// its clusterId set to a kassa URL: its click, add-to-cart, add-favorite and
// end notifications must reach a loopback stand-in for the cluster through
// kassa's Voyado provider, unchanged and with no key attached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { notifications, elevate } from '@apptus/esales-api';

import { startCaddy, freePort, caddyModules } from './caddy.mjs';
import { startCluster } from './cluster.mjs';
import { here } from './helpers.mjs';

const API_KEY = 'real-voyado-api-key-4b1d';
const BACKEND_KEY = 'merchant-backend-key-9f2e';

let skip = false;
try {
  if (!caddyModules().includes('kassa.providers.voyado')) {
    skip = 'kassa.providers.voyado is not in `bin/caddy list-modules` (plugin/voyado not built in yet): run make build';
  }
} catch (e) {
  skip = `no Caddy binary with kassa: ${e.message}`;
}
if (skip && process.env.CI) skip = false; // under CI a missing provider is a failure, below

let cluster;
let caddy;
let base;

before(async () => {
  if (skip) return;
  assert.ok(caddyModules().includes('kassa.providers.voyado'), 'bin/caddy lacks kassa.providers.voyado');
  cluster = await startCluster();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  caddy = await startCaddy(path.join(here, 'esales.Caddyfile'), {
    KASSA_PORT: String(port),
    CLUSTER_PORT: String(cluster.port),
    PAGE_PORT: String(await freePort()),
    VOYADO_API_KEY: API_KEY,
    VOYADO_BACKEND_KEY: BACKEND_KEY,
  }, `${base}/`);
});

after(async () => {
  await caddy?.stop();
  await cluster?.close();
});

const session = { customerKey: '5f0b5e2e-3c8a-4a8e-9d0c-2f6f3f4e8a11', sessionKey: 'a3c1d2e4-7b6f-4e21-8c3d-9e0f1a2b3c4d' };

test('@apptus/esales-api notifications reach the cluster through kassa, without a key', { skip }, async () => {
  const before = cluster.requests.length;
  // A full URL as clusterId: the client resolves /api/storefront/v3/... against it.
  const notify = notifications({ clusterId: `${base}/`, market: 'SE', session: () => session });
  await notify.click('OzE7MTIzNDU2Nzg5MDsxOzA7');
  await notify.addToCart('OzE7cHJvZHVjdDsyOzA7');
  await notify.addFavorite('shirt_79709');
  await notify.end();
  await cluster.waitFor(before + 4);
  const got = cluster.requests.slice(before);

  assert.deepEqual(got.map((r) => [r.method, r.path]), [
    ['POST', '/api/storefront/v3/notifications/click'],
    ['POST', '/api/storefront/v3/notifications/add-to-cart'],
    ['POST', '/api/storefront/v3/notifications/add-favorite'],
    ['POST', '/api/storefront/v3/notifications/end'],
  ]);
  assert.deepEqual(got.map((r) => r.body), [
    '{"ticket":"OzE7MTIzNDU2Nzg5MDsxOzA7"}',
    '{"ticket":"OzE7cHJvZHVjdDsyOzA7"}',
    '{"productKey":"shirt_79709"}',
    '',
  ]);
  for (const r of got) {
    assert.deepEqual(r.query, { market: 'SE', ...session });
    // No key of any kind on the way to the cluster.
    assert.equal(r.headers['api-key'], undefined);
    const all = r.rawHeaders.join('\n') + r.rawQuery + r.body;
    assert.ok(!all.includes(API_KEY), 'the real Api-Key must not be attached to browser notifications');
    assert.ok(!all.includes(BACKEND_KEY), 'the backend key must not reach the cluster');
  }
});

test('the elevate() facade works the same (notify.*)', { skip }, async () => {
  const before = cluster.requests.length;
  const api = elevate({ clusterId: base, market: 'SE', locale: 'sv-SE', touchpoint: 'desktop', session: () => session });
  await api.notify.click('OzE7Mjs=');
  await cluster.waitFor(before + 1);
  assert.equal(cluster.requests[before].path, '/api/storefront/v3/notifications/click');
});

test('an invalid notification is refused by kassa and never reaches the cluster', { skip }, async () => {
  const before = cluster.requests.length;
  const notify = notifications({ clusterId: base, market: 'SE', session: () => session });
  // Empty ticket: the client sends it; kassa answers 400 and the client throws.
  await assert.rejects(notify.click(''));
  // A raw request with a duplicated key, as a browser would send it.
  const res = await fetch(`${base}/api/storefront/v3/notifications/click?market=SE&customerKey=c&sessionKey=s`, {
    method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: '{"ticket":"a","ticket":"b"}',
  });
  assert.equal(res.status, 400);
  const answer = await res.json();
  assert.equal(answer.violations[0].rule, 'json');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(cluster.requests.length, before);
});
