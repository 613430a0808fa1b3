// Compiled by types.test.mjs with `tsc --noEmit --strict`: the hand-written
// index.d.ts must describe the API as it is used (and reject misuse).
import { load, compile, defaultSource, KassaError, WASIExit, type Kassa, type Violation } from '../index.js';

async function main(): Promise<void> {
  const mod: WebAssembly.Module = await compile(defaultSource);
  const k: Kassa = await load(mod, { wasi: 'shim', onOutput: (fd, text) => console.log(fd, text) });
  await load('./kassa.wasm');
  await load(new URL('https://example.com/kassa.wasm'));
  await load(new Uint8Array(0));
  await load(fetch('/kassa.wasm'));
  const v: string = k.version;
  const sig: string = k.sign('dapi.check-sale', { controlKey: 'x', serialNumber: 'abcd', amountCentis: 1000 });
  const sts: string = k.stringToSign('classic.sale', '{"endpointId":"1"}');
  const both: { signature: string; stringToSign: string } = k.explain('dapi.check-sale', new Uint8Array(2));
  const r = k.validate('voyado.click', '{"ticket":"t"}');
  const first: Violation | undefined = r.violations[0];
  const rule: 'json' | 'required' | 'type' | 'length' | 'range' | 'enum' | 'pattern' | 'oneof' | 'conditional' | undefined = first?.rule;
  k.validateQuery('voyado.click', new URLSearchParams('a=1'));
  k.validate('voyado.storefront.end', null);
  const ops: string[] = k.endpoints().operations.map((o) => o.fields.map((f) => f.name).join());
  const raw: string = k.raw.validate('voyado.click', new Uint8Array(0));
  // @ts-expect-error: fields names are checked
  k.sign('dapi.check-sale', { contolKey: 'x' });
  // @ts-expect-error: a parsed object is not a body (validate the exact bytes)
  k.validate('voyado.click', { ticket: 't' });
  try {
    k.sign('x', {});
  } catch (e) {
    if (e instanceof KassaError) console.log(e.message);
    if (e instanceof WASIExit) console.log(e.code);
  }
  console.log(v, sig, sts, both, rule, ops, raw);
}
void main();
