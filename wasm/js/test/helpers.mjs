// Shared by the Node tests.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const pkgDir = path.resolve(here, '..');
export const repo = path.resolve(pkgDir, '../..');
/** The committed module (the package's own copy is made by prepack). */
export const wasmPath = path.join(repo, 'wasm/kassa.wasm');

/** vectors.json as committed next to the Go signer's tests. */
export function vectors() {
  return JSON.parse(readFileSync(path.join(repo, 'core/sign/testdata/vectors.json'), 'utf8'));
}

/** The vector file's operation names, mapped to kassa's. */
export const vectorOps = {
  'initiate-sale': 'dapi.initiate-sale',
  'check-sale': 'dapi.check-sale',
  'card-mapping-notification': 'dapi.notification',
  'sale-control': 'classic.sale',
};

/**
 * golden.json: written by `npm test`'s pretest from the native Go core
 * (go run ./wasm/js/test/golden). Regenerated here when missing or older
 * than the generator, so `node --test` alone works too.
 */
export function golden() {
  const file = path.join(here, 'golden.json');
  const gen = path.join(here, 'golden/main.go');
  if (!existsSync(file) || statSync(file).mtimeMs < statSync(gen).mtimeMs) {
    const out = execFileSync('go', ['run', './wasm/js/test/golden'], { cwd: repo, maxBuffer: 256 << 20 });
    return JSON.parse(out);
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** True when a binary answers `--version`/`version`. */
export function which(bin) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
