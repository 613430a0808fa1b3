// samples.json (the debugger's pre-filled bodies) is what the Go spec says
// today: regenerate with `go run ./examples/debugger/gen > examples/debugger/samples.json`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repo } from '../../../wasm/js/test/helpers.mjs';
import { load } from '../../../wasm/js/index.js';

test('samples.json is up to date with core/spec', () => {
  const fresh = execFileSync('go', ['run', './examples/debugger/gen'], { cwd: repo, encoding: 'utf8' });
  const committed = readFileSync(path.join(repo, 'examples/debugger/samples.json'), 'utf8');
  assert.ok(fresh === committed, 'examples/debugger/samples.json is stale: run go run ./examples/debugger/gen > examples/debugger/samples.json');
});

test('every sample body and query is valid, and every endpoint has an entry', async () => {
  const samples = JSON.parse(readFileSync(path.join(repo, 'examples/debugger/samples.json'), 'utf8'));
  const k = await load(path.join(repo, 'wasm/kassa.wasm'), { wasi: 'shim' });
  const ids = k.endpoints().endpoints.map((e) => e.id).sort();
  assert.deepEqual(Object.keys(samples).sort(), ids);
  for (const [id, s] of Object.entries(samples)) {
    if (s.body !== '' || s.noBody) assert.deepEqual(k.validate(id, s.body), { valid: true, violations: [] }, id);
    if (s.queryFields) assert.deepEqual(k.validateQuery(id, s.query), { valid: true, violations: [] }, `${id} ?${s.query}`);
  }
});
