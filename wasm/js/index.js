// @kassa/core: kassa's signing and validation core (kassa.wasm) for
// browsers, Web Workers and Node. See README.md; the ABI is wasm/README.md.
//
// One module, one code path: only the WASI host differs (node:wasi in Node,
// the small shim in ./wasi.js elsewhere). No DOM use.

import { createWASI, WASIExit } from './wasi.js';

export { WASIExit };

const isNode =
  typeof globalThis.process === 'object' &&
  globalThis.process !== null &&
  typeof globalThis.process.versions?.node === 'string' &&
  typeof globalThis.window === 'undefined';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The packaged module, next to this file. */
export const defaultSource = /* @__PURE__ */ new URL('./kassa.wasm', import.meta.url);

/** Thrown when the core answers {"error": "..."}; message is the core's. */
export class KassaError extends Error {
  constructor(message) {
    super(message);
    this.name = 'KassaError';
  }
}

const isResponse = (x) => typeof Response !== 'undefined' && x instanceof Response;
const isWasmContentType = (res) =>
  (res.headers.get('content-type') || '').split(';')[0].trim().toLowerCase() === 'application/wasm';

async function readNodeFile(url) {
  const { readFile } = await import('node:fs/promises');
  return readFile(url);
}

// Resolves a source to either { module } or { response } or { bytes }.
async function resolveSource(source) {
  source = await source; // a Promise<Response> (load(fetch(url))) is fine too
  if (source instanceof WebAssembly.Module) return { module: source };
  if (isResponse(source)) return { response: source };
  if (source instanceof ArrayBuffer) return { bytes: source };
  if (ArrayBuffer.isView(source)) return { bytes: source };
  if (typeof source === 'string' || source instanceof URL) {
    if (isNode) {
      // file: URLs and plain paths are read from disk; http(s) is fetched.
      const s = String(source);
      if (/^https?:/i.test(s)) return { response: await fetch(s) };
      return { bytes: await readNodeFile(source instanceof URL || s.startsWith('file:') ? new URL(s) : s) };
    }
    return { response: await fetch(source) };
  }
  throw new TypeError('load(source): source must be a URL, a path, an ArrayBuffer, a typed array, a Response or a WebAssembly.Module');
}

/**
 * Compiles kassa.wasm once; the result can be passed to load() any number of
 * times (one instance per load) or posted to a Web Worker.
 */
