// @kassa/core in Node, through both WASI hosts (node:wasi and the browser
// shim): the published vectors, byte-for-byte equality with the native Go
// core on the golden cases, input forms, buffers and errors.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

import { load, compile, KassaError, defaultSource, hostPrimitives } from '../index.js';
import { createWASI } from '../wasi.js';
import { golden, vectors, vectorOps, wasmPath, pkgDir } from './helpers.mjs';

const wasmBytes = readFileSync(wasmPath);
const enc = new TextEncoder();
const VALID = '{"valid":true,"violations":[]}';

describe('module', () => {
  test('imports only the WASI functions the shim implements and the host primitives', () => {
    const mod = new WebAssembly.Module(wasmBytes);
    const imports = WebAssembly.Module.imports(mod);
    const { imports: shim } = createWASI();
    const known = new Set([
      'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_time_get', 'fd_write',
      'random_get', 'poll_oneoff', 'proc_exit', 'sched_yield', 'fd_close', 'fd_fdstat_get',
      'fd_fdstat_set_flags', 'fd_prestat_get', 'fd_prestat_dir_name',
    ]);
    const wasiImports = imports.filter((i) => i.module === 'wasi_snapshot_preview1');
    const hostImports = imports.filter((i) => i.module === 'kassa_host').map((i) => i.name).sort();
    assert.deepEqual(hostImports, ['check_json', 'hmac_sha1']);
    assert.deepEqual(Object.keys(hostPrimitives).sort(), hostImports);
    assert.equal(wasiImports.length + hostImports.length, imports.length, 'an import from another module');
    for (const imp of wasiImports) {
      assert.equal(imp.kind, 'function');
      assert.ok(known.has(imp.name), `kassa.wasm imports ${imp.name}: the shim does not implement it (update wasi.js and README.md)`);
      assert.equal(typeof shim.wasi_snapshot_preview1[imp.name], 'function');
    }
    const readme = readFileSync(path.join(pkgDir, 'README.md'), 'utf8');
    for (const name of new Set(wasiImports.map((i) => i.name))) {
      assert.ok(readme.includes('`' + name + '`'), `README.md does not list the import ${name}`);
    }
    const exports = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
    assert.deepEqual(exports, ['_initialize', 'kassa_alloc', 'kassa_endpoints', 'kassa_free', 'kassa_sign',
      'kassa_sign_binary', 'kassa_string_to_sign', 'kassa_validate', 'kassa_validate_indexed', 'kassa_validate_query',
      'kassa_version', 'memory']);
  });

  test('the shim is only asked for what README.md says', async () => {
    const calls = new Map();
    let phase = 'init';
    const k = await load(wasmBytes, { trace: (n) => calls.set(`${phase} ${n}`, (calls.get(`${phase} ${n}`) ?? 0) + 1) });
    assert.deepEqual([...calls.keys()].sort(), ['init args_sizes_get', 'init clock_time_get', 'init environ_sizes_get',
      'init fd_fdstat_get', 'init fd_fdstat_set_flags', 'init fd_prestat_get', 'init random_get']);
    phase = 'call';
    for (let i = 0; i < 500; i++) {
      k.validate('voyado.click', '{"ticket":"t"}');
      k.sign('dapi.check-sale', { controlKey: '00', nonce: 'n' + i, endpointId: '1', invoiceId: 'i', serialNumber: 's' });
    }
    // Ordinary calls ask for nothing but, now and then, the clock: when a
    // call allocates, the guest yields (runtime.Gosched) so that a collection
    // can finish, and Go's scheduler times one goroutine switch in eight
    // (two clock reads), starting at a random one; a GC cycle reads it too.
    // In practice 0 or 2 reads in these 1,000 calls; one a call would be 1,000.
    assert.deepEqual([...calls.keys()].filter((c) => c.startsWith('call') && c !== 'call clock_time_get'), [],
      'ordinary calls make no WASI call but clock_time_get');
    assert.ok((calls.get('call clock_time_get') ?? 0) <= 20, `${calls.get('call clock_time_get')} clock reads in 1,000 calls`);
    // Thousands of violations: Go's GC runs and reads the clock, nothing else.
    const lines = Array.from({ length: 30000 }, (_, i) => `{"variantKey":"v${i}","quantity":"x","sellingPrice":1}`);
    k.validate('voyado.admin.payment', `{"lines":[${lines.join(',')}]}`);
    for (const c of calls.keys()) assert.ok(c.startsWith('init') || c === 'call clock_time_get', c);
  });
});

