package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/validate"
	kwasm "github.com/kassa-edge/kassa/wasm"
)

// WasmConfig configures NewWasm. The zero value runs the embedded module
// with the defaults below.
type WasmConfig struct {
	// Module is the WebAssembly core; nil means the embedded
	// wasm/kassa.wasm (package wasm's Module).
	Module []byte
	// CacheDir, if set, keeps wazero's compiled code on disk there
	// (wazero.NewCompilationCacheWithDir), turning the seconds-long
	// compilation at start-up into a fraction of a second (wazero keeps
	// a subdirectory per wazero version and platform).
	CacheDir string
	// MaxInstances bounds the instances, hence the concurrent calls; a
	// call waits (until its context is done) when all are busy. Default
	// 2*GOMAXPROCS.
	MaxInstances int
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB
	// pages. Default 1024 (64 MiB). A call that needs more fails and its
	// instance is discarded; an instance that has grown past 3/4 of it
	// is replaced after its call.
	MemoryLimitPages uint32
	// PureGuest runs the module without the host primitives
	// (kassa_host.check_json and hmac_sha1, plugin/engine/host.go): the
	// guest computes everything itself, as in a browser. For tests and
	// benchmarks; a module other than the embedded one always runs so,
	// because only the embedded module is known to have this host's rules
	// (and the embedded one too if its kassa_version is not core.Version).
	PureGuest bool
	// Observe, if set, is called after every Validate, ValidateQuery,
	// Sign, SignValues, StringToSign and Raw call with the function's
	// name (see Func.String; SignValues reports "sign") and the time from
	// asking for an instance to the decoded answer, waiting included. It
	// must be fast and safe for concurrent use.
	Observe func(fn string, d time.Duration)
}

// DefaultMemoryLimitPages is the default WasmConfig.MemoryLimitPages.
const DefaultMemoryLimitPages = 1024

// withDefaults fills the zero fields.
func (c WasmConfig) withDefaults() WasmConfig {
	if c.Module == nil {
		c.Module = kwasm.Module
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = 2 * runtime.GOMAXPROCS(0)
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	return c
}

// Key identifies the compiled module c needs: the SHA-256 of the module,
// the cache directory, the memory limit (wazero applies the limit when it
// compiles) and whether the host primitives answer (they belong to the
// runtime). Configurations with equal keys share one Compiled.
func (c WasmConfig) Key() string {
	c = c.withDefaults()
	sum := sha256.Sum256(c.Module)
	return hex.EncodeToString(sum[:]) + "|" + c.CacheDir + "|" + strconv.FormatUint(uint64(c.MemoryLimitPages), 10) +
		"|" + strconv.FormatBool(c.hostPrimitives())
}

// hostPrimitives reports whether instances get the host primitives.
func (c WasmConfig) hostPrimitives() bool {
	return !c.PureGuest && (c.Module == nil || bytes.Equal(c.Module, kwasm.Module))
}

// compiledPool holds the process's compiled modules, reference-counted, so
// that a Caddy config reload reuses the runtime and the compiled code of
// the configuration it replaces.
var compiledPool = caddy.NewUsagePool()

var compileCount atomic.Int64

// CompileCount returns how many times this process compiled a module
// (wazero's CompileModule; a hit in the disk cache counts but is fast).
// Reloads that reuse a Compiled do not add to it.
func CompileCount() int64 { return compileCount.Load() }

// compiled is the shared value in compiledPool.
type compiled struct {
	host    atomic.Bool // the host primitives answer
	indexed bool        // the module exports kassa_validate_indexed (0.3.0 on)
	rt      wazero.Runtime
	mod     wazero.CompiledModule
	cache   wazero.CompilationCache // nil without CacheDir
	took    time.Duration
}

// Destruct closes the runtime (and every module still in it) and the
// cache; compiledPool calls it when the last reference goes.
func (c *compiled) Destruct() error {
	ctx := context.Background()
	err := c.rt.Close(ctx)
	if c.cache != nil {
		err = errors.Join(err, c.cache.Close(ctx))
	}
	return err
}

// Compiled is one reference to a runtime holding the compiled core and
// the WASI host module: the expensive part of a wasm engine (about two
// seconds to compile without a cache). References to the same key share
// it; the last Release closes it.
type Compiled struct {
	key      string
	c        *compiled
	released atomic.Bool
}

// AcquireCompiled returns a reference to the compiled module for key,
// compiling cfg's module only if no reference to key is held. key is
// normally cfg.Key() (what NewWasm uses); "" means that. The caller must
// Release the reference.
func AcquireCompiled(ctx context.Context, key string, cfg WasmConfig) (*Compiled, error) {
	cfg = cfg.withDefaults()
	if key == "" {
		key = cfg.Key()
	}
	v, _, err := compiledPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return compile(ctx, cfg)
	})
	if err != nil {
		return nil, err
	}
	return &Compiled{key: key, c: v.(*compiled)}, nil
}