export async function compile(source = defaultSource) {
  const s = await resolveSource(source);
  if (s.module) return s.module;
  if (s.response) {
    const res = s.response;
    if (!res.ok) throw new Error(`load kassa.wasm: HTTP ${res.status} ${res.statusText} for ${res.url}`);
    if (typeof WebAssembly.compileStreaming === 'function' && isWasmContentType(res)) {
      return WebAssembly.compileStreaming(res);
    }
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(s.bytes);
}

// The core's optional host primitives (wasm/README.md, "Imports"): a host
// may compute the strict JSON check and HMAC-SHA1 natively. A browser has
// no synchronous native HMAC to offer (WebCrypto is asynchronous), so these
// answer "not provided" and the core runs its own code, with the same rules.
export const hostPrimitives = Object.freeze({
  check_json: () => 2, // (ptr, len, maxDepth, tape, tapeCap) -> 0 invalid, 1 valid, 2 not provided, 3 valid and indexed
  hmac_sha1: () => 0, // (keyPtr, keyLen, msgPtr, msgLen, outPtr) -> 1 done, 0 not provided
});

async function makeHost(options) {
  const mode = options.wasi ?? 'auto';
  if (mode === 'node' || (mode === 'auto' && isNode && !options.onOutput && !options.trace)) {
    const { WASI } = await import('node:wasi');
    const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
    return {
      kind: 'node',
      imports: {
        ...(typeof wasi.getImportObject === 'function' ? wasi.getImportObject() : { wasi_snapshot_preview1: wasi.wasiImport }),
        kassa_host: hostPrimitives,
      },
      initialize: (instance) => wasi.initialize(instance),
    };
  }
  const shim = createWASI({ onOutput: options.onOutput, trace: options.trace });
  return { kind: 'shim', imports: { ...shim.imports, kassa_host: hostPrimitives }, initialize: (instance) => shim.initialize(instance) };
}

async function instantiate(source, imports) {
  const s = await resolveSource(source);
  if (s.module) return { module: s.module, instance: await WebAssembly.instantiate(s.module, imports) };
  if (s.response) {
    const res = s.response;
    if (!res.ok) throw new Error(`load kassa.wasm: HTTP ${res.status} ${res.statusText} for ${res.url}`);
    if (typeof WebAssembly.instantiateStreaming === 'function' && isWasmContentType(res)) {
      return WebAssembly.instantiateStreaming(res, imports);
    }
    return WebAssembly.instantiate(await res.arrayBuffer(), imports);
  }
  return WebAssembly.instantiate(s.bytes, imports);
}

/**
 * Loads kassa.wasm and returns a Kassa object bound to one instance.
 *
 * @param {string|URL|ArrayBuffer|ArrayBufferView|Response|Promise<Response>|WebAssembly.Module} [source]
 *   default: the kassa.wasm shipped in this package.
 * @param {{ wasi?: 'auto'|'node'|'shim', onOutput?: (fd:number, text:string)=>void, trace?: (name:string)=>void }} [options]
 */
export async function load(source = defaultSource, options = {}) {
  const host = await makeHost(options);
  const { module, instance } = await instantiate(source, host.imports);
  host.initialize(instance);
  return new Kassa(instance, module, host.kind);
}

// Input staging: one buffer per instance, grown by free + alloc.
const MIN_BUFFER = 64 * 1024;

class Kassa {
  #x; // exports
  #buf = 0; // kassa_alloc'ed buffer
  #cap = 0;
  #busy = false;
  #broken = null;
  #endpoints = null;

  constructor(instance, module, wasi) {
    this.#x = instance.exports;
    /** The compiled module (reuse it for more instances: load(kassa.module)). */
    this.module = module;
    /** Which WASI host runs the instance: 'node' or 'shim'. */
    this.wasi = wasi;
    /** The core version, e.g. "0.3.0". */
    this.version = this.#call(() => this.#x.kassa_version());
    /** Exact JSON text of every result, as the core returned it. */
    this.raw = Object.freeze({
      endpoints: () => this.#call(() => this.#x.kassa_endpoints()),
      validate: (endpoint, body) => this.#call2('kassa_validate', endpoint, bodyInput(body)),
      validateQuery: (endpoint, query) => this.#call2('kassa_validate_query', endpoint, bodyInput(query)),
      sign: (operation, fields) => this.#call2('kassa_sign', operation, fieldsInput(fields)),
      stringToSign: (operation, fields) => this.#call2('kassa_string_to_sign', operation, fieldsInput(fields)),
    });
    Object.freeze(this);
  }

  /** Endpoints and signing operations, as the core describes them. */
  endpoints() {
    this.#endpoints ??= this.raw.endpoints();
    return JSON.parse(this.#endpoints);
  }

  /** Validates a body (string or exact bytes) as the endpoint. */
  validate(endpoint, body) {
    return result(this.raw.validate(endpoint, body));
  }

  /** Validates a raw query string (a leading '?' is ignored) or URLSearchParams. */
  validateQuery(endpoint, query) {
    if (typeof query === 'string' && query.startsWith('?')) query = query.slice(1);
    else if (typeof URLSearchParams !== 'undefined' && query instanceof URLSearchParams) query = query.toString();
    return result(this.raw.validateQuery(endpoint, query));
  }

  /** The signature: upper-case hex (DAPI) or lower-case hex (classic). */
  sign(operation, fields) {
    return result(this.raw.sign(operation, fields)).signature;
  }

  /** The string to sign (classic strings end with the control key). */
  stringToSign(operation, fields) {
    return result(this.raw.stringToSign(operation, fields)).stringToSign;
  }

  /** Both at once: { signature, stringToSign }. */
  explain(operation, fields) {
    return result(this.raw.sign(operation, fields));
  }

  // Writes a and b back to back into the staging buffer and calls fn.
  #call2(fn, a, b) {
    if (typeof a !== 'string') throw new TypeError(`${fn}: the endpoint or operation must be a string`);
    return this.#call(() => {
      const aMax = a.length * 3;
      const bMax = typeof b === 'string' ? b.length * 3 : b.byteLength;
      this.#reserve(aMax + bMax);
      const mem = new Uint8Array(this.#x.memory.buffer, this.#buf, this.#cap);
      const aLen = encoder.encodeInto(a, mem).written;
      let bLen;
      if (typeof b === 'string') {
        bLen = encoder.encodeInto(b, mem.subarray(aLen)).written;
      } else {
        mem.set(b, aLen);
        bLen = b.byteLength;
      }
      return this.#x[fn](this.#buf, aLen, this.#buf + aLen, bLen);
    });
  }

  #reserve(n) {
    if (n <= this.#cap) return;
    let cap = Math.max(MIN_BUFFER, this.#cap);
    while (cap < n) cap *= 2;
    if (this.#buf) this.#x.kassa_free(this.#buf);
    this.#buf = 0;
    this.#cap = 0;
    const p = this.#x.kassa_alloc(cap) >>> 0;
    if (!p) throw new Error(`kassa_alloc(${cap}) failed`);
    this.#buf = p;
    this.#cap = cap;
  }

  // Serializes calls and copies the packed result out of linear memory.
  #call(fn) {
    if (this.#broken) throw new Error(`kassa instance unusable after an earlier failure (${this.#broken.message}): load a new one`);
    if (this.#busy) throw new Error('kassa: re-entrant call into one instance');
    this.#busy = true;
    try {
      const r = BigInt.asUintN(64, fn());
      const ptr = Number(r >> 32n);
      const len = Number(r & 0xffffffffn);
      return len === 0 ? '' : decoder.decode(new Uint8Array(this.#x.memory.buffer, ptr, len));
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof WASIExit) this.#broken = e;
      throw e;
    } finally {
      this.#busy = false;
    }
  }
}

// A body or query: a string (sent as UTF-8) or exact bytes; absent is empty.
function bodyInput(body) {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('body must be a string, a Uint8Array or an ArrayBuffer (pass the exact bytes; do not re-serialize JSON)');
}

function fieldsInput(fields) {
  if (typeof fields === 'string' || ArrayBuffer.isView(fields) || fields instanceof ArrayBuffer) return bodyInput(fields);
  if (fields === null || typeof fields !== 'object') throw new TypeError('fields must be an object, a JSON string or bytes');
  return JSON.stringify(fields);
}

function result(text) {
  const r = JSON.parse(text);
  if (r && typeof r.error === 'string') throw new KassaError(r.error);
  return r;
}