for (const wasi of ['node', 'shim']) {
  describe(`through ${wasi === 'node' ? 'node:wasi' : 'the WASI shim'}`, () => {
    let k;
    let g;
    before(async () => {
      k = await load(wasmBytes, { wasi });
      g = golden();
    });

    test('loads', () => {
      assert.equal(k.wasi, wasi);
      assert.match(k.version, /^\d+\.\d+\.\d+$/);
      assert.equal(k.version, g.version);
    });

    test('published signature vectors', () => {
      const v = vectors();
      for (const d of v.dapi) {
        const fields = { ...d.fields, controlKey: v.controlKey };
        const op = vectorOps[d.operation];
        assert.equal(k.sign(op, fields), d.signature, d.operation);
        assert.equal(k.stringToSign(op, fields), d.stringToSign, d.operation);
        assert.equal(k.sign(op, JSON.stringify(fields)), d.signature, 'fields as JSON text');
        assert.equal(k.sign(op, enc.encode(JSON.stringify(fields))), d.signature, 'fields as bytes');
        assert.match(k.sign(op, fields), /^[0-9A-F]{40}$/);
      }
      for (const c of v.classic) {
        const fields = { ...c.fields, controlKey: v.controlKey };
        const op = vectorOps[c.operation];
        assert.equal(k.sign(op, fields), c.control, c.operation);
        assert.equal(k.stringToSign(op, fields), c.stringToSign, c.operation);
        assert.match(k.sign(op, fields), /^[0-9a-f]{40}$/);
      }
      const ex = k.explain('dapi.check-sale', { ...v.dapi[1].fields, controlKey: v.controlKey });
      assert.deepEqual(ex, { signature: '6AB5507CD443DCA47A906619E53CF855956D9D64', stringToSign: 'abcd5678xyz1111someUuid' });
    });

    test('endpoints() is the Go core\'s list, byte for byte', () => {
      assert.equal(k.raw.endpoints(), Buffer.from(g.endpoints, 'base64').toString('utf8'));
      const e = k.endpoints();
      assert.ok(e.endpoints.length > 50);
      assert.deepEqual(e.operations.map((o) => o.id), ['dapi.initiate-sale', 'dapi.initiate-transfer',
        'dapi.initiate-verification', 'dapi.check-sale', 'dapi.check-transfer', 'dapi.check-verification',
        'dapi.notification', 'classic.callback', 'classic.sale']);
      e.endpoints.length = 0; // callers get their own copy
      assert.ok(k.endpoints().endpoints.length > 50);
    });

    test('every endpoint\'s published example is valid', () => {
      const examples = g.cases.filter((c) => c.example);
      assert.ok(examples.length >= 60, `only ${examples.length} examples`);
      for (const c of examples) {
        const body = Buffer.from(c.input, 'base64');
        assert.deepEqual(k.validate(c.id, body), { valid: true, violations: [] }, c.id);
        assert.deepEqual(k.validate(c.id, body.toString('utf8')), { valid: true, violations: [] }, c.id);
      }
    });

    test('golden cases: same bytes as the native Go core', () => {
      const counts = {};
      const failures = [];
      for (const c of g.cases) {
        const input = new Uint8Array(Buffer.from(c.input, 'base64'));
        const got = Buffer.from(enc.encode(k.raw[c.call](c.id, input)));
        const want = Buffer.from(c.want, 'base64');
        if (!got.equals(want)) {
          failures.push(`${c.call} ${c.id} [${c.name}] ${JSON.stringify(input.toString())}\n  got  ${got}\n  want ${want}`);
        }
        counts[c.call] = (counts[c.call] ?? 0) + 1;
      }
      assert.equal(failures.length, 0, `${failures.length} of ${g.cases.length} differ:\n` + failures.slice(0, 10).join('\n'));
      assert.ok(counts.validate > 1000 && counts.validateQuery > 100 && counts.sign > 100 && counts.stringToSign > 100, JSON.stringify(counts));
    });

    test('duplicate keys, bad UTF-8 and big numbers are caught on the exact bytes', () => {
      const dup = k.validate('voyado.click', '{"ticket":"a","ticket":"b"}');
      assert.equal(dup.valid, false);
      assert.deepEqual(dup.violations.map((v) => [v.path, v.rule]), [['ticket', 'json']]);
      const bad = k.validate('voyado.click', new Uint8Array([...enc.encode('{"ticket":"'), 0xff, ...enc.encode('"}')]));
      assert.equal(bad.violations[0].rule, 'json');
      // A string with a lone surrogate cannot be sent as is: TextEncoder makes it U+FFFD (valid).
      assert.equal(k.validate('voyado.click', '{"ticket":"\ud800"}').valid, true);
      const big = k.validate('payneteasy.initiate-sale',
        '{"consumer":{"device":{"serialNumber":"SN-0001"}},"transaction":{"amountCentis":9223372036854775808,"currency":"EUR"},"session":{"accessToken":"demo-access-token-0123456789abcdef0123"}}');
      assert.equal(big.valid, false);
      assert.equal(big.violations[0].path, 'transaction.amountCentis');
    });

    test('bodies as string, Uint8Array, ArrayBuffer, DataView, Buffer; empty and absent', () => {
      const s = '{"ticket":"OzE7"}';
      const u = enc.encode(s);
      for (const b of [s, u, u.buffer, new DataView(u.buffer), Buffer.from(s)]) {
        assert.equal(k.raw.validate('voyado.click', b), VALID);
      }
      assert.equal(k.raw.validate('voyado.storefront.end', ''), VALID);
      assert.equal(k.raw.validate('voyado.storefront.end', undefined), VALID);
      assert.equal(k.raw.validate('voyado.storefront.end', new Uint8Array(0)), VALID);
      assert.throws(() => k.validate('voyado.click', { ticket: 'x' }), TypeError);
      const sub = enc.encode('xx{"ticket":"t"}yy').subarray(2, 16);
      assert.equal(k.raw.validate('voyado.click', sub), VALID);
    });

    test('queries: string, leading ?, URLSearchParams', () => {
      const q = 'market=SE&customerKey=c1&sessionKey=s1';
      assert.deepEqual(k.validateQuery('voyado.storefront.click', q), { valid: true, violations: [] });
      assert.deepEqual(k.validateQuery('voyado.storefront.click', '?' + q), { valid: true, violations: [] });
      assert.deepEqual(k.validateQuery('voyado.storefront.click', new URLSearchParams(q)), { valid: true, violations: [] });
      const r = k.validateQuery('voyado.storefront.click', 'market=SE&market=DK&customerKey=c&sessionKey=s');
      assert.deepEqual(r.violations.map((v) => v.path), ['market']);
    });

    test('errors are thrown with the core\'s message', () => {
      assert.throws(() => k.validate('nope', '{}'), (e) => e instanceof KassaError && e.message === 'unknown endpoint "nope"');
      assert.throws(() => k.sign('dapi.nope', {}), { name: 'KassaError', message: 'unknown operation "dapi.nope"' });
      assert.throws(() => k.sign('dapi.check-sale', { controlKey: 'B17F59B4-A7DC-41B4-8FF9-37D986B43D20', nonce: 'n' }),
        { name: 'KassaError', message: /is required/ });
      assert.throws(() => k.sign('dapi.check-sale', { contolKey: 'x' }), { message: 'unknown field "contolKey"' });
      assert.throws(() => k.sign('dapi.check-sale', null), TypeError);
      assert.throws(() => k.validate(42, '{}'), TypeError);
      // The instance is still fine afterwards.
      assert.equal(k.raw.validate('voyado.click', '{"ticket":"t"}'), VALID);
    });

    test('buffers grow and are reused; large and non-ASCII inputs', () => {
      const lines = Array.from({ length: 20000 }, (_, i) => ({ variantKey: 'v' + i + 'é', quantity: 1, sellingPrice: 2.5 }));
      const big = JSON.stringify({ lines });
      assert.ok(big.length > 500000);
      assert.equal(k.raw.validate('voyado.admin.payment', big), VALID);
      assert.equal(k.raw.validate('voyado.click', '{"ticket":"🛒"}'), VALID);
      const r = k.validate('voyado.admin.payment', big.replace('"quantity":1', '"quantity":0'));
      assert.deepEqual(r.violations.map((v) => v.path), ['lines.0.quantity']);
      for (let i = 0; i < 2000; i++) k.sign('dapi.check-sale', { controlKey: '00', nonce: 'n' + i, endpointId: '1', invoiceId: 'i', serialNumber: 's' });
    });
  });
}