func compile(ctx context.Context, cfg WasmConfig) (*compiled, error) {
	// The runtime outlives this call: do not tie it to ctx.
	ctx = context.WithoutCancel(ctx)
	start := time.Now()
	rc := wazero.NewRuntimeConfig().WithMemoryLimitPages(cfg.MemoryLimitPages)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("engine: wasm compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	c := &compiled{rt: wazero.NewRuntimeWithConfig(ctx, rc), cache: cache}
	fail := func(err error) (*compiled, error) {
		c.Destruct()
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, c.rt); err != nil {
		return fail(fmt.Errorf("engine: wasi: %w", err))
	}
	c.host.Store(cfg.hostPrimitives())
	if err := instantiateHost(ctx, c.rt, &c.host); err != nil {
		return fail(fmt.Errorf("engine: host module: %w", err))
	}
	mod, err := c.rt.CompileModule(ctx, cfg.Module)
	if err != nil {
		return fail(fmt.Errorf("engine: compile wasm core: %w", err))
	}
	compileCount.Add(1)
	c.mod = mod
	for _, name := range exportNames {
		if _, ok := mod.ExportedFunctions()[name]; !ok {
			return fail(fmt.Errorf("engine: wasm core does not export %s", name))
		}
	}
	_, c.indexed = mod.ExportedFunctions()["kassa_validate_indexed"]
	c.took = time.Since(start)
	return c, nil
}

// CompileTime is how long compiling took (including reading the disk
// cache), for logs.
func (c *Compiled) CompileTime() time.Duration { return c.c.took }

// Release drops this reference; the last one closes the runtime. Release
// is idempotent. Do not release a Compiled an engine still uses: NewWasm
// takes its own reference.
func (c *Compiled) Release(context.Context) error {
	if c.released.Swap(true) {
		return nil
	}
	_, err := compiledPool.Delete(c.key)
	return err
}

// Indexes of the other exports in exportNames and instance.fns, after the
// Funcs.
const (
	exportAlloc = int(numFuncs) + iota
	exportFree
	exportVersion
	exportEndpoints
	numExports
)

// exportNames are the exports an instance uses, by Func, then as above.
var exportNames = [numExports]string{
	FuncValidate:      "kassa_validate",
	FuncValidateQuery: "kassa_validate_query",
	FuncSign:          "kassa_sign",
	FuncStringToSign:  "kassa_string_to_sign",
	FuncSignBinary:    "kassa_sign_binary",
	exportAlloc:       "kassa_alloc",
	exportFree:        "kassa_free",
	exportVersion:     "kassa_version",
	exportEndpoints:   "kassa_endpoints",
}

var _ Engine = (*Wasm)(nil)

// Wasm is an Engine running the core in wazero: a bounded pool of
// initialized instances of a shared Compiled.
type Wasm struct {
	comp    *Compiled
	modCfg  wazero.ModuleConfig
	observe func(string, time.Duration)

	// A call holds one of MaxInstances tokens while it runs, which is what
	// bounds the instances, and takes the most recently used idle
	// instance (a stack: its memory is still in the CPU's caches, where a
	// queue would cycle through every instance), or creates one when
	// none is idle. So instances are only created under concurrency.
	tokens chan struct{}
	stack  []*instance   // idle instances, guarded by mu
	done   chan struct{} // closed by Close

	mu     sync.Mutex // guards stack; orders putting instances back against Close
	closed atomic.Bool

	total, nIdle atomic.Int32
	retired      atomic.Int64
	release      sync.Once

	// retireBytes is the memory size past which an instance is replaced
	// after its call (3/4 of the limit).
	retireBytes uint64

	version   string
	endpoints []byte

	track func(*instance) // tests: sees every new instance
}

// NewWasm returns a wasm engine. It acquires the Compiled for cfg (and so
// compiles only if no other engine holds it) and starts one instance to
// check the module and read its version; more start on demand.
func NewWasm(ctx context.Context, cfg WasmConfig) (*Wasm, error) {
	cfg = cfg.withDefaults()
	comp, err := AcquireCompiled(ctx, cfg.Key(), cfg)
	if err != nil {
		return nil, err
	}
	return newWasm(ctx, comp, cfg, nil)
}

// newWasm builds the engine on a reference it takes over.
func newWasm(ctx context.Context, comp *Compiled, cfg WasmConfig, track func(*instance)) (*Wasm, error) {
	w := &Wasm{
		comp:    comp,
		observe: cfg.Observe,
		// No arguments, no environment, no files; stdout and stderr are
		// discarded (wazero's defaults). Randomness (Go's map seeds) from
		// the OS rather than wazero's deterministic default. Real clocks:
		// with wazero's fake ones, which advance 1 ms per reading, the
		// guest's garbage collector stops collecting after about a hundred
		// cycles (its CPU limiter believes it is using all the time) and
		// the instance grows to the memory limit and traps. An empty name
		// lets instances coexist in one runtime.
		modCfg: wazero.NewModuleConfig().
			WithName("").
			WithStartFunctions("_initialize").
			WithRandSource(rand.Reader).
			WithSysNanotime().
			WithSysWalltime(),
		retireBytes: uint64(cfg.MemoryLimitPages) * 65536 / 4 * 3,
		tokens:      make(chan struct{}, cfg.MaxInstances),
		done:        make(chan struct{}),
		track:       track,
	}
	for range cfg.MaxInstances {
		w.tokens <- struct{}{}
	}
	in, err := w.take(ctx)
	if err != nil {
		w.Close(ctx)
		return nil, err
	}
	version, err1 := in.info(ctx, exportVersion)
	endpoints, err2 := in.info(ctx, exportEndpoints)
	if err := errors.Join(err1, err2); err != nil {
		w.discard(in)
		w.Close(ctx)
		return nil, err
	}
	w.version, w.endpoints = string(version), endpoints
	if w.version != core.Version {
		// Not this host's rules after all (a kassa.wasm left behind by a
		// change to the core): the guest computes everything itself.
		w.comp.c.host.Store(false)
	}
	w.put(in)
	return w, nil
}

// Name returns "wasm".
func (w *Wasm) Name() string { return "wasm" }

// Version returns the module's core version (kassa_version).
func (w *Wasm) Version() string { return w.version }

// Endpoints returns a copy of the module's kassa_endpoints answer.
func (w *Wasm) Endpoints() []byte { return append([]byte(nil), w.endpoints...) }

// Stats returns the idle instances and all live ones (idle and busy), for
// metrics. total never exceeds MaxInstances.
func (w *Wasm) Stats() (idle, total int) {
	return int(w.nIdle.Load()), int(w.total.Load())
}

// Close refuses new calls, closes the idle instances now and the busy ones
// as their calls return; the last one closed releases the Compiled.
func (w *Wasm) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		return nil
	}
	w.closed.Store(true)
	close(w.done)
	var err error
	for _, in := range w.stack {
		w.nIdle.Add(-1)
		err = errors.Join(err, w.closeInstance(ctx, in))
	}
	w.stack = nil
	w.mu.Unlock()
	return errors.Join(err, w.maybeRelease(ctx))
}

