// A minimal WASI preview1 host for kassa.wasm in browsers and Web Workers.
//
// Go's wasip1 runtime imports the functions below (WebAssembly.Module.imports
// of kassa.wasm lists exactly these). The core does no I/O: the runtime only
// seeds its map hash (random_get), reads clocks for the scheduler and the GC
// (clock_time_get), looks for pre-opened directories at start
// (fd_prestat_get, answered EBADF = "no more"), and would write a panic
// message to stderr (fd_write). The environment and the argument list are
// empty. Nothing else is reachable, so every other call reports an error
// instead of pretending to succeed.
//
// No DOM: this runs unchanged in a window, a Web Worker or Node.

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME_ID = 2;
const CLOCK_THREAD_CPUTIME_ID = 3;

const FILETYPE_CHARACTER_DEVICE = 2;
const EVENTTYPE_CLOCK = 0;

/** Thrown by proc_exit: the guest asked to stop (Go does so only on a fatal error). */
export class WASIExit extends Error {
  constructor(code) {
    super(`kassa.wasm exited with code ${code}`);
    this.name = 'WASIExit';
    this.code = code;
  }
}

const now = () => (globalThis.performance?.now ? globalThis.performance.now() : Date.now());
const timeOrigin = () => (globalThis.performance?.timeOrigin ?? Date.now() - now());

/**
 * Creates the import object and a `bind(instance)` to call once the instance
 * exists (the functions need its memory).
 *
 * @param {{ onOutput?: (fd: number, text: string) => void, trace?: (name: string) => void }} [opts]
 *   onOutput receives whole lines written to stdout (1) and stderr (2);
 *   default: console.log / console.error. trace is called with the name of
 *   every import the guest calls (used by the tests).
 */
export function createWASI(opts = {}) {
  let memory = null;
  const decoder = new TextDecoder();
  const pending = { 1: '', 2: '' };
  const out = opts.onOutput ?? ((fd, text) => (fd === 2 ? console.error : console.log)(text));
  const trace = opts.trace;

  const view = () => new DataView(memory.buffer);
  const bytes = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);

  function flushLines(fd) {
    let i;
    while ((i = pending[fd].indexOf('\n')) >= 0) {
      out(fd, pending[fd].slice(0, i));
      pending[fd] = pending[fd].slice(i + 1);
    }
  }

  const fns = {
    args_sizes_get(argcPtr, bufSizePtr) {
      const v = view();
      v.setUint32(argcPtr, 0, true);
      v.setUint32(bufSizePtr, 0, true);
      return ESUCCESS;
    },
    args_get() {
      return ESUCCESS;
    },
    environ_sizes_get(countPtr, bufSizePtr) {
      const v = view();
      v.setUint32(countPtr, 0, true);
      v.setUint32(bufSizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get() {
      return ESUCCESS;
    },
    clock_time_get(id, _precision, timePtr) {
      let ms;
      switch (id) {
        case CLOCK_REALTIME:
          ms = timeOrigin() + now();
          break;
        case CLOCK_MONOTONIC:
        case CLOCK_PROCESS_CPUTIME_ID:
        case CLOCK_THREAD_CPUTIME_ID:
          ms = now();
          break;
        default:
          return EINVAL;
      }
      // Milliseconds (a double, microsecond-ish resolution) to nanoseconds.
      const ns = BigInt(Math.floor(ms)) * 1000000n + BigInt(Math.round((ms % 1) * 1e6));
      view().setBigUint64(timePtr, ns, true);
      return ESUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + i * 8, true);
        const len = v.getUint32(iovs + i * 8 + 4, true);
        pending[fd] += decoder.decode(bytes(ptr, len), { stream: true });
        n += len;
      }
      flushLines(fd);
      v.setUint32(nwrittenPtr, n, true);
      return ESUCCESS;
    },
    random_get(ptr, len) {
      // getRandomValues fills at most 65,536 bytes per call.
      for (let off = 0; off < len; off += 65536) {
        globalThis.crypto.getRandomValues(bytes(ptr + off, Math.min(65536, len - off)));
      }
      return ESUCCESS;
    },
    poll_oneoff(inPtr, outPtr, nsubs, neventsPtr) {
      // Go only waits on clocks here (a sleeping goroutine). A call into the
      // core never sleeps, and JS cannot block, so every subscription fires
      // at once: clocks as elapsed, fd waits with ENOSYS.
      const v = view();
      for (let i = 0; i < nsubs; i++) {
        const sub = inPtr + i * 48;
        const ev = outPtr + i * 32;
        const tag = v.getUint8(sub + 8);
        v.setBigUint64(ev, v.getBigUint64(sub, true), true); // userdata
        v.setUint16(ev + 8, tag === EVENTTYPE_CLOCK ? ESUCCESS : ENOSYS, true);
        v.setUint8(ev + 10, tag);
        v.setBigUint64(ev + 16, 0n, true);
        v.setUint16(ev + 24, 0, true);
      }
      v.setUint32(neventsPtr, nsubs, true);
      return ESUCCESS;
    },
    proc_exit(code) {
      throw new WASIExit(code);
    },
    sched_yield() {
      return ESUCCESS;
    },
    fd_close(fd) {
      return fd <= 2 ? ESUCCESS : EBADF;
    },
    fd_fdstat_get(fd, ptr) {
      if (fd > 2) return EBADF;
      const v = view();
      v.setUint8(ptr, FILETYPE_CHARACTER_DEVICE);
      v.setUint16(ptr + 2, 0, true);
      v.setBigUint64(ptr + 8, fd === 0 ? 0x2n : 0x40n, true); // fd_read or fd_write
      v.setBigUint64(ptr + 16, 0n, true);
      return ESUCCESS;
    },
    fd_fdstat_set_flags(fd) {
      return fd <= 2 ? ESUCCESS : EBADF;
    },
    fd_prestat_get() {
      return EBADF; // no pre-opened directories
    },
    fd_prestat_dir_name() {
      return EBADF;
    },
  };

  // Anything a future Go version adds and the shim does not know: ENOSYS.
  const handler = {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      const fn = target[name] ?? (() => ENOSYS);
      if (!trace) return fn;
      return (...args) => {
        trace(name);
        return fn(...args);
      };
    },
  };

  return {
    /** The object to pass to WebAssembly.instantiate. */
    imports: { wasi_snapshot_preview1: new Proxy(fns, handler) },
    /** Call once with the new instance, before _initialize. */
    bind(instance) {
      memory = instance.exports.memory;
    },
    /** Runs the reactor's _initialize. */
    initialize(instance) {
      memory = instance.exports.memory;
      instance.exports._initialize?.();
    },
  };
}