describe('load(source)', () => {
  const check = async (src, opts) => {
    const k = await load(src, opts);
    assert.equal(k.sign('dapi.check-sale', { ...vectors().dapi[1].fields, controlKey: vectors().controlKey }), '6AB5507CD443DCA47A906619E53CF855956D9D64');
    return k;
  };
  test('a path, a file: URL, bytes, an ArrayBuffer, a Module, a Response, a Promise<Response>', async () => {
    await check(wasmPath);
    await check(pathToFileURL(wasmPath));
    await check(pathToFileURL(wasmPath).href);
    await check(new Uint8Array(wasmBytes));
    await check(wasmBytes.buffer.slice(wasmBytes.byteOffset, wasmBytes.byteOffset + wasmBytes.byteLength));
    const mod = await compile(wasmBytes);
    const a = await check(mod);
    const b = await check(mod, { wasi: 'shim' });
    assert.equal(a.module, mod);
    assert.equal(b.module, mod);
    await check(new Response(wasmBytes, { headers: { 'content-type': 'application/wasm' } }));
    await check(new Response(wasmBytes)); // no wasm MIME type: compiled from bytes
    await check(Promise.resolve(new Response(wasmBytes, { headers: { 'content-type': 'application/wasm' } })));
  });
  test('the default source is the packaged kassa.wasm', () => {
    assert.equal(defaultSource.href, new URL('../kassa.wasm', import.meta.url).href);
  });
  test('an HTTP error is reported', async () => {
    await assert.rejects(load(new Response('nope', { status: 404 })), /HTTP 404/);
  });
  test('a bad source type is a TypeError', async () => {
    await assert.rejects(load(42), TypeError);
  });
  test('instances are independent', async () => {
    const mod = await compile(wasmBytes);
    const [a, b] = await Promise.all([load(mod), load(mod, { wasi: 'shim' })]);
    assert.equal(a.raw.validate('voyado.click', '{}'), b.raw.validate('voyado.click', '{}'));
  });
});