// maybeRelease releases the Compiled once the engine is closed and its
// last instance is gone.
func (w *Wasm) maybeRelease(ctx context.Context) (err error) {
	if w.closed.Load() && w.total.Load() == 0 {
		w.release.Do(func() { err = w.comp.Release(ctx) })
	}
	return err
}

// take waits for a token, then returns the most recently used idle
// instance or creates one.
func (w *Wasm) take(ctx context.Context) (*instance, error) {
	select {
	case <-w.tokens:
	default:
		select {
		case <-w.tokens:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-w.done:
			return nil, ErrClosed
		}
	}
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		w.tokens <- struct{}{}
		return nil, ErrClosed
	}
	if n := len(w.stack); n > 0 {
		in := w.stack[n-1]
		w.stack[n-1] = nil
		w.stack = w.stack[:n-1]
		w.nIdle.Add(-1)
		w.mu.Unlock()
		return in, nil
	}
	// Count the instance before creating it, under mu, so that Close does
	// not release the runtime under its feet.
	w.total.Add(1)
	w.mu.Unlock()
	in, err := newInstance(ctx, w.comp.c, w.modCfg)
	if err != nil {
		w.total.Add(-1)
		w.put(nil)
		return nil, err
	}
	if w.track != nil {
		w.track(in)
	}
	return in, nil
}

