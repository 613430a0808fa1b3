// Type declarations for @kassa/core (hand-written; the package has no build step).

/** Where kassa.wasm comes from. */
export type Source =
  | string
  | URL
  | ArrayBuffer
  | ArrayBufferView
  | Response
  | PromiseLike<Response>
  | WebAssembly.Module;

/** Bytes or text, passed to the core unchanged (text is sent as UTF-8). */
export type Body = string | Uint8Array | ArrayBufferView | ArrayBuffer;

export interface LoadOptions {
  /**
   * The WASI host. 'auto' (default): node:wasi in Node, the built-in shim
   * elsewhere (browsers, Web Workers, Deno). 'shim' forces the shim (also in
   * Node); 'node' forces node:wasi.
   */
  wasi?: 'auto' | 'node' | 'shim';
  /** Receives lines the runtime writes to stdout (1) or stderr (2). Selects the shim. Default: console. */
  onOutput?: (fd: 1 | 2, text: string) => void;
  /** Called with the name of every WASI import the guest calls. Selects the shim. */
  trace?: (name: string) => void;
}

/** One broken rule. */
export interface Violation {
  /** gjson dotted path with array indexes, e.g. "lines.0.cost"; a query parameter name for queries. */
  path: string;
  rule: 'json' | 'required' | 'type' | 'length' | 'range' | 'enum' | 'pattern' | 'oneof' | 'conditional';
  message: string;
}

export interface ValidationResult {
  valid: boolean;
  violations: Violation[];
}

export interface EndpointInfo {
  /** e.g. "payneteasy.check-sale" */
  id: string;
  provider: 'payneteasy' | 'smarts' | 'voyado' | string;
  summary: string;
  method: string;
  path: string;
  /** true when the endpoint describes a response body. */
  response: boolean;
}

export interface OperationInfo {
  /** e.g. "dapi.check-sale" */
  id: string;
  /** The field of the provider's message that carries the result, e.g. "session.checkSignature". */
  produces: string;
  /** The fields of the string to sign, in order. */
  fields: { name: SignField; optional: boolean }[];
}

export interface Endpoints {
  version: string;
  endpoints: EndpointInfo[];
  operations: OperationInfo[];
}

export type Operation =
  | 'dapi.initiate-sale'
  | 'dapi.initiate-transfer'
  | 'dapi.initiate-verification'
  | 'dapi.check-sale'
  | 'dapi.check-transfer'
  | 'dapi.check-verification'
  | 'dapi.notification'
  | 'classic.callback'
  | 'classic.sale';

export type SignField =
  | 'accessToken'
  | 'serialNumber'
  | 'endpointId'
  | 'nonce'
  | 'invoiceId'
  | 'amountCentis'
  | 'currency'
  | 'serverCardId'
  | 'destinationServerCardId'
  | 'status'
  | 'orderid'
  | 'client_orderid'
  | 'email'
  | 'amountMinor';

/** Signing inputs: the control key and the operation's fields, strings or integers. Unknown names are an error. */
export type Fields = { controlKey?: string } & { [K in SignField]?: string | number | null };

/** A JSON object of fields as an object, JSON text or bytes. */
export type FieldsInput = Fields | string | Uint8Array | ArrayBufferView | ArrayBuffer;

/** Thrown when the core answers {"error": ...}; message is the core's message. */
export class KassaError extends Error {
  name: 'KassaError';
}

/** Thrown by the shim's proc_exit (a fatal error inside the module). */
export class WASIExit extends Error {
  name: 'WASIExit';
  code: number;
}

/** One instance of the core. Calls are synchronous and run one at a time. */
export interface Kassa {
  /** The core version, e.g. "0.3.0". */
  readonly version: string;
  /** The compiled module; pass it to load() for more instances. */
  readonly module: WebAssembly.Module;
  /** Which WASI host runs this instance. */
  readonly wasi: 'node' | 'shim';
  /** Endpoints and signing operations. */
  endpoints(): Endpoints;
  /**
   * Validates a body as the endpoint. Give the exact bytes received (or the
   * text): duplicate-key and UTF-8 checks depend on them, so never
   * JSON.parse + JSON.stringify first. Throws KassaError for an unknown endpoint.
   */
  validate(endpoint: string, body: Body | null | undefined): ValidationResult;
  /** Validates a raw query string (a leading '?' is ignored) or URLSearchParams. */
  validateQuery(endpoint: string, query: Body | URLSearchParams | null | undefined): ValidationResult;
  /** Upper-case hex (DAPI) or lower-case hex (classic). Throws KassaError with the core's message. */
  sign(operation: Operation | string, fields: FieldsInput): string;
  /** The string to sign. Classic strings end with the control key: do not log them. */
  stringToSign(operation: Operation | string, fields: FieldsInput): string;
  /** Signature and string to sign from one call. */
  explain(operation: Operation | string, fields: FieldsInput): { signature: string; stringToSign: string };
  /** The core's results as exact JSON text (no parsing, errors not thrown). */
  readonly raw: {
    endpoints(): string;
    validate(endpoint: string, body: Body | null | undefined): string;
    validateQuery(endpoint: string, query: Body | null | undefined): string;
    sign(operation: string, fields: FieldsInput): string;
    stringToSign(operation: string, fields: FieldsInput): string;
  };
}

/** The kassa.wasm shipped in this package (a URL next to index.js). */
export const defaultSource: URL;

/**
 * The kassa_host imports this package gives the module: the optional host
 * primitives (strict JSON check, HMAC-SHA1), answered "not provided" so the
 * core runs its own code. See wasm/README.md, "Imports".
 */
export const hostPrimitives: Readonly<{
  check_json(ptr: number, len: number, maxDepth: number, tape: number, tapeCap: number): number;
  hmac_sha1(keyPtr: number, keyLen: number, msgPtr: number, msgLen: number, outPtr: number): number;
}>;

/** Compiles kassa.wasm (streaming when served as application/wasm). */
export function compile(source?: Source): Promise<WebAssembly.Module>;

/** Loads kassa.wasm (default: the packaged file) and returns one initialized instance. */
export function load(source?: Source, options?: LoadOptions): Promise<Kassa>;
