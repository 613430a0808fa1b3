// `npm pack` gives an installable tarball that carries kassa.wasm, and the
// installed package loads its own module by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pkgDir, wasmPath } from './helpers.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack + npm install: the package works from its tarball', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kassa-pack-'));
  try {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [info] = JSON.parse(out.slice(out.indexOf('[')));
    const files = info.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['README.md', 'index.d.ts', 'index.js', 'kassa.wasm', 'package.json', 'wasi.js']);
    const packed = info.files.find((f) => f.path === 'kassa.wasm');
    assert.equal(packed.size, readFileSync(wasmPath).length, 'prepack copies ../kassa.wasm');

    const app = path.join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(dir, info.filename)], { cwd: app, stdio: 'pipe' });
    writeFileSync(path.join(app, 'main.js'), `
      import { load } from '@kassa/core';
      const k = await load(); // the packaged kassa.wasm
      console.log(k.sign('dapi.check-sale', { controlKey: 'B17F59B4-A7DC-41B4-8FF9-37D986B43D20',
        serialNumber: 'abcd', nonce: '5678xyz', endpointId: '1111', invoiceId: 'someUuid' }));
    `);
    const sig = execFileSync(process.execPath, ['--no-warnings', 'main.js'], { cwd: app, encoding: 'utf8' }).trim();
    assert.equal(sig, '6AB5507CD443DCA47A906619E53CF855956D9D64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