// put gives a token back with in, after a successful call, or with nil,
// after in was discarded. On a closed engine it closes in instead.
func (w *Wasm) put(in *instance) {
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		if in != nil {
			w.closeInstance(context.Background(), in)
		}
		w.tokens <- struct{}{} // never blocks: there is room for every token
		w.maybeRelease(context.Background())
		return
	}
	if in != nil {
		w.stack = append(w.stack, in)
		w.nIdle.Add(1)
	}
	w.mu.Unlock()
	w.tokens <- struct{}{}
}

// finish ends a successful call: in goes back to the pool, unless its
// memory has grown past the retirement mark. Linear memory never shrinks,
// and the guest's collector can fall behind under heavy allocation (all
// its work is done by assists inside calls, and Go's GC CPU limiter then
// pauses them): an instance that grew is replaced by a fresh one before a
// call has to trap on the limit.
func (w *Wasm) finish(in *instance) {
	if uint64(in.mem.Size()) > w.retireBytes {
		w.retired.Add(1)
		w.discard(in)
		return
	}
	w.put(in)
}

// discard closes an instance that failed (a trap, the memory limit) and
// gives back its token, so that a fresh instance replaces it on demand.
func (w *Wasm) discard(in *instance) {
	w.closeInstance(context.Background(), in)
	w.put(nil)
}

func (w *Wasm) closeInstance(ctx context.Context, in *instance) error {
	w.total.Add(-1)
	return in.mod.Close(ctx)
}

// do runs fn on an instance. On success the instance is still taken and
// out aliases its memory: decode, then put it back.
func (w *Wasm) do(ctx context.Context, fn Func, a string, b []byte) (*instance, []byte, error) {
	if err := w.admit(ctx, fn, len(a)+len(b)); err != nil {
		return nil, nil, err
	}
	in, err := w.take(ctx)
	if err != nil {
		return nil, nil, err
	}
	out, err := in.call(ctx, fn, a, b)
	if err != nil {
		w.discard(in)
		return nil, nil, err
	}
	return in, out, nil
}

func (w *Wasm) observed(fn Func, start time.Time) {
	w.observe(fn.String(), time.Since(start))
}

