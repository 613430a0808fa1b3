package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

var checkSaleFields = []byte(`{"controlKey":"B17F59B4-A7DC-41B4-8FF9-37D986B43D20","serialNumber":"abcd","nonce":"5678xyz","endpointId":"1111","invoiceId":"someUuid"}`)

const checkSaleSig = "6AB5507CD443DCA47A906619E53CF855956D9D64" // vectors.json

// references returns how many references the pool holds for key.
func references(key string) int {
	n, _ := compiledPool.References(key)
	return n
}

// tracked starts a wasm engine on the shared compiled module that records
// every instance it creates.
func tracked(t *testing.T, cfg WasmConfig) (*Wasm, func() []*instance) {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.withDefaults()
	comp, err := AcquireCompiled(ctx, "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var all []*instance
	w, err := newWasm(ctx, comp, cfg, func(in *instance) {
		mu.Lock()
		all = append(all, in)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, func() []*instance {
		mu.Lock()
		defer mu.Unlock()
		return append([]*instance(nil), all...)
	}
}

func checkAllClosed(t *testing.T, w *Wasm, instances []*instance) {
	t.Helper()
	for i, in := range instances {
		if !in.mod.IsClosed() {
			t.Errorf("instance %d of %d not closed", i, len(instances))
		}
	}
	if idle, total := w.Stats(); idle != 0 || total != 0 {
		t.Errorf("after Close: Stats = %d idle, %d total", idle, total)
	}
}

// TestBadPointers calls the exports with memory that is not inside a
// kassa_alloc buffer: each must answer the documented error, not trap, and
// the instance must go on working.
func TestBadPointers(t *testing.T) {
	ctx := context.Background()
	w, err := NewWasm(ctx, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	in, err := w.take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.put(in)
	const want = `{"error":"invalid buffer: pass memory returned by kassa_alloc"}`
	buf, end := uint64(in.buf), uint64(in.buf)+uint64(in.cap)
	memEnd := uint64(in.mem.Size())
	// A freed buffer is no longer valid.
	in.stack[0] = 4096
	if err := in.fns[exportAlloc].CallWithStack(ctx, in.stack); err != nil {
		t.Fatal(err)
	}
	freed := in.stack[0]
	in.stack[0] = freed
	if err := in.fns[exportFree].CallWithStack(ctx, in.stack); err != nil {
		t.Fatal(err)
	}
	cases := [][4]uint64{
		{0, 5, buf, 2},                   // name at 0
		{buf, 21, 0, 10},                 // input at 0
		{8, 8, 16, 16},                   // the module's data
		{buf - 1, 2, buf, 1},             // starts before the buffer
		{end - 2, 10, buf, 1},            // runs past its end
		{buf, 1, memEnd - 4, 100},        // past linear memory
		{0xfffffff0, 0xff, buf, 1},       // far out
		{buf, 0xffffffff, buf, 1},        // huge length
		{buf, 4, 0xffffffff, 0xffffffff}, // wraps around
		{freed, 4, buf, 1},               // freed buffer
		{buf, 4, freed + 8, 16},
	}
	for fn := range numFuncs {
		for _, c := range cases {
			copy(in.stack, c[:])
			if err := in.fns[fn].CallWithStack(ctx, in.stack); err != nil {
				t.Fatalf("%s%v trapped: %v", exportNames[fn], c, err)
			}
			out, err := in.result(in.stack[0])
			if err != nil || string(out) != want {
				t.Errorf("%s%v = %s, %v; want %s", exportNames[fn], c, out, err, want)
			}
		}
	}
	// kassa_validate_indexed: the same bad regions for the name and the
	// body with a good index, then a good name and body with a bad index
	// (outside, misaligned, huge, in a freed buffer).
	ep := spec.Lookup("payneteasy.check-sale")
	dst, _ := in.mem.Read(uint32(buf), 512)
	copy(dst, ep.ID)
	copy(dst[len(ep.ID):], ep.Example)
	tapeAt := (uint64(len(ep.ID)+len(ep.Example)) + 7) &^ 7
	var tape [64]jsonscan.Entry
	n := uint64(jsonscan.Index(ep.Example, tape[:]))
	putTape(dst[tapeAt:], tape[:n])
	idx := [][6]uint64{
		{buf, uint64(len(ep.ID)), buf + uint64(len(ep.ID)), uint64(len(ep.Example)), buf + tapeAt + 4, n},   // misaligned
		{buf, uint64(len(ep.ID)), buf + uint64(len(ep.ID)), uint64(len(ep.Example)), memEnd - 8, n},         // past memory
		{buf, uint64(len(ep.ID)), buf + uint64(len(ep.ID)), uint64(len(ep.Example)), buf + tapeAt, 1 << 28}, // huge
		{buf, uint64(len(ep.ID)), buf + uint64(len(ep.ID)), uint64(len(ep.Example)), freed, n},              // freed
	}
	for _, c := range cases {
		idx = append(idx, [6]uint64{c[0], c[1], c[2], c[3], buf + tapeAt, n})
	}
	for _, c := range idx {
		copy(in.stack, c[:])
		if err := in.indexed.CallWithStack(ctx, in.stack); err != nil {
			t.Fatalf("kassa_validate_indexed%v trapped: %v", c, err)
		}
		if out, err := in.result(in.stack[0]); err != nil || string(out) != want {
			t.Errorf("kassa_validate_indexed%v = %s, %v; want %s", c, out, err, want)
		}
	}
	copy(in.stack, []uint64{buf, uint64(len(ep.ID)), buf + uint64(len(ep.ID)), uint64(len(ep.Example)), buf + tapeAt, n})
	if err := in.indexed.CallWithStack(ctx, in.stack); err != nil {
		t.Fatal(err)
	}
	if out, err := in.result(in.stack[0]); err != nil || !bytes.HasPrefix(out, prefixValid) {
		t.Errorf("kassa_validate_indexed, all good: %s, %v", out, err)
	}
	// kassa_free of junk and kassa_alloc(0) do not trap either.
	for _, p := range []uint64{0, 1, buf + 1, 0xffffffff, freed} {
		in.stack[0] = p
		if err := in.fns[exportFree].CallWithStack(ctx, in.stack); err != nil {
			t.Errorf("kassa_free(%#x) trapped: %v", p, err)
		}
	}
	in.stack[0] = 0
	if err := in.fns[exportAlloc].CallWithStack(ctx, in.stack); err != nil || uint32(in.stack[0]) != 0 {
		t.Errorf("kassa_alloc(0) = %#x, %v", in.stack[0], err)
	}
	out, err := in.call(ctx, FuncValidate, ep.ID, []byte(ep.Example))
	if err != nil || !bytes.HasPrefix(out, prefixValid) {
		t.Errorf("after bad calls: %s, %v", out, err)
	}
}

// TestSignBufferReuse: a caller that reuses its fields buffer for another
// merchant's key must get that key's signature (see the comments in call
// and native.do about the core's Signer).
func TestSignBufferReuse(t *testing.T) {
	ctx := context.Background()
	w, err := NewWasm(ctx, WasmConfig{CacheDir: cacheDir, MaxInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	for _, e := range []Engine{NewNative(), w} {
		buf := []byte(`{"controlKey":"0000","nonce":"n","endpointId":"1","invoiceId":"i"}`)
		first, err := e.Sign(ctx, "dapi.notification", buf)
		if err != nil {
			t.Fatal(err)
		}
		copy(buf, `{"controlKey":"1111"`)
		second, err := e.Sign(ctx, "dapi.notification", buf)
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := NewNative().Sign(ctx, "dapi.notification", bytes.Clone(buf))
		if second != fresh || second == first {
			t.Errorf("%s: after reusing the buffer: %s, want %s (first key: %s)", e.Name(), second.Value, fresh.Value, first.Value)
		}
		copy(buf, `{"controlKey":"zzzz"`)
		if _, err := e.Sign(ctx, "dapi.notification", buf); err == nil {
			t.Errorf("%s: bad key in a reused buffer was accepted", e.Name())
		}
		// Many calls with changing keys, as JSON fields and as values
		// (SignValues), all through the same guest input buffer, and one
		// input larger than that buffer.
		keys := []string{"0000", "1111", "abcd", "ABCD"}
		want := map[string]string{}
		for _, k := range keys {
			copy(buf, `{"controlKey":"`+k+`"`)
			want[k] = independentDAPI(k, "n1i")
		}
		var v sign.Values
		v[sign.Nonce], v[sign.EndpointID], v[sign.InvoiceID] = "n", "1", "i"
		for i := range 3000 {
			k := keys[(i*7/3)%len(keys)]
			copy(buf, `{"controlKey":"`+k+`"`)
			if s, err := e.Sign(ctx, "dapi.notification", buf); err != nil || s.Value != want[k] {
				t.Fatalf("%s: call %d, key %s: %v %v, want %s", e.Name(), i, k, s, err, want[k])
			}
			kv := string(append([]byte(nil), k...)) // a key the engine has not seen as a string before
			if s, err := e.SignValues(ctx, "dapi.notification", kv, &v); err != nil || s.Value != want[k] {
				t.Fatalf("%s: SignValues call %d, key %s: %v %v, want %s", e.Name(), i, k, s, err, want[k])
			}
		}
		big := []byte(`{"controlKey":"1111","nonce":"` + strings.Repeat("n", 100<<10) + `","endpointId":"1","invoiceId":"i"}`)
		if s, err := e.Sign(ctx, "dapi.notification", big); err != nil || s.Value != independentDAPI("1111", strings.Repeat("n", 100<<10)+"1i") {
			t.Errorf("%s: big fields: %.60v %v", e.Name(), s, err)
		}
	}
}

// independentDAPI computes a DAPI signature with the standard library.
func independentDAPI(key, msg string) string {
	k, err := hex.DecodeString(strings.ReplaceAll(key, "-", ""))
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha1.New, k)
	m.Write([]byte(msg))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// TestPool runs 32 goroutines on 4 instances.
func TestPool(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.MaxInstances = 4
	key := cfg.withDefaults().Key()
	refs0 := references(key)
	w, instances := tracked(t, cfg)
	if references(key) != refs0+1 {
		t.Fatalf("references %d, want %d", references(key), refs0+1)
	}
	ep := spec.Lookup("payneteasy.check-sale")
	bad := []byte(`{"consumer":{"device":{"serialNumber":""}},"session":{"accessToken":1}}`)
	wantBad, err := validate.Validate(ep.ID, bad)
	if err != nil || wantBad.Valid {
		t.Fatal(wantBad, err)
	}
	var over atomic.Bool
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // Stats never shows more than 4 instances
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if idle, total := w.Stats(); total > 4 || idle > total {
				over.Store(true)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	const goroutines, calls = 32, 60
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				switch (g + i) % 3 {
				case 0:
					r, err := w.Validate(ctx, ep.ID, []byte(ep.Example))
					if err != nil || !r.Valid {
						errs <- errors.Join(errors.New("valid body"), err)
						return
					}
				case 1:
					r, err := w.Validate(ctx, ep.ID, bad)
					if err != nil || !reflect.DeepEqual(r, wantBad) {
						errs <- errors.Join(errors.New("invalid body"), err)
						return
					}
				default:
					s, err := w.Sign(ctx, "dapi.check-sale", checkSaleFields)
					if err != nil || s.Value != checkSaleSig {
						errs <- errors.Join(errors.New("sign: "+s.Value), err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if over.Load() {
		t.Error("Stats showed more than MaxInstances instances")
	}
	idle, total := w.Stats()
	t.Logf("after %d calls: %d instances created, %d idle of %d", goroutines*calls, len(instances()), idle, total)
	if total < 1 || total > 4 || idle != total || len(instances()) > 4 {
		t.Errorf("Stats = %d idle, %d total; %d created", idle, total, len(instances()))
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checkAllClosed(t, w, instances())
	if references(key) != refs0 {
		t.Errorf("after Close: references %d, want %d", references(key), refs0)
	}
	if _, err := w.Validate(ctx, ep.ID, []byte(ep.Example)); !errors.Is(err, ErrClosed) {
		t.Errorf("Validate after Close: %v", err)
	}
	if _, err := w.Sign(ctx, "dapi.check-sale", checkSaleFields); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close: %v", err)
	}
	if _, err := w.Raw(ctx, FuncStringToSign, "dapi.check-sale", checkSaleFields); !errors.Is(err, ErrClosed) {
		t.Errorf("Raw after Close: %v", err)
	}
	n := NewNative()
	n.Close(ctx)
	if _, err := n.Validate(ctx, ep.ID, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("native Validate after Close: %v", err)
	}
}

// TestCloseInFlight closes an engine while calls run: they finish or get
// ErrClosed, and the busy instances are closed as they come back.
func TestCloseInFlight(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	key := cfg.withDefaults().Key()
	refs0 := references(key)
	w, instances := tracked(t, cfg)
	ep := spec.Lookup("payneteasy.check-sale")
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := w.Validate(ctx, ep.ID, []byte(ep.Example))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	for done.Load() < 500 {
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(ctx); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkAllClosed(t, w, instances())
	if references(key) != refs0 {
		t.Errorf("references %d, want %d", references(key), refs0)
	}
	t.Logf("%d calls, %d instances", done.Load(), len(instances()))
}

// TestWaitForInstance: with every instance busy, a call waits until its
// context is done.
func TestWaitForInstance(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.MaxInstances = 1
	w, err := NewWasm(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	in, err := w.take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := w.Sign(tctx, "dapi.check-sale", checkSaleFields); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Errorf("returned after %v without waiting", d)
	}
	w.put(in)
	if s, err := w.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil || s.Value != checkSaleSig {
		t.Errorf("after the instance came back: %v %v", s, err)
	}
	if _, total := w.Stats(); total != 1 {
		t.Errorf("total %d, want 1", total)
	}
}

// TestReload: engines of the same configuration share one compilation; it
// is compiled again only after every reference is gone. To save a cold
// compilation (30 s under -race) it runs on a copy of the package's disk
// cache, which TestMain filled with a cold compilation.
func TestReload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(cacheDir)); err != nil {
		t.Fatal(err)
	}
	cfg := WasmConfig{CacheDir: dir}
	key := cfg.Key()
	n0 := CompileCount()
	a1, err := AcquireCompiled(ctx, key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	warm1 := a1.CompileTime()
	a2, err := AcquireCompiled(ctx, key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if CompileCount() != n0+1 || a1.c != a2.c || references(key) != 2 {
		t.Fatalf("second acquire: %d compilations, shared %v, %d references", CompileCount()-n0, a1.c == a2.c, references(key))
	}
	// A config reload: the new engine starts while the old one runs.
	old, err := NewWasm(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := NewWasm(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	old.Close(ctx)
	if s, err := reloaded.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil || s.Value != checkSaleSig {
		t.Fatalf("reloaded engine: %v %v", s, err)
	}
	if CompileCount() != n0+1 {
		t.Fatalf("reload compiled again: %d compilations", CompileCount()-n0)
	}
	reloaded.Close(ctx)
	a1.Release(ctx)
	a1.Release(ctx) // idempotent
	if references(key) != 1 {
		t.Fatalf("references %d, want 1", references(key))
	}
	rt := a2.c.rt
	a2.Release(ctx)
	if references(key) != 0 {
		t.Fatalf("references %d after the last Release", references(key))
	}
	if _, err := rt.InstantiateModule(ctx, a2.c.mod, wazero.NewModuleConfig().WithName("")); err == nil {
		t.Error("the runtime is still open after the last Release")
	}
	a3, err := AcquireCompiled(ctx, key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a3.Release(ctx)
	if CompileCount() != n0+2 {
		t.Errorf("acquire after the last release: %d compilations, want 2", CompileCount()-n0)
	}
	warm2 := a3.CompileTime()
	t.Logf("compile without cache (TestMain): %v; from the disk cache: %v, after the last release: %v", firstTook, warm1, warm2)
	if warm1 > firstTook || warm2 > firstTook {
		t.Errorf("the disk cache did not help: %v, %v > %v", warm1, warm2, firstTook)
	}
}

// TestMemoryLimit: an instance that needs more memory than allowed fails
// its call and is discarded; the engine goes on with a fresh instance.
func TestMemoryLimit(t *testing.T) {
	ctx := context.Background()
	cfg := WasmConfig{CacheDir: cacheDir, MaxInstances: 2, MemoryLimitPages: 128} // 8 MiB; an instance starts at about 5
	start := time.Now()
	w, instances := tracked(t, cfg)
	defer w.Close(ctx)
	t.Logf("engine with its own memory limit ready in %v (compiled in %v)", time.Since(start), w.comp.CompileTime())
	ep := spec.Lookup("payneteasy.check-sale")
	if r, err := w.Validate(ctx, ep.ID, []byte(ep.Example)); err != nil || !r.Valid {
		t.Fatalf("small call: %v %v", r, err)
	}
	big := []byte(`{"consumer":{"device":{"serialNumber":"` + strings.Repeat("x", 4<<20-100) + `"}}}`)
	_, err := w.Validate(ctx, ep.ID, big)
	var ce *CoreError
	if err == nil || errors.As(err, &ce) || errors.Is(err, ErrInputTooLarge) {
		t.Fatalf("big call: %v, want an engine fault", err)
	}
	t.Logf("big call: %.200s", err)
	if !instances()[0].mod.IsClosed() {
		t.Error("the failed instance was not closed")
	}
	if _, total := w.Stats(); total != 0 {
		t.Errorf("total %d after discarding the only instance", total)
	}
	for range 3 {
		if s, err := w.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil || s.Value != checkSaleSig {
			t.Fatalf("after the fault: %v %v", s, err)
		}
	}
	// A violation storm (a violation per element) used to exhaust the
	// instance's memory; the core now caps reports, so it is answered.
	many := []byte("[" + strings.Repeat("1,", 100000) + "1]")
	r, err := w.Validate(ctx, "smarts.product-search-name.response", many)
	if err != nil || len(r.Violations) != validate.MaxViolations+1 {
		t.Fatalf("violation storm: %d violations, %v", len(r.Violations), err)
	}
	if r, err := w.Validate(ctx, ep.ID, []byte(ep.Example)); err != nil || !r.Valid {
		t.Fatalf("after the storm: %v %v", r, err)
	}
	if n := len(instances()); n != 2 {
		t.Errorf("%d instances created, want 2", n)
	}
	if in := instances()[0]; !in.mod.IsClosed() {
		t.Errorf("failed instance not closed")
	}
}

// TestObserve: the hook sees every call with its function's name.
func TestObserve(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	cfg := testConfig()
	cfg.Observe = func(fn string, d time.Duration) {
		mu.Lock()
		seen[fn]++
		mu.Unlock()
		if d <= 0 {
			t.Errorf("%s: duration %v", fn, d)
		}
	}
	w, err := NewWasm(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	w.Validate(ctx, "payneteasy.check-sale", nil)
	w.ValidateQuery(ctx, "payneteasy.callback", "")
	w.Sign(ctx, "dapi.check-sale", checkSaleFields)
	w.StringToSign(ctx, "dapi.check-sale", checkSaleFields)
	w.Raw(ctx, FuncSign, "dapi.check-sale", checkSaleFields)
	w.SignValues(ctx, "dapi.check-sale", checkSaleKey, &checkSaleValues)
	want := map[string]int{"validate": 1, "validate_query": 1, "sign": 3, "string_to_sign": 1}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("observed %v, want %v", seen, want)
	}
}

// TestCollectorKeepsUp: the guest's garbage collector must keep collecting
// under allocation churn. With wazero's default fake clocks it stops after
// about a hundred cycles (this loop then traps on the limit near the 400th
// buffer), so the engine gives instances real clocks.
func TestCollectorKeepsUp(t *testing.T) {
	ctx := context.Background()
	w, err := NewWasm(ctx, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	in, err := w.take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.put(in)
	var prev uint64
	for i := range 1000 {
		if prev != 0 {
			in.stack[0] = prev
			if err := in.fns[exportFree].CallWithStack(ctx, in.stack); err != nil {
				t.Fatal(err)
			}
		}
		in.stack[0] = 1 << 20
		if err := in.fns[exportAlloc].CallWithStack(ctx, in.stack); err != nil {
			t.Fatalf("buffer %d: %.60v (memory: %d pages)", i, err, in.mem.Size()/65536)
		}
		prev = uint64(uint32(in.stack[0]))
	}
	// Without collection the loop needs 1,000 MiB (16,000 pages). How far
	// the heap overshoots the 1 MiB live depends on when the guest's
	// collector gets to run: under 512 pages alone, 752 seen with the
	// rest of the test suite loading both cores. 2,048 pages (128 MiB)
	// still proves the collector kept up.
	if pages := in.mem.Size() / 65536; pages > 2048 {
		t.Errorf("memory grew to %d pages for 1 MiB of live data", pages)
	}
}

// TestRetire: an instance whose memory grew past the mark is replaced
// after its call, without failing a call.
func TestRetire(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.MaxInstances = 1
	w, instances := tracked(t, cfg)
	defer w.Close(ctx)
	w.retireBytes = uint64(instances()[0].mem.Size()) + 2<<20
	big := []byte(`{"controlKey":"1111","nonce":"` + strings.Repeat("n", 3<<20) + `","endpointId":"1","invoiceId":"i"}`)
	want := independentDAPI("1111", strings.Repeat("n", 3<<20)+"1i")
	for i := range 4 {
		if s, err := w.Sign(ctx, "dapi.notification", big); err != nil || s.Value != want {
			t.Fatalf("call %d: %.60v %v", i, s, err)
		}
	}
	if s, err := w.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil || s.Value != checkSaleSig {
		t.Fatalf("small call: %v %v", s, err)
	}
	all := instances()
	if len(all) < 3 || w.retired.Load() < 2 {
		t.Errorf("%d instances, %d retired: want the grown ones replaced", len(all), w.retired.Load())
	}
	for i, in := range all[:len(all)-1] {
		if !in.mod.IsClosed() {
			t.Errorf("retired instance %d not closed", i)
		}
	}
	if _, total := w.Stats(); total != 1 {
		t.Errorf("total %d, want 1", total)
	}
}

// TestMostRecentInstanceFirst: a call gets the instance the last call gave
// back (its memory is still in the CPU's caches), not the longest idle one,
// and a new instance is made only when none is idle.
func TestMostRecentInstanceFirst(t *testing.T) {
	ctx := context.Background()
	w, instances := tracked(t, WasmConfig{CacheDir: cacheDir, MaxInstances: 3})
	defer w.Close(ctx)
	a, err := w.take(ctx) // the instance newWasm made
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.take(ctx) // none idle: a new one
	if err != nil {
		t.Fatal(err)
	}
	if n := len(instances()); n != 2 || a == b {
		t.Fatalf("%d instances, a == b: %v", n, a == b)
	}
	w.put(a)
	w.put(b)
	for range 3 {
		in, err := w.take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if in != b {
			t.Fatal("took the older idle instance, not the one given back last")
		}
		w.put(in)
	}
	if idle, total := w.Stats(); idle != 2 || total != 2 || len(instances()) != 2 {
		t.Errorf("Stats %d idle of %d, %d created; want 2 of 2, 2", idle, total, len(instances()))
	}
}
