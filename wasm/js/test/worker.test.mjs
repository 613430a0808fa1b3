// @kassa/core inside worker_threads Workers (the browser Web Worker path is
// covered by examples/debugger/test/debugger.test.mjs in Chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';

import { compile } from '../index.js';
import { vectors, wasmPath } from './helpers.mjs';

function start(workerData) {
  const w = new Worker(new URL('./fixtures/worker.mjs', import.meta.url), { workerData });
  let next = 0;
  const call = async (fn, ...args) => {
    const id = ++next;
    w.postMessage({ id, fn, args });
    for (;;) {
      const [m] = await once(w, 'message');
      if (m.id === id) return m;
    }
  };
  return { w, call };
}

const v = vectors();
const checkSale = { ...v.dapi[1].fields, controlKey: v.controlKey };

for (const [name, data] of [
  ['a path, node:wasi', () => ({ source: wasmPath })],
  ['a path, the shim', () => ({ source: wasmPath, wasi: 'shim' })],
  ['a compiled module posted to the worker', async () => ({ source: await compile(wasmPath), wasi: 'shim' })],
]) {
  test(`worker_threads: ${name}`, async () => {
    const { w, call } = start(await data());
    try {
      const [ready] = await once(w, 'message');
      assert.equal(ready.ready, true);
      assert.match(ready.version, /^\d+\.\d+\.\d+$/);
      const r = await call('sign', 'dapi.check-sale', checkSale);
      assert.equal(r.ok, '6AB5507CD443DCA47A906619E53CF855956D9D64');
      const val = await call('validate', 'voyado.click', '{"ticket":"a","ticket":"b"}');
      assert.equal(val.ok.valid, false);
      assert.equal(val.ok.violations[0].rule, 'json');
      const err = await call('sign', 'nope', {});
      assert.equal(err.name, 'KassaError');
      assert.equal(err.error, 'unknown operation "nope"');
    } finally {
      await w.terminate();
    }
  });
}