// admit makes the checks every call makes before it takes an instance:
// checkInput's, for fn and an input of n bytes, and the engine's state.
func (w *Wasm) admit(ctx context.Context, fn Func, n int) error {
	if err := checkInput(ctx, fn, n); err != nil {
		return err
	}
	if w.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Raw returns a copy of the core's answer.
func (w *Wasm) Raw(ctx context.Context, fn Func, a string, b []byte) ([]byte, error) {
	if w.observe != nil {
		defer w.observed(fn, time.Now())
	}
	in, out, err := w.do(ctx, fn, a, b)
	if err != nil {
		return nil, err
	}
	out = append([]byte(nil), out...)
	w.finish(in)
	return out, nil
}

// Validate validates body as the endpoint.
func (w *Wasm) Validate(ctx context.Context, endpoint string, body []byte) (validate.Result, error) {
	if w.observe != nil {
		defer w.observed(FuncValidate, time.Now())
	}
	if w.comp.c.indexed && len(body) > 0 && w.comp.c.host.Load() {
		if r, err, ok := w.checkIndexed(ctx, endpoint, body); ok {
			return r, err
		}
	}
	return w.validate(ctx, endpoint, body)
}

// ValidateIndexed validates body over the caller's index of it, in one
// call into the guest (kassa_validate_indexed), as Validate does over the
// index it builds itself; without host primitives (a module built for a
// browser's rules only, or switched off), as Validate.
func (w *Wasm) ValidateIndexed(ctx context.Context, endpoint string, body []byte, tape []jsonscan.Entry) (validate.Result, error) {
	if len(tape) == 0 || len(body) == 0 {
		return w.Validate(ctx, endpoint, body) // which indexes the body itself
	}
	if w.observe != nil {
		defer w.observed(FuncValidate, time.Now())
	}
	if len(tape) > guestTape || !w.comp.c.indexed || !w.comp.c.host.Load() {
		// What Validate would do: an index larger than the guest's
		// buffer, or a guest without the host's check.
		return w.validate(ctx, endpoint, body)
	}
	if err := w.admit(ctx, FuncValidate, len(endpoint)+len(body)); err != nil {
		return validate.Result{}, err
	}
	if zeroGuestBuild { // an experiment build only (zeroguest.go)
		return zeroGuestDo(w, ctx, func() (validate.Result, error) {
			return zeroGuest.ValidateIndexed(ctx, endpoint, body, tape)
		})
	}
	return w.validateIndexed(ctx, endpoint, body, tape)
}

// validate validates body with kassa_validate: the guest checks it, asking
// the host's check_json when the host provides it.
func (w *Wasm) validate(ctx context.Context, endpoint string, body []byte) (validate.Result, error) {
	in, out, err := w.do(ctx, FuncValidate, endpoint, body)
	if err != nil {
		return validate.Result{}, err
	}
	r, err := decodeResult(out)
	w.finish(in)
	return r, err
}

// checkIndexed checks and indexes body natively, exactly as the host's
// check_json does for the guest, then has the guest validate it over that
// index (kassa_validate_indexed): one call into the guest and none back
// out of it. ok is false when the body is not strict JSON or its index
// does not fit: the caller then calls kassa_validate, and the guest checks
// the body itself, for the violation's details (asking the host again: an
// invalid body costs a second native check, a few hundred nanoseconds, on
// a path that then builds a report).
func (w *Wasm) checkIndexed(ctx context.Context, endpoint string, body []byte) (r validate.Result, err error, ok bool) {
	if err := w.admit(ctx, FuncValidate, len(endpoint)+len(body)); err != nil {
		return r, err, true
	}
	h := scanners.Get().(*hostScan)
	defer scanners.Put(h)
	hostCalls.Add(1) // the host's check, before the guest rather than from it
	// The guest's own check would use jsonscan.DefaultMaxDepth.
	valid, tape := h.check(body, jsonscan.DefaultMaxDepth, guestTape)
	if !valid || len(tape) == 0 {
		return r, nil, false
	}
	r, err = w.validateIndexed(ctx, endpoint, body, tape)
	return r, err, true
}

// validateIndexed has an instance validate body over its index (admitted).
func (w *Wasm) validateIndexed(ctx context.Context, endpoint string, body []byte, tape []jsonscan.Entry) (validate.Result, error) {
	in, err := w.take(ctx)
	if err != nil {
		return validate.Result{}, err
	}
	out, err := in.validateIndexed(ctx, endpoint, body, tape)
	if err != nil {
		w.discard(in)
		return validate.Result{}, err
	}
	r, err := decodeResult(out)
	w.finish(in)
	return r, err
}

// ValidateQuery validates a raw query string as the endpoint's query.
func (w *Wasm) ValidateQuery(ctx context.Context, endpoint, rawQuery string) (validate.Result, error) {
	if w.observe != nil {
		defer w.observed(FuncValidateQuery, time.Now())
	}
	in, out, err := w.do(ctx, FuncValidateQuery, endpoint, stringBytes(rawQuery))
	if err != nil {
		return validate.Result{}, err
	}
	r, err := decodeResult(out)
	w.finish(in)
	return r, err
}

// Sign signs fields with the operation.
func (w *Wasm) Sign(ctx context.Context, op string, fields []byte) (Signature, error) {
	if w.observe != nil {
		defer w.observed(FuncSign, time.Now())
	}
	in, out, err := w.do(ctx, FuncSign, op, fields)
	if err != nil {
		return Signature{}, err
	}
	s, err := decodeSignature(out)
	w.finish(in)
	return s, err
}

// SignValues signs v with the operation: v goes to the guest in sign's
// binary form (kassa_sign_binary), which it reads without parsing JSON.
func (w *Wasm) SignValues(ctx context.Context, op, controlKey string, v *sign.Values) (Signature, error) {
	if w.observe != nil {
		defer w.observed(FuncSign, time.Now()) // a signature, whatever the fields' form
	}
	n := sign.BinarySize(controlKey, v)
	if err := w.admit(ctx, FuncSignBinary, len(op)+n); err != nil {
		return Signature{}, err
	}
	if zeroGuestBuild { // an experiment build only (zeroguest.go)
		return zeroGuestDo(w, ctx, func() (Signature, error) {
			return zeroGuest.SignValues(ctx, op, controlKey, v)
		})
	}
	in, err := w.take(ctx)
	if err != nil {
		return Signature{}, err
	}
	// The values are encoded straight into the instance's input buffer.
	dst, err := in.input(ctx, uint32(len(op)+n))
	if err == nil {
		copy(dst, op)
		if b := sign.AppendBinary(dst[len(op):len(op)], controlKey, v); len(b) != n || &b[0] != &dst[len(op)] {
			err = errors.New("engine: binary fields not encoded in place") // BinarySize and AppendBinary disagree
		} else {
			dst, err = in.invoke(ctx, FuncSignBinary, uint32(len(op)), uint32(n))
		}
	}
	if err != nil {
		w.discard(in)
		return Signature{}, err
	}
	s, err := decodeSignatureOnly(dst)
	w.finish(in)
	return s, err
}

// StringToSign returns the operation's string to sign.
func (w *Wasm) StringToSign(ctx context.Context, op string, fields []byte) (string, error) {
	if w.observe != nil {
		defer w.observed(FuncStringToSign, time.Now())
	}
	in, out, err := w.do(ctx, FuncStringToSign, op, fields)
	if err != nil {
		return "", err
	}
	s, err := decodeStringToSign(out)
	w.finish(in)
	return s, err
}

// instance is one initialized module with its input buffer. It serves one
// call at a time.
type instance struct {
	mod   api.Module
	mem   api.Memory
	fns   [numExports]api.Function
	stack []uint64 // reused by every call: no allocation per call
	buf   uint32   // guest buffer from kassa_alloc holding both inputs
	cap   uint32
	// indexed is kassa_validate_indexed (nil if the module has none).
	indexed api.Function
}

// guestTape is the number of index entries the host writes into a guest
// at most (as many as the guest's own index buffer holds); bodies with
// more values are validated by kassa_validate.
const guestTape = 2048

// validateIndexed copies the endpoint, the body and its index into the
// instance and calls kassa_validate_indexed.
func (in *instance) validateIndexed(ctx context.Context, endpoint string, body []byte, tape []jsonscan.Entry) ([]byte, error) {
	if in.indexed == nil {
		return nil, errors.New("engine: wasm core without kassa_validate_indexed")
	}
	// All three in the one input buffer (the guest finds them there
	// first): the endpoint, the body, then the index, 8-byte aligned (the
	// buffer's start is).
	at := (len(endpoint) + len(body) + 7) &^ 7
	if len(tape) > guestTape {
		return nil, errors.New("engine: wasm index too large")
	}
	dst, err := in.input(ctx, uint32(at+len(tape)*jsonscan.EntrySize))
	if err != nil {
		return nil, err
	}
	if in.buf%8 != 0 { // Go's allocator aligns buffers of this size to pages
		return nil, errors.New("engine: wasm input buffer misaligned")
	}
	copy(dst, endpoint)
	copy(dst[len(endpoint):], body)
	putTape(dst[at:], tape)
	s := in.stack
	s[0], s[1] = uint64(in.buf), uint64(len(endpoint))
	s[2], s[3] = uint64(in.buf)+uint64(len(endpoint)), uint64(len(body))
	s[4], s[5] = uint64(in.buf)+uint64(at), uint64(len(tape))
	if err := in.indexed.CallWithStack(ctx, s); err != nil {
		return nil, fmt.Errorf("engine: wasm kassa_validate_indexed: %w", err)
	}
	return in.result(s[0])
}

// initialBuffer is the size of an instance's first input buffer.
const initialBuffer = 64 << 10

func newInstance(ctx context.Context, c *compiled, cfg wazero.ModuleConfig) (*instance, error) {
	mod, err := c.rt.InstantiateModule(ctx, c.mod, cfg)
	if err != nil {
		return nil, fmt.Errorf("engine: instantiate wasm core: %w", err)
	}
	in := &instance{mod: mod, mem: mod.Memory(), stack: make([]uint64, 6),
		indexed: mod.ExportedFunction("kassa_validate_indexed")}
	for i, name := range exportNames {
		in.fns[i] = mod.ExportedFunction(name)
	}
	if in.mem == nil {
		mod.Close(ctx)
		return nil, errors.New("engine: wasm core has no memory")
	}
	if err := in.grow(ctx, initialBuffer); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return in, nil
}

// grow replaces the input buffer by one of at least n bytes.
func (in *instance) grow(ctx context.Context, n uint32) error {
	size := max(n, min(2*in.cap, MaxInputSize), initialBuffer)
	if in.buf != 0 {
		in.stack[0] = uint64(in.buf)
		if err := in.fns[exportFree].CallWithStack(ctx, in.stack); err != nil {
			return fmt.Errorf("engine: wasm kassa_free: %w", err)
		}
		in.buf, in.cap = 0, 0
	}
	in.stack[0] = uint64(size)
	if err := in.fns[exportAlloc].CallWithStack(ctx, in.stack); err != nil {
		return fmt.Errorf("engine: wasm kassa_alloc(%d): %w", size, err)
	}
	p := uint32(in.stack[0])
	if p == 0 {
		return fmt.Errorf("engine: wasm kassa_alloc(%d) returned 0", size)
	}
	in.buf, in.cap = p, size
	return nil
}

// call copies a and b into the input buffer, calls fn and returns its
// answer, a view of guest memory valid until the next call.
func (in *instance) call(ctx context.Context, fn Func, a string, b []byte) ([]byte, error) {
	dst, err := in.input(ctx, uint32(len(a)+len(b))) // checkInput bounded it
	if err != nil {
		return nil, err
	}
	copy(dst, a)
	copy(dst[len(a):], b)
	return in.invoke(ctx, fn, uint32(len(a)), uint32(len(b)))
}

// input returns the first n bytes of the input buffer, grown to hold them.
// Every call rewrites the same buffer: the core keeps nothing that aliases
// its input past a call (its Signer copies the control key it caches the
// HMAC state for; TestSignBufferReuse).
func (in *instance) input(ctx context.Context, n uint32) ([]byte, error) {
	if n > in.cap {
		if err := in.grow(ctx, n); err != nil {
			return nil, err
		}
	}
	dst, ok := in.mem.Read(in.buf, n)
	if !ok {
		return nil, errors.New("engine: wasm input buffer out of memory bounds")
	}
	return dst, nil
}

// invoke calls fn on the two inputs the buffer holds, of aLen and bLen
// bytes, and returns its answer (see call).
func (in *instance) invoke(ctx context.Context, fn Func, aLen, bLen uint32) ([]byte, error) {
	s := in.stack
	s[0], s[1] = uint64(in.buf), uint64(aLen)
	s[2], s[3] = uint64(in.buf)+uint64(aLen), uint64(bLen)
	if err := in.fns[fn].CallWithStack(ctx, s); err != nil {
		return nil, fmt.Errorf("engine: wasm %s: %w", exportNames[fn], err)
	}
	return in.result(s[0])
}

// result returns the bytes of a packed ptr<<32|len answer.
func (in *instance) result(packed uint64) ([]byte, error) {
	out, ok := in.mem.Read(uint32(packed>>32), uint32(packed))
	if !ok || len(out) == 0 {
		return nil, fmt.Errorf("engine: wasm answer %#x outside memory", packed)
	}
	return out, nil
}

// info calls a no-argument export (kassa_version, kassa_endpoints) and
// returns a copy of its answer.
func (in *instance) info(ctx context.Context, fn int) ([]byte, error) {
	if err := in.fns[fn].CallWithStack(ctx, in.stack); err != nil {
		return nil, fmt.Errorf("engine: wasm %s: %w", exportNames[fn], err)
	}
	out, err := in.result(in.stack[0])
	return append([]byte(nil), out...), err
}

// stringBytes returns the bytes of s without copying; they must not be
// modified (the engines only read their inputs).
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
