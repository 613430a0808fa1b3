// The hand-written TypeScript declarations compile against real usage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { here, pkgDir } from './helpers.mjs';

test('index.d.ts type-checks (tsc --strict)', () => {
  const tsc = createRequire(path.join(pkgDir, 'package.json')).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', '--skipLibCheck', 'false',
      path.join(here, 'types-check.ts')], { cwd: pkgDir, stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});
