// A module Web Worker running @kassa/core (debugger.test.mjs starts it from
// the debugger page: new Worker('./test/worker.js', { type: 'module' })).
import { load } from '../js/index.js';

const kassa = await load(new URL('../kassa.wasm', import.meta.url));
const sig = kassa.sign('dapi.check-sale', {
  controlKey: 'B17F59B4-A7DC-41B4-8FF9-37D986B43D20',
  serialNumber: 'abcd', nonce: '5678xyz', endpointId: '1111', invoiceId: 'someUuid',
});
const dup = kassa.validate('voyado.click', '{"ticket":"a","ticket":"b"}');
postMessage({ sig, dup, wasi: kassa.wasi, hasDocument: typeof document !== 'undefined', hasWindow: typeof window !== 'undefined' });
